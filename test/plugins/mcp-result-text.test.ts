import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toolResultToText } from '../../src/plugins/kinds/mcp/result-text.ts';
import { capUtf8, formatBytes } from '../../src/net/text.ts';

const MAX = 32_768;

describe('toolResultToText', () => {
  it('joins text blocks with newlines and keeps isError', () => {
    assert.deepEqual(toolResultToText({ content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], isError: true }, MAX), { text: 'a\nb', isError: true });
  });

  it('appends structuredContent as compact JSON unless a text block already is that JSON', () => {
    const structuredContent = { temperature: 36, conditions: 'rain' };
    assert.equal(toolResultToText({ content: [{ type: 'text', text: 'Weather:' }], structuredContent }, MAX).text, 'Weather:\n{"temperature":36,"conditions":"rain"}');
    assert.equal(toolResultToText({ content: [{ type: 'text', text: '{"temperature":36,"conditions":"rain"}' }], structuredContent }, MAX).text, '{"temperature":36,"conditions":"rain"}');
    assert.equal(toolResultToText({ content: [{ type: 'text', text: '{\n  "temperature": 36,\n  "conditions": "rain"\n}' }], structuredContent }, MAX).text.split('\n').length, 4, 'pretty-printed copy counts as the same JSON');
    assert.equal(toolResultToText({ structuredContent }, MAX).text, '{"temperature":36,"conditions":"rain"}');
  });

  it('describes non-text blocks instead of dropping them', () => {
    const png = Buffer.alloc(12_595).toString('base64');
    const { text } = toolResultToText(
      {
        content: [
          { type: 'image', data: png, mimeType: 'image/png' },
          { type: 'audio', data: Buffer.alloc(100).toString('base64'), mimeType: 'audio/wav' },
          { type: 'resource_link', name: 'report', uri: 'file:///reports/q3.pdf' },
          { type: 'resource', resource: { uri: 'mem://notes/1', text: 'note body' } },
          { type: 'resource', resource: { uri: 'mem://bin/1', blob: Buffer.alloc(3_000_000).toString('base64'), mimeType: 'application/zip' } },
          { type: 'hologram', data: 'x' },
          null,
        ],
      },
      MAX,
    );
    assert.equal(
      text,
      [
        '[image: image/png, 12.3 KB, not shown]',
        '[audio: audio/wav, 100 B, not shown]',
        '[resource link: report file:///reports/q3.pdf]',
        '[resource mem://notes/1]\nnote body',
        '[resource: mem://bin/1, application/zip, 2.9 MB, not shown]',
        '[hologram content, not shown]',
        '[unreadable content block]',
      ].join('\n'),
    );
  });

  it('says so when there is no output', () => {
    assert.equal(toolResultToText({}, MAX).text, '(no output)');
    assert.equal(toolResultToText({ content: [{ type: 'text', text: '  ' }] }, MAX).text, '(no output)');
    assert.equal(toolResultToText({ content: [], toolResult: { legacy: true } }, MAX).text, '{"legacy":true}');
  });

  it('caps the whole text in bytes with a marker', () => {
    const out = toolResultToText({ content: [{ type: 'text', text: 'x'.repeat(5_000) }] }, 1_000).text;
    assert.ok(Buffer.byteLength(out) <= 1_000);
    assert.match(out, /\n…\[truncated \d+ bytes\]$/);
  });
});

describe('capUtf8', () => {
  it('returns short text unchanged', () => {
    assert.equal(capUtf8('héllo', 6), 'héllo');
    assert.equal(capUtf8('', 0), '');
  });

  it('never splits a multi-byte character and counts dropped bytes exactly', () => {
    for (const unit of ['é', '€', '😀']) {
      const text = unit.repeat(2_000);
      const out = capUtf8(text, 1_001);
      assert.ok(Buffer.byteLength(out) <= 1_001, unit);
      assert.ok(!out.includes('\uFFFD'), unit);
      const match = /\n…\[truncated (\d+) bytes\]$/.exec(out);
      assert.ok(match, unit);
      const kept = out.slice(0, match.index);
      assert.equal(kept, unit.repeat([...kept].length), 'only whole characters kept');
      assert.equal(Buffer.byteLength(kept) + Number(match[1]), Buffer.byteLength(text));
    }
  });

  it('handles 5 MB quickly', () => {
    const text = 'ab€'.repeat(1_048_576);
    const started = performance.now();
    const out = capUtf8(text, 32_768);
    assert.ok(performance.now() - started < 500);
    assert.ok(Buffer.byteLength(out) <= 32_768);
    assert.match(out, /\[truncated 5\d{6} bytes\]$/);
  });

  it('formats sizes', () => {
    assert.deepEqual([formatBytes(512), formatBytes(12_595), formatBytes(4 * 1024 * 1024)], ['512 B', '12.3 KB', '4.0 MB']);
  });
});
