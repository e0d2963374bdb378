/**
 * Splitting long model answers for WhatsApp: size limit, preferred boundaries, no lost text and
 * no torn emoji, checked on hand-made and seeded random inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitForWhatsApp } from '../../src/toolkits/whatsapp/twilio.ts';

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Checks the invariants every split must keep. */
function checkParts(text: string, parts: string[], limit: number): void {
  for (const p of parts) {
    assert.ok(p.length > 0, 'no empty part');
    assert.ok(p.length <= limit, `part of ${p.length} > ${limit}`);
    assert.equal(p, p.trim(), 'parts are trimmed');
    assert.ok(p.isWellFormed(), 'no lone surrogate (an emoji was torn apart)');
  }
  // Nothing lost, nothing reordered: only whitespace at the cuts may change.
  assert.equal(squash(parts.join(' ')).replace(/ /g, ''), squash(text).replace(/ /g, ''));
}

/** Deterministic PRNG so a failure can be replayed. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('splitForWhatsApp', () => {
  it('keeps a short answer whole (trimmed) and returns nothing for blank text', () => {
    assert.deepEqual(splitForWhatsApp('  Hello there!  \n'), ['Hello there!']);
    assert.deepEqual(splitForWhatsApp(' \n\t '), []);
    assert.deepEqual(splitForWhatsApp('x'.repeat(1500)), ['x'.repeat(1500)]);
  });

  it('defaults to 1500-character parts, under Twilio\'s 1600 cap', () => {
    const text = 'Lorem ipsum dolor sit amet. '.repeat(200);
    const parts = splitForWhatsApp(text);
    assert.ok(parts.length >= 4);
    checkParts(text, parts, 1500);
    assert.ok(parts.every((p) => p.length > 750), 'no tiny parts');
  });

  it('cuts at paragraph boundaries first', () => {
    const p1 = 'First paragraph. ' + 'a'.repeat(880) + '.';
    const p2 = 'Second paragraph.\nWith a line. ' + 'b'.repeat(700) + '.';
    const parts = splitForWhatsApp(`${p1}\n\n${p2}`, 1000);
    assert.deepEqual(parts, [p1, p2]);
  });

  it('then at line, then sentence boundaries', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `Line ${i} ` + 'x'.repeat(40)).join('\n');
    for (const part of splitForWhatsApp(lines, 200)) assert.match(part, /^Line \d+ x{40}(\nLine \d+ x{40})*$/);

    const sentences = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} says something useful!`).join(' ');
    const parts = splitForWhatsApp(sentences, 300);
    checkParts(sentences, parts, 300);
    for (const part of parts) assert.match(part, /!$/, 'each part ends at a sentence end');
  });

  it('then at word boundaries, never inside a word', () => {
    const words = Array.from({ length: 500 }, (_, i) => `word${i}`);
    const parts = splitForWhatsApp(words.join(' '), 100);
    checkParts(words.join(' '), parts, 100);
    assert.deepEqual(parts.flatMap((p) => p.split(' ')), words);
  });

  it('hard-cuts a single huge token without losing characters', () => {
    const token = 'https://example.com/' + 'q'.repeat(4000);
    const parts = splitForWhatsApp(token, 1500);
    assert.equal(parts.join(''), token);
    assert.deepEqual(parts.map((p) => p.length), [1500, 1500, 1020]);
  });

  it('never tears an emoji or a ZWJ family apart', () => {
    const thumbs = '👍'.repeat(1000); // 2000 UTF-16 units
    const parts = splitForWhatsApp(thumbs, 1501);
    assert.deepEqual(parts.map((p) => p.length), [1500, 500]);
    checkParts(thumbs, parts, 1501);

    const family = '👨‍👩‍👧'.repeat(300); // 8 units each, one grapheme
    const seg = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    for (const part of splitForWhatsApp(family, 100)) {
      assert.ok([...seg.segment(part)].every((g) => g.segment === '👨‍👩‍👧'), 'only whole families');
    }
  });

  it('normalises CRLF and refuses a non-positive limit', () => {
    assert.deepEqual(splitForWhatsApp('a\r\n\r\nb', 1), ['a', 'b']);
    assert.throws(() => splitForWhatsApp('abc', 0), RangeError);
    assert.throws(() => splitForWhatsApp('abc', 1.5), RangeError);
  });

  it('keeps its invariants on random mixed text', () => {
    const rnd = mulberry32(20240601);
    const pieces = ['word', 'longerword', '.', '!', '?', ' ', ' ', ' ', '\n', '\n\n', '😀', 'é', '👨‍👩‍👧', 'https://x.test/a?b=c'];
    for (let round = 0; round < 150; round++) {
      const n = Math.floor(rnd() * 800);
      const text = Array.from({ length: n }, () => pieces[Math.floor(rnd() * pieces.length)]).join('');
      const limit = 10 + Math.floor(rnd() * 400);
      checkParts(text, splitForWhatsApp(text, limit), limit);
    }
  });
});
