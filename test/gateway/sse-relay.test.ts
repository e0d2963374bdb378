import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSseRelay } from '../../src/gateway/sse.ts';

const events = [
  'data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}\n\n',
  'data: {"id":"c","choices":[{"index":0,"delta":{"content":"héllo 日本"}}],"usage":null}\n\n',
  'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n',
  'data: {"id":"c","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\n',
  'data: [DONE]\n\n',
];
const whole = Buffer.from(events.join(''));

function relayInPieces(cuts: number[], drop: boolean) {
  const relay = createSseRelay({ dropUsageChunk: drop });
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, whole.length]) {
    out.push(relay.push(whole.subarray(prev, c)));
    prev = c;
  }
  out.push(relay.end());
  return { text: Buffer.concat(out).toString('utf8'), relay };
}

test('every byte split passes the stream through exactly, with usage read and the usage chunk kept or dropped', () => {
  for (let cut = 1; cut < whole.length; cut += 3) {
    const kept = relayInPieces([cut], false);
    assert.equal(kept.text, events.join(''), `split at ${cut}`);
    assert.deepEqual(kept.relay.usage, { promptTokens: 7, completionTokens: 3 });
    assert.equal(kept.relay.sawDone, true);
    const dropped = relayInPieces([cut, Math.min(whole.length - 1, cut + 17)].sort((a, b) => a - b), true);
    assert.equal(dropped.text, [events[0], events[1], events[2], events[4]].join(''), `split at ${cut}`);
    assert.deepEqual(dropped.relay.usage, { promptTokens: 7, completionTokens: 3 });
  }
});

test('a complete event is forwarded at once; only a partial event waits for its end', () => {
  const relay = createSseRelay({ dropUsageChunk: true });
  assert.equal(relay.push(Buffer.from(events[0])).toString(), events[0]);
  assert.equal(relay.push(Buffer.from(events[1].slice(0, 20))).length, 0);
  assert.equal(relay.push(Buffer.from(events[1].slice(20))).toString(), events[1]);
  const crlf = 'data: {"id":"c","choices":[{"index":0,"delta":{"content":"x"}}]}\r\n\r\n';
  assert.equal(relay.push(Buffer.from(crlf)).toString(), crlf);
});
