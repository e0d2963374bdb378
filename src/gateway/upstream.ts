/**
 * The `openai` SDK client for `plugboard doctor`'s upstream check (the request path uses the pooled
 * client in upstream-pool.ts: an SDK round trip costs too much per request). The only module
 * importing `openai`. Every value is passed explicitly: the
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
