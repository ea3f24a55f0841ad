/**
 * `npm run fuzz -- --count N [--seed S] [--case K] [--per-case-ms T] [--json]`: seeded fuzzing of what reads
 * untrusted bytes — the ONNX loader (parseOnnx, and parseTensorProto for test data) and the PNG and JPEG decoders
 * (decodeImage). Every case must end in a result or a PixelpropError (one line a person can act on); anything else
 * thrown is a crash, a case that outlives its time limit is a hang, and running out of the memory limit is a crash.
 *
 * Cases are made from seed and case number alone, so `--case K` replays case K exactly. Each is one of:
 * - byte flips (1–8 bytes set to random values) or a truncation (cut at a random length, sometimes within the
 *   first 40 bytes) of a corpus file: the real SqueezeNet 1.1 (weights/, when present), miniature SqueezeNets in
 *   the variants exporters write (build-fixture.ts), a TensorProto, PNGs (gray, RGB, RGBA, palette, 16-bit,
 *   interlaced) and JPEGs;
 * - a field mutation, decoded and re-encoded: an ONNX model with one field changed (a dim, a data type, an op, an
 *   attribute, an input name, a raw_data length, the opset or IR version, a duplicated or dropped node), or an image
 *   header with its declared size, depth, colour type or a chunk length changed.
 *
 * A model that parses is then loaded as the CLI and the page load it (Model.load on a GPU device: lowering, shape
 * inference, upload; the image-model checks), and a miniature one runs a forward pass.
 *
 * The cases run in a worker thread with a heap limit, one at a time; the main thread times each one and replaces
 * the worker after a hang or a crash of the thread itself. Memory: the peak resident size of the whole process, and
 * the worker's heap plus array buffers after a garbage collection, early on and at the end (growth would show
 * there). Used by test/fuzz.test.ts (a bounded count in `npm test`) and by hand for long runs.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import onnxProto from 'onnx-proto';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { createDevice, type Gpu } from '../src/gpu/device.js';
import { PixelpropError } from '../src/gpu/errors.js';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { checkImageModel } from '../src/techniques/model-input.js';
import { buildModel, squeezenetLikeSpec, tensorProto } from '../src/graph/onnx/build-fixture.js';
import { parseOnnx, parseTensorProto } from '../src/graph/onnx/parse.js';
import { decodeImage } from '../src/image/node-io.js';
import { Rng } from '../src/util/rng.js';

const { onnx } = onnxProto;
const { PNG } = pngjs;

export interface FuzzOptions {
  count: number;
  seed?: number;
  /** replay one case (and only it) */
  only?: number;
  /** a case still running after this is a hang (default 10 s) */
  perCaseMs?: number;
  /** the worker's heap limit, MiB (default 1024) */
  heapMb?: number;
  /** load the models that parse on a GPU device, and run the miniature ones (default true) */
  gpu?: boolean;
  onProgress?: (done: number, report: FuzzReport) => void;
}

export interface FuzzFailure {
  case: number;
  kind: string;
  error: string;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  /** cases that ended in a result */
  accepted: number;
  /** cases that ended in a PixelpropError */
  refused: number;
  crashes: FuzzFailure[];
  hangs: FuzzFailure[];
  /** cases per kind, e.g. "onnx:real:flip" */
  kinds: Record<string, number>;
  peakRssBytes: number;
  /** the worker's heap + array buffers after a GC: after the first 10% of cases, and at the end */
  retainedEarlyBytes: number | null;
  retainedEndBytes: number | null;
  ms: number;
}

// ---- corpus ---------------------------------------------------------------------------------------------------------

interface Corpus {
  models: { name: string; bytes: Uint8Array }[];
  tensors: { name: string; bytes: Uint8Array }[];
  images: { name: string; bytes: Uint8Array }[];
}

const repoRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
})();

