// The request-path metrics kept outside prom-client (usage/metrics.ts FastCounter, FastHistogram):
// one series per label set, whatever raw values mapped to it; a bounded number of series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../src/usage/metrics.ts';

const lines = (text: string, prefix: string): string[] => text.split('\n').filter((l) => l.startsWith(prefix));

test('tool-call metrics: outcomes that map to the same label set count in one series, with their latency', async () => {
  const m = createMetrics({ version: 'test' });
  m.toolCall('first_party:shop', 'first_party', 'ok', 0.002);
  m.toolCall('first_party:shop', 'first_party', 'ok', 0.2);
  // Free text is never a label: both become `other`, and must be one series, not two with the same labels.
  m.toolCall('first_party:shop', 'first_party', 'Weird Outcome', 0.003);
  m.toolCall('first_party:shop', 'first_party', 'another one!', 0.004);
  m.toolCall(null, null, 'timeout', 1.5);
  m.toolCall('bad id with spaces', 'mcp', 'ok', 0.001);
  const text = await m.render();

  assert.deepEqual(lines(text, 'plugboard_tool_calls_total{').sort(), [
    'plugboard_tool_calls_total{plugin="first_party:shop",kind="first_party",outcome="ok"} 2',
    'plugboard_tool_calls_total{plugin="first_party:shop",kind="first_party",outcome="other"} 2',
    'plugboard_tool_calls_total{plugin="unknown",kind="mcp",outcome="ok"} 1',
    'plugboard_tool_calls_total{plugin="unknown",kind="unknown",outcome="timeout"} 1',
  ]);
  assert.match(text, /# TYPE plugboard_tool_calls_total counter/);
  assert.match(text, /# TYPE plugboard_tool_call_duration_seconds histogram/);
  assert.deepEqual(lines(text, 'plugboard_tool_call_duration_seconds_count{').sort(), [
    'plugboard_tool_call_duration_seconds_count{kind="first_party",outcome="ok"} 2',
    'plugboard_tool_call_duration_seconds_count{kind="first_party",outcome="other"} 2',
    'plugboard_tool_call_duration_seconds_count{kind="mcp",outcome="ok"} 1',
    'plugboard_tool_call_duration_seconds_count{kind="unknown",outcome="timeout"} 1',
  ]);
  assert.ok(lines(text, 'plugboard_tool_call_duration_seconds_sum{kind="first_party",outcome="ok"}')[0].endsWith(' 0.202'));
  // Buckets are cumulative: 0.002 s in le=0.005, 0.2 s only from le=0.25 on.
  assert.ok(lines(text, 'plugboard_tool_call_duration_seconds_bucket{le="0.005",kind="first_party",outcome="ok"}')[0].endsWith(' 1'));
  assert.ok(lines(text, 'plugboard_tool_call_duration_seconds_bucket{le="0.25",kind="first_party",outcome="ok"}')[0].endsWith(' 2'));
  assert.ok(lines(text, 'plugboard_tool_call_duration_seconds_bucket{le="+Inf",kind="unknown",outcome="timeout"}')[0].endsWith(' 1'));
});

test('tool-call metrics: unbounded plugin ids stop at a bounded number of series and the rest count under `overflow`', async () => {
  const m = createMetrics({ version: 'test' });
  const calls = 2600;
  for (let i = 0; i < calls; i++) m.toolCall(`inst_${i}`, 'custom', 'ok', 0.001);
  const series = lines(await m.render(), 'plugboard_tool_calls_total{');
  assert.ok(series.length <= 2001, `${series.length} series`);
  const overflow = series.find((l) => l.startsWith('plugboard_tool_calls_total{plugin="overflow",kind="overflow",outcome="overflow"}'));
  assert.ok(overflow, 'an overflow series');
  const total = series.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  assert.equal(total, calls, 'every call is counted somewhere');
});
