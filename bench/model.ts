/**
 * Model-level benchmark (`npm run bench`): first the adapter's ceilings (peak FMA rate, memory bandwidth: bench/
 * ceiling.ts), then SqueezeNet 1.1 at batch 1 and 8 — cold start (device, model upload and pipeline compilation
 * through the first forward), forward, forward + backward to the input, one iteration of each technique — and
 * MobileNetV2 1.0 (forward, forward + backward), each forward and forward+backward row with its multiply-adds counted
 * from the graph (bench/counting.ts), the rate achieved and its share of the measured FMA ceiling; then the kernel
 * table (bench/kernels.ts), which --roofline draws. Wall-clock medians after warm-up: at this level the CPU's encoding
 * of 60-130 dispatches is part of the cost a user pays.
 *
 *   node dist/bench/model.js [--smoke] [--json] [--no-kernels] [--batches 1,8] [--memory ITERATIONS]
 *                            [--roofline OUT.svg] [--compare OLD.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { classScoreGradient, classVisualization, createDevice, Model, Tensor, type Gpu } from '../src/index.js';
import { renderSvg } from '../src/charts/index.js';
import { resolveWeights } from '../src/cli/common.js';
import { techniqueIterations } from './techniques.js';
import { kernelBenchmark, kernelTable, type KernelRow } from './kernels.js';
import { isMain, table, timeGpu } from './harness.js';
import { ceilingTable, measureCeilings, type Ceilings } from './ceiling.js';
import { modelMacs } from './counting.js';
import { findMobilenetV2, MOBILENET_V2, SQUEEZENET } from './models.js';
import { rooflineChart, rooflinePoints } from './roofline.js';
import { compareResults, comparisonTable, parseBenchJson, type ComparableResult } from './compare.js';

export interface ModelRow {
  name: string;
  batch: number;
  medianMs: number;
  runs: number;
  /** the fastest run, and how it was timed (the timed rows: forward, forward+backward) */
  minMs?: number;
  clock?: string;
  /** which model the row ran (results from before MobileNetV2 rows lack it: SqueezeNet 1.1) */
  model?: string;
  /** multiply-adds of one run (forward and forward+backward rows), counted from the graph */
  macs?: number;
  /** macs over the median, in G per second */
  gmacPerS?: number;
  /** gmacPerS as a share of the measured FMA ceiling, in percent */
  fmaPercent?: number;
}

