/**
 * What each optimization is worth (`npm run bench:ablation`): forward and forward + backward of SqueezeNet at batch 1
 * with everything on, then with one optimization turned off at a time, medians of interleaved runs. The difference is
 * the optimization's measured gain; docs/performance.md sets it beside the gain predicted before it was built.
 *
 *   node dist/bench/ablation.js [--runs N] [--json]
 */
import { readFileSync } from 'node:fs';
import { classScoreGradient, createDevice, kernels, Model, Tensor, type Gpu, type ModelOptions } from '../src/index.js';
import type { ConvTuning } from '../src/kernels/conv2d-tiled.js';
import { resolveWeights } from '../src/cli/common.js';
import { median, table } from './harness.js';
import { argFlag, isMain } from './cli.js';

const { DEFAULT_TUNING } = kernels.conv2dTiled;

interface Variant {
  name: string;
  /** what the variant turns off */
  off: string;
  model: Model;
  gpu: Gpu;
  setup?: () => void;
  teardown?: () => void;
}

export interface AblationRow {
  variant: string;
  off: string;
  forwardMs: number;
  forwardBackwardMs: number;
}

async function wall(gpu: Gpu, f: () => Tensor[]): Promise<number> {
  await gpu.sync();
  const t0 = performance.now();
  for (const t of f()) t.dispose();
  await gpu.sync();
  return performance.now() - t0;
}

export async function ablation(runs: number): Promise<{ adapter: string; rows: AblationRow[] }> {
  const { model: path } = await resolveWeights(undefined, true);
  const bytes = readFileSync(path);
  const gpu = await createDevice();
  const plainGpu = await createDevice({ noSubgroups: true });
  const make = (g: Gpu, options: ModelOptions = {}): Model => Model.load(g, bytes, options);
  const tuned = (off: Partial<ConvTuning>): Model => make(gpu, { tuning: { ...DEFAULT_TUNING, ...off } });
  const base = make(gpu);
  const variants: Variant[] = [
    { name: 'all optimizations', off: '—', model: base, gpu },
    { name: 'no subgroups', off: 'weights shared across 8 lanes by subgroupBroadcast', model: make(plainGpu), gpu: plainGpu },
    { name: 'Fire concats copied', off: 'convs writing their concat slices in place', model: make(gpu, { fuseConcats: false }), gpu },
    { name: 'ReLU separate', off: 'Conv+ReLU fusion', model: make(gpu, { fuseActivations: false, fuseConcats: false }), gpu },
    { name: 'classifier backward over 1000 classes', off: 'one-hot channel list in conv10 backward', model: tuned({ channelLists: false }), gpu },
    { name: 'conv1 backward phase by phase', off: 'phase-packed strided backward', model: tuned({ phasePacking: false }), gpu },
    { name: '16-row tiles only', off: '32 GEMM rows per invocation where they fit', model: tuned({ tallTiles: false }), gpu },
    {
      name: 'one submit per dispatch',
      off: 'one command buffer per pass',
      model: base,
      gpu,
      setup: () => (gpu.submitEveryDispatch = true),
      teardown: () => (gpu.submitEveryDispatch = false),
    },
    {
      name: 'one submit per forward + backward',
      off: 'a submit every 16 dispatches',
      model: base,
      gpu,
      setup: () => (gpu.dispatchesPerSubmit = 0),
      teardown: () => (gpu.dispatchesPerSubmit = 16),
    },
    { name: 'conv2d v1 (direct kernels)', off: 'tiled implicit-GEMM convolution', model: tuned({ defaultVersion: 1 }), gpu },
  ];
  const image = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.37) * 1.5);
  const inputs = new Map<Gpu, Tensor>([
    [gpu, Tensor.from(gpu, [1, 3, 224, 224], image, 'image')],
    [plainGpu, Tensor.from(plainGpu, [1, 3, 224, 224], image, 'image')],
  ]);
  const times = variants.map(() => ({ f: [] as number[], fb: [] as number[] }));
  // Interleaved: run r of every variant before run r + 1 of any, so that machine noise hits all alike. The direct
  // kernels take seconds; they get fewer runs.
  for (let r = -1; r < runs; r++) {
    for (const [k, v] of variants.entries()) {
      if (v.name.startsWith('conv2d v1') && r >= Math.min(runs, 3)) continue;
      v.setup?.();
      try {
        const x = inputs.get(v.gpu)!;
        const f = await wall(v.gpu, () => [v.model.forward(x)]);
        const fb = await wall(v.gpu, () => {
          const { scores, grad } = classScoreGradient(v.model, x, [76]);
          return [scores, grad];
        });
        if (r >= 0) {
          times[k]!.f.push(f);
          times[k]!.fb.push(fb);
        }
      } finally {
        v.teardown?.();
      }
    }
  }
  const rows = variants.map((v, k) => ({ variant: v.name, off: v.off, forwardMs: median(times[k]!.f), forwardBackwardMs: median(times[k]!.fb) }));
  const adapter = gpu.adapterName;
  for (const m of new Set(variants.map((v) => v.model))) m.dispose();
  for (const t of inputs.values()) t.dispose();
  gpu.destroy();
  plainGpu.destroy();
  return { adapter, rows };
}

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 7;
  const result = await ablation(runs);
  if (argFlag('json')) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const base = result.rows[0]!;
  console.log(`SqueezeNet 1.1, batch 1, on ${result.adapter}: medians of ${runs} interleaved runs\n`);
  console.log(
    table(
      ['variant', 'forward ms', 'Δ', 'forward+backward ms', 'Δ'],
      result.rows.map((r) => [
        r.variant,
        r.forwardMs.toFixed(1),
        r === base ? '' : `${r.forwardMs - base.forwardMs >= 0 ? '+' : ''}${(r.forwardMs - base.forwardMs).toFixed(1)}`,
        r.forwardBackwardMs.toFixed(1),
        r === base ? '' : `${r.forwardBackwardMs - base.forwardBackwardMs >= 0 ? '+' : ''}${(r.forwardBackwardMs - base.forwardBackwardMs).toFixed(1)}`,
      ]),
    ),
  );
}

if (isMain(import.meta.url)) await main();
