/**
 * Hierarchical cancellation for the TUI: a tree of scopes, each owning an AbortController whose
 * signal every request and live stream started under it receives. Cancelling a scope cancels its
 * whole subtree, so quitting (root) or switching organisation (org scope) stops every live stream
 * and in-flight request at once. It must never do I/O or know about the screen.
 */

export interface Scope {
  readonly name: string;
  readonly signal: AbortSignal;
  readonly cancelled: boolean;
  /** A new scope cancelled together with this one (and on its own by `cancel()`). */
  child(name: string): Scope;
  /** Aborts this scope and all its descendants; idempotent. */
  cancel(reason?: string): void;
  /** Names (path from this scope) of the live descendants, for tests and the debug log. */
  active(): string[];
}

/** A slot holding at most one child scope: `next()` cancels the previous one (e.g. the tools of the previous selection). */
export interface Slot {
  next(name: string): Scope;
  cancel(): void;
}

export class ScopeCancelledError extends Error {
  override name = 'AbortError';
}

class ScopeNode implements Scope {
  readonly name: string;
  readonly #controller = new AbortController();
  readonly #children = new Set<ScopeNode>();
  #detach: () => void = () => undefined;

  constructor(name: string) {
    this.name = name;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#controller.signal.aborted;
  }

  child(name: string): Scope {
    const node = new ScopeNode(name);
    if (this.cancelled) {
      node.cancel(`parent ${this.name} cancelled`);
      return node;
    }
    this.#children.add(node);
    const onAbort = (): void => node.cancel(`parent ${this.name} cancelled`);
    this.signal.addEventListener('abort', onAbort, { once: true });
    // A cancelled child lets go of its parent so long-lived parents do not collect dead listeners.
    node.#detach = () => {
      this.#children.delete(node);
      this.signal.removeEventListener('abort', onAbort);
    };
    return node;
  }

  cancel(reason = 'cancelled'): void {
    if (this.cancelled) return;
    this.#controller.abort(new ScopeCancelledError(`${this.name}: ${reason}`));
    for (const c of [...this.#children]) c.cancel(reason);
    this.#detach();
  }

  active(): string[] {
    const out: string[] = [];
    for (const c of this.#children) {
      out.push(c.name, ...c.active().map((n) => `${c.name}/${n}`));
    }
    return out;
  }
}

/** The root of a tree; the TUI has one, cancelled on quit. */
export function createScope(name = 'root'): Scope {
  return new ScopeNode(name);
}

export function createSlot(parent: Scope): Slot {
  let current: Scope | null = null;
  return {
    next(name) {
      current?.cancel('replaced');
      current = parent.child(name);
      return current;
    },
    cancel() {
      current?.cancel('slot cancelled');
      current = null;
    },
  };
}

/** True for the errors fetch, timers and scopes raise when their signal is aborted. */
export function isAbortError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/** Waits `ms`, or rejects with the signal's reason as soon as it is aborted (the timer is cleared). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