export interface BenchResult {
  adapter: string;
  machine: string;
  model: ModelRow[];
  kernels: KernelRow[];
  memory: { iterations: number; createdBefore: number; createdAfter: number; liveBuffers: number; liveBytes: number } | null;
  /** the adapter's peak FMA rate and bandwidth, measured at the start of the run */
  ceilings: Ceilings;
  /** rows left out and why (a model file that is not there) */
  notes: string[];
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

export interface ModelBenchOptions {
  smoke: boolean;
  batches: number[];
  kernels: boolean;
  memoryIterations: number;
  /** run MobileNetV2's rows too (when its file is there) */
  mobilenet: boolean;
}

/** Multiply-adds, their rate and the share of the FMA ceiling, for a row that ran `macs` in `medianMs`. */
export function rateFields(macs: number, medianMs: number, ceilings: Pick<Ceilings, 'gmacPerS'>): Pick<ModelRow, 'macs' | 'gmacPerS' | 'fmaPercent'> {
  const gmacPerS = macs / (medianMs * 1e6);
  return { macs, gmacPerS, fmaPercent: (100 * gmacPerS) / ceilings.gmacPerS };
}

/** The forward and forward+backward rows of one model at one batch, with their counted multiply-adds. */
async function forwardRows(model: Model, modelName: string, x: Tensor, ceilings: Ceilings, wall: { runs: number; warmup: number; useTimestamps: false }): Promise<ModelRow[]> {
  const batch = x.shape[0]!;
  const classes = Array.from({ length: batch }, (_, i) => (76 + 37 * i) % 1000);
  const macs = modelMacs(model.stages, model.inputShape(batch));
  const forward = await timeGpu(model.gpu, () => model.forward(x), wall);
  const backward = await timeGpu(model.gpu, () => {
    const { scores, grad } = classScoreGradient(model, x, classes);
    return [scores, grad];
  }, wall);
  return [
    { name: 'forward', batch, ...forward, model: modelName, ...rateFields(macs.forward, forward.medianMs, ceilings) },
    { name: 'forward+backward', batch, ...backward, model: modelName, ...rateFields(macs.forwardGradient, backward.medianMs, ceilings) },
  ];
}

export async function modelBenchmark(options: ModelBenchOptions): Promise<BenchResult> {
  const runs = options.smoke ? 1 : 7;
  const warmup = options.smoke ? 0 : 2;
  const { model: modelPath } = await resolveWeights(undefined, true);
  const bytes = readFileSync(modelPath);
  const notes: string[] = [];

  const t0 = performance.now();
  const gpu = await createDevice();
  const model = Model.load(gpu, bytes);
  const x1 = input(gpu, 1);
  const first = model.forward(x1);
  await first.read();
  const coldMs = performance.now() - t0;
  first.dispose();

  // The ceilings first: every rate below is read against them.
  const ceilings = await measureCeilings(gpu, { smoke: options.smoke });

  const rows: ModelRow[] = [{ name: 'cold start (device + upload + first forward)', batch: 1, medianMs: coldMs, runs: 1, model: SQUEEZENET }];
  const wall = { runs, warmup, useTimestamps: false } as const;
  for (const batch of options.batches) {
    const x = batch === 1 ? x1 : input(gpu, batch);
    const classes = Array.from({ length: batch }, (_, i) => (76 + 37 * i) % 1000);
    rows.push(...(await forwardRows(model, SQUEEZENET, x, ceilings, wall)));
    for (const t of await techniqueIterations(model, x, classes, { runs, warmup })) rows.push({ ...t, batch, model: SQUEEZENET });
    if (x !== x1) x.dispose();
  }
  x1.dispose();

  if (options.mobilenet) {
    const found = findMobilenetV2();
    if ('missing' in found) notes.push(found.missing);
    else {
      const mobilenet = Model.load(gpu, readFileSync(found.path));
      for (const batch of options.batches) {
        const x = input(gpu, batch);
        rows.push(...(await forwardRows(mobilenet, MOBILENET_V2, x, ceilings, wall)));
        x.dispose();
      }
      mobilenet.dispose();
    }
  }

  const memory = options.memoryIterations > 0 ? await memoryOverIterations(model, options.memoryIterations) : null;
  const kernels = options.kernels ? await kernelBenchmark(gpu, { batch: 1, smoke: options.smoke }) : [];
  const result: BenchResult = { adapter: gpu.adapterName, machine: machineName(), model: rows, kernels, memory, ceilings, notes };
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
  return table(
    ['model', 'row', 'batch', 'median ms', 'runs', 'G multiply-add', 'G multiply-add/s', '% of FMA peak'],
    rows.map((r) => [
      r.model ?? SQUEEZENET,
      r.name,
      r.batch,
      r.medianMs.toFixed(1),
      r.runs,
      r.macs === undefined ? '' : (r.macs / 1e9).toFixed(3),
      r.gmacPerS === undefined ? '' : r.gmacPerS.toFixed(2),
      r.fmaPercent === undefined ? '' : r.fmaPercent.toFixed(1),
    ]),
  );
}

/** Bad command-line input: main prints its message as one line and exits with 2. */
export class UsageError extends Error {}

export interface ModelBenchArgs extends ModelBenchOptions {
  json: boolean;
  roofline: string | null;
  compare: { path: string; result: ComparableResult } | null;
}

/** Reads the command line (and the --compare file, so that a bad one fails before a long run, not after). */
export function parseBenchArgs(argv: readonly string[], readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): ModelBenchArgs {
  const value = (name: string): string | null => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return null;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    return v;
  };
  const has = (name: string): boolean => argv.includes(`--${name}`);
  const known = ['smoke', 'json', 'no-kernels', 'no-mobilenet', 'batches', 'memory', 'roofline', 'compare'];
  for (const a of argv) if (a.startsWith('--') && !known.includes(a.slice(2))) throw new UsageError(`unknown option ${a} (known: ${known.map((k) => `--${k}`).join(' ')})`);
  const smoke = has('smoke');
  const batchesText = value('batches');
  const batches = batchesText === null ? (smoke ? [1] : [1, 8]) : batchesText.split(',').map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new UsageError(`--batches wants batch sizes like 1,8, got '${batchesText}'`);
  const memoryText = has('memory') ? (argv[argv.indexOf('--memory') + 1] ?? '') : null;
  const memoryIterations = memoryText === null ? 0 : memoryText === '' || memoryText.startsWith('--') ? 1000 : Number(memoryText);
  if (!Number.isInteger(memoryIterations) || memoryIterations < 0) throw new UsageError(`--memory wants a number of iterations, got '${memoryText}'`);
  const kernels = !has('no-kernels');
  const roofline = value('roofline');
  if (roofline !== null && !kernels) throw new UsageError('--roofline draws the kernel table: it cannot go with --no-kernels');
  const comparePath = value('compare');
  let compare: ModelBenchArgs['compare'] = null;
  if (comparePath !== null) {
    let text: string;
    try {
      text = readFile(comparePath);
    } catch (e) {
      throw new UsageError(`cannot read --compare file ${comparePath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      compare = { path: comparePath, result: parseBenchJson(text, comparePath) };
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return { smoke, batches, kernels, memoryIterations, mobilenet: !has('no-mobilenet'), json: has('json'), roofline, compare };
}

async function main(): Promise<void> {
  let args: ModelBenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}`);
    process.exit(2);
  }
  const result = await modelBenchmark(args);
  if (args.roofline) {
    const title = `Roofline: pixelprop's kernels on ${result.adapter}, batch 1`;
    writeFileSync(args.roofline, await renderSvg(rooflineChart(rooflinePoints(result.kernels), result.ceilings, title)));
  }
  const comparison = args.compare ? comparisonTable(compareResults(result, args.compare.result), result, args.compare.result) : null;
  if (args.json) {
    console.log(JSON.stringify(result, null, 2));
    if (comparison) console.error(`\ncompared with ${args.compare!.path}:\n${comparison}`);
    return;
  }
  console.log(`pixelprop on ${result.adapter}\nmachine: ${result.machine}\n`);
  console.log(`${ceilingTable(result.ceilings)}\n`);
  console.log(modelTable(result.model));
  for (const n of result.notes) console.log(n);
  if (result.memory) {
    const m = result.memory;
    console.log(
      `\nmemory over ${m.iterations} class-visualization iterations: GPU buffers created ${m.createdBefore} after the first, ` +
        `${m.createdAfter} after the last; ${m.liveBuffers} live buffers, ${(m.liveBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  if (result.kernels.length) console.log(`\n${kernelTable(result.kernels)}`);
  if (args.roofline) console.log(`\nroofline written to ${args.roofline}`);
  if (comparison) console.log(`\ncompared with ${args.compare!.path}:\n${comparison}`);
}

if (isMain(import.meta.url)) await main();
