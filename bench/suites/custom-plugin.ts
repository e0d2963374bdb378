/**
 * Custom-plugin suite (issue 11): one chat request with one custom plugin tool call — a Standard
 * Webhooks-signed HTTP POST to the plugin's tool endpoint — through the gateway, against its floor,
 * a minimal client doing the same work, interleaved in one run. Modelled on the tool-loop suite
 * (same options, method and report), with bench/plugin-server.ts in the place of the MCP server.
 *
 *   gateway  the measured key's organisation registered the plugin `crm` through the developer API
 *            (`POST …/developer/plugins`), had 1.0.0 published (submit; the operator approves with a
 *            token from the CLI) and installed its private 1.0.1-dev.1 (`POST …/plugin-installations`,
 *            all its permissions accepted, its secret config set): the author's **sandbox**
 *            installation, as README "Custom plugins" describes. The gateway injects `crm__lookup`
 *            and runs its loop: model turn → the fake upstream asks for the tool → signed POST to
 *            bench/plugin-server.ts (which verifies it with `standardwebhooks`) → final turn →
 *            answer. One request = 2 upstream turns + 1 plugin call.
 *   gateway-live  the same gateway process, the key of a second organisation that installed the
 *            published 1.0.0 from the directory: a **live** installation (no bodies in the plugin
 *            log), measured in the same rounds, so sandbox − live is within the same noise.
 *   floor    the issue's floor, in the load generator: the same first turn (the exact bytes the
 *            gateway sent, captured by the fake upstream), the call body (issue 11's fields, the
 *            gateway's context and config, a new request id), signed with the published
 *            `standardwebhooks` package and POSTed with an undici Pool, the final turn — sequentially.
 *   floor-lean  the same with the gateway's own signer (node:crypto) and SSRF-guarded undici
 *            request, so that `gateway − floor-lean` is the gateway's own cost, not a client difference.
 *   baseline with --baseline DIR: DIR's gateway, its own organisation with the same plugin (its own
 *            registration, secret and tools path on the same plugin server), in the same rounds.
 *
 * The issue: "the gateway adds no more per tool call than it does for MCP (quote both)": run it
 * beside the tool-loop suite (`--suites tool-loop,custom-plugin`) and compare `gateway − floor-lean`
 * of both. This suite sets no goal of its own; it uses the --tool-loop-* options (rounds,
 * duration, connections, scenarios) so that the two are measured the same way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { abCells, abNotes, abRound, abSummary, abVerdict, AB_COLUMNS, baselineLabel, primeInTurns, PRIME_PASSES, roundOrder } from '../lib/ab.ts';
import { BENCH_TOOL_ARGS, finalAnswerContent, finalAnswerPieces, toolLoopRequestBody } from '../lib/fixtures.ts';
import { controlApi, gatewayLogSummary, parseJsonOutput, rotate, sleep, startGateway, type GatewayStart, type GatewayTarget, type OrgCredentials } from '../lib/gateway.ts';
import type { LoadJob, LoadResult, PluginFloorSpec } from '../lib/loadgen-types.ts';
import { machineNoise } from '../lib/noise.ts';
import { runNode, spawnReadyServer, tail, type ChildHandle } from '../lib/proc.ts';
import { fmtDiffMs, fmtInt, fmtMs, fmtRatio, withRange } from '../lib/report.ts';
import { median, range } from '../lib/stats.ts';
import type { Section, Suite, SuiteContext, SuiteResult, Scenario } from '../lib/suite.ts';
import { pluginLookupText } from '../plugin-server.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FAKE_UPSTREAM = path.join(HERE, '..', 'fake-upstream.ts');
const PLUGIN_SERVER = path.join(HERE, '..', 'plugin-server.ts');

const NAME = 'custom-plugin';
const TITLE = 'Custom plugin: one signed tool call through the gateway vs. its floor';
const SLUG = 'crm';
const TOOL = 'lookup';
const PERMISSION = 'crm:customers:read';
/** The installation's secret config value: sent to the plugin in every call body (never logged). */
const API_KEY = 'crm-bench-key-7Qx2Lm9Pz4';

type Target = 'gateway' | 'gateway-live' | 'floor' | 'floor-lean' | 'baseline';

interface ScenarioSpec {
  key: string;
  kind: Scenario;
  connections: number;
}

interface UpstreamStats {
  toolCall: number;
  toolFinal: number;
}

interface PluginStats {
  calls: number;
  byPath: Record<string, number>;
  rejected: number;
  badRequests: number;
}

/** The plugin's manifest at `baseUrl` (one read-only tool, one permission, one secret config field). */
export function benchManifest(baseUrl: string, version = '1.0.0'): Record<string, unknown> {
  return {
    schemaVersion: 1,
    slug: SLUG,
    name: 'Bench CRM',
    version,
    description: 'Looks up customer records in the bench CRM.',
    baseUrl,
    endpoints: { tools: '/tools/call', health: '/health' },
    auth: { mode: 'standard-webhooks-hmac' },
    contact: { email: 'dev@crm.example.com', name: 'Bench CRM developers' },
    permissions: [{ key: PERMISSION, label: 'Read customers', description: 'Look up a customer record by its id.', default: true }],
    config: [{ key: 'api_key', label: 'CRM API key', type: 'secret', required: true }],
    tools: [
      {
        name: TOOL,
        description: 'Look up a customer record by its id.',
        inputSchema: { type: 'object', properties: { id: { type: 'string', description: 'Customer id, e.g. C-1042' } }, required: ['id'], additionalProperties: false },
        permissions: [PERMISSION],
        effect: 'read',
        idempotent: true,
      },
    ],
  };
}

