/**
 * Deadlines for MCP requests: one overall deadline per call, shared by connect, retry and the
 * request itself, and waits that end on the deadline or the caller's abort signal.
 * Must never import the MCP SDK, and never cancel the promise it waits for (others may share it).
 */

/** The call's own deadline passed while waiting (e.g. for a shared connect). */
export class DeadlineExceeded extends Error {}
/** The caller's signal aborted while waiting. */
export class CallAborted extends Error {}

/** Milliseconds left before `deadline`, at least 1 (the SDK treats 0 as "no timeout"). */
export function remaining(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}

/** Waits for `promise` until the deadline or the signal, whichever comes first (the promise itself is not cancelled). */
export function untilDeadline<T>(promise: Promise<T>, deadline: number, signal: AbortSignal | undefined): Promise<T> {
  if (signal?.aborted) return Promise.reject(new CallAborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cleanup();
      reject(new CallAborted());
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new DeadlineExceeded());
    }, Math.max(0, deadline - Date.now()));
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}

/** Waits for `promise` at most `ms`; never rejects. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
