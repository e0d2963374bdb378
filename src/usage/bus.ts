/**
 * In-process event bus for live tool-loop events (the operator TUI's live log).
 * Subscribers are per organisation; a slow subscriber never blocks the request path.
 */
import { EventEmitter } from 'node:events';
import type { CommerceLiveEventType } from '../shared/api-commerce.ts';
import type { EscalationLiveEventType } from '../shared/api-escalations.ts';

export interface LiveEvent {
  type: 'request_started' | 'model_turn' | 'tool_call_started' | 'tool_call_finished' | 'final_answer' | 'loop_cap_reached' | 'request_failed' | CommerceLiveEventType | EscalationLiveEventType;
  orgId: string;
  requestId: string;
  at: number;
  [field: string]: unknown;
}

export interface EventBus {
  publish(event: LiveEvent): void;
  /** Returns an unsubscribe function. */
  subscribe(orgId: string, listener: (event: LiveEvent) => void): () => void;
  listenerCount(orgId: string): number;
}

export function createEventBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(event) {
      if (emitter.listenerCount(event.orgId) > 0) emitter.emit(event.orgId, event);
    },
    subscribe(orgId, listener) {
      emitter.on(orgId, listener);
      return () => emitter.off(orgId, listener);
    },
    listenerCount(orgId) {
      return emitter.listenerCount(orgId);
    },
  };
}
