/**
 * GET /metrics, read the way Prometheus reads it: the exposition is parsed by a real text-format
 * parser (parse-prometheus-text-format, prom2json-compatible), then checked for what an operator
 * needs — requests by route template and status, upstream latency, tool calls by plugin and
 * outcome, the reply-job queue and its dead letters, WhatsApp sends and statuses — and for what
 * must never be there: concrete paths with ids, organisation ids, customer refs, phone numbers,
 * message text, keys or tokens. Also who may scrape: loopback only by default, a token otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { chatCompletion } from '../fakes/openai-upstream.ts';
import { waitFor } from '../helpers/factories.ts';
import { startApp } from '../helpers/app.ts';
import { ALICE, setupWhatsApp } from '../channels/whatsapp-setup.ts';

interface Family {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ text: string; families: Map<string, Family> }> {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]));
  // The parser folds a histogram's label sets into one (it keeps only the `le` buckets): its
  // series are read a second time as untyped samples, each `_bucket`, `_count` and `_sum` line with its labels.
  const untyped = text.split('\n').filter((l) => !/^# TYPE \S+ histogram$/.test(l)).join('\n');
  const series = new Map<string, Family>();
  for (const f of parsePrometheusTextFormat(untyped) as Family[]) {
    if (families.has(f.name)) continue;
    // Interleaved series of one histogram come back as several families of one name: joined.
    const known = series.get(f.name);
    if (known) known.metrics.push(...f.metrics);
    else series.set(f.name, { ...f, metrics: [...f.metrics] });
  }
  for (const [name, f] of series) families.set(name, f);
  return { text, families };
}

function sample(families: Map<string, Family>, name: string, labels: Record<string, string>): Family['metrics'][number] | undefined {
  const fam = families.get(name);
  assert.ok(fam, `${name} is exposed`);
  return fam.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

/** One labelled histogram series: its count, sum and +Inf bucket, from the `_count`, `_sum` and `_bucket` samples. */
function hist(families: Map<string, Family>, name: string, labels: Record<string, string>): { count: number; sum: number; inf: number } {
  const one = (suffix: string, extra: Record<string, string> = {}): number => {
    const m = sample(families, `${name}${suffix}`, { ...labels, ...extra });
    assert.ok(m, `${name}${suffix} ${JSON.stringify(labels)} is exposed`);
    return Number(m.value);
  };
  return { count: one('_count'), sum: one('_sum'), inf: one('_bucket', { le: '+Inf' }) };
}

