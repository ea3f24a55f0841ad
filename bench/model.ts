/**
 * Model-level benchmark (`npm run bench`): first the adapter's ceilings (peak FMA rate, memory bandwidth: bench/
 * ceiling.ts), then SqueezeNet 1.1 at batch 1 and 8 — cold start (device, model upload and pipeline compilation
 * through the first forward), forward, forward + backward to the input, one iteration of each technique — and
 * MobileNetV2 1.0 (forward, forward + backward), each forward and forward+backward row with its multiply-adds counted
 * from the graph (bench/counting.ts), the rate achieved and its share of the measured FMA ceiling; then the kernel
 * table (bench/kernel-table.ts), which --roofline draws. Wall-clock medians after warm-up: at this level the CPU's
 * encoding of 60-130 dispatches is part of the cost a user pays. The measuring is measure.ts's, which the benchmark
 * page (web/bench-worker.ts) runs too; this file reads the model files and the command line and prints.
 *
 *   node dist/bench/model.js [--smoke] [--json] [--no-kernels] [--batches 1,8] [--memory ITERATIONS]
 *                            [--roofline OUT.svg] [--compare OLD.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createDevice } from '../src/index.js';
import { renderSvg } from '../src/charts/index.js';
import { resolveWeights } from '../src/cli/common.js';
import { isMain, machineName } from './cli.js';
import { ceilingTable, kernelTable, modelTable } from './tables.js';
import { findMobilenetV2 } from './models.js';
import { runModelBenchmark, type ModelBenchOptions } from './measure.js';
import type { BenchResult } from './result.js';
import { resultRoofline } from './roofline.js';
import { compareResults, comparisonTable, parseBenchJson, type ComparableResult } from './compare.js';

/** The benchmark on this machine's adapter, with the model files from weights/ (measure.ts does the measuring). */
export async function modelBenchmark(options: ModelBenchOptions): Promise<BenchResult> {
  const { model: modelPath } = await resolveWeights(undefined, true);
  const found = options.mobilenet ? findMobilenetV2() : { missing: 'MobileNetV2 rows not asked for' };
  return runModelBenchmark(
    {
      createGpu: () => createDevice(),
      squeezenet: readFileSync(modelPath),
      mobilenet: 'missing' in found ? found : readFileSync(found.path),
      machine: machineName(),
    },
    options,
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
    writeFileSync(args.roofline, await renderSvg(resultRoofline(result)));
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