function pngOf(width: number, height: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16, interlace: boolean, rng: Rng): Uint8Array {
  const png = new PNG({ width, height, colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
  const max = bitDepth === 16 ? 65535 : 255;
  const data = bitDepth === 16 ? new Uint16Array(width * height * 4) : new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.uniform() * (max + 1));
  png.data = Buffer.from(data.buffer);
  const bytes = PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
  const out = new Uint8Array(bytes);
  // pngjs writes no interlaced PNGs: flag one (the data is then read as Adam7 passes, a mutation of its own).
  if (interlace) out[28] = 1;
  return out;
}

export function buildCorpus(): Corpus {
  const rng = new Rng(12345);
  const models: Corpus['models'] = [];
  const real = join(repoRoot, 'weights', 'squeezenet1.1.onnx');
  if (existsSync(real)) models.push({ name: 'real', bytes: new Uint8Array(readFileSync(real)) });
  const variants: Parameters<typeof squeezenetLikeSpec>[0][] = [
    { irVersion: 3 },
    { irVersion: 7, head: 'avgpool', flatten: 'reshape-1' },
    { irVersion: 7, flatten: 'reshape0', reshapeFrom: 'constant', encoding: 'typed' },
    { irVersion: 8, opset: 13, batch: 'N', size: [17, 23], classes: 5 },
  ];
  variants.forEach((v, i) => models.push({ name: `mini${i}`, bytes: buildModel(squeezenetLikeSpec({ ...v, seed: i + 1 })) }));
  const tensors = [
    { name: 'tensor', bytes: onnx.TensorProto.encode(tensorProto({ name: 'x', dims: [1, 3, 4, 4], data: Float32Array.from(rng.uniforms(48, -1, 1)) })).finish() },
  ];
  const images: Corpus['images'] = [
    { name: 'png-rgb8', bytes: pngOf(7, 5, 2, 8, false, rng) },
    { name: 'png-rgba16', bytes: pngOf(4, 6, 6, 16, false, rng) },
    { name: 'png-gray8-interlaced', bytes: pngOf(9, 9, 0, 8, true, rng) },
    { name: 'png-graya8', bytes: pngOf(3, 3, 4, 8, false, rng) },
  ];
  const rgba = new Uint8Array(16 * 12 * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = Math.floor(rng.uniform() * 256);
  images.push({ name: 'jpeg', bytes: new Uint8Array(jpeg.encode({ width: 16, height: 12, data: Buffer.from(rgba) }, 80).data) });
  return { models, tensors, images };
}

// ---- cases ----------------------------------------------------------------------------------------------------------

interface Case {
  id: number;
  kind: string;
  target: 'onnx' | 'tensor' | 'image';
  bytes: Uint8Array;
}

/** A random integer that is sometimes one an exporter would never write: 0, −1, 2^31, 2^53 + 1, huge. */
function wildInt(rng: Rng): number {
  const picks = [0, 1, -1, 2, 3, 7, 224, 1000, 65535, 2 ** 31, 2 ** 32 + 1, 2 ** 40, -(2 ** 31), Number.MAX_SAFE_INTEGER];
  return rng.uniform() < 0.7 ? picks[rng.int(0, picks.length - 1)]! : rng.int(-1000, 100000);
}

function flip(bytes: Uint8Array, rng: Rng): Uint8Array {
  const out = Uint8Array.from(bytes);
  const n = rng.int(1, 8);
  for (let k = 0; k < n; k++) out[rng.int(0, out.length - 1)] = rng.int(0, 255);
  return out;
}

function truncate(bytes: Uint8Array, rng: Rng): Uint8Array {
  const at = rng.uniform() < 0.3 ? rng.int(0, Math.min(40, bytes.length - 1)) : rng.int(0, bytes.length - 1);
  return bytes.slice(0, at);
}

/** One field of a decoded model changed, then encoded again. */
function mutateModel(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; what: string } {
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph!;
  const nodes = g.node!;
  const inits = g.initializer!;
  const node = nodes[rng.int(0, nodes.length - 1)]!;
  const init = inits.length ? inits[rng.int(0, inits.length - 1)]! : null;
  // Choices that do not apply to this model (no initializer, no dims) fall to changing the opset.
  let choice = rng.int(0, 11);
  if ((choice === 0 && !init?.dims?.length) || (choice === 1 && !init) || (choice === 5 && !init?.rawData?.length)) choice = 6;
  let what: string;
  if (choice === 0) {
    init!.dims![rng.int(0, init!.dims!.length - 1)] = wildInt(rng);
    what = 'initializer dim';
  } else if (choice === 1) {
    init!.dataType = rng.int(0, 17);
    what = 'initializer data type';
  } else if (choice === 2) {
    node.opType = ['Conv', 'Relu', 'MaxPool', 'Concat', 'Gemm', 'Reshape', 'Flatten', 'Softmax', 'Add', 'LSTM', ''][rng.int(0, 10)]!;
    what = 'op type';
  } else if (choice === 3) {
    const attr = node.attribute?.[rng.int(0, Math.max(0, (node.attribute?.length ?? 1) - 1))];
    if (attr) {
      if (attr.ints && attr.ints.length) attr.ints = attr.ints.map((v) => (rng.uniform() < 0.5 ? wildInt(rng) : v));
      else attr.i = wildInt(rng);
      if (rng.uniform() < 0.2) attr.type = rng.int(0, 14);
      what = `attribute ${attr.name}`;
    } else {
      node.attribute = [{ name: 'axis', type: 2, i: wildInt(rng) }];
      what = 'attribute added';
    }
  } else if (choice === 4) {
    node.input![rng.int(0, Math.max(0, node.input!.length - 1))] = rng.uniform() < 0.5 ? 'nowhere' : nodes[rng.int(0, nodes.length - 1)]!.output![0]!;
    what = 'node input';
  } else if (choice === 5) {
    init!.rawData = init!.rawData!.subarray(0, rng.int(0, init!.rawData!.length));
    what = 'raw_data length';
  } else if (choice === 6) {
    m.opsetImport![0]!.version = wildInt(rng);
    what = 'opset';
  } else if (choice === 7) {
    m.irVersion = wildInt(rng);
    what = 'ir version';
  } else if (choice === 8) {
    nodes.splice(rng.int(0, nodes.length - 1), 0, { ...node, name: `${node.name}_again` });
    what = 'node duplicated';
  } else if (choice === 9) {
    nodes.splice(rng.int(0, nodes.length - 1), 1);
    what = 'node dropped';
  } else if (choice === 10) {
    const io = rng.uniform() < 0.5 ? g.input! : g.output!;
    const dims = io[0]?.type?.tensorType?.shape?.dim;
    if (dims && dims.length) dims[rng.int(0, dims.length - 1)] = { dimValue: wildInt(rng) };
    what = 'graph input/output dim';
  } else {
    node.output![0] = rng.uniform() < 0.5 ? (node.input![0] ?? 'x') : nodes[rng.int(0, nodes.length - 1)]!.output![0]!;
    what = 'node output';
  }
  return { bytes: onnx.ModelProto.encode(m).finish(), what };
}

/** A PNG or JPEG header field changed: declared size, depth, colour type, a chunk or segment length. */
function mutateImageHeader(bytes: Uint8Array, rng: Rng): Uint8Array {
  const out = Uint8Array.from(bytes);
  const v = new DataView(out.buffer);
  if (out[0] === 0x89) {
    const field = rng.int(0, 4);
    if (field === 0) v.setUint32(16, wildInt(rng) >>> 0);
    else if (field === 1) v.setUint32(20, wildInt(rng) >>> 0);
    else if (field === 2) out[24] = [1, 2, 4, 8, 16, 3, 0][rng.int(0, 6)]!;
    else if (field === 3) out[25] = rng.int(0, 7);
    else v.setUint32(33, wildInt(rng) >>> 0); // the length of the chunk after IHDR
    return out;
  }
  const sof = out.findIndex((b, i) => b === 0xff && out[i + 1] === 0xc0);
  if (sof >= 0 && rng.uniform() < 0.7) {
    v.setUint16(sof + 5 + 2 * rng.int(0, 1), rng.int(0, 65535));
    return out;
  }
  v.setUint16(4, rng.int(0, 65535)); // the first segment's length
  return out;
}

export function makeCase(corpus: Corpus, seed: number, id: number): Case {
  // One generator per case, from seed and number only: a case is replayed by its number.
  const rng = new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca6b)) >>> 0);
  const r = rng.uniform();
  if (r < 0.55) {
    const model = corpus.models[rng.int(0, corpus.models.length - 1)]!;
    const how = rng.uniform();
    if (how < 0.4) return { id, target: 'onnx', kind: `onnx:${model.name}:flip`, bytes: flip(model.bytes, rng) };
    if (how < 0.6) return { id, target: 'onnx', kind: `onnx:${model.name}:truncate`, bytes: truncate(model.bytes, rng) };
    const { bytes, what } = mutateModel(model.bytes, rng);
    return { id, target: 'onnx', kind: `onnx:${model.name}:field:${what}`, bytes };
  }
  if (r < 0.6) {
    const t = corpus.tensors[0]!;
    return { id, target: 'tensor', kind: 'tensor:flip', bytes: rng.uniform() < 0.5 ? flip(t.bytes, rng) : truncate(t.bytes, rng) };
  }
  const image = corpus.images[rng.int(0, corpus.images.length - 1)]!;
  const how = rng.uniform();
  if (how < 0.45) return { id, target: 'image', kind: `image:${image.name}:flip`, bytes: flip(image.bytes, rng) };
  if (how < 0.7) return { id, target: 'image', kind: `image:${image.name}:truncate`, bytes: truncate(image.bytes, rng) };
  return { id, target: 'image', kind: `image:${image.name}:header`, bytes: mutateImageHeader(image.bytes, rng) };
}

