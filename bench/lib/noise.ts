/** The "machine noise" settings line: how much CPU other programs used while we measured. */
import type { CpuUse } from './loadgen-types.ts';
import { median, range } from './stats.ts';

type Measured = { cpu: Record<string, CpuUse> };

/**
 * From the measurements of each round (each carries `cpu.other`, `cpu.steal`, `cpu.irq` as the
 * load generator read them from /proc/stat): BUSY when other programs used more than 15 % of a
 * core in the median, steal exceeded 10 %, or more than half of the rounds were busy (> 20 %).
 */
export function machineNoise(rounds: Measured[][]): { line: string; busy: boolean; otherMedianPct: number } | undefined {
  const all = rounds.flat();
  const otherOf = (list: Measured[]) => list.map((x) => x.cpu.other?.pct ?? Number.NaN);
  const otherMed = median(otherOf(all));
  if (!Number.isFinite(otherMed)) return undefined;
  const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(x)}%` : '-');
  const otherMax = range(otherOf(all))[1];
  const steal = median(all.map((x) => x.cpu.steal?.pct ?? Number.NaN));
  const irq = median(all.map((x) => x.cpu.irq?.pct ?? Number.NaN));
  const noisyRounds = rounds.map((rd, i) => [i + 1, median(otherOf(rd))] as const).filter(([, v]) => v > 20).map(([i]) => i);
  const busy = otherMed > 15 || steal > 10 || noisyRounds.length * 2 > rounds.length;
  const line =
    `${busy ? 'BUSY — other programs competed for the CPU, numbers are noisy; rerun on an idle machine. ' : 'quiet. '}` +
    `Other programs: median ${pct(otherMed)}, max ${pct(otherMax)} of one core` +
    `${noisyRounds.length ? `; busy in round${noisyRounds.length > 1 ? 's' : ''} ${noisyRounds.join(', ')} of ${rounds.length}` : ''}; steal ${pct(steal)}; irq ${pct(irq)}`;
  return { line, busy, otherMedianPct: otherMed };
}
