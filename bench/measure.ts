/**
 * The model-level benchmark's measuring part, shared by `npm run bench` (model.ts, which reads the model files and
 * the command line) and the benchmark page (web/bench-worker.ts, which fetches them): the adapter's ceilings,
 * SqueezeNet 1.1's cold start, forward, forward + backward and technique rows per batch, MobileNetV2's forward rows
 * (both models' again at f16 and mixed precision where the adapter offers them, with each batch-1 row's error against
 * float64), the memory
 * check and the kernel table. No Node imports here.
 */
import { classScoreGradient, classVisualization, Model, Tensor, type Gpu } from '../src/index.js';
import { host } from '../src/kernels/host.js';
import { techniqueIterations } from './techniques.js';
import { kernelBenchmark } from './kernel-table.js';
import { BenchStopped, timeGpu, type OnStep } from './harness.js';
import { measureCeilings, type Ceilings } from './ceiling.js';
import { modelMacs } from './counting.js';
import { MOBILENET_V2, SQUEEZENET, type BenchResult, type MemoryRow, type ModelRow } from './result.js';

function input(gpu: Gpu, batch: number): Tensor {
  const data = new Float32Array(batch * 3 * 224 * 224);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 1.5;
  return Tensor.from(gpu, [batch, 3, 224, 224], data, 'image');
}

/**
 * GPU memory over a long class visualization: buffers created and live, and live bytes, after the first iteration and
 * after the last. A loop that allocates per iteration shows `created` growing; this one must not.
 */
