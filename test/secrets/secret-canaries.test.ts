/**
 * The class test of "no secret the appliance holds ever leaves": one running app holding a distinct
 * canary for every kind of secret (upstream key, MCP bearer credential, MCP header credential, a
 * wrong MCP credential, Twilio auth token, gateway keys, control tokens, master key), fake servers
 * that echo every credential they receive into their error bodies, and every error path we can
 * reach — upstream 4xx (JSON and streaming, with and without plugins), 5xx, mid-stream errors and
 * echoing answers, MCP tool errors, thrown tool errors, connect and install failures, Twilio send
 * errors through the plugin and through the reply worker until its job is dead, control-panel and
 * auth errors, a custom plugin whose endpoint quotes its config secret, the call's signature and its
 * own signing secret in results and errors, the plugin logs, and operator routes with a wrong
 * operator token. Then every canary, in its plain, URL-encoded and base64 forms, is looked for in
 * every response body and header received, the captured log lines, the live-events stream, the
 * usage rows, jobs, installations and instances read through the API, what the model was sent, and
 * every raw file in the data directory (plugboard.db, -wal, -shm, usage.journal) but the master key file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startApp } from '../helpers/app.ts';
import { chatCompletion, contentChunks, startFakeUpstream, toolCallChunks, type ScriptedTurn } from '../fakes/openai-upstream.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { fakeSid, startFakeTwilio } from '../fakes/twilio-api.ts';
import { deliverTwilioWebhook, inboundParams } from '../fakes/twilio-webhooks.ts';
import { waitFor } from '../helpers/factories.ts';
import { startPluginServer, testManifest } from '../plugins/custom/helpers.ts';
import { startFakeStripe } from '../fakes/stripe-api.ts';
import { sendStripeWebhook } from '../fakes/stripe-webhooks.ts';

const PUBLIC_BASE = 'https://pb.example.com';
const SENDER = 'whatsapp:+14155550100';
const ALICE = 'whatsapp:+14155550123';

/** Distinct, recognisable values that no scrubbing pattern would catch by shape: only knowing them removes them. */
const CANARY = {
  upstreamKey: 'cnry-upstream-q7w3e9r1t5y8u2',
  mcpBearer: 'cnry-mcpbearer-z8x6c4v2b0n1',
  mcpHeader: 'cnry-mcpheader-m1n3b5v7c9x2',
  mcpWrong: 'cnry-mcpwrong-h5g3f1d9s7a6',
  twilioToken: 'cnry-twilio-p4o2i8u6y1t3r5',
  pluginConfig: 'cnry-plugincfg-w2e4r6t8y0u1',
  stripeKey: 'sk_test_cnrystripeQ7w3e9r1t5y8u2',
  stripeWrongKey: 'sk_test_cnrystripewrongH5g3f1d9s7',
  stripeWhsec: 'whsec_cnrywhsecZ8x6c4v2b0n1m3',
};

interface Seen {
  where: string;
  text: string;
}

/** The forms a leaked value could take in text: plain, URL-encoded, base64 and base64url. */
function forms(value: string): string[] {
  const b64 = Buffer.from(value).toString('base64');
  return [...new Set([value, encodeURIComponent(value), b64.replace(/=+$/, ''), Buffer.from(value).toString('base64url')])];
}