interface PluginSetup {
  pluginId: string;
  installationId: string;
  mode: string;
  secret: string;
  toolsPath: string;
}

/** Register + install through the real control API, as an author would (sandbox: its own unpublished version). */
async function setUpPlugin(origin: string, org: OrgCredentials, pluginOrigin: string, basePath: string): Promise<PluginSetup> {
  const o = encodeURIComponent(org.id);
  const reg = await controlApi<{ id: string; slug: string; version: string; signingSecret: string }>(origin, org, 'POST', `/organizations/${o}/developer/plugins`, {
    manifest: benchManifest(`${pluginOrigin}${basePath}`),
  });
  if (!reg.signingSecret?.startsWith('whsec_')) throw new Error(`registering the plugin returned no signing secret: ${JSON.stringify({ ...reg, signingSecret: reg.signingSecret ? '(present)' : reg.signingSecret })}`);
  const inst = await controlApi<{ id: string; mode: string }>(origin, org, 'POST', `/organizations/${o}/plugin-installations`, {
    pluginId: reg.id,
    config: { api_key: API_KEY },
    acceptedPermissions: [PERMISSION],
  });
  const listed = await controlApi<{ data: { id: string; kind: string; toolCount?: number }[] }>(origin, org, 'GET', `/organizations/${o}/plugins`);
  const row = listed.data.find((p) => p.id === inst.id);
  if (!row || row.kind !== 'custom') throw new Error(`the installation ${inst.id} is not listed as a custom plugin: ${JSON.stringify(listed.data)}`);
  return { pluginId: reg.id, installationId: inst.id, mode: inst.mode, secret: reg.signingSecret, toolsPath: `${basePath}/tools/call` };
}

/**
 * The same plugin as every other organisation gets it: the author submits 1.0.0, the operator
 * approves it (token from `plugboard operator token create`, approval through the operator API),
 * a second organisation installs it from the directory — a **live** installation — and gets a key.
 * The author then moves on to a private 1.0.1-dev.1 and installs that: its **sandbox** installation
 * (a published version installed by its own author would be live). Both installations call the
 * same plugin with the same signing secret at the same tools path.
 */
