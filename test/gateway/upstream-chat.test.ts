import { it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamTurn } from '../../src/gateway/upstream-chat.ts';
import { createUpstreamPool } from '../../src/gateway/upstream-pool.ts';

it('a streamed model turn keeps characters whole when a TCP read ends inside one, and takes CRLF events', async () => {
  const text = 'Olá! Já enviei a confirmação 👋';
  const event = (content: string, eol: string) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}${eol}${eol}`;
  const bytes = Buffer.from(event(text, '\n') + event(' ✓', '\r\n') + 'data: [DONE]\n\n', 'utf8');
  // Cut inside the 3-byte "ç"... and inside the 4-byte emoji.
  const cuts = [bytes.indexOf(Buffer.from('ç')) + 1, bytes.indexOf(Buffer.from('👋')) + 2];
  const server = http.createServer(async (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let at = 0;
    for (const cut of cuts) {
      res.write(bytes.subarray(at, cut));
      at = cut;
      await sleep(20); // separate reads on the client
    }
    res.end(bytes.subarray(at));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pool = createUpstreamPool({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: '', timeoutMs: 5_000, connections: 1 });
  try {
    let content = '';
    for await (const chunk of await streamTurn(pool, { model: 'm', messages: [] }, new AbortController().signal)) content += chunk.choices[0].delta.content;
    assert.equal(content, `${text} ✓`);
  } finally {
    await pool.close();
    server.closeAllConnections();
    server.close();
  }
});
