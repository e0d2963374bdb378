/**
 * The bench's priming order (bench/lib/ab.ts primeInTurns): every target primed the same number of
 * times, taken in turns, the last turn in round 1's order — so between a target's last priming slice
 * and its first measurement the same targets run for everyone. Priming one target after the other
 * left the gateway idle for minutes and biased every A/B against it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { primeInTurns, roundOrder } from '../../bench/lib/ab.ts';

async function order(targets: string[], passes: number): Promise<Array<[string, number]>> {
  const seen: Array<[string, number]> = [];
  await primeInTurns(targets, (x) => x, passes, async (t, p) => {
    seen.push([t, p]);
  });
  return seen;
}

test('every target is primed once per pass, in turns, the last pass in round 1\'s order', async () => {
  for (const targets of [['gateway', 'floor', 'floor-lean', 'bare-loop', 'baseline'], ['direct', 'bare', 'gateway', 'baseline'], ['direct', 'bare', 'gateway']]) {
    const seen = await order(targets, 6);
    assert.equal(seen.length, targets.length * 6);
    for (let p = 0; p < 6; p++) {
      const pass = seen.filter(([, q]) => q === p).map(([t]) => t);
      assert.deepEqual([...pass].sort(), [...targets].sort(), `pass ${p} primes every target once`);
    }
    const last = seen.filter(([, q]) => q === 5).map(([t]) => t);
    assert.deepEqual(last, roundOrder(targets, 0, (x) => x), 'the last pass runs in round 1\'s order');
    // Turns, not blocks: no target is primed twice in a row.
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i][0], seen[i - 1][0]);
  }
});

test('the gap between a target\'s last priming slice and its first measurement is the same for every target', async () => {
  const targets = ['gateway', 'floor', 'floor-lean', 'bare-loop', 'baseline'];
  const seen = (await order(targets, 6)).map(([t]) => t);
  const round1 = roundOrder(targets, 0, (x) => x);
  const timeline = [...seen, ...round1];
  const gaps = targets.map((t) => timeline.lastIndexOf(t) - seen.lastIndexOf(t));
  assert.deepEqual(new Set(gaps), new Set([targets.length]), `gaps in slots: ${gaps.join(', ')}`);
});