test('/metrics parses as Prometheus text and counts requests, upstream calls, tool calls, jobs, dead letters and WhatsApp sends — with no tenant data in labels', async () => {
  await using s = await setupWhatsApp();
  const { t, tenant } = s;
  await s.grant(['first_party:whatsapp']);

  // A reply whose model turn calls a WhatsApp tool, then answers: one tool call ok, two upstream calls, two sends.
  s.upstream.script(
    { json: chatCompletion({ toolCalls: [{ name: 'whatsapp__send_message', arguments: { text: 'A note first.' } }] }) },
    { json: chatCompletion({ content: 'Hello Alice!' }) },
  );
  assert.equal((await s.send('hi, my order 4711 is late')).status, 200);
  const sent = await s.waitForSent(2);
  assert.equal((await s.status(sent[0].sid, 'delivered')).status, 200);
  // A second reply that Twilio refuses for good: a dead letter with error 21211.
  s.upstream.script({ json: chatCompletion({ content: 'Again?' }) });
  s.twilio.failNext({ match: 'create', status: 400, code: 21211, message: 'Invalid To number' });
  assert.equal((await s.send('are you there?')).status, 200);
  await waitFor('a dead job', async () => (await t.api('GET', `/organizations/${tenant.orgId}/jobs?status=dead`, { token: tenant.ownerToken })).json.data.length === 1);
  // Control-panel requests with ids in their paths, and one 404.
  const key = t.key(tenant.orgId);
  assert.equal((await t.api('GET', `/organizations/${tenant.orgId}/keys/${key.id}`, { token: tenant.ownerToken })).status, 200);
  assert.equal((await t.api('GET', `/organizations/${tenant.orgId}/keys/key_missing`, { token: tenant.ownerToken })).status, 404);
  assert.equal((await t.api('GET', '/no/such/path')).status, 404);
  // The gateway's hot path.
  s.upstream.script({ json: chatCompletion({ content: 'direct' }) });
  await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello' }] });

  const { text, families } = await scrape(t.url);

  const http = 'plugboard_http_request_duration_seconds';
  assert.equal(families.get(http)!.type, 'HISTOGRAM');
  const chat = hist(families, http, { route: '/v1/chat/completions', method: 'POST', status: '200' });
  assert.equal(chat.count, 1);
  assert.equal(chat.inf, 1);
  assert.ok(chat.sum > 0);
  assert.equal(hist(families, http, { route: '/organizations/:organizationId/keys/:keyId', method: 'GET', status: '200' }).count, 1, 'route templates, not paths');
  assert.equal(hist(families, http, { route: '/organizations/:organizationId/keys/:keyId', method: 'GET', status: '404' }).count, 1);
  assert.equal(hist(families, http, { route: 'unmatched', method: 'GET', status: '404' }).count, 1);
  assert.equal(hist(families, http, { route: '/webhooks/twilio/whatsapp/:instanceId', method: 'POST', status: '200' }).count, 2, 'the webhook by its template');
  assert.equal(hist(families, http, { route: '/webhooks/twilio/status', method: 'POST', status: '200' }).count, 1);

  assert.equal(families.get('plugboard_upstream_response_seconds')!.type, 'HISTOGRAM');
  assert.equal(hist(families, 'plugboard_upstream_response_seconds', { path: '/chat/completions', status: '200' }).count, 4, 'two model turns of the first reply, one of the second, one direct');
  assert.equal(sample(families, 'plugboard_tool_calls_total', { plugin: 'first_party:whatsapp', kind: 'first_party', outcome: 'ok' })?.value, '1');
  assert.equal(hist(families, 'plugboard_tool_call_duration_seconds', { kind: 'first_party', outcome: 'ok' }).count, 1);

  const queued = sample(families, 'plugboard_whatsapp_sends_total', { status: 'queued', error_code: '' });
  assert.equal(queued?.value, '2');
  assert.equal(sample(families, 'plugboard_whatsapp_sends_total', { status: 'failed', error_code: '21211' })?.value, '1');
  assert.equal(sample(families, 'plugboard_whatsapp_status_callbacks_total', { status: 'delivered' })?.value, '1');
  assert.equal(sample(families, 'plugboard_jobs', { kind: 'whatsapp.reply', status: 'dead' })?.value, '1', 'the dead letter');
  assert.ok(families.get('plugboard_jobs_oldest_due_seconds'));
  assert.equal(families.get('plugboard_reply_worker_in_flight')!.metrics[0].value, '0');
  assert.equal(families.get('plugboard_upstream_up')!.metrics[0].value, '1');
  assert.ok(families.get('process_cpu_user_seconds_total') && families.get('nodejs_eventloop_lag_seconds'), 'process metrics too');

  // Nothing that identifies a tenant, a customer or a secret.
  const conv = (await t.api('GET', `/organizations/${tenant.orgId}/whatsapp-instances/${s.instance.id}/conversations`, { token: tenant.ownerToken })).json.data[0];
  for (const needle of [tenant.orgId, s.instance.id, key.id, key.secret, tenant.ownerToken, conv.customerRef, ALICE, ALICE.slice('whatsapp:'.length), '4711', 'Hello Alice', s.twilio.authToken, 'sk-upstream-test-key', sent[0].sid]) {
    assert.ok(!text.includes(needle), `${needle} is not in /metrics`);
  }
});

test('/metrics: loopback only without a token (a forwarded request is refused); with PLUGBOARD_METRICS_TOKEN only the token opens it', async () => {
  {
    await using t = await startApp();
    await scrape(t.url);
    const forwarded = await t.api('GET', '/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(forwarded.status, 403);
    assert.equal(forwarded.json.error.code, 'metrics_local_only');
    assert.equal(forwarded.json.error.type, 'permission_error');
  }
  const token = 'metrics-token-0123456789abcdef';
  await using t = await startApp({ PLUGBOARD_METRICS_TOKEN: token });
  const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: `Basic ${token}` }];
  for (const headers of attempts) {
    const res = await t.api('GET', '/metrics', { headers });
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.equal(res.json.error.code, 'invalid_metrics_token');
    assert.ok(!res.text.includes(token));
  }
  const { text } = await scrape(t.url, { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' });
  assert.ok(!text.includes(token));
  assert.ok(t.logs.every((l) => !l.includes(token)), 'the token is never logged');
  assert.equal((await t.api('POST', '/metrics', { headers: { authorization: `Bearer ${token}` } })).status, 405);
});
