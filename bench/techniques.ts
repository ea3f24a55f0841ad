/**
 * The techniques, timed per iteration as a user runs them (wall clock, medians): one saliency map (a forward, a
 * backward, the channel max and the read-back of the map) at the given batch; and, at batch 1, one iteration of the
 * fooling loop and of the class visualization — a run of several iterations divided by its iteration count, so the
 * per-run setup (reading the image back, the final check) is spread as it is in real use.
 */
import { classVisualization, fool, saliency, type Model, type Tensor } from '../src/index.js';
import { median } from './harness.js';

export interface TechniqueRow {
  name: string;
  medianMs: number;
  runs: number;
}

async function medianOf(runs: number, warmup: number, f: () => Promise<number>): Promise<number> {
  for (let i = 0; i < warmup; i++) await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await f());
  return median(times);
}

export async function techniqueIterations(
  model: Model,
  x: Tensor,
  classes: number[],
  options: { runs: number; warmup: number },
): Promise<TechniqueRow[]> {
  const { runs, warmup } = options;
  const rows: TechniqueRow[] = [];
  const timed = async (f: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  rows.push({ name: 'saliency map (vanilla)', runs, medianMs: await medianOf(runs, warmup, () => timed(() => saliency(model, x, classes))) });
  if (x.shape[0] !== 1) return rows;
  const steps = runs === 1 ? 2 : 10;
  // Stingray is far from most images: the loop runs all its iterations rather than stopping early.
  const foolMs = await medianOf(runs, warmup, async () => {
    const t0 = performance.now();
    const r = await fool(model, x, 6, { maxIters: steps });
    return (performance.now() - t0) / Math.max(1, r.iterations + r.roundings + 1);
  });
  rows.push({ name: 'fooling iteration', runs, medianMs: foolMs });
  const vizMs = await medianOf(runs, warmup, async () => {
    const t0 = performance.now();
    await classVisualization(model, 76, { iterations: steps, snapshotEvery: steps });
    return (performance.now() - t0) / steps;
  });
  rows.push({ name: 'class visualization iteration', runs, medianMs: vizMs });
  return rows;
}
