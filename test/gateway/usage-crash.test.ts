/**
 * Usage survives a crash: the real server (`node src/main.ts serve`) runs as a child process under
 * bounded concurrent load on every completion path — passthrough JSON and SSE, the tool loop JSON
 * and streaming (a real MCP server), an upstream 4xx and a stream the upstream breaks — and is
 * killed with SIGKILL mid-load, three times on the same data directory. After each kill the server
 * is started again (it replays its usage journal) and the test opens the database: every request
 * whose answer reached the client completely (the whole body, `[DONE]`, or the error the SDK
 * read) has exactly one completion row with the right status, and a tool-loop request its model
 * turns and tool call too. Only our own children are killed, by PID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import OpenAI from 'openai';
import { chatCompletion, contentChunks, startFakeUpstream, toolCallChunks, toolMessages, type ReceivedRequest, type ScriptedTurn } from '../fakes/openai-upstream.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { freePort, sleep, waitFor } from '../helpers/factories.ts';
import { tempDir } from '../helpers/app.ts';
import { openDb } from '../../src/storage/db.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ROUNDS = 3;
/** Client connections kept busy during a round. */
const CONCURRENCY = 12;
/** The kill comes after this many completed answers in the round (and at a random moment after). */
const KILL_AFTER_ANSWERS = 100;
const COMPILE_CACHE = tempDir('plugboard-crash-cache-');
const FLAVOURS = ['json', 'sse', 'tool-json', 'tool-sse', 'upstream-429', 'sse-broken'] as const;
type Flavour = (typeof FLAVOURS)[number];

interface Answered {
  requestId: string;
  flavour: Flavour;
}

function upstreamTurn(req: ReceivedRequest): ScriptedTurn {
  const stream = req.body?.stream === true;
  const text = String((req.body?.messages as Array<{ content?: unknown }> | undefined)?.at(-1)?.content ?? '');
  if (Array.isArray(req.body?.tools)) {
    if (toolMessages(req).length === 0) {
      const call = [{ name: 'crm__echo', arguments: { text: 'ping' } }];
      return stream ? { sse: toolCallChunks(call) } : { json: chatCompletion({ toolCalls: call }) };
    }
    return stream ? { sse: contentChunks(['after ', 'the tool']) } : { json: chatCompletion({ content: 'after the tool' }) };
  }
  if (text === 'upstream-429') return { status: 429, json: { error: { message: 'Slow down.', type: 'requests', code: 'rate_limit_exceeded' } } };
  if (text === 'sse-broken') return { sse: contentChunks(['half ', 'an answer']), destroyAfterEvents: 2 };
  return stream ? { sse: contentChunks(['Hel', 'lo']) } : { json: chatCompletion({ content: 'Hello' }) };
}

/** One request of a flavour; resolves with its request id when the client got the whole answer, null otherwise. */
async function send(client: OpenAI, flavour: Flavour): Promise<string | null> {
  const tool = flavour.startsWith('tool-');
  const stream = flavour === 'sse' || flavour === 'tool-sse' || flavour === 'sse-broken';
  const headers = tool ? {} : { 'x-plugboard-plugins': 'none' };
  const body = { model: 'gpt-test', messages: [{ role: 'user' as const, content: flavour }] };
  try {
    if (!stream) {
      const { response } = await client.chat.completions.create(body, { headers }).withResponse();
      return response.headers.get('x-request-id');
    }
    const { data, response } = await client.chat.completions.create({ ...body, stream: true }, { headers }).withResponse();
    let content = '';
    for await (const chunk of data) content += chunk.choices[0]?.delta?.content ?? '';
    // The SDK stops at [DONE]: reaching here means the whole answer arrived.
    assert.ok(content.length > 0, `${flavour}: streamed content`);
    return response.headers.get('x-request-id');
  } catch (err) {
    // An error the SDK read from the gateway (the 429's body, or the stream's error event) is a whole answer too.
    if (err instanceof OpenAI.APIError && !(err instanceof OpenAI.APIConnectionError)) return err.requestID ?? null;
    return null;
  }
}

interface Child {
  proc: ChildProcessWithoutNullStreams;
  out: () => string;
  exited: Promise<void>;
}

