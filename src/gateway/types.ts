/**
 * The gateway's shared types: what a chat call is, what a completion's outcome is (the usage row's
 * fields), and the in-process request and result the WhatsApp reply worker speaks. Types only:
 * this module must never hold behaviour, and never import from the HTTP layer.
 */
import type { GatewayKey } from '../storage/repos/gateway-keys.ts';

/** One `POST /v1/chat/completions` as the HTTP layer hands it over. */
export interface ChatCall {
  key: GatewayKey;
  body: Record<string, unknown>;
  /** The body's bytes as received: the passthrough sends them unchanged when nothing is rewritten. */
  raw: Buffer;
  requestId: string;
  signal: AbortSignal;
  /** Plugins the request narrows itself to (`X-Plugboard-Plugins`); null = no narrowing. */
  narrowTo?: readonly string[] | null;
  /** WhatsApp instance named by `X-Plugboard-WhatsApp-Instance` for first-party sends. */
  senderInstanceId?: string | null;
}

/** How a completion ended: the fields of its usage row. */
export interface CompletionOutcome {
  httpStatus: number;
  status: 'ok' | 'error';
  model: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  errorClass: string | null;
}

/** A completion asked for in-process (the WhatsApp reply worker): never through HTTP. */
export interface InProcessRequest {
  orgId: string;
  instanceId: string | null;
  customerRef: string | null;
  requestId: string;
  model: string;
  messages: Array<Record<string, unknown>>;
  /**
   * Only these plugins (ids or slugs) are visible; an empty list means none. A function is asked
   * again before every model turn, so a revoked grant takes effect on the next turn.
   */
  enabledPluginIds: readonly string[] | (() => readonly string[]);
  loopCap?: number;
  signal: AbortSignal;
}

export interface InProcessResult {
  content: string;
  promptTokens: number | null;
  completionTokens: number | null;
  turns: number;
}
