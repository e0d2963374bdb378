import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StringDecoder } from 'node:string_decoder';
import { SseEventParser, SseLimitError, type SseEvent } from '../../src/net/sse-events.ts';

/** Feeds `pieces` (text) and returns the events and retry values seen. */
function parse(pieces: string[]): { events: SseEvent[]; retries: number[] } {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const p = new SseEventParser((e) => events.push(e), (ms) => retries.push(ms));
  for (const piece of pieces) p.push(piece);
  return { events, retries };
}

/** Every way of cutting `text` in two. */
function everySplit(text: string): string[][] {
  const out: string[][] = [];
  for (let i = 0; i <= text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

describe('SseEventParser', () => {
  it('parses data, event, id and retry fields, and joins data lines with LF', () => {
    const { events, retries } = parse(['event: message\nid: 7\nretry: 250\ndata: {"a":1}\ndata: second\n\n']);
    assert.deepEqual(events, [{ event: 'message', id: '7', data: '{"a":1}\nsecond' }]);
    assert.deepEqual(retries, [250]);
  });

  it('accepts LF, CRLF and CR line ends, however the stream is cut (a CRLF split between chunks too)', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const text = `id: 1${eol}data: one${eol}${eol}: comment${eol}data: two${eol}${eol}`;
      for (const pieces of everySplit(text)) {
        assert.deepEqual(
          parse(pieces).events,
          [
            { event: undefined, id: '1', data: 'one' },
            { event: undefined, id: undefined, data: 'two' },
          ],
          `eol ${JSON.stringify(eol)}, cut ${JSON.stringify(pieces)}`,
        );
      }
    }
  });

  it('emits an event with an empty data line (a priming event) but none for comments, ids alone or unknown fields', () => {
    const { events } = parse([': keep-alive\n\nid: 5\n\nfoo: bar\n\nid: 6\ndata:\n\n']);
    assert.deepEqual(events, [{ event: undefined, id: '6', data: '' }]);
  });

  it('takes a value without the single space after the colon, and a field with no colon as empty', () => {
    const { events } = parse(['data:x\ndata:  two spaces\ndata\n\n']);
    assert.deepEqual(events, [{ event: undefined, id: undefined, data: 'x\n two spaces\n' }]);
  });

  it('never emits an event cut off by the end of the stream', () => {
    assert.deepEqual(parse(['data: complete\n\ndata: cut off\n']).events, [{ event: undefined, id: undefined, data: 'complete' }]);
  });

  it('ignores a leading byte order mark, ids with NUL and retry values that are not digits', () => {
    const { events, retries } = parse(['\ufeffdata: a\nid: x\0y\nretry: 1.5\n\n']);
    assert.deepEqual(events, [{ event: undefined, id: undefined, data: 'a' }]);
    assert.deepEqual(retries, []);
  });

  it('reassembles a long line sent in many small pieces', () => {
    const big = 'x'.repeat(200_000);
    const text = `data: ${big}\n\n`;
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += 1_000) pieces.push(text.slice(i, i + 1_000));
    const { events } = parse(pieces);
    assert.equal(events.length, 1);
    assert.equal(events[0].data, big);
  });

  it('keeps multi-byte characters whole when fed through a StringDecoder, whatever the byte split', () => {
    const bytes = Buffer.from('data: {"content":"olá 👋 ção"}\n\n', 'utf8');
    for (let i = 1; i < bytes.length; i++) {
      const decoder = new StringDecoder('utf8');
      const events: SseEvent[] = [];
      const p = new SseEventParser((e) => events.push(e));
      p.push(decoder.write(bytes.subarray(0, i)));
      p.push(decoder.write(bytes.subarray(i)));
      assert.deepEqual(JSON.parse(events[0].data), { content: 'olá 👋 ção' }, `split at byte ${i}`);
    }
  });

  it('refuses a line, or the data of one event, longer than its cap — however it is cut — and stays failed', () => {
    const max = 1000;
    const cases: Array<[string, string[]]> = [
      ['one long line in one piece', [`data: ${'a'.repeat(2000)}`]],
      ['one long line in many pieces', Array.from({ length: 40 }, () => 'b'.repeat(50))],
      ['a long line that ends in the same chunk', [`data: ${'c'.repeat(1500)}\n\n`]],
      ['many short data lines of one event', Array.from({ length: 30 }, () => `data: ${'d'.repeat(40)}\n`)],
      ['a comment line that never ends', [`: ${'e'.repeat(600)}`, 'e'.repeat(600)]],
    ];
    for (const [what, pieces] of cases) {
      const events: SseEvent[] = [];
      const p = new SseEventParser((e) => events.push(e), undefined, { maxEventChars: max });
      assert.throws(() => {
        for (const piece of pieces) p.push(piece);
      }, (err: unknown) => err instanceof SseLimitError && err.limit === max, what);
      assert.throws(() => p.push('data: ok\n\n'), SseLimitError, `${what}: the parser stays failed`);
      assert.deepEqual(events, [], what);
    }
    // Events under the cap, many of them, pass: the cap is per event, not per stream.
    const events: SseEvent[] = [];
    const p = new SseEventParser((e) => events.push(e), undefined, { maxEventChars: max });
    for (let i = 0; i < 100; i++) p.push(`data: ${'f'.repeat(900)}\n\n`);
    assert.equal(events.length, 100);
  });
});
