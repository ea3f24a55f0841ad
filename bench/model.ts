/**
 * Model-level benchmark (`npm run bench`): SqueezeNet 1.1 at batch 1 and 8 — cold start (device, model upload and
 * pipeline compilation through the first forward), forward, forward + backward to the input, one iteration of each
 * technique — then the kernel table (bench/kernels.ts). Wall-clock medians after warm-up: at this level the CPU's
 * encoding of 60-130 dispatches is part of the cost a user pays.
 *
 *   node dist/bench/model.js [--smoke] [--json] [--no-kernels] [--batches 1,8] [--memory ITERATIONS]
 */
import { readFileSync } from 'node:fs';
import { classScoreGradient, classVisualization, createDevice, Model, Tensor, type Gpu } from '../src/index.js';
import { resolveWeights } from '../src/cli/common.js';
import { techniqueIterations } from './techniques.js';
import { kernelBenchmark, kernelTable, type KernelRow } from './kernels.js';
import { argFlag, isMain, table, timeGpu } from './harness.js';

export interface ModelRow {
  name: string;
  batch: number;
  medianMs: number;
  runs: number;
}

export interface BenchResult {
  adapter: string;
  machine: string;
  model: ModelRow[];
  kernels: KernelRow[];
  memory: { iterations: number; createdBefore: number; createdAfter: number; liveBuffers: number; liveBytes: number } | null;
}

function input(gpu: Gpu, batch: number): Tensor {
  const data = new Float32Array(batch * 3 * 224 * 224);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 1.5;
  return Tensor.from(gpu, [batch, 3, 224, 224], data, 'image');
}

/**
 * GPU memory over a long class visualization: buffers created and live, and live bytes, after the first iteration and
 * after the last. A loop that allocates per iteration shows `created` growing; this one must not.
 */
async function memoryOverIterations(model: Model, iterations: number): Promise<NonNullable<BenchResult['memory']>> {
  const gpu = model.gpu;
  let afterFirst = gpu.memory();
  await classVisualization(model, 76, {
    iterations,
    snapshotEvery: iterations,
    onIteration: ({ iteration }) => {
      if (iteration === 1) afterFirst = gpu.memory();
    },
  });
  const end = gpu.memory();
  return { iterations, createdBefore: afterFirst.created, createdAfter: end.created, liveBuffers: end.liveBuffers, liveBytes: end.liveBytes };
}

export async function modelBenchmark(options: { smoke: boolean; batches: number[]; kernels: boolean; memoryIterations: number }): Promise<BenchResult> {
  const runs = options.smoke ? 1 : 7;
  const warmup = options.smoke ? 0 : 2;
  const { model: modelPath } = await resolveWeights(undefined, true);
  const bytes = readFileSync(modelPath);

  const t0 = performance.now();
  const gpu = await createDevice();
  const model = Model.load(gpu, bytes);
  const x1 = input(gpu, 1);
  const first = model.forward(x1);
  await first.read();
  const coldMs = performance.now() - t0;
  first.dispose();

  const rows: ModelRow[] = [{ name: 'cold start (device + upload + first forward)', batch: 1, medianMs: coldMs, runs: 1 }];
  const wall = { runs, warmup, useTimestamps: false };
  for (const batch of options.batches) {
    const x = batch === 1 ? x1 : input(gpu, batch);
    const classes = Array.from({ length: batch }, (_, i) => (76 + 37 * i) % 1000);
    rows.push({ name: 'forward', batch, ...(await timeGpu(gpu, () => model.forward(x), wall)) });
    rows.push({
      name: 'forward+backward',
      batch,
      ...(await timeGpu(gpu, () => {
        const { scores, grad } = classScoreGradient(model, x, classes);
        return [scores, grad];
      }, wall)),
    });
    for (const t of await techniqueIterations(model, x, classes, { runs, warmup })) rows.push({ ...t, batch });
    if (x !== x1) x.dispose();
  }
  x1.dispose();
  const memory = options.memoryIterations > 0 ? await memoryOverIterations(model, options.memoryIterations) : null;
  const kernels = options.kernels ? await kernelBenchmark(gpu, { batch: 1, smoke: options.smoke }) : [];
  const result: BenchResult = { adapter: gpu.adapterName, machine: machineName(), model: rows, kernels, memory };
  model.dispose();
  gpu.destroy();
  return result;
}

export function machineName(): string {
  try {
    const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
    const cores = (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm) ?? []).length;
    return `${cpu.trim()}, ${cores} cores`;
  } catch {
    return 'unknown machine';
  }
}

export function modelTable(rows: ModelRow[]): string {
  return table(['row', 'batch', 'median ms', 'runs'], rows.map((r) => [r.name, r.batch, r.medianMs.toFixed(1), r.runs]));
}

async function main(): Promise<void> {
  const batchesArg = process.argv.indexOf('--batches');
  const batches = batchesArg >= 0 ? process.argv[batchesArg + 1]!.split(',').map(Number) : argFlag('smoke') ? [1] : [1, 8];
  const memoryArg = process.argv.indexOf('--memory');
  const memoryIterations = memoryArg >= 0 ? Number(process.argv[memoryArg + 1] ?? 1000) : 0;
  const result = await modelBenchmark({ smoke: argFlag('smoke'), batches, kernels: !argFlag('no-kernels'), memoryIterations });
  if (argFlag('json')) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`pixelprop on ${result.adapter}\nmachine: ${result.machine}\n`);
  console.log(modelTable(result.model));
  if (result.memory) {
    const m = result.memory;
    console.log(
      `\nmemory over ${m.iterations} class-visualization iterations: GPU buffers created ${m.createdBefore} after the first, ` +
        `${m.createdAfter} after the last; ${m.liveBuffers} live buffers, ${(m.liveBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  if (result.kernels.length) console.log(`\n${kernelTable(result.kernels)}`);
}

if (isMain(import.meta.url)) await main();
