/**
 * What the gateway writes a chat-completion answer to. The HTTP layer implements it over the
 * Node response, so gateway code never sees Koa.
 */
export interface ResponseSink {
  /** A complete non-streaming answer. */
  json(status: number, body: Buffer | string, headers?: Record<string, string>): void;
  /** Sets a response header while headers are not yet sent. */
  header?(name: string, value: string): void;
  /**
   * Starts the SSE response. With `flush` the headers go out at once (the tool loop, which may
   * run tools before its first byte); without, they leave with the first event (one packet less).
   */
  openStream(opts?: { flush?: boolean }): void;
  readonly streamOpen: boolean;
  /** Writes SSE text or bytes; resolves when the client can take more (backpressure). */
  write(data: string | Buffer): Promise<void>;
  /** Ends the response; `last` goes out with the end in one write (one packet, one wake-up less). */
  end(last?: string | Buffer): void;
  /** True once the client has gone. */
  readonly closed: boolean;
}

/** Serialises one SSE data event. */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';