test('no canary of any kind of secret leaves through a response, a log line, a live event, the APIs or the database files', { timeout: 120_000 }, async () => {
  const masterKey = crypto.randomBytes(32);
  const twilioSid = fakeSid('AC');
  await using upstream = await startFakeUpstream();
  await using alpha = await startMcpTestServer({ requireBearer: CANARY.mcpBearer, echoCredentials: true, streamableOnly: true });
  await using beta = await startMcpTestServer({ requireHeader: { name: 'X-Api-Key', value: CANARY.mcpHeader }, echoCredentials: true, streamableOnly: true });
  await using twilio = await startFakeTwilio({ accounts: { [twilioSid]: CANARY.twilioToken } });
  await using stripe = await startFakeStripe({ accounts: [{ secretKey: CANARY.stripeKey }] });
  await using t = await startApp({
    PLUGBOARD_UPSTREAM_BASE_URL: upstream.url,
    PLUGBOARD_UPSTREAM_API_KEY: CANARY.upstreamKey,
    PLUGBOARD_MASTER_KEY: masterKey.toString('hex'),
    PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8',
    PLUGBOARD_TWILIO_API_BASE_URL: twilio.origin,
    PLUGBOARD_STRIPE_API_BASE_URL: stripe.origin,
    PLUGBOARD_PUBLIC_BASE_URL: PUBLIC_BASE,
    PLUGBOARD_WORKER_POLL_MS: '20',
    PLUGBOARD_WORKER_RETRY_BASE_MS: '20',
    PLUGBOARD_WORKER_RETRY_CAP_MS: '100',
    PLUGBOARD_TWILIO_TIMEOUT_MS: '3000',
    PLUGBOARD_LOG_LEVEL: 'debug',
  });
  const seen: Seen[] = [];
  const keep = (where: string, text: string): void => void seen.push({ where, text });

  /** Any HTTP call to the app; the status, every header and the whole body are kept. */
  async function call(where: string, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(t.url + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    keep(where, `${res.status} ${JSON.stringify([...res.headers])}\n${text}`);
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, text, json };
  }
  const chat = (where: string, key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    call(where, 'POST', '/v1/chat/completions', { token: key, headers, body: { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], ...body } });

  // Two organisations: one without plugins (passthrough), one with two MCP servers and WhatsApp (tool loop).
  const plain = t.tenant('Plain');
  const tooled = t.tenant('Tooled');
  const plainKey = t.key(plain.orgId).secret;
  const tooledKey = t.key(tooled.orgId).secret;
  const member = t.member(tooled.orgId, 'member');
  const owner = (path: string) => ({ token: tooled.ownerToken, headers: { 'x-org-id': tooled.orgId }, path });
  const install = async (slug: string, url: string, credential: Record<string, string>) =>
    call(`install ${slug}`, 'POST', `/organizations/${tooled.orgId}/mcp-integrations`, {
      ...owner(''), body: { slug, displayName: slug, url, transport: 'streamable_http', credential },
    });
  // A server that writes its own credential into its catalog (a description and a schema default).
  alpha.addTool({
    name: 'leaky_catalog', description: `Authenticates with ${CANARY.mcpBearer}.`,
    inputSchema: { type: 'object', properties: { auth: { type: 'string', default: CANARY.mcpBearer } } },
    handler: () => ({ content: [{ type: 'text', text: 'ok' }] }),
  });
  assert.equal((await install('alpha', alpha.url, { type: 'bearer', token: CANARY.mcpBearer })).status, 201);
  assert.equal((await install('beta', beta.url, { type: 'header', name: 'X-Api-Key', value: CANARY.mcpHeader })).status, 201);
  // A stored credential the server refuses (its 401 body quotes it): install fails with a 4xx.
  const refused = await install('gamma', alpha.url, { type: 'bearer', token: CANARY.mcpWrong });
  assert.ok(refused.status >= 400 && refused.status < 500, refused.text);
  const instance = await call('create instance', 'POST', `/organizations/${tooled.orgId}/whatsapp-instances`, {
    ...owner(''),
    body: { name: 'Support', sender: SENDER, twilioAccountSid: twilioSid, twilioAuthToken: CANARY.twilioToken, systemPrompt: 'Be brief.', model: 'gpt-test' },
  });
  assert.equal(instance.status, 201, instance.text);

  // The live log of the tooled organisation, read to the end of the test.
  const eventsAbort = new AbortController();
  const eventsRes = await fetch(`${t.url}/organizations/${tooled.orgId}/events`, { headers: { authorization: `Bearer ${member.token}` }, signal: eventsAbort.signal });
  assert.equal(eventsRes.status, 200);
  let events = '';
  const eventsDone = (async () => {
    try {
      for await (const c of eventsRes.body as unknown as AsyncIterable<Uint8Array>) events += Buffer.from(c).toString('utf8');
    } catch {
      // Aborted at the end of the test.
    }
  })();

  // 1. The reply worker: Twilio refuses the reply, quoting the credentials it received, until the job is dead.
  upstream.script({ json: chatCompletion({ content: 'Hello Alice' }) });
  twilio.failNext({ match: 'create', status: 500, echoCredentials: true });
  twilio.failNext({ match: 'create', status: 400, code: 21211, echoCredentials: true });
  const inboundPath = `/webhooks/twilio/whatsapp/${instance.json.id}`;
  const inbound = await deliverTwilioWebhook({
    url: t.url + inboundPath, signedUrl: PUBLIC_BASE + inboundPath, authToken: CANARY.twilioToken,
    params: inboundParams({ accountSid: twilioSid, from: ALICE, to: SENDER, body: 'Hi, is my bike ready?' }),
  });
  assert.equal(inbound.status, 200);
  const dead = await waitFor('the reply job dead-lettered', async () => {
    const jobs = await call('jobs', 'GET', `/organizations/${tooled.orgId}/jobs?status=dead`, owner(''));
    return jobs.json?.data?.length ? jobs.json.data[0] : null;
  }, 15_000);
  assert.match(String(dead.lastError), /Twilio/);

  // 2. Upstream 4xx that quote the request's Authorization in message, code, type, param and a passed-on header.
  const echoing = (status: number, sse = false): ScriptedTurn => ({
    status, echoCredentials: true, headers: { 'retry-after': '1', 'x-ratelimit-remaining-tokens': '$KEY' },
    json: { error: { message: `Refused request carrying $AUTHORIZATION (key $KEY)${sse ? ' while streaming' : ''}`, type: '$KEY', code: '$KEY', param: '$KEY' } },
  });
  for (const status of [400, 404, 422, 429]) {
    for (const stream of [false, true]) {
      upstream.script(echoing(status, stream));
      await chat(`passthrough ${status} stream=${stream}`, plainKey, { stream });
      upstream.script(echoing(status, stream));
      await chat(`tool loop ${status} stream=${stream}`, tooledKey, { stream });
      upstream.script(echoing(status, stream));
      await chat(`narrowed to none ${status} stream=${stream}`, tooledKey, { stream }, { 'x-plugboard-plugins': 'none' });
    }
  }
  // 3. Upstream 5xx, non-JSON error pages, and answers or streams that quote the key.
  for (const [key, who] of [[plainKey, 'passthrough'], [tooledKey, 'tool loop']] as const) {
    upstream.script({ status: 500, echoCredentials: true, json: { error: { message: 'db down; auth was $AUTHORIZATION' } } });
    await chat(`${who} 500`, key, {});
    upstream.script({ status: 400, echoCredentials: true, text: '<html>proxy refused $AUTHORIZATION</html>' });
    await chat(`${who} 400 html`, key, { stream: true });
    upstream.script({ echoCredentials: true, json: chatCompletion({ content: 'Your key is $KEY' }) });
    await chat(`${who} 200 quoting the key`, key, {});
    upstream.script({ echoCredentials: true, sse: [...contentChunks(['Your key ', 'is $KEY'])] });
    await chat(`${who} stream quoting the key`, key, { stream: true });
    upstream.script({ echoCredentials: true, noDone: true, sse: [contentChunks(['partial'])[0], { error: { message: 'upstream broke, auth $AUTHORIZATION' } }], destroyAfterEvents: 2 });
    await chat(`${who} stream error event`, key, { stream: true });
  }

  // 4. The tool loop runs tools that fail quoting the credentials they received, then answers.
  twilio.failNext({ match: 'create', status: 400, code: 21211, echoCredentials: true });
  const leakyTools = ['alpha__leak_error', 'alpha__leak_throw', 'alpha__whoami', 'beta__leak_error', 'beta__leak_throw', 'beta__whoami']
    .map((name) => ({ name, arguments: {} }));
  for (const stream of [false, true]) {
    const calls = [...leakyTools, ...(stream ? [] : [{ name: 'whatsapp__send_message', arguments: { to: '+14155550123', text: 'Your bike is ready.' } }])];
    if (stream) upstream.script({ sse: toolCallChunks(calls) }, { sse: contentChunks(['done']) });
    else upstream.script({ json: chatCompletion({ toolCalls: calls }) }, { json: chatCompletion({ content: 'done' }) });
    const res = await chat(`tool loop tools stream=${stream}`, tooledKey, { stream });
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /done/);
  }

  // 5. MCP connect failures at call time and on refresh, with the server quoting what it received.
  alpha.failRequests(500);
  beta.failRequests(401);
  const integrations = await call('integrations', 'GET', `/organizations/${tooled.orgId}/mcp-integrations`, owner(''));
  for (const inst of integrations.json.data) {
    await call(`refresh ${inst.slug}`, 'POST', `/organizations/${tooled.orgId}/mcp-integrations/${inst.id}/refresh`, owner(''));
  }
  alpha.failRequests(null);
  beta.failRequests(null);

  // 6. Control-panel and authentication errors carrying the credentials the caller sent.
  await call('wrong org', 'GET', `/organizations/${plain.orgId}/keys`, { token: tooled.ownerToken });
  await call('bad integration', 'POST', `/organizations/${tooled.orgId}/mcp-integrations`, {
    ...owner(''), body: { slug: CANARY.mcpBearer, displayName: 'x', url: `http://${CANARY.mcpBearer}`, credential: { type: 'bearer', token: CANARY.mcpBearer, extra: CANARY.mcpHeader } },
  });
  await call('bad instance', 'POST', `/organizations/${tooled.orgId}/whatsapp-instances`, {
    ...owner(''), body: { name: 'x', sender: CANARY.twilioToken, twilioAccountSid: CANARY.twilioToken, twilioAuthToken: `${CANARY.twilioToken} spaces` },
  });
  await call('member writes', 'POST', `/organizations/${tooled.orgId}/keys`, { token: member.token, body: { name: CANARY.upstreamKey } });
  await call('garbage token', 'GET', `/organizations/${tooled.orgId}`, { token: `${tooled.ownerToken}x` });
  await chat('wrong key', `${tooledKey}x`, {});
  await chat('bad body', tooledKey, { messages: CANARY.upstreamKey });

  // 7. A custom plugin whose endpoint quotes what it received (its config secret, the signature) and its own signing secret.
  await using echo = await startPluginServer(({ rawBody, headers }) => {
    const quoted = `${rawBody} signed ${String(headers['webhook-signature'])} with ${echo.secrets[0]} (${echo.secrets[0]?.slice(6)})`;
    return JSON.parse(rawBody).tool === 'lookup_order' ? { json: { status: 'found', eta: quoted } } : { status: 500, json: { error: { message: quoted } } };
  });
  const registered = await t.api('POST', `/organizations/${tooled.orgId}/developer/plugins`, { token: tooled.ownerToken, body: { manifest: testManifest(echo.origin) } });
  assert.equal(registered.status, 201, registered.text);
  const signingSecret = registered.json.signingSecret as string;
  echo.secrets = [signingSecret];
  const customInst = await call('install custom plugin', 'POST', `/organizations/${tooled.orgId}/plugin-installations`, {
    ...owner(''), body: { pluginId: registered.json.id, config: { api_key: CANARY.pluginConfig }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] },
  });
  assert.equal(customInst.status, 201, customInst.text);
  upstream.script(
    { json: chatCompletion({ toolCalls: [{ name: 'orders__lookup_order', arguments: { orderNumber: 'A-1001' } }, { name: 'orders__add_note', arguments: { orderNumber: 'A-1001', note: 'hi' } }] }) },
    { json: chatCompletion({ content: 'done' }) },
  );
  assert.equal((await chat('custom plugin tools', tooledKey, {})).status, 200);
  assert.equal(echo.calls.length, 2);
  assert.ok(echo.calls.every((c) => c.verified !== null && c.rawBody.includes(CANARY.pluginConfig)), 'the plugin received its config secret, signed');
  const opToken = t.app.operatorTokens.create('canary ops').secret;
  await call('operator wrong token', 'GET', '/operator/plugin-reviews', { token: `${opToken}x` });
  await call('operator logs', 'GET', `/operator/plugin-logs?pluginId=${registered.json.id}`, { token: opToken });
  await call('plugin logs', 'GET', `/organizations/${tooled.orgId}/plugin-installations/${customInst.json.id}/logs`, owner(''));
  await call('developer logs', 'GET', `/organizations/${tooled.orgId}/developer/plugins/${registered.json.id}/logs`, owner(''));
  await call('custom installation', 'GET', `/organizations/${tooled.orgId}/plugin-installations/${customInst.json.id}`, owner(''));
  await call('developer plugin', 'GET', `/organizations/${tooled.orgId}/developer/plugins/${registered.json.id}`, owner(''));
  // 8. Payments: a Stripe binding (key and webhook secret sealed), a payment created at the fake, a refused
  // rotation, a forged webhook, and the key rotated to one Stripe refuses (its 401 quotes part of it).
  const stripeBinding = await call('bind stripe', 'PUT', `/organizations/${tooled.orgId}/payment-binding`, {
    ...owner(''), body: { provider: 'stripe', stripe: { secretKey: CANARY.stripeKey, webhookSecret: CANARY.stripeWhsec } },
  });
  assert.equal(stripeBinding.status, 200, stripeBinding.text);
  await call('bad rotation', 'PATCH', `/organizations/${tooled.orgId}/payment-binding`, { ...owner(''), body: { stripe: { webhookSecret: `${CANARY.stripeWhsec} x`, secretKey: `${CANARY.stripeKey}!` } } });
  assert.equal((await call('product', 'POST', `/organizations/${tooled.orgId}/products`, { ...owner(''), body: { sku: 'P1', name: 'P', priceMinor: 1500, currency: 'EUR' } })).status, 201);
  const { order } = t.app.ecommerce.createOrder({ orgId: tooled.orgId, instanceId: instance.json.id, customerRef: 'wcr_canary', items: [{ sku: 'P1', quantity: 1 }], idempotencyKey: null }, 'req_canary');
  const { payment } = await t.app.payments.core.linkForOrder(order, 'req_canary');
  assert.equal(payment.status, 'pending');
  const forged = await sendStripeWebhook({ url: `${t.url}/webhooks/payments/stripe/${stripeBinding.json.id}`, type: 'checkout.session.completed', object: { id: payment.providerRef }, secret: `whsec_${'f0rg3d'.repeat(5)}` });
  keep('forged stripe webhook', `${forged.status}\n${forged.text}`);
  assert.equal(forged.status, 400);
  await call('rotate to a refused key', 'PATCH', `/organizations/${tooled.orgId}/payment-binding`, { ...owner(''), body: { stripe: { secretKey: CANARY.stripeWrongKey } } });
  const refused401 = await call('refresh with a refused key', 'POST', `/organizations/${tooled.orgId}/payments/${payment.id}/refresh`, owner(''));
  assert.equal(refused401.status, 502, refused401.text);
  assert.ok(stripe.requests.some((r) => r.status === 401), 'Stripe refused the rotated key');
  await call('binding after', 'GET', `/organizations/${tooled.orgId}/payment-binding`, owner(''));
  await call('payments after', 'GET', `/organizations/${tooled.orgId}/payments`, owner(''));

  // Everything members can read back.
  t.app.recorder.flush();
  for (const org of [plain, tooled]) {
    await call(`usage ${org.orgId}`, 'GET', `/organizations/${org.orgId}/usage-events?limit=500`, { token: org.ownerToken });
    await call(`jobs ${org.orgId}`, 'GET', `/organizations/${org.orgId}/jobs`, { token: org.ownerToken });
    await call(`plugins ${org.orgId}`, 'GET', `/organizations/${org.orgId}/plugins`, { token: org.ownerToken });
  }
  await call('integrations after', 'GET', `/organizations/${tooled.orgId}/mcp-integrations`, owner(''));
  for (const inst of integrations.json.data) {
    await call(`tools ${inst.slug}`, 'GET', `/organizations/${tooled.orgId}/plugins/${inst.id}/tools`, owner(''));
  }
  await call('instances', 'GET', `/organizations/${tooled.orgId}/whatsapp-instances`, owner(''));
  // Usage and audit (issue 13): a write whose user agent and path carry credentials, then the audit log (owners, operator) and the summary.
  await call('write with credentials in the user agent and path', 'PATCH', `/organizations/${tooled.orgId}/keys/${encodeURIComponent(member.token)}`, {
    ...owner(''), body: { name: 'x' }, headers: { 'x-org-id': tooled.orgId, 'user-agent': `agent ${tooled.ownerToken} ${CANARY.upstreamKey} ${opToken} ${tooledKey}` },
  });
  await call('audit log', 'GET', `/organizations/${tooled.orgId}/audit-log?limit=500`, owner(''));
  await call('operator audit log', 'GET', '/operator/audit-log?limit=500', { token: opToken });
  await call('usage summary', 'GET', `/organizations/${tooled.orgId}/usage/summary?range=24h&groupBy=tool&limit=200`, owner(''));
  await call('usage summary by model', 'GET', `/organizations/${tooled.orgId}/usage/summary?range=1h&groupBy=model&limit=200`, owner(''));
  await call('conversations', 'GET', `/organizations/${tooled.orgId}/whatsapp-instances/${instance.json.id}/conversations`, owner(''));

  // What the model was sent: tool results must not carry the MCP or Twilio credentials either.
  for (const r of upstream.requests) keep(`upstream request body ${r.path}`, r.rawBody);

  eventsAbort.abort();
  await eventsDone;
  keep('live events', events);
  for (const line of t.logs) keep('log', line);
  // Every file in the data directory (database, -wal, -shm, the usage journal…) but the master key's own file.
  const raw = (when: string) => {
    for (const name of fs.readdirSync(t.config.dataDir)) {
      const f = `${t.config.dataDir}/${name}`;
      if (f === t.config.masterKeyFile || !fs.statSync(f).isFile()) continue;
      keep(`${when} ${name}`, fs.readFileSync(f).toString('latin1'));
    }
  };
  raw('running');
  await t.close();
  raw('closed');
  for (const line of t.logs) keep('log after close', line);

  const canaries: Array<[string, string[]]> = [
    ['upstream key', forms(CANARY.upstreamKey)],
    ['MCP bearer credential', forms(CANARY.mcpBearer)],
    ['MCP header credential', forms(CANARY.mcpHeader)],
    ['refused MCP credential', forms(CANARY.mcpWrong)],
    ['Twilio auth token', [...forms(CANARY.twilioToken), Buffer.from(`${twilioSid}:${CANARY.twilioToken}`).toString('base64').replace(/=+$/, '')]],
    ['gateway key (passthrough org)', forms(plainKey)],
    ['gateway key (tool org)', forms(tooledKey)],
    ['control token (owner)', forms(tooled.ownerToken)],
    ['control token (member)', forms(member.token)],
    ['control token (other owner)', forms(plain.ownerToken)],
    ['Stripe secret key', forms(CANARY.stripeKey)],
    ['refused Stripe secret key', forms(CANARY.stripeWrongKey)],
    ['Stripe webhook secret', forms(CANARY.stripeWhsec)],
    ['master key', [masterKey.toString('hex'), masterKey.toString('base64').replace(/=+$/, ''), masterKey.toString('base64url')]],
    ['custom plugin config secret', forms(CANARY.pluginConfig)],
    ['plugin signing secret', [...forms(signingSecret), signingSecret.slice(6).replace(/=+$/, '')]],
    ['operator token', forms(opToken)],
  ];
  const leaks: string[] = [];
  for (const { where, text } of seen) {
    // The model legitimately receives the upstream key: only as the Authorization of its own requests, never in bodies.
    for (const [kind, needles] of canaries) {
      for (const needle of needles) {
        const at = text.indexOf(needle);
        if (at !== -1) leaks.push(`${kind} in ${where}: …${text.slice(Math.max(0, at - 80), at + needle.length + 20).replace(/\s+/g, ' ')}…`);
      }
    }
  }
  assert.deepEqual(leaks, [], `${leaks.length} leak(s):\n${leaks.slice(0, 40).join('\n')}`);
  // The test saw what it was meant to see: the servers received the credentials and quoted them back,
  // and what came out had them removed.
  const quoted = (where: RegExp) => seen.filter((x) => where.test(x.where) && x.text.includes('[redacted]')).length;
  assert.ok(alpha.requestHeaders.some((h) => h.authorization === `Bearer ${CANARY.mcpBearer}`));
  assert.ok(beta.requestHeaders.some((h) => h['x-api-key'] === CANARY.mcpHeader));
  assert.ok(twilio.requests.length >= 3);
  assert.equal(quoted(/^passthrough 4\d\d stream=false$/), 4, 'every passthrough 4xx quoted the key, redacted');
  assert.equal(quoted(/^tool loop 4\d\d stream=true$/), 4, 'every streaming tool-loop 4xx quoted the key, redacted');
  const toolResults = upstream.requests.map((r) => r.rawBody).filter((b) => b.includes('tool_result')).join('\n');
  for (const tool of ['alpha__leak_error', 'alpha__leak_throw', 'alpha__whoami', 'beta__leak_error', 'beta__leak_throw', 'beta__whoami', 'whatsapp__send_message']) {
    assert.match(toolResults, new RegExp(`tool=\\\\"${tool}\\\\"`), `${tool} ran`);
  }
  assert.match(toolResults, /\[redacted\]/);
  assert.match(toolResults, /orders__lookup_order[\s\S]*\[redacted\]/, 'the plugin quoted its secrets, redacted');
  assert.match(String(dead.lastError), /\[redacted\]/, 'the job error quoted the token, redacted');
  assert.ok(quoted(/^log/) > 0, 'log lines quoted secrets, redacted');
});

