/**
 * What Node's HTTP parser refuses, spoken over raw sockets (node:net): oversized headers, duplicate
 * Content-Length, Transfer-Encoding with Content-Length, bad chunked framing (before and after the
 * route started reading), a malformed header line. Each answer is the OpenAI error shape with the
 * right status, `Connection: close` and an x-request-id, and the connection is closed. A client that
 * hangs up mid-body is normal traffic: an info access line with 499, no error line, no stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, type TestApp } from '../helpers/app.ts';
import { sleep, waitFor } from '../helpers/factories.ts';

/** A raw exchange that the server should end within this time. */
const EXCHANGE_TIMEOUT_MS = 5_000;

interface RawReply { status: number; headers: Record<string, string>; body: string; json: any; closedByServer: boolean }

/** Writes `parts` (pausing `gapMs` between them) and reads until the server closes the connection. */
function exchange(t: TestApp, parts: string[], gapMs = 0): Promise<RawReply> {
  const { port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server neither answered nor closed within ${EXCHANGE_TIMEOUT_MS} ms: ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
    }, EXCHANGE_TIMEOUT_MS);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => (closedByServer = true));
    socket.on('error', () => undefined); // a reset after the answer is fine; what was read is judged below
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const body = rest.join('\r\n\r\n');
      let json: any = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body, json, closedByServer });
    });
    socket.on('connect', async () => {
      for (const [i, p] of parts.entries()) {
        if (i > 0 && gapMs) await sleep(gapMs);
        if (socket.destroyed) return;
        socket.write(p);
      }
    });
  });
}

function assertRefusal(r: RawReply, status: number, code: string, label: string): void {
  assert.equal(r.status, status, `${label}: ${r.status} ${r.body.slice(0, 200)}`);
  assert.deepEqual(Object.keys(r.json ?? {}), ['error'], `${label}: error shape, got ${r.body.slice(0, 200)}`);
  assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'param', 'type'], label);
  assert.equal(r.json.error.code, code, label);
  assert.equal(r.json.error.type, 'invalid_request_error', label);
  assert.ok(r.json.error.message.length > 10, label);
  assert.equal(r.headers.connection, 'close', `${label}: Connection: close`);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, label);
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body), `${label}: Content-Length matches the body`);
  assert.match(r.headers['x-request-id'] ?? '', /^req_/, label);
}

const PATHS = ['/v1/chat/completions', '/organizations', '/webhooks/twilio/status', '/healthz'];

test('parser refusals (oversized headers, duplicate Content-Length, TE with CL, bad chunks, bad header line) are answered in the error shape and close the connection', async () => {
  await using t = await startApp();
  const cases: Array<[label: string, request: (path: string) => string, status: number, code: string]> = [
    ['headers over 16 KB', (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'request_header_fields_too_large'],
    ['many headers over 16 KB', (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'b'.repeat(40)}\r\n`).join('')}\r\n`, 431, 'request_header_fields_too_large'],
    ['duplicate Content-Length', (p) => `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`, 400, 'malformed_request'],
    ['Transfer-Encoding with Content-Length', (p) => `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 400, 'malformed_request'],
    ['bad chunk size', (p) => `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, 400, 'malformed_request'],
    ['header line without a colon', (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n`, 400, 'malformed_request'],
    ['space in a header name', (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\nX Bad: 1\r\n\r\n`, 400, 'malformed_request'],
  ];
  for (const path of PATHS) {
    for (const [label, request, status, code] of cases) {
      const r = await exchange(t, [request(path)]);
      assertRefusal(r, status, code, `${label} on ${path}`);
      assert.ok(r.closedByServer, `${label} on ${path}: the server closed the connection`);
      assert.ok(!r.body.includes('aaaa') && !r.body.includes('this is not'), 'none of the request is echoed');
    }
  }
  assert.ok(t.logs.every((l) => !l.includes('"level":"error"') && !l.includes('"stack"')), 'no error line, no stack');
  assert.ok(t.logs.some((l) => l.includes('"msg":"malformed request refused"') && l.includes('"status":431')), 'refusals are logged at info');
  assert.ok(t.logs.every((l) => !l.includes('aaaaaaaa')), 'no request bytes in the log');
  // The server still serves.
  assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
});

test('bad chunked framing after the route started reading the body is still answered in the error shape', async () => {
  await using t = await startApp();
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  const routes: Array<[path: string, auth: string]> = [['/v1/chat/completions', key.secret], ['/organizations', tenant.ownerToken]];
  for (const [path, auth] of routes) {
    const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    // The first chunk is fine, so the request is dispatched and its body read; then the framing breaks.
    const r = await exchange(t, [head + '2\r\n{"\r\n', 'not-a-size\r\nxx\r\n0\r\n\r\n'], 100);
    assertRefusal(r, 400, 'malformed_request', path);
  }
  await sleep(50);
  assert.ok(t.logs.every((l) => !l.includes('"level":"error"') && !l.includes('"stack"')), `no error line, no stack:\n${t.logs.filter((l) => l.includes('error')).join('\n')}`);
});

test('a client that hangs up mid-body is logged as a 499 at info level, never as an error with a stack', async () => {
  await using t = await startApp();
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  const routes: Array<[path: string, auth: string]> = [['/v1/chat/completions', key.secret], ['/organizations', tenant.ownerToken], [`/organizations/${tenant.orgId}/keys`, tenant.ownerToken]];
  const { port } = new URL(t.url);
  for (const [path, auth] of routes) {
    for (const framing of ['Content-Length: 1000', 'Transfer-Encoding: chunked']) {
      const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const part = framing.startsWith('Content') ? '{"model":"gpt-test",' : '14\r\n{"model":"gpt-test",\r\n';
      socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${auth}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n${part}`);
      await sleep(50); // the route is reading the body now
      socket.destroy();
      await waitFor(`the access line of the abandoned ${path} (${framing})`, () => t.logs.filter((l) => l.includes('"msg":"request"') && l.includes(`"path":"${path}"`) && l.includes('"status":499')).length >= (framing.startsWith('Content') ? 1 : 2));
    }
  }
  const errors = t.logs.filter((l) => l.includes('"level":"error"') || l.includes('"stack"'));
  assert.deepEqual(errors, [], 'a hung-up client is not an error');
  assert.equal(t.app.db.prepare('SELECT COUNT(*) FROM gateway_keys').pluck().get(), 1, 'nothing was created');
  assert.equal(t.app.db.prepare('SELECT COUNT(*) FROM organizations').pluck().get(), 1, 'nothing was created');
});