/**
 * What a model file that parses goes through next, as the CLI and the page take it: Model.load (lowering every node,
 * inferring every shape, uploading the weights), the checks for image models, and — for the miniature models, whose
 * forward costs milliseconds — one forward pass on zeros read back.
 */
async function loadAndRun(gpu: Gpu, c: Case): Promise<void> {
  const model = Model.load(gpu, c.bytes);
  try {
    checkImageModel(model);
    if (!c.kind.startsWith('onnx:mini')) return;
    const x = Tensor.zeros(gpu, model.inputShape(1), 'fuzz input');
    try {
      const y = model.forward(x);
      await y.read().finally(() => y.dispose());
    } finally {
      x.dispose();
    }
  } finally {
    model.dispose();
  }
}

/** Runs one case: 'accepted' or 'refused' (a PixelpropError); anything else propagates as a crash. */
export async function runCase(c: Case, gpu: Gpu | null): Promise<'accepted' | 'refused'> {
  try {
    if (c.target === 'onnx') {
      parseOnnx(c.bytes);
      if (gpu) await loadAndRun(gpu, c);
    } else if (c.target === 'tensor') parseTensorProto(c.bytes, 'fuzzed tensor');
    else decodeImage(c.bytes, 'fuzzed image');
    return 'accepted';
  } catch (e) {
    if (e instanceof PixelpropError) {
      if (e.message.includes('\n')) throw new Error(`a PixelpropError of several lines: ${JSON.stringify(e.message)}`);
      return 'refused';
    }
    throw e;
  }
}

