/**
 * Timing for the benchmarks: medians after warm-up, GPU time from timestamp queries where the adapter has them
 * (summed over the dispatches of one run), wall-clock time around a queue sync otherwise. Machines here are shared
 * and noisy, so every number is a median of several runs and comparisons are made within one run. No Node imports:
 * the benchmark page's worker (web/bench-worker.ts) measures with this file too; the command lines' Node-only helpers
 * are in cli.ts.
 */
import type { Gpu } from '../src/index.js';

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
  clock: 'gpu-timestamps' | 'wall';
}

import { median } from '../src/util/median.js';

export { median };

/**
 * Times `run` (which encodes GPU work and returns what it allocated, disposed after each run). GPU timestamps when
 * available and `useTimestamps` (kernel level); wall clock from encode to queue-done otherwise (model level, where
 * CPU-side encoding is part of the cost).
 */
export async function timeGpu(
  gpu: Gpu,
  run: () => { dispose(): void } | { dispose(): void }[] | void,
  options: { warmup?: number; runs?: number; useTimestamps?: boolean } = {},
): Promise<Timing> {
  const { warmup = 2, runs = 7 } = options;
  const timestamps = (options.useTimestamps ?? true) && gpu.hasTimestamps;
  const release = (r: ReturnType<typeof run>): void => {
    if (!r) return;
    for (const t of Array.isArray(r) ? r : [r]) t.dispose();
  };
  for (let i = 0; i < warmup; i++) {
    release(run());
    await gpu.sync();
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (timestamps) {
      gpu.startProfiling();
      release(run());
      const kernels = await gpu.stopProfiling();
      times.push(kernels.reduce((a, k) => a + k.ms, 0));
    } else {
      await gpu.sync();
      const t0 = performance.now();
      release(run());
      await gpu.sync();
      times.push(performance.now() - t0);
    }
  }
  return { medianMs: median(times), minMs: Math.min(...times), runs, clock: timestamps ? 'gpu-timestamps' : 'wall' };
}

/** 2^20 bytes. */
export const MIB = 2 ** 20;

/** A table's cells: what the command lines print as text (table()) and the benchmark page as HTML. */
export interface Cells {
  header: string[];
  rows: (string | number)[][];
}

/** A right-aligned text table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/**
 * A long run's report to its caller before each measurement: what comes next. The benchmark page shows it and stops
 * a run by throwing BenchStopped from it (a GPU submission in flight cannot be cancelled; the next one is not made).
 */
export type OnStep = (what: string) => void;

/** Thrown by an OnStep to end a run early: the caller catches it and keeps what was measured. */
export class BenchStopped extends Error {
  /** the step that was not run */
  constructor(readonly during: string) {
    super(`stopped before ${during}`);
  }
}
