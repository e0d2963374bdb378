/**
 * Start-up warnings for mistakes that otherwise show only as silence: a public base URL Twilio
 * can never reach (loopback, a private or link-local address, a name without a domain, plain
 * http), and an upstream that cannot be reached. They are warnings, never refusals: a test
 * set-up or an appliance behind a tunnel may be exactly what the operator wants.
 * Must never send anything to the upstream but a TCP connection (upstream-health.ts).
 */
import ipaddr from 'ipaddr.js';
import type { Logger } from './log.ts';
import type { UpstreamHealth } from './gateway/upstream-health.ts';

import type { PublicUrlProblem } from './shared/api-ops.ts';

export type { PublicUrlProblem };

/** Why Twilio could not call webhooks at this origin (empty: nothing known against it). */
export function publicUrlProblems(publicBaseUrl: string): PublicUrlProblem[] {
  const out: PublicUrlProblem[] = [];
  let url: URL;
  try {
    url = new URL(publicBaseUrl);
  } catch {
    return ['not_a_public_name'];
  }
  if (url.protocol !== 'https:') out.push('plain_http');
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (ipaddr.isValid(host)) {
    const range = ipaddr.process(host).range();
    if (range === 'loopback' || range === 'unspecified') out.push('loopback');
    else if (range !== 'unicast') out.push('private_address');
  } else if (host === 'localhost' || host.endsWith('.localhost')) out.push('loopback');
  else if (!host.includes('.') || /\.(?:local|internal|lan|home|arpa|test|example|invalid)$/.test(host)) out.push('not_a_public_name');
  return out;
}

const PROBLEM_TEXT: Record<PublicUrlProblem, string> = {
  plain_http: 'Twilio needs HTTPS for webhooks: put a reverse proxy or a tunnel with a certificate in front',
  loopback: 'it points at this machine itself, which Twilio cannot reach',
  private_address: 'it is a private or link-local address, which Twilio cannot reach',
  not_a_public_name: 'it is not a public DNS name',
};

/** Logs one warning line per problem of the public base URL, then probes the upstream and warns when it is unreachable. */
export async function runStartupChecks(deps: { log: Logger; publicBaseUrl: string; upstreamBaseUrl: string; upstream: UpstreamHealth; signal?: AbortSignal }): Promise<void> {
  const problems = publicUrlProblems(deps.publicBaseUrl);
  if (problems.length) {
    deps.log.warn(
      { publicBaseUrl: deps.publicBaseUrl, problems },
      `PLUGBOARD_PUBLIC_BASE_URL is not reachable by Twilio: ${problems.map((p) => PROBLEM_TEXT[p]).join('; ')}. WhatsApp webhooks will not arrive until it is a public https:// origin (README, Operator guide).`,
    );
  }
  const snap = await deps.upstream.probe(deps.signal);
  if (deps.signal?.aborted) return;
  const origin = new URL(deps.upstreamBaseUrl).origin;
  if (snap.state === 'not_configured') {
    deps.log.warn({ upstream: origin }, 'No upstream configured: set PLUGBOARD_UPSTREAM_BASE_URL (and PLUGBOARD_UPSTREAM_API_KEY); nothing was probed.');
  } else if (snap.state === 'unreachable') {
    deps.log.warn({ upstream: origin, detail: snap.detail }, `The upstream model provider ${origin} is unreachable (${snap.detail}): chat completions and WhatsApp replies will fail until it is. Check PLUGBOARD_UPSTREAM_BASE_URL and the network.`);
  } else if (snap.state === 'ok') {
    deps.log.info({ upstream: origin }, 'upstream reachable');
  }
}
