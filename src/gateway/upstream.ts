/**
 * The `openai` SDK client for places where the gateway itself is the model's client (the tool
 * loop, `doctor`). The only module importing `openai`. Every value is passed explicitly: the
 * SDK's own OPENAI_* environment fallbacks are never used.
 */
import OpenAI from 'openai';

export type { OpenAI };

export function createUpstreamClient(opts: { baseUrl: string; apiKey: string; timeoutMs: number }): OpenAI {
  return new OpenAI({
    baseURL: opts.baseUrl,
    // The SDK refuses an empty key; local upstreams (Ollama, vLLM) accept any value.
    apiKey: opts.apiKey || 'no-key',
    organization: null,
    project: null,
    timeout: opts.timeoutMs,
    maxRetries: 0,
  });
}
