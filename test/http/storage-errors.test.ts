/**
 * Storage failures are told to clients as what they are: a 503 in the error shape with a code per
 * kind (disk full, I/O error, read-only, busy), from the Koa error writer and from the raw fast
 * path alike — and from the stream sinks, before and after their headers — never a 500 and never
 * SQLite's own text. Other SQLite errors stay internal 500s.
 * The end-to-end case (a disk that really fills up) is test/storage/full-disk.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import Router from '@koa/router';
import { createKoaApp } from '../../src/http/server.ts';
import { createErrorWriter } from '../../src/http/error-writer.ts';
import { NodeSink } from '../../src/http/node-sink.ts';
import { createLogger } from '../../src/log.ts';
import { storageFailureKind } from '../../src/storage/health.ts';
import { assertWireError } from '../helpers/factories.ts';

const CASES: Array<{ code: string; status: number; wire: string; retryAfter?: string }> = [
  { code: 'SQLITE_FULL', status: 503, wire: 'storage_full' },
  { code: 'SQLITE_IOERR', status: 503, wire: 'storage_unavailable' },
  { code: 'SQLITE_IOERR_WRITE', status: 503, wire: 'storage_unavailable' },
  { code: 'SQLITE_IOERR_FSYNC', status: 503, wire: 'storage_unavailable' },
  { code: 'SQLITE_CANTOPEN', status: 503, wire: 'storage_unavailable' },
  { code: 'SQLITE_READONLY', status: 503, wire: 'storage_read_only' },
  { code: 'SQLITE_READONLY_DBMOVED', status: 503, wire: 'storage_read_only' },
  { code: 'SQLITE_BUSY', status: 503, wire: 'storage_busy', retryAfter: '1' },
  { code: 'SQLITE_BUSY_SNAPSHOT', status: 503, wire: 'storage_busy', retryAfter: '1' },
  { code: 'SQLITE_CONSTRAINT_UNIQUE', status: 500, wire: 'internal_error' },
  { code: 'SQLITE_CORRUPT', status: 500, wire: 'internal_error' },
  { code: 'SQLITE_FULLNESS_OF_TIME', status: 500, wire: 'internal_error' },
];

function sqliteError(code: string): Error {
  return new Database.SqliteError(`${code}: something SQLite says about /secret/path/plugboard.db`, code);
}

async function listen(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('storageFailureKind classifies by SQLite result code, extended codes included, and nothing else', () => {
  assert.equal(storageFailureKind(sqliteError('SQLITE_FULL')), 'full');
  assert.equal(storageFailureKind(sqliteError('SQLITE_IOERR_SHORT_READ')), 'io_error');
  assert.equal(storageFailureKind(sqliteError('SQLITE_READONLY_RECOVERY')), 'read_only');
  assert.equal(storageFailureKind(sqliteError('SQLITE_LOCKED')), 'busy');
  assert.equal(storageFailureKind(sqliteError('SQLITE_CONSTRAINT')), null);
  // Files written beside the database (the usage journal) fail with errno codes.
  assert.equal(storageFailureKind(Object.assign(new Error('disk'), { code: 'ENOSPC' })), 'full');
  assert.equal(storageFailureKind(Object.assign(new Error('ro'), { code: 'EROFS' })), 'read_only');
  assert.equal(storageFailureKind(Object.assign(new Error('io'), { code: 'EIO' })), 'io_error');
  assert.equal(storageFailureKind(Object.assign(new Error('net'), { code: 'ECONNRESET' })), null);
  assert.equal(storageFailureKind(null), null);
  assert.equal(storageFailureKind('SQLITE_FULL'), null);
});

test('both error writers map storage failures to a 503 per kind, in the error shape, without SQLite text', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } }) });
  const router = new Router();
  router.get('/throw/:code', async (ctx) => {
    throw sqliteError(ctx.params.code);
  });
  const koa = createKoaApp({ log, trustProxy: false, routers: [router] });
  const viaKoa = await listen(koa.callback());
  const errors = createErrorWriter({ log });
  const viaRaw = await listen((req, res) => void errors.raw(res, sqliteError(req.url!.slice(1)), 'req_test_raw_0001'));
  try {
    for (const c of CASES) {
      for (const [label, url] of [['koa', `${viaKoa.url}/throw/${c.code}`], ['raw', `${viaRaw.url}/${c.code}`]]) {
        const res = await fetch(url);
        const text = await res.text();
        assertWireError({ status: res.status, json: JSON.parse(text), text }, c.status, c.wire, null, `${label} ${c.code}`);
        assert.doesNotMatch(text, /SQLITE|secret\/path/, `${label} ${c.code}: SQLite's text stays in the log`);
        assert.equal(res.headers.get('retry-after'), c.retryAfter ?? null, `${label} ${c.code}`);
        assert.ok(res.headers.get('x-request-id'), `${label} ${c.code}: x-request-id`);
      }
    }
  } finally {
    await viaKoa.close();
    await viaRaw.close();
  }
  // Storage failures are logged at warn with their code, without a stack; faults at error with one.
  const logged = lines.map((l) => JSON.parse(l));
  const full = logged.find((l) => l.err?.code === 'SQLITE_FULL');
  assert.equal(full.level, 'warn');
  assert.ok(!full.err.stack, 'no stack for a storage failure');
  assert.ok(logged.some((l) => l.level === 'error' && /SQLITE_CORRUPT/.test(l.err?.message ?? '') && l.err.stack));
});

test('the stream sinks render through the same writer: a storage failure is a 503 JSON error before the headers and a storage error event after them', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } }) });
  const errors = createErrorWriter({ log });
  const viaSink = await listen((req, res) => {
    const sink = new NodeSink(res, 'req_test_sink_0001', errors);
    if (req.url === '/after') {
      sink.openStream();
      void sink.write('data: {"partial":true}\n\n').then(() => sink.fail(sqliteError('SQLITE_FULL'), 'test stage'));
    } else sink.fail(sqliteError('SQLITE_BUSY'), 'test stage');
  });
  try {
    const before = await fetch(`${viaSink.url}/before`);
    const text = await before.text();
    assertWireError({ status: before.status, json: JSON.parse(text), text }, 503, 'storage_busy', null, 'sink before the headers');
    assert.equal(before.headers.get('retry-after'), '1');
    assert.equal(before.headers.get('x-request-id'), 'req_test_sink_0001');
    assert.doesNotMatch(text, /SQLITE|secret\/path/);

    const after = await fetch(`${viaSink.url}/after`);
    assert.equal(after.status, 200);
    assert.match(after.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = (await after.text()).split('\n\n').filter(Boolean);
    assert.equal(events.length, 2, 'the partial answer, then the error event, then the end');
    const last = JSON.parse(events[1].replace(/^data: /, ''));
    assertWireError({ status: 503, json: last }, 503, 'storage_full', null, 'sink after the headers');
    assert.doesNotMatch(events[1], /SQLITE|secret\/path/);
  } finally {
    await viaSink.close();
  }
  // The fault after the headers is logged once, with the request id and the stage.
  const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.requestId === 'req_test_sink_0001' && /test stage/.test(l.msg));
  assert.equal(logged.length, 1, JSON.stringify(logged));
  assert.equal(logged[0].code, 'storage_full');
});