async function setUpLiveAndSandbox(ctx: SuiteContext, st: GatewayStart, author: OrgCredentials, other: OrgCredentials, pluginOrigin: string, basePath: string) {
  const origin = st.target.origin;
  const a = encodeURIComponent(author.id);
  const b = encodeURIComponent(other.id);
  const reg = await controlApi<{ id: string; signingSecret: string }>(origin, author, 'POST', `/organizations/${a}/developer/plugins`, { manifest: benchManifest(`${pluginOrigin}${basePath}`) });
  const submitted = await controlApi<{ id: string }>(origin, author, 'POST', `/organizations/${a}/developer/plugins/${encodeURIComponent(reg.id)}/versions/1.0.0/submit`);
  // Operators are not organisation members: their token comes from the CLI on the data directory.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PLUGBOARD_')) env[k] = v;
  Object.assign(env, { PLUGBOARD_DATA_DIR: st.dataDir!, ...ctx.options.gatewayEnv });
  const cli = await runNode([path.join(ctx.options.repoRoot, 'src', 'main.ts'), 'operator', 'token', 'create', '--name', 'bench', '--json'], env, 60_000, ctx.options.repoRoot);
  const operatorToken = parseJsonOutput(cli.stdout)?.token;
  if (cli.code !== 0 || typeof operatorToken !== 'string') throw new Error(`\`plugboard operator token create\` failed (exit ${cli.code}): ${cli.stderr.slice(0, 300)}`);
  const approve = await fetch(`${origin}/operator/plugin-versions/${encodeURIComponent(submitted.id)}/approve`, { method: 'POST', headers: { authorization: `Bearer ${operatorToken}` }, signal: AbortSignal.timeout(30_000) });
  if (approve.status !== 200) throw new Error(`approving the plugin version answered HTTP ${approve.status}: ${(await approve.text()).slice(0, 300)}`);
  await approve.arrayBuffer().catch(() => undefined);
  const live = await controlApi<{ id: string; mode: string }>(origin, other, 'POST', `/organizations/${b}/plugin-installations`, { pluginId: reg.id, config: { api_key: API_KEY }, acceptedPermissions: [PERMISSION] });
  const liveKey = await controlApi<{ key: string }>(origin, other, 'POST', `/organizations/${b}/keys`, { name: 'bench-live' });
  await controlApi(origin, author, 'POST', `/organizations/${a}/developer/plugins/${encodeURIComponent(reg.id)}/versions`, { manifest: benchManifest(`${pluginOrigin}${basePath}`, '1.0.1-dev.1') });
  const sandbox = await controlApi<{ id: string; mode: string }>(origin, author, 'POST', `/organizations/${a}/plugin-installations`, { pluginId: reg.id, version: '1.0.1-dev.1', config: { api_key: API_KEY }, acceptedPermissions: [PERMISSION] });
  if (live.mode !== 'live' || sandbox.mode !== 'sandbox') throw new Error(`expected a live and a sandbox installation, got ${live.mode} and ${sandbox.mode}`);
  const toolsPath = `${basePath}/tools/call`;
  return {
    sandbox: { pluginId: reg.id, installationId: sandbox.id, mode: sandbox.mode, secret: reg.signingSecret, toolsPath } satisfies PluginSetup,
    live: { pluginId: reg.id, installationId: live.id, mode: live.mode, secret: reg.signingSecret, toolsPath } satisfies PluginSetup,
    liveTarget: { ...st.target, where: `${st.target.where}, organisation "${other.name}"`, headers: { authorization: `Bearer ${liveKey.key}` } } satisfies GatewayTarget,
  };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

async function postJson(url: string, body: unknown, what: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${what} refused its config: HTTP ${res.status}: ${text.slice(0, 300)}`);
}

function describeErrors(label: string, r: LoadResult): string | undefined {
  const e = r.errors;
  const total = e.non2xx + e.network + e.incomplete;
  if (!total) return undefined;
  const statuses = Object.entries(e.statusCounts).map(([s, n]) => `${n}×${s}`).join(', ');
  return `${label}: ${e.non2xx} non-2xx${statuses ? ` (${statuses})` : ''}, ${e.network} network errors, ${e.incomplete} wrong or incomplete answers; e.g. ${e.samples.slice(0, 2).join(' | ')}`;
}

function skipped(reason: string): SuiteResult {
  return { name: NAME, title: TITLE, settings: [['skipped', reason]], sections: [], goals: [], failures: [], data: { skipped: reason } };
}

export const customPluginSuite: Suite = {
  name: NAME,
  description: 'one custom plugin call (Standard Webhooks-signed POST): gateway vs. a minimal client doing the same turns and signed call (floor), interleaved',
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    const o = ctx.options;
    const t = o.toolLoop;
    if (o.targetUrl) return skipped('needs a gateway the harness starts and configures (not --target-url)');
    if (!o.targets.includes('gateway')) return skipped('--targets has no gateway');
    const stops: (() => Promise<void>)[] = [];
    const failures: string[] = [];
    const settings: [string, string][] = [];
    let gw: GatewayStart | undefined;
    let baseGw: GatewayStart | undefined;
    let completed = false;
    try {
      // ── processes ───────────────────────────────────────────────────────────
      const upH = await spawnReadyServer('fake-upstream', FAKE_UPSTREAM, ['--pieces', String(o.pieces)]);
      stops.push(() => upH.stop());
      const upOrigin = `http://127.0.0.1:${upH.port}`;
      const plH: ChildHandle = await spawnReadyServer('plugin-server', PLUGIN_SERVER, []);
      stops.push(() => plH.stop());
      const plOrigin = `http://127.0.0.1:${plH.port}`;
      settings.push(['upstream', `bench/fake-upstream.ts, pid ${upH.pid}, ${upOrigin}/v1 (scripted: tools + last message from the user → a tool call; last message a tool result → the final answer)`]);
      settings.push(['plugin server', `bench/plugin-server.ts, pid ${plH.pid}, ${plOrigin} (node:http; verifies every call with the published standardwebhooks package; tool "${TOOL}" → a one-line JSON record)`]);

      ctx.log(`${NAME}: starting the gateway (CLI: org create, key create; then serve), registering and installing the plugin…`);
      // http baseUrls are accepted only on the networks the operator allows (shared with MCP).
      const env = { PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' };
      gw = await startGateway(ctx, upOrigin, { env, allowExternal: false, otherOrgs: ['shop'] });
      const handle = gw.handle!;
      stops.push(() => handle.stop());
      settings.push(...gw.settings);
      const both = await setUpLiveAndSandbox(ctx, gw, gw.org!, gw.otherOrgs[0], plOrigin, '/gateway');
      const plug = both.sandbox;
      const liveTarget = both.liveTarget;
      const prefixed = `${SLUG}__${TOOL}`;
      const toolPrefix = `${SLUG}__`;
      await postJson(`${upOrigin}/__bench/config`, { toolName: prefixed, toolArgs: BENCH_TOOL_ARGS }, 'the fake upstream');
      const secrets: Record<string, string> = { [plug.toolsPath]: plug.secret };
      settings.push(['plugin', `organisation "${gw.org!.name}" registered "${SLUG}" (developer API), submitted 1.0.0, the operator approved it (operator API); 1 request = 2 upstream turns + 1 signed POST to ${plOrigin}${plug.toolsPath}; the gateway injects ${prefixed}`]);
      settings.push(['', `  gateway: the key of "${gw.org!.name}", the author, with its sandbox installation of its private 1.0.1-dev.1 (${plug.installationId}; the plugin log keeps each call's bodies, secrets redacted)`]);
      settings.push(['', `  gateway-live: the same gateway process, a key of "${gw.otherOrgs[0].name}", which installed the published 1.0.0 from the directory (${both.live.installationId}, mode live: no bodies logged)`]);
      let basePlug: PluginSetup | undefined;
      if (o.baseline) {
        ctx.log(`${NAME}: starting the baseline gateway from ${o.baseline.dir} the same way…`);
        baseGw = await startGateway(ctx, upOrigin, { env, allowExternal: false, root: o.baseline.dir, label: 'baseline' });
        const bh = baseGw.handle!;
        stops.push(() => bh.stop());
        try {
          basePlug = await setUpPlugin(baseGw.target.origin, baseGw.org!, plOrigin, '/baseline');
        } catch (err) {
          throw new Error(`the baseline (${baselineLabel(o.baseline)}) could not register and install the custom plugin — does it have custom plugins (issue 11)? ${(err as Error).message}`);
        }
        secrets[basePlug.toolsPath] = basePlug.secret;
        settings.push(['baseline', `${baselineLabel(o.baseline)}; ${baseGw.settings[0]?.[1] ?? ''}; same env; its organisation registered and installed "${SLUG}" itself (mode ${basePlug.mode}; its own secret, tools path ${basePlug.toolsPath} on the same plugin server)`]);
        for (const n of baseGw.notes) settings.push(['', `  baseline: ${n}`]);
      }
      await postJson(`${plOrigin}/__bench/config`, { secrets }, 'the plugin server');

      const expected = finalAnswerContent(pluginLookupText((JSON.parse(BENCH_TOOL_ARGS) as { id: string }).id));
      const expectedPieces = finalAnswerPieces(expected).length;

      // ── preflight: one request per kind and gateway; capture the first turn and the call body ──
      const firstTurn: Partial<Record<Scenario, string>> = {};
      const gatewayFinalTurn: Partial<Record<Scenario, string>> = {};
      let callTemplate: PluginFloorSpec['template'] | undefined;
      let gatewayCallBody = '';
      const preflight = async (who: 'gateway' | 'gateway-live' | 'baseline', st: { target: GatewayTarget }, p: PluginSetup, kind: Scenario) => {
        const before = await getJson<UpstreamStats>(`${upOrigin}/__bench/stats`);
        const plBefore = await getJson<PluginStats>(`${plOrigin}/__bench/stats`);
        const res = await fetch(`${st.target.origin}${st.target.prefix}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...st.target.headers },
          body: toolLoopRequestBody(kind === 'sse'),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`preflight (${kind}): the ${who} answered HTTP ${res.status}: ${text.slice(0, 400)}`);
        const after = await getJson<UpstreamStats>(`${upOrigin}/__bench/stats`);
        const plAfter = await getJson<PluginStats>(`${plOrigin}/__bench/stats`);
        if (plAfter.rejected !== plBefore.rejected || plAfter.badRequests !== plBefore.badRequests) throw new Error(`preflight (${kind}): the plugin server refused the ${who}'s call (bad signature or body)`);
        if (!text.includes(kind === 'sse' ? 'Done.' : JSON.stringify(expected))) throw new Error(`preflight (${kind}): the ${who}'s answer is not the expected final answer ${JSON.stringify(expected)}: ${text.slice(0, 400)}`);
        if (after.toolCall !== before.toolCall + 1 || after.toolFinal !== before.toolFinal + 1 || (plAfter.byPath[p.toolsPath] ?? 0) !== (plBefore.byPath[p.toolsPath] ?? 0) + 1) {
          throw new Error(`preflight (${kind}): expected 1 tool-call turn, 1 final turn and 1 plugin call from the ${who}; saw ${after.toolCall - before.toolCall}, ${after.toolFinal - before.toolFinal} and ${(plAfter.byPath[p.toolsPath] ?? 0) - (plBefore.byPath[p.toolsPath] ?? 0)}`);
        }
        const cap = await getJson<{ toolCall: string | null; toolFinal: string | null }>(`${upOrigin}/__bench/captured`);
        const calls = await getJson<Record<string, string>>(`${plOrigin}/__bench/captured`);
        if (!cap.toolCall || !cap.toolFinal || !calls[p.toolsPath]) throw new Error(`preflight (${kind}): nothing captured of the ${who}'s turns or call`);
        return { first: cap.toolCall, final: cap.toolFinal, call: calls[p.toolsPath] };
      };
      for (const kind of t.scenarios) {
        const c = await preflight('gateway', gw, plug, kind);
        firstTurn[kind] = c.first;
        gatewayFinalTurn[kind] = c.final;
        gatewayCallBody = c.call;
        const body = JSON.parse(c.call) as { tool: string; mode: string; context: Record<string, unknown>; config: Record<string, unknown>; bridge: unknown };
        const fields = Object.keys(body).sort().join(',');
        if (fields !== 'bridge,config,context,input,mode,tool') throw new Error(`the gateway's call body has the fields ${fields}, not issue 11's`);
        if (body.config.api_key !== API_KEY) throw new Error('the gateway\'s call body does not carry the installation\'s config');
        callTemplate = { mode: body.mode, context: body.context, config: body.config };
      }
      for (const kind of t.scenarios) {
        const c = await preflight('gateway-live', { target: liveTarget }, both.live, kind);
        if (!c.call.includes('"mode":"live"')) throw new Error('the live installation\'s call body does not say "mode":"live"');
      }
      for (const kind of baseGw ? t.scenarios : []) {
        const c = await preflight('baseline', baseGw!, basePlug!, kind);
        if (c.first !== firstTurn[kind]) settings.push([`first turn (${kind})`, `baseline ${fmtInt(Buffer.byteLength(c.first))} bytes, gateway ${fmtInt(Buffer.byteLength(firstTurn[kind]!))} bytes — not identical (the floors replay the gateway's)`]);
      }
      ctx.log(`${NAME}: preflight OK (${baseGw ? 'gateway and baseline' : 'gateway'} called the plugin and returned the final answer)`);
      settings.push(['call body', `${fmtInt(Buffer.byteLength(gatewayCallBody))} bytes: tool, input, mode "${callTemplate!.mode}", context (${Object.keys(callTemplate!.context).join(', ')}), config, bridge — the floors send the same fields with the gateway's context and config and a new requestId`]);
      settings.push(['floor', `load generator (pid ${ctx.loadgen.pid}): undici Pool to the upstream — first turn (the gateway's own bytes), the call body signed with the published standardwebhooks package (Webhook.sign) and POSTed with an undici Pool, final turn — sequentially`]);
      settings.push(['floor-lean', 'the same with the gateway\'s own signer (src/net/standard-webhooks.ts, node:crypto HMAC) and SSRF-guarded undici request (src/net/ssrf.ts)']);
      settings.push(['method', `priming per target (not measured): ${fmtInt(t.primeRequests)} requests or ${t.primeMs} ms at c=${Math.max(...t.connections)} in ${PRIME_PASSES} turns (the last in round 1's order), then ${t.rounds} round(s) × each (scenario, target) once, rotating order; ${t.warmupMs} ms warm-up + ${t.durationMs} ms per measurement (the --tool-loop-* options); every answer checked for the final content`]);

      // ── interleaved rounds ─────────────────────────────────────────────────
      const scenarios: ScenarioSpec[] = [];
      for (const kind of t.scenarios) for (const c of t.connections) scenarios.push({ key: `${kind} c=${c}`, kind, connections: c });
      const targets: Target[] = ['gateway', 'gateway-live', 'floor', 'floor-lean', ...(baseGw ? (['baseline'] as const) : [])];
      const cpuPids: Record<string, number> = { gateway: handle.pid, upstream: upH.pid, plugin: plH.pid, ...(baseGw ? { baseline: baseGw.handle!.pid } : {}) };
      const rounds: Record<string, Record<Target, LoadResult>>[] = [];
      const floorBodies: Partial<Record<Scenario, string>> = {};
      let gatewayRequests = 0;
      let baselineRequests = 0;
      const jobFor = (sc: ScenarioSpec, target: Target, label: string, warmupMs: number, durationMs: number): LoadJob => {
        const base = {
          label,
          connections: sc.connections,
          warmupMs,
          warmupMaxRequests: o.warmupMaxRequests,
          durationMs,
          maxRequests: o.maxRequests,
          requestTimeoutMs: o.requestTimeoutMs,
          maxErrors: 50,
          cpuPids,
          clockTicksPerSecond: o.clockTicksPerSecond,
          stream: sc.kind === 'sse',
          pieces: expectedPieces,
          expectContent: expected,
        };
        if (target === 'gateway' || target === 'gateway-live' || target === 'baseline') {
          const tg = target === 'gateway' ? gw!.target : target === 'gateway-live' ? liveTarget : baseGw!.target;
          return { ...base, origin: tg.origin, path: `${tg.prefix}/chat/completions`, headers: { 'content-type': 'application/json', ...tg.headers }, body: toolLoopRequestBody(sc.kind === 'sse').toString('utf8') };
        }
        const pluginFloor: PluginFloorSpec = { toolsUrl: `${plOrigin}${plug.toolsPath}`, secret: plug.secret, client: target === 'floor' ? 'minimal' : 'plugboard', toolPrefix, template: callTemplate! };
        return { ...base, origin: upOrigin, path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: 'Bearer bench' }, body: firstTurn[sc.kind]!, pluginFloor };
      };
      // Priming, not measured: every side starts cold and gets faster while the JIT settles. In
      // turns (primeInTurns): no target idles longer than another before round 1.
      await primeInTurns(targets, (x) => x, PRIME_PASSES, async (target) => {
        for (const kind of t.scenarios) {
          const job = jobFor({ key: `${kind} prime`, kind, connections: Math.max(...t.connections) }, target, `prime ${kind} ${target}`, 0, Math.ceil(t.primeMs / PRIME_PASSES));
          const res = await ctx.loadgen.load({ ...job, maxRequests: Math.ceil(t.primeRequests / PRIME_PASSES) });
          const err = res.validation.ok ? describeErrors(`priming ${kind} ${target}`, res) : `priming ${kind} ${target}: ${res.validation.problem}`;
          if (err) failures.push(err);
          if (target === 'gateway' || target === 'gateway-live') gatewayRequests += res.requests + 1;
          if (target === 'baseline') baselineRequests += res.requests + 1;
        }
      });
      for (let r = 0; r < t.rounds; r++) {
        const round: Record<string, Record<Target, LoadResult>> = {};
        rounds.push(round);
        for (const sc of rotate(scenarios, r)) {
          round[sc.key] = {} as Record<Target, LoadResult>;
          for (const target of roundOrder(targets, r, (x) => x)) {
            const job = jobFor(sc, target, `${sc.key} ${target}`, t.warmupMs, t.durationMs);
            const res = await ctx.loadgen.load(job);
            if (!res.validation.ok) {
              throw new Error(`${job.label}: the first answer was wrong (HTTP ${res.validation.status}): ${res.validation.problem}${res.validation.bodySample ? `\n  body: ${res.validation.bodySample}` : ''}`);
            }
            if (target === 'floor' && res.validation.floorFinalTurnBody) floorBodies[sc.kind] ??= res.validation.floorFinalTurnBody;
            round[sc.key][target] = res;
            if (target === 'gateway' || target === 'gateway-live') gatewayRequests += res.requests + res.warmup.requests + 1;
            if (target === 'baseline') baselineRequests += res.requests + res.warmup.requests + 1;
            const err = describeErrors(`round ${r + 1} ${job.label}`, res);
            if (err) failures.push(err);
            ctx.log(`[${NAME} ${r + 1}/${t.rounds}] ${job.label.padEnd(14)} ${fmtInt(res.rps).padStart(6)} req/s  p50 ${fmtMs(res.latency.p50)} ms  p99 ${fmtMs(res.latency.p99)} ms${err ? '  ERRORS' : ''}`);
            for (const [who, h] of [['gateway', handle], ['baseline', baseGw?.handle]] as const) {
              const ended = h?.exitDescription();
              if (ended) throw new Error(`the ${who} ${ended} during the run; last log lines:\n${tail(h!.logFile!, 20)}`);
            }
            await sleep(100);
          }
        }
      }

      // ── consistency: every final turn followed exactly one verified plugin call ──
      const upEnd = await getJson<UpstreamStats>(`${upOrigin}/__bench/stats`);
      const plEnd = await getJson<PluginStats>(`${plOrigin}/__bench/stats`);
      if (upEnd.toolCall !== upEnd.toolFinal || upEnd.toolFinal !== plEnd.calls) {
        failures.push(`turns and plugin calls do not add up: ${upEnd.toolCall} tool-call turns, ${upEnd.toolFinal} final turns, ${plEnd.calls} verified plugin calls (each request makes one of each)`);
      }
      if (plEnd.rejected || plEnd.badRequests) failures.push(`the plugin server refused ${plEnd.rejected} call(s) for their signature and ${plEnd.badRequests} for their body or route`);
      settings.push(['totals', `${fmtInt(upEnd.toolCall)} tool-call turns, ${fmtInt(upEnd.toolFinal)} final turns, ${fmtInt(plEnd.calls)} plugin calls, every one verified by standardwebhooks (${Object.entries(plEnd.byPath).map(([p, n]) => `${p}: ${fmtInt(n)}`).join(', ')}; gateway${baseGw ? ', baseline' : ''} and floors), ${plEnd.rejected} refused`]);
      for (const kind of t.scenarios) {
        const a = floorBodies[kind];
        const b = gatewayFinalTurn[kind];
        if (!a || !b) continue;
        settings.push([`final turn (${kind})`, a === b ? `floor and gateway send identical bodies (${fmtInt(Buffer.byteLength(a))} bytes)` : `floor ${fmtInt(Buffer.byteLength(a))} bytes, gateway ${fmtInt(Buffer.byteLength(b))} bytes — not identical (same conversation; see the JSON file)`]);
      }

      // ── aggregation ────────────────────────────────────────────────────────
      const perScenario = scenarios.map((sc) => {
        const rs = rounds.map((rd) => rd[sc.key]);
        const per = (target: Target) => {
          const list = rs.map((x) => x[target]);
          const m = (f: (x: LoadResult) => number | undefined) => median(list.map((x) => f(x) ?? Number.NaN));
          return {
            rps: m((x) => x.rps),
            p50: m((x) => x.latency.p50),
            p99: m((x) => x.latency.p99),
            gatewayCpuUs: m((x) => x.cpu[target === 'baseline' ? 'baseline' : 'gateway']?.usPerRequest),
            // (gateway-live runs in the gateway's process: its "gateway CPU" is that process's)
            upstreamCpuUs: m((x) => x.cpu.upstream?.usPerRequest),
            pluginCpuUs: m((x) => x.cpu.plugin?.usPerRequest),
            loadgenCpuUs: m((x) => x.cpu.loadgen?.usPerRequest),
            otherCpuPct: m((x) => x.cpu.other?.pct),
            requests: m((x) => x.requests),
          };
        };
        const agg = (v: number[]) => ({ median: median(v), range: range(v), perRound: v });
        const ab = baseGw ? abSummary(rs.map((x) => abRound(x.gateway, x.baseline, (w) => w)), sc.kind === 'sse') : undefined;
        return {
          ...sc,
          ...(ab ? { baseline: per('baseline'), ab } : {}),
          gateway: per('gateway'),
          gatewayLive: per('gateway-live'),
          floor: per('floor'),
          floorLean: per('floor-lean'),
          ratioP50: agg(rs.map((x) => x.gateway.latency.p50 / x.floor.latency.p50)),
          addedP50: agg(rs.map((x) => x.gateway.latency.p50 - x.floor.latency.p50)),
          ratioP99: agg(rs.map((x) => x.gateway.latency.p99 / x.floor.latency.p99)),
          rpsRatio: agg(rs.map((x) => x.gateway.rps / x.floor.rps)),
          ratioP50Lean: agg(rs.map((x) => x.gateway.latency.p50 / x['floor-lean'].latency.p50)),
          addedP50Lean: agg(rs.map((x) => x.gateway.latency.p50 - x['floor-lean'].latency.p50)),
          liveRatioP50: agg(rs.map((x) => x['gateway-live'].latency.p50 / x.floor.latency.p50)),
          liveAddedP50: agg(rs.map((x) => x['gateway-live'].latency.p50 - x.floor.latency.p50)),
          liveAddedP50Lean: agg(rs.map((x) => x['gateway-live'].latency.p50 - x['floor-lean'].latency.p50)),
          sandboxMinusLive: agg(rs.map((x) => x.gateway.latency.p50 - x['gateway-live'].latency.p50)),
        };
      });

      // ── report ─────────────────────────────────────────────────────────────
      const nR = t.rounds;
      const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(x)}%` : '-');
      const rng = (a: { median: number; range: [number, number] }, f: (n: number) => string) => withRange(f(a.median), f(a.range[0]), f(a.range[1]), nR);
      const sections: Section[] = [
        {
          title: `Per target — median over ${nR} round(s) (ms, full answer; one request = 2 model turns + 1 signed plugin call)`,
          columns: ['scenario', 'target', 'req/s', 'p50', 'p99', 'gateway CPU µs/req', 'upstream CPU µs/req', 'plugin CPU µs/req', 'loadgen CPU µs/req', 'other CPU'],
          rows: perScenario.flatMap((s) =>
            (['gateway', 'gateway-live', ...(s.baseline ? (['baseline'] as const) : []), 'floor-lean', 'floor'] as const).map((name, i) => {
              const m = name === 'floor-lean' ? s.floorLean : name === 'gateway-live' ? s.gatewayLive : name === 'baseline' ? s.baseline! : s[name];
              const hop = name === 'gateway' || name === 'gateway-live' || name === 'baseline' ? m.gatewayCpuUs : Number.NaN;
              return [i === 0 ? s.key : '', name, fmtInt(m.rps), fmtMs(m.p50), fmtMs(m.p99), Number.isFinite(hop) ? fmtInt(hop) : '-', fmtInt(m.upstreamCpuUs), fmtInt(m.pluginCpuUs), fmtInt(m.loadgenCpuUs), pct(m.otherCpuPct)];
            }),
          ),
          notes: [
            'floor = the load generator doing the turns and the signed call itself (standardwebhooks + undici Pool); floor-lean = the same with the gateway\'s own signer and guarded request. Their "loadgen CPU" is the floor client\'s work (for the gateway, only the HTTP client\'s). Plugin CPU includes its standardwebhooks verification, the same for every target.',
            `CPU from /proc/<pid>/stat over the measured phase (10 ms ticks); other = CPU of other programs meanwhile (% of one core, ${os.cpus().length} cores).`,
          ],
        },
        {
          title: 'Gateway vs floor — median of per-round values [min…max over rounds]',
          columns: ['scenario', 'p50 gw/floor', '+p50 gw vs floor (ms)', 'p99 gw/floor', 'req/s gw/floor', 'p50 gw/floor-lean', '+p50 gw vs floor-lean (ms)', 'p50 live/floor', '+p50 live vs floor-lean', 'p50 sandbox − live'],
          rows: perScenario.map((s) => [s.key, rng(s.ratioP50, fmtRatio), rng(s.addedP50, fmtDiffMs), rng(s.ratioP99, fmtRatio), rng(s.rpsRatio, fmtRatio), rng(s.ratioP50Lean, fmtRatio), rng(s.addedP50Lean, fmtDiffMs), rng(s.liveRatioP50, fmtRatio), rng(s.liveAddedP50Lean, fmtDiffMs), rng(s.sandboxMinusLive, fmtDiffMs)]),
          notes: [
            'Ratios and differences are taken within each round (gateway and floors measured back to back), then the median across rounds. gw = the sandbox installation (author\'s key); live = gateway-live, the published version installed by another organisation, in the same gateway process.',
            'gw − floor-lean is what the gateway adds per request (one more HTTP hop and process, key, decision, validation, signing bookkeeping, usage, plugin log, events, access log): the same signer and HTTP client run on both sides. Compare it with the tool-loop suite\'s gw − floor-lean for an MCP call (issue 11: no more than for MCP).',
          ],
        },
      ];

      if (o.baseline && baseGw) {
        sections.push({
          title: 'A/B: gateway vs baseline — median of per-round ratios / differences [min…max over rounds]',
          columns: ['scenario', 'p50 gw', 'p50 base', '+p50 gw vs floor-lean', '+p50 base vs floor-lean', ...AB_COLUMNS],
          rows: perScenario.map((s) => {
            const baseLean = rounds.map((rd) => rd[s.key].baseline.latency.p50 - rd[s.key]['floor-lean'].latency.p50);
            const [lo, hi] = range(baseLean);
            return [s.key, fmtMs(s.gateway.p50), fmtMs(s.baseline!.p50), rng(s.addedP50Lean, fmtDiffMs), withRange(fmtDiffMs(median(baseLean)), fmtDiffMs(lo), fmtDiffMs(hi), nR), ...abCells(s.ab!, s.kind === 'sse')];
          }),
          notes: [...abNotes(o.baseline), 'p50 = full answer (2 model turns + 1 plugin call), median over rounds; +p50 vs floor-lean = what each gateway adds per request; CPU/req = each gateway process\'s CPU per request.'],
        });
        settings.push(['A/B', abVerdict(perScenario.map((s) => ({ key: s.key, worse: s.ab?.worse ?? [] })), nR)]);
      }

      const c1 = perScenario.find((s) => s.kind === 'json' && s.connections === 1);
      if (c1) {
        settings.push([
          'added per tool call',
          `json c=1 p50, sandbox installation: gateway ÷ floor ${fmtRatio(c1.ratioP50.median)} [${fmtRatio(c1.ratioP50.range[0])}…${fmtRatio(c1.ratioP50.range[1])}] (${fmtMs(c1.gateway.p50)} vs ${fmtMs(c1.floor.p50)} ms), gateway − floor ${fmtDiffMs(c1.addedP50.median)} ms [${fmtDiffMs(c1.addedP50.range[0])}…${fmtDiffMs(c1.addedP50.range[1])}]; gateway − floor-lean ${fmtDiffMs(c1.addedP50Lean.median)} ms [${fmtDiffMs(c1.addedP50Lean.range[0])}…${fmtDiffMs(c1.addedP50Lean.range[1])}] (${fmtRatio(c1.ratioP50Lean.median)}) — compare with the tool-loop suite's (MCP) line of the same name`,
        ]);
        settings.push([
          '  live installation',
          `json c=1 p50: gateway-live ÷ floor ${fmtRatio(c1.liveRatioP50.median)} [${fmtRatio(c1.liveRatioP50.range[0])}…${fmtRatio(c1.liveRatioP50.range[1])}] (${fmtMs(c1.gatewayLive.p50)} ms), gateway-live − floor ${fmtDiffMs(c1.liveAddedP50.median)} ms [${fmtDiffMs(c1.liveAddedP50.range[0])}…${fmtDiffMs(c1.liveAddedP50.range[1])}]; gateway-live − floor-lean ${fmtDiffMs(c1.liveAddedP50Lean.median)} ms [${fmtDiffMs(c1.liveAddedP50Lean.range[0])}…${fmtDiffMs(c1.liveAddedP50Lean.range[1])}]; sandbox − live ${fmtDiffMs(c1.sandboxMinusLive.median)} ms [${fmtDiffMs(c1.sandboxMinusLive.range[0])}…${fmtDiffMs(c1.sandboxMinusLive.range[1])}]`,
        ]);
      }
      const noise = machineNoise(rounds.map((rd) => Object.values(rd).flatMap((byT) => Object.values(byT))));
      if (noise) settings.push(['machine noise', noise.line]);
      const logInfo = gatewayLogSummary(handle.logFile, gatewayRequests);
      if (logInfo) {
        settings.push(['gateway log', `${fmtInt(logInfo.lines)} lines (${(logInfo.bytes / 1e6).toFixed(1)} MB, ${logInfo.perRequest.toFixed(2)} lines/request, ${logInfo.warnOrWorse} warn or worse)`]);
        for (const l of logInfo.samples.slice(0, 3)) settings.push(['', `  ${l.length > 240 ? `${l.slice(0, 240)}…` : l}`]);
        // The installation's secret config goes to the plugin only.
        if (fs.readFileSync(handle.logFile!, 'utf8').includes(API_KEY)) failures.push('the gateway log contains the installation\'s secret config value');
      }
      const baselineLog = gatewayLogSummary(baseGw?.handle?.logFile, baselineRequests);
      if (baselineLog) settings.push(['baseline log', `${fmtInt(baselineLog.lines)} lines (${(baselineLog.bytes / 1e6).toFixed(1)} MB, ${baselineLog.perRequest.toFixed(2)} lines/request, ${baselineLog.warnOrWorse} warn or worse)`]);

      completed = true;
      return {
        name: NAME,
        title: TITLE,
        settings,
        sections,
        goals: [],
        failures,
        data: {
          expectedContent: expected,
          installations: { sandbox: { ...plug, secret: '[redacted]' }, live: { ...both.live, secret: '[redacted]' } },
          gatewayCallBody: gatewayCallBody.split(API_KEY).join('[redacted]'),
          firstTurnBodies: firstTurn,
          gatewayFinalTurnBodies: gatewayFinalTurn,
          floorFinalTurnBodies: floorBodies,
          scenarios: perScenario,
          rounds,
          totals: { upstream: upEnd, plugin: plEnd },
          gatewayLog: logInfo,
          gatewayDataDir: gw.dataDir,
          ...(baseGw ? { baseline: { ...o.baseline, notes: baseGw.notes, installation: basePlug && { ...basePlug, secret: '[redacted]' }, log: baselineLog, dataDir: baseGw.dataDir } } : {}),
        },
      };
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      for (const st of [gw, baseGw]) {
        if (st?.dataDir && !o.keepTemp && ((completed && failures.length === 0) || ctx.interrupted())) fs.rmSync(st.dataDir, { recursive: true, force: true });
      }
    }
  },
};
