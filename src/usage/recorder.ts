/**
 * Usage recorder: takes usage events from the request path without blocking it.
 *
 * Events are queued and written in one transaction per tick (or when the batch is large), along
 * with batched gateway-key last-used times. `flush()` writes what is pending at once; readers of the
 * usage table call it first, so nothing recorded is ever invisible to them.
 */
import type { GatewayKeysRepo } from '../storage/repos/gateway-keys.ts';
import type { UsageEventInput, UsageEventsRepo } from '../storage/repos/usage-events.ts';
import type { Logger } from '../log.ts';

/** A batch this large is written at once rather than waiting for the next tick. */
const MAX_BATCH = 500;
/** Latest interval between writes while events keep coming. */
const FLUSH_INTERVAL_MS = 50;

export interface UsageRecorder {
  record(event: UsageEventInput): void;
  touchKey(keyId: string, at: number): void;
  flush(): void;
  close(): void;
}

export function createUsageRecorder(deps: { usage: UsageEventsRepo; keys: GatewayKeysRepo; log: Logger }): UsageRecorder {
  let pending: UsageEventInput[] = [];
  let touched = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;

  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    const events = pending;
    const keys = touched;
    pending = [];
    touched = new Map();
    try {
      deps.usage.insertMany(events);
      if (keys.size) deps.keys.touchMany(keys);
    } catch (err) {
      deps.log.error({ err: { message: (err as Error).message }, lost: events.length }, 'usage events could not be written');
    }
  };
  const schedule = (): void => {
    if (pending.length >= MAX_BATCH) flush();
    else if (!timer) {
      timer = setTimeout(flush, FLUSH_INTERVAL_MS);
      timer.unref();
    }
  };
  return {
    record(event) {
      pending.push(event);
      schedule();
    },
    touchKey(keyId, at) {
      touched.set(keyId, at);
      schedule();
    },
    flush,
    close: flush,
  };
}