async function memoryOverIterations(model: Model, iterations: number): Promise<MemoryRow> {
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

/** What the run measures, as its caller finds it: files from disk (Node) or fetched (the page). */
export interface BenchSources {
  /** a new device: the cold-start row times it */
  createGpu(): Promise<Gpu>;
  squeezenet: Uint8Array;
  /** MobileNetV2's ONNX file, or why it is not there (its rows are then left out with that note) */
  mobilenet: Uint8Array | { missing: string };
  machine: string;
  /** the kernel table reduced to the convolutions whose name has one of these (the page's quick test; said in notes) */
  onlyKernels?: readonly string[];
  onStep?: OnStep;
}

/** Multiply-adds, their rate and the share of the FMA ceiling, for a row that ran `macs` in `medianMs`. */
export function rateFields(macs: number, medianMs: number, ceilings: Pick<Ceilings, 'gmacPerS'>): Pick<ModelRow, 'macs' | 'gmacPerS' | 'fmaPercent'> {
  const gmacPerS = macs / (medianMs * 1e6);
  return { macs, gmacPerS, fmaPercent: (100 * gmacPerS) / ceilings.gmacPerS };
}

/**
 * ‖a − ref‖₂ / ‖ref‖₂: the error of a result against its float64 reference. An L2 norm rather than the tests' max
 * norm: a gradient through max-pooling and ReLU moves wholesale to a neighbouring pixel where rounding flips which
 * value is larger, and one such flip would be the whole of a max-norm error, whatever the precision.
 */
function relativeError(a: Float32Array, ref: Float64Array): number {
  let err = 0;
  let norm = 0;
  for (let i = 0; i < ref.length; i++) {
    err += (a[i]! - ref[i]!) ** 2;
    norm += ref[i]! ** 2;
  }
  return Math.sqrt(err / norm);
}


/**
 * The forward and forward+backward rows of one model at one batch, with their counted multiply-adds; at batch 1 also
 * the forward's error against the float64 path's scores (`reference`, computed once per model, shared by every
 * precision).
 */
async function forwardRows(
  model: Model,
  modelName: string,
  x: Tensor,
  ceilings: Ceilings,
  wall: { runs: number; warmup: number; useTimestamps: false },
  reference: Float64Array | null,
): Promise<ModelRow[]> {
  const batch = x.shape[0]!;
  const classes = batchClasses(batch);
  const macs = modelMacs(model.stages, model.inputShape(batch));
  const forward = await timeGpu(model.gpu, () => model.forward(x), wall);
  const backward = await timeGpu(model.gpu, () => {
    const { scores, grad } = classScoreGradient(model, x, classes);
    return [scores, grad];
  }, wall);
  // The forward row's error only: on this synthetic input the gradient is ill-conditioned (f32's own is 5e-3 from
  // float64: pooling windows with near-ties route it differently); test/precision.test.ts measures gradients on real
  // inputs instead.
  let error: { errorVsFloat64: number } | undefined;
  if (reference && batch === 1) {
    const scores = model.forward(x);
    error = { errorVsFloat64: relativeError(await scores.read(), reference) };
    scores.dispose();
  }
  const suffix = model.precision === 'f32' ? '' : ` (${model.precision})`;
  return [
    { name: `forward${suffix}`, batch, ...forward, model: modelName, ...rateFields(macs.forward, forward.medianMs, ceilings), ...error },
    { name: `forward+backward${suffix}`, batch, ...backward, model: modelName, ...rateFields(macs.forwardGradient, backward.medianMs, ceilings) },
  ];
}

/** What every row of a run shares: the device, the ceilings, the timing, progress, the models to dispose, the notes. */
interface RunContext {
  gpu: Gpu;
  ceilings: Ceilings;
  wall: { runs: number; warmup: number; useTimestamps: false };
  step: OnStep;
  keep: Model[];
  notes: string[];
}

const batchClasses = (batch: number): number[] => Array.from({ length: batch }, (_, i) => (76 + 37 * i) % 1000);

/**
 * One model's forward and forward+backward rows at every batch: at f32, and where the adapter offers shader-f16 again
 * at f16 and mixed precision (ModelOptions.precision), all measured against one float64 run at batch 1.
 */
async function modelRows(
  f32: Model,
  bytes: Uint8Array,
  modelName: string,
  options: { batches: number[]; x1: Tensor | null },
  run: RunContext,
): Promise<ModelRow[]> {
  const { gpu, ceilings, wall, step, keep, notes } = run;
  const models = [f32];
  if (!gpu.hasF16) notes.push(`f16 and mixed rows left out: the adapter does not offer shader-f16 (${modelName})`);
  else {
    for (const precision of ['f16', 'mixed'] as const) {
      const half = Model.load(gpu, bytes, { precision });
      keep.push(half);
      models.push(half);
    }
  }
  const rows: ModelRow[] = [];
  let reference: Float64Array | null = null;
  for (const batch of options.batches) {
    const x = batch === 1 && options.x1 ? options.x1 : input(gpu, batch);
    if (batch === 1) {
      step(`${modelName}: the float64 scores the error column is measured against`);
      reference = f32.referenceForward(host(x.shape, await x.read())).data;
    }
    for (const m of models) {
      step(`${modelName}, batch ${batch}${m.precision === 'f32' ? '' : `, ${m.precision}`}: forward, forward+backward`);
      rows.push(...(await forwardRows(m, modelName, x, ceilings, wall, reference)));
    }
    if (x !== options.x1) x.dispose();
  }
  return rows;
}

/**
 * Runs the benchmark. A run stopped by `onStep` (BenchStopped) still returns what it measured, with a note saying so;
 * the ceilings come first, so a stopped run has them (one stopped before them throws BenchStopped).
 */
export async function runModelBenchmark(sources: BenchSources, options: ModelBenchOptions): Promise<BenchResult> {
  const runs = options.smoke ? 1 : 7;
  const warmup = options.smoke ? 0 : 2;
  const step = sources.onStep ?? ((): void => {});
  const notes: string[] = [];

  step('cold start: device, upload, first forward');
  const t0 = performance.now();
  const gpu = await sources.createGpu();
  const models: Model[] = [];
  try {
    const model = Model.load(gpu, sources.squeezenet);
    models.push(model);
    const x1 = input(gpu, 1);
    const first = model.forward(x1);
    await first.read();
    const coldMs = performance.now() - t0;
    first.dispose();

    // The ceilings first: every rate below is read against them.
    step('ceilings: peak FMA rate, memory bandwidth');
    const ceilings = await measureCeilings(gpu, { smoke: options.smoke });
    const rows: ModelRow[] = [{ name: 'cold start (device + upload + first forward)', batch: 1, medianMs: coldMs, runs: 1, model: SQUEEZENET }];
    let memory: MemoryRow | null = null;
    let kernels: BenchResult['kernels'] = [];
    const result = (): BenchResult => ({ adapter: gpu.adapterName, machine: sources.machine, model: rows, kernels, memory, ceilings, notes });
    try {
      const wall = { runs, warmup, useTimestamps: false } as const;
      const run: RunContext = { gpu, ceilings, wall, step, keep: models, notes };
      rows.push(...(await modelRows(model, sources.squeezenet, SQUEEZENET, { batches: options.batches, x1 }, run)));
      for (const batch of options.batches) {
        step(`${SQUEEZENET}, batch ${batch}: techniques`);
        const x = batch === 1 ? x1 : input(gpu, batch);
        for (const t of await techniqueIterations(model, x, batchClasses(batch), { runs, warmup })) rows.push({ ...t, batch, model: SQUEEZENET });
        if (x !== x1) x.dispose();
      }
      x1.dispose();

      if (options.mobilenet) {
        if ('missing' in sources.mobilenet) notes.push(sources.mobilenet.missing);
        else {
          const mobilenet = Model.load(gpu, sources.mobilenet);
          models.push(mobilenet);
          rows.push(...(await modelRows(mobilenet, sources.mobilenet, MOBILENET_V2, { batches: options.batches, x1: null }, run)));
        }
      }

      if (options.memoryIterations > 0) {
        step(`memory over ${options.memoryIterations} class-visualization iterations`);
        memory = await memoryOverIterations(model, options.memoryIterations);
      }
      if (options.kernels) {
        const only = sources.onlyKernels;
        if (only) notes.push(`kernel table reduced to the convolutions whose name has ${only.map((o) => `'${o}'`).join(' or ')}`);
        kernels = await kernelBenchmark(gpu, { batch: 1, smoke: options.smoke, onStep: step, ...(only && { only }) });
      }
    } catch (e) {
      if (!(e instanceof BenchStopped)) throw e;
      notes.push(`stopped before: ${e.during}`);
    }
    return result();
  } finally {
    for (const m of models) m.dispose();
    gpu.destroy();
  }
}