// ---- the worker -----------------------------------------------------------------------------------------------------

interface WorkerRequest {
  id: number;
  measure?: boolean;
}
type WorkerAnswer =
  | { id: number; outcome: 'accepted' | 'refused'; kind: string; retained?: number }
  | { id: number; outcome: 'crash'; kind: string; error: string; retained?: number };

function retainedBytes(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

if (!isMainThread && (workerData as { fuzz?: boolean } | null)?.fuzz) {
  const { seed, useGpu } = workerData as { seed: number; useGpu: boolean };
  const corpus = buildCorpus();
  let gpu: Gpu | null = null;
  parentPort!.on('message', async ({ id, measure }: WorkerRequest) => {
    // A device of its own (Dawn works in worker threads); replaced if a case lost it.
    if (useGpu && (gpu === null || gpu.isLost)) gpu = await createDevice();
    const c = makeCase(corpus, seed, id);
    let answer: WorkerAnswer;
    try {
      answer = { id, outcome: await runCase(c, gpu), kind: c.kind };
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
      answer = { id, outcome: 'crash', kind: c.kind, error };
    }
    if (measure) answer.retained = retainedBytes();
    parentPort!.postMessage(answer);
  });
}

// ---- the main thread ------------------------------------------------------------------------------------------------

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const seed = options.seed ?? 1;
  const perCaseMs = options.perCaseMs ?? 10_000;
  const started = Date.now();
  const report: FuzzReport = {
    seed,
    cases: 0,
    accepted: 0,
    refused: 0,
    crashes: [],
    hangs: [],
    kinds: {},
    peakRssBytes: process.memoryUsage().rss,
    retainedEarlyBytes: null,
    retainedEndBytes: null,
    ms: 0,
  };
  const ids = options.only !== undefined ? [options.only] : Array.from({ length: options.count }, (_, i) => i);
  const early = Math.max(0, Math.floor(ids.length / 10) - 1);
  const entry = fileURLToPath(import.meta.url);
  const spawn = (): Worker =>
    new Worker(entry, { workerData: { fuzz: true, seed, useGpu: options.gpu ?? true }, resourceLimits: { maxOldGenerationSizeMb: options.heapMb ?? 1024 } });
  let worker = spawn();
  try {
    for (const [k, id] of ids.entries()) {
      const measure = k === early || k === ids.length - 1;
      const answer = await new Promise<WorkerAnswer | { id: number; outcome: 'hang' | 'died'; error: string }>((done) => {
        const timer = setTimeout(() => done({ id, outcome: 'hang', error: `still running after ${perCaseMs} ms` }), perCaseMs);
        const onMessage = (a: WorkerAnswer): void => {
          clearTimeout(timer);
          worker.off('error', onError);
          done(a);
        };
        // The thread itself dying (out of its heap limit) is a crash of this case.
        const onError = (e: Error): void => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          done({ id, outcome: 'died', error: `${e.name}: ${e.message.split('\n')[0]}` });
        };
        worker.once('message', onMessage);
        worker.once('error', onError);
        worker.postMessage({ id, measure } satisfies WorkerRequest);
      });
      report.cases++;
      report.peakRssBytes = Math.max(report.peakRssBytes, process.memoryUsage().rss);
      const kind = 'kind' in answer ? answer.kind : 'unknown';
      report.kinds[kind.split(':').slice(0, 3).join(':')] = (report.kinds[kind.split(':').slice(0, 3).join(':')] ?? 0) + 1;
      if (answer.outcome === 'accepted') report.accepted++;
      else if (answer.outcome === 'refused') report.refused++;
      else if (answer.outcome === 'crash') report.crashes.push({ case: id, kind, error: answer.error });
      else {
        (answer.outcome === 'hang' ? report.hangs : report.crashes).push({ case: id, kind, error: (answer as { error: string }).error });
        await worker.terminate();
        worker = spawn();
      }
      if ('retained' in answer && answer.retained !== undefined) {
        if (k === early) report.retainedEarlyBytes = answer.retained;
        else report.retainedEndBytes = answer.retained;
      }
      options.onProgress?.(report.cases, report);
    }
  } finally {
    await worker.terminate();
  }
  report.ms = Date.now() - started;
  return report;
}

