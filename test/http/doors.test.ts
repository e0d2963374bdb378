/**
 * The server's doors share one request-id generator and one error writer: the Koa routes, the raw
 * fast path of POST /v1/chat/completions and the parser-error handler all take their ids from the
 * generator the app was given. The chat path has no Koa twin: the fast path serves it (its case and
 * trailing-slash variants too, as @koa/router would), and its other methods are answered as
 * @koa/router answers them — 405 with `Allow: POST` in the error shape, OPTIONS 200.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp } from '../helpers/app.ts';
import { assertWireError } from '../helpers/factories.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { gatewayRoutes, type GatewayRouteDeps } from '../../src/http/routes/gateway.ts';

const MESSAGES = [{ role: 'user', content: 'hi' }];

/** One request over a raw socket; resolves with what the server wrote before it closed. */
function rawExchange(url: string, request: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 5 s'));
    }, 5_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('connect', () => socket.write(request));
  });
}

test('every door takes its request id from the injected generator: Koa routes, the chat fast path (answers and refusals), parser errors', async () => {
  await using upstream = await startFakeUpstream();
  let n = 0;
  const issued: string[] = [];
  const generateRequestId = (): string => {
    const id = `req_injected_${String(++n).padStart(4, '0')}`;
    issued.push(id);
    return id;
  };
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url }, { generateRequestId });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  upstream.script({ json: chatCompletion({ content: 'x' }) });
  const chat = { model: 'gpt-test', messages: MESSAGES };
  const responses = [
    ['koa route', await t.api('GET', '/healthz')],
    ['fast path, answered', await t.api('POST', '/v1/chat/completions', { headers: { authorization: `Bearer ${key.secret}` }, body: chat })],
    ['fast path, refused', await t.api('POST', '/v1/chat/completions', { body: chat })],
    ['other method of the fast path', await t.api('GET', '/v1/chat/completions')],
  ] as const;
  for (const [label, res] of responses) assert.match(res.headers.get('x-request-id') ?? '', /^req_injected_\d{4}$/, label);
  const ids = responses.map(([, res]) => res.headers.get('x-request-id'));
  assert.equal(new Set(ids).size, ids.length, 'one id per request');

  // The completion's usage row carries the injected id.
  t.app.recorder.flush();
  const row = t.app.db.prepare("SELECT request_id FROM usage_events WHERE org_id = ? AND kind = 'completion' AND status = 'ok'").get(tenant.orgId) as { request_id: string };
  assert.equal(row.request_id, ids[1]);

  const refused = await rawExchange(t.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.match(refused, /^HTTP\/1\.1 431 /);
  assert.match(refused, /\r\nx-request-id: req_injected_\d{4}\r\n/i, 'the parser-error handler uses the generator too');
  assert.equal(issued.length, responses.length + 1, 'every id came from the generator, once per request');
});

test('POST /v1/chat/completions is served by the fast path alone; its other methods get 405 with Allow: POST in the error shape, OPTIONS 200', async () => {
  // The Koa gateway router has no twin of the chat route.
  const router = gatewayRoutes({} as GatewayRouteDeps);
  assert.deepEqual(router.stack.map((layer) => [layer.path, layer.methods.filter((m) => m !== 'HEAD')]), [['/v1/models', ['GET']]]);

  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId);
  const auth = { authorization: `Bearer ${key.secret}` };
  // The exact path and the variants @koa/router matched (case, one trailing slash) are all answered.
  for (const path of ['/v1/chat/completions', '/v1/chat/completions?trace=1', '/v1/chat/completions/', '/v1/Chat/Completions']) {
    upstream.script({ json: chatCompletion({ content: `via ${path}` }) });
    const res = await t.api('POST', path, { headers: auth, body: { model: 'gpt-test', messages: MESSAGES } });
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    assert.equal(res.json.choices[0].message.content, `via ${path}`);
  }
  assert.equal(upstream.remaining, 0);

  for (const path of ['/v1/chat/completions', '/v1/chat/completions/']) {
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
      const res = await t.api(method, path, { headers: auth });
      assertWireError(res, 405, 'method_not_allowed', null, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), 'POST', `${method} ${path}`);
      assert.match(res.headers.get('x-request-id') ?? '', /^req_/, `${method} ${path}`);
    }
    const head = await fetch(`${t.url}${path}`, { method: 'HEAD' });
    assert.equal(head.status, 405, `HEAD ${path}`);
    assert.equal(head.headers.get('allow'), 'POST');
    const options = await fetch(`${t.url}${path}`, { method: 'OPTIONS' });
    assert.equal(options.status, 200, `OPTIONS ${path}`);
    assert.equal(options.headers.get('allow'), 'POST');
    assert.equal(await options.text(), '');
  }
  const odd = await t.api('PROPFIND', '/v1/chat/completions');
  assertWireError(odd, 404, 'unknown_url', null, 'a method no route implements');
  // Paths that are not the chat route are not swallowed by it.
  assertWireError(await t.api('POST', '/v1/chat/completions/extra'), 404, 'unknown_url', null, 'a longer path');
});
