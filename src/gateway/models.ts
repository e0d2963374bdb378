/**
 * Models: the configured aliases applied to a request's `model`, and the `/v1/models` use case (the
 * upstream's list, bounded, with the aliases added). The route only authorises and presents.
 * Never sends the caller's key upstream (the pool sends the configured one) and never trusts the
 * list's size or shape.
 */
import type { UpstreamPool } from './upstream-pool.ts';
import { mapTransportError, readUpstreamBody } from './upstream-pool.ts';

/** Largest model list read from the upstream (a list of thousands of models is well below it). */
export const MODEL_LIST_MAX_BYTES = 8 * 1024 * 1024;

export type Aliases = Readonly<Record<string, string>>;

/** Rewrites an aliased `body.model` in place; true when it did (the body must then be re-serialised). */
export function resolveModel(body: Record<string, unknown>, aliases: Aliases): boolean {
  const model = body.model;
  if (typeof model === 'string' && Object.hasOwn(aliases, model)) {
    body.model = aliases[model];
    return true;
  }
  return false;
}

export interface ModelList {
  object: 'list';
  data: Array<Record<string, unknown>>;
}

/** The upstream's models plus every alias it does not list itself. Upstream refusals are the caller's errors. */
export async function listModels(pool: UpstreamPool, aliases: Aliases): Promise<ModelList> {
  let res;
  try {
    res = await pool.request({ method: 'GET', path: '/models' });
  } catch (err) {
    throw mapTransportError(err);
  }
  // Statuses ≥ 400 were thrown by the pool, mapped and scrubbed; the list itself is bounded.
  const text = (await readUpstreamBody(res.body, MODEL_LIST_MAX_BYTES)).toString('utf8');
  let data: Array<Record<string, unknown>> = [];
  try {
    const parsed = JSON.parse(text) as { data?: unknown };
    if (Array.isArray(parsed.data)) data = parsed.data as Array<Record<string, unknown>>;
  } catch {
    // An upstream without a usable model list still gets the aliases below.
  }
  const created = Math.floor(Date.now() / 1000);
  for (const [alias, target] of Object.entries(aliases)) {
    if (!data.some((m) => m.id === alias)) data.push({ id: alias, object: 'model', created, owned_by: 'plugboard', alias_of: target });
  }
  return { object: 'list', data };
}