// ---- the command ----------------------------------------------------------------------------------------------------

function isMain(): boolean {
  if (!isMainThread || !process.argv[1]) return false;
  try {
    return pathToFileURL(realpathSync(process.argv[1])).href === pathToFileURL(realpathSync(fileURLToPath(import.meta.url))).href;
  } catch {
    return false;
  }
}

const USAGE = `npm run fuzz -- [--count N] [--seed S] [--case K] [--per-case-ms T] [--no-gpu] [--json]

  Fuzzes the ONNX loader and the PNG/JPEG decoders with N seeded cases (default 1000); --case K replays case K.
  Models that parse are loaded on a GPU device (and the miniature ones run once) unless --no-gpu.
  Exit status: 0 when every case ended in a result or a one-line PixelpropError, 1 on a crash or a hang, 2 on bad
  options.`;

async function main(argv: string[]): Promise<number> {
  const opts: FuzzOptions = { count: 1000 };
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new PixelpropError(`${a} takes a whole number ≥ 0, got '${argv[i] ?? ''}'`);
      return v;
    };
    if (a === '--count') opts.count = value();
    else if (a === '--seed') opts.seed = value();
    else if (a === '--case') opts.only = value();
    else if (a === '--per-case-ms') opts.perCaseMs = value();
    else if (a === '--json') json = true;
    else if (a === '--no-gpu') opts.gpu = false;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      return 0;
    } else throw new PixelpropError(`unknown option '${a}'\n${USAGE}`.split('\n')[0]!);
  }
  if (!json && process.stderr.isTTY) {
    opts.onProgress = (done, r) => {
      if (done % 100 === 0) process.stderr.write(`\r  ${done}/${opts.only !== undefined ? 1 : opts.count} cases, ${r.crashes.length} crashes, ${r.hangs.length} hangs`);
    };
  }
  const report = await runFuzz(opts);
  if (opts.onProgress) process.stderr.write('\n');
  const mib = (b: number | null): string => (b === null ? '—' : `${(b / 2 ** 20).toFixed(1)} MiB`);
  if (json) console.log(JSON.stringify(report));
  else {
    console.log(`${report.cases} cases (seed ${report.seed}) in ${(report.ms / 1000).toFixed(1)} s: ${report.accepted} accepted, ${report.refused} refused with one line`);
    console.log(`crashes ${report.crashes.length}, hangs ${report.hangs.length}; peak RSS ${mib(report.peakRssBytes)}; worker heap + buffers after GC ${mib(report.retainedEarlyBytes)} early, ${mib(report.retainedEndBytes)} at the end`);
    for (const f of [...report.crashes, ...report.hangs]) console.log(`  case ${f.case} (${f.kind}): ${f.error}   replay: npm run fuzz -- --seed ${report.seed} --case ${f.case}`);
  }
  return report.crashes.length + report.hangs.length === 0 ? 0 : 1;
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(e instanceof PixelpropError ? `fuzz: ${e.message}` : e);
      process.exit(2);
    },
  );
}