test('SIGKILL under load, three times: every answer the client received completely has its usage rows', { timeout: 60_000 }, async () => {
  await using upstream = await startFakeUpstream();
  await using mcp = await startMcpTestServer();
  upstream.setFallback(upstreamTurn);
  const dataDir = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_COMPILE_CACHE: COMPILE_CACHE,
    PLUGBOARD_HOST: '127.0.0.1', PLUGBOARD_PORT: String(port), PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_BOOTSTRAP: 'true',
    PLUGBOARD_LOG_LEVEL: 'warn', PLUGBOARD_RATE_LIMIT_RPM: '0', PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8',
    PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_UPSTREAM_API_KEY: 'sk-test', PLUGBOARD_WORKER_ENABLED: 'false',
  };
  const children: Child[] = [];
  const startChild = async (): Promise<Child> => {
    const proc = spawn(process.execPath, ['src/main.ts', 'serve'], { cwd: ROOT, env });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const child = { proc, out: () => out, exited: new Promise<void>((resolve) => proc.on('exit', () => resolve())) };
    children.push(child);
    await waitFor('the server to be ready', async () => {
      if (proc.exitCode !== null) throw new Error(`serve exited with ${proc.exitCode}: ${out}`);
      return fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    }, 20_000, 25);
    return child;
  };
  try {
    const first = await startChild();
    const orgId = /organization id:\s+(\S+)/.exec(first.out())?.[1];
    const ownerToken = /owner token:\s+(pbc_\S+)/.exec(first.out())?.[1];
    const gatewayKey = /gateway key:\s+(pb_live_\S+)/.exec(first.out())?.[1];
    assert.ok(orgId && ownerToken && gatewayKey, `bootstrap output: ${first.out()}`);
    const installed = await fetch(`${base}/organizations/${orgId}/mcp-integrations`, {
      method: 'POST', headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'crm', displayName: 'CRM', url: mcp.url }),
    });
    assert.equal(installed.status, 201, await installed.text());
    const client = new OpenAI({ apiKey: gatewayKey, baseURL: `${base}/v1`, maxRetries: 0, timeout: 15_000, organization: null, project: null });

    let child = first;
    for (let round = 1; round <= ROUNDS; round++) {
      const answered: Answered[] = [];
      let stop = false;
      let next = 0;
      const worker = async (): Promise<void> => {
        // Bounded: stops at the kill (every later request fails to connect) or at the cap.
        for (let i = 0; !stop && i < 10_000; i++) {
          const flavour = FLAVOURS[next++ % FLAVOURS.length];
          const requestId = await send(client, flavour);
          if (requestId) answered.push({ requestId, flavour });
        }
      };
      const load = Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await waitFor(`${KILL_AFTER_ANSWERS} answers in round ${round}`, () => answered.length >= KILL_AFTER_ANSWERS, 15_000, 2);
      await sleep(Math.floor(Math.random() * 30));
      process.kill(child.proc.pid!, 'SIGKILL');
      await child.exited;
      stop = true;
      await load;

      const journal = path.join(dataDir, 'usage.journal');
      const inJournal = fs.existsSync(journal) ? fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean).length : 0;
      // What an operator sees: the server started again on the same data directory (the next round's).
      child = await startChild();
      const db = openDb({ file: path.join(dataDir, 'plugboard.db'), readonly: true });
      try {
        const rows = db.prepare('SELECT request_id, kind, status, http_status FROM usage_events').all() as Array<{ request_id: string; kind: string; status: string; http_status: number | null }>;
        const byRequest = new Map<string, typeof rows>();
        for (const r of rows) byRequest.set(r.request_id, [...(byRequest.get(r.request_id) ?? []), r]);
        const missing = answered.filter((a) => !byRequest.get(a.requestId)?.some((r) => r.kind === 'completion'));
        assert.deepEqual(missing.map((m) => `${m.flavour} ${m.requestId}`), [], `round ${round}: ${missing.length} of ${answered.length} answered completions have no usage row`);
        for (const a of answered) {
          const mine = byRequest.get(a.requestId)!;
          const completion = mine.filter((r) => r.kind === 'completion');
          assert.equal(completion.length, 1, `${a.flavour} ${a.requestId}: one completion row, never two`);
          const failed = a.flavour === 'upstream-429' || a.flavour === 'sse-broken';
          assert.equal(completion[0].status, failed ? 'error' : 'ok', `${a.flavour} ${a.requestId}`);
          if (a.flavour === 'upstream-429') assert.equal(completion[0].http_status, 429);
          if (a.flavour.startsWith('tool-')) {
            assert.deepEqual(mine.map((r) => r.kind).sort(), ['completion', 'model_turn', 'model_turn', 'tool_call'], `${a.flavour} ${a.requestId}: its turns and tool call too`);
          }
        }
        const flavours = new Set(answered.map((a) => a.flavour));
        assert.equal(flavours.size, FLAVOURS.length, `round ${round} answered every flavour: ${[...flavours].join(', ')}`);
        console.log(`# round ${round}: ${answered.length} answered before the kill, all with their usage rows after the restart (${rows.length} rows in all; ${inJournal} events were only in the journal at the kill)`);
      } finally {
        db.close();
      }
    }
  } finally {
    for (const c of children) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await c.exited;
    }
  }
});
