/**
 * The engine's Web Worker: the WebGPU device, the model and the current image live here, so that a forward and
 * backward pass — seconds on a software adapter — never freezes the page. It answers the calls of protocol.ts one at a
 * time, with pixelprop's library doing all the work; this file only translates between messages and library calls.
 */
import { createDevice, type Gpu } from '../src/gpu/device.js';
import { PixelpropError, check, fmtBytes } from '../src/gpu/errors.js';
import { registerShaders } from '../src/gpu/shaders.js';
import { Tensor } from '../src/gpu/tensor.js';
import { checkDescribedModel, defaultDescription, describePreprocessing, imagePreprocessing, parseDescription, type ModelDescription } from '../src/graph/description.js';
import { className, parseSynset, topK, type Labels } from '../src/graph/labels.js';
import { Model } from '../src/graph/model.js';
import { decodeImageBlob } from '../src/image/browser-io.js';
import type { RgbImage, RgbImage8 } from '../src/image/image.js';
import { deprocess, preprocess } from '../src/image/preprocess.js';
import { host } from '../src/kernels/host.js';
import { softmaxRef } from '../src/kernels/softmax.js';
import { classVisualization } from '../src/techniques/classviz.js';
import { fool } from '../src/techniques/fool.js';
import { saliency } from '../src/techniques/saliency.js';
import { checkImageModel } from '../src/techniques/model-input.js';
import { SCORES_OVERFLOW, checkFinite } from '../src/util/finite.js';
import { inspectTape } from './inspect.js';
import { MAX_MODEL_BYTES } from './limits.js';
import type { Call, Classification, Events, FromWorker, ModelInfo, Op, Ranked, Requests, Results, ToWorker } from './protocol.js';
import { sanityCheck } from './sanity.js';

registerShaders(import.meta.glob<string>('../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }));

const scope = self as unknown as DedicatedWorkerGlobalScope;

interface Current {
  name: string;
  /** the decoded image, kept to preprocess again for a model with another input size */
  image: RgbImage;
  x: Tensor;
  picture: RgbImage8;
  top: Ranked[];
}

let gpu: Gpu | null = null;
let model: Model | null = null;
let modelName = '';
/** the file the model was loaded from: a lost device is replaced by a new one, which loads it again */
let modelBytes: Uint8Array | null = null;
/** what the model expects (preprocessing, background class): its description, or the defaults for a bare ONNX file */
let description: ModelDescription = defaultDescription('model.onnx', null);
/** the model's class names */
let labels: Labels | null = null;
/** the names of the first model loaded, for a dropped model without names of its own and with as many classes */
let firstLabels: Labels | null = null;
let current: Current | null = null;

function need<T>(value: T | null, what: string): T {
  check(value !== null, what);
  return value;
}

/** A model with its description and class names, loaded but not yet the current one. */
interface Candidate {
  model: Model;
  bytes: Uint8Array;
  name: string;
  description: ModelDescription;
  labels: Labels | null;
}

function modelInfo({ model: m, name, description: d, labels }: Candidate): ModelInfo {
  return {
    name,
    title: d.title,
    preprocessing: `resize ${imagePreprocessing(d, m.imageSize()).resize}, crop ${m.imageSize()}; ${describePreprocessing(d)}`,
    background: d.background,
    numClasses: m.numClasses,
    inputSize: m.imageSize(),
    names: Array.from({ length: m.numClasses }, (_, i) => className(labels, i)),
    synonyms: labels ? labels.names.slice(0, m.numClasses) : null,
  };
}

/** Preprocesses `image` as model `c` expects and classifies it, changing nothing: the caller decides to keep the result. */
async function classifyWith(c: Candidate, name: string, image: RgbImage): Promise<{ result: Classification; image: Current }> {
  const m = c.model;
  const size = checkImageModel(m); // a model too large for this device is refused before the image is resized
  const { normalization } = c.description;
  const chw = preprocess(image, imagePreprocessing(c.description, size));
  const x = Tensor.from(m.gpu, [1, 3, size, size], chw, 'image');
  try {
    const pipelines = m.gpu.pipelineCount;
    const started = performance.now();
    const scores = m.forward(x);
    const values = await scores.read();
    scores.dispose();
    checkFinite(values, 'the score tensor read back from the GPU', SCORES_OVERFLOW);
    const forwardMs = performance.now() - started;
    const ranked = topK(values, 5, c.labels);
    const kept: Current = { name, image, x, picture: deprocess(chw, size, size, { normalization }), top: ranked };
    return { result: { name, picture: kept.picture, top: ranked, forwardMs, compiledPipelines: m.gpu.pipelineCount - pipelines }, image: kept };
  } catch (e) {
    x.dispose();
    throw e;
  }
}

/** Preprocesses `image` for the model and classifies it; replaces the current image. */
async function classify(name: string, image: RgbImage): Promise<Classification> {
  const m = need(model, 'no model is loaded: open an ONNX file');
  const { result, image: kept } = await classifyWith({ model: m, bytes: modelBytes!, name: modelName, description, labels }, name, image);
  current?.x.dispose();
  current = kept;
  return result;
}

/**
 * After the device was lost: a new device, the model loaded again from its file, the current image classified again
 * (its tensor lived on the old device). The old device's objects are dropped, not used.
 */
async function recoverDevice(): Promise<void> {
  const image = current;
  gpu = null;
  model = null;
  current = null;
  gpu = await createDevice();
  if (modelBytes) model = Model.load(gpu, modelBytes);
  if (model && image) await classify(image.name, image.image);
}

/** Whether `g` was lost, waiting a moment for its lost promise when an error may have come before it settled. */
async function wasLost(g: Gpu): Promise<boolean> {
  if (!g.isLost) await Promise.race([g.device.lost, new Promise((r) => setTimeout(r, 100))]);
  return g.isLost;
}

/** A model's description, ONNX file and class names, fetched from the site (the description names the other two). */
async function fetchDescribed(descriptionUrl: string): Promise<Omit<Candidate, 'model'> & { labelsWhere: string | null }> {
  const d = parseDescription(new TextDecoder().decode(await fetchBytes(descriptionUrl, 'model description')), descriptionUrl);
  const bytes = await fetchBytes(new URL(d.onnx, descriptionUrl).href, 'model');
  const labelsUrl = d.labels === null ? null : new URL(d.labels, descriptionUrl).href;
  const names = labelsUrl === null ? null : parseSynset(new TextDecoder().decode(await fetchBytes(labelsUrl, 'class names')));
  return { bytes, name: d.onnx, description: d, labels: names, labelsWhere: labelsUrl };
}

/**
 * Makes a model the current one, with its description and names. It must load, match its description and classify
 * the current image before it replaces the old one: a switch that fails anywhere (a bad file, an input too large for
 * this device, names of another count, scores it cannot read) leaves the old model working.
 */
async function adopt(
  device: Gpu,
  c: Omit<Candidate, 'model'> & { labelsWhere: string | null },
): Promise<{ model: ModelInfo; classification: Classification | null }> {
  const loaded = Model.load(device, c.bytes);
  const candidate: Candidate = { ...c, model: loaded };
  let trial: Awaited<ReturnType<typeof classifyWith>> | null = null;
  try {
    const size = checkImageModel(loaded);
    if (c.labelsWhere === null && !c.labels && firstLabels?.names.length === loaded.numClasses) candidate.labels = firstLabels;
    checkDescribedModel(c.description, { size, numClasses: loaded.numClasses }, candidate.labels, { description: c.description.name, labels: c.labelsWhere ?? '' });
    if (current) trial = await classifyWith(candidate, current.name, current.image); // its input size may differ
  } catch (e) {
    loaded.dispose();
    throw e;
  }
  model?.dispose();
  model = loaded;
  modelBytes = c.bytes;
  modelName = c.name;
  description = c.description;
  labels = candidate.labels;
  if (trial) {
    current?.x.dispose();
    current = trial.image;
  }
  return { model: modelInfo(candidate), classification: trial?.result ?? null };
}

async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new PixelpropError(`cannot fetch the ${what} ${url}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new PixelpropError(`cannot fetch the ${what} ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Mean time between consecutive calls, for "ms per iteration". */
class Pace {
  private first: number | null = null;
  private last = 0;
  private count = 0;
  tick(): void {
    const now = performance.now();
    this.first ??= now;
    this.last = now;
    this.count++;
  }
  get msPerTick(): number | null {
    return this.count > 1 ? (this.last - this.first!) / (this.count - 1) : null;
  }
}

type Handler<K extends Op> = (request: Requests[K], emit: (event: Events[K]) => void, signal: AbortSignal) => Promise<Results[K]>;

const handlers: { [K in Op]: Handler<K> } = {
  async init({ descriptionUrl }) {
    if (!gpu) {
      if (!scope.navigator.gpu) throw new PixelpropError('this browser exposes no WebGPU (navigator.gpu) to Web Workers');
      gpu = await createDevice();
    }
    let modelError: string | null = null;
    let info: ModelInfo | null = null;
    try {
      info = (await adopt(gpu, await fetchDescribed(descriptionUrl))).model;
      firstLabels = labels;
    } catch (e) {
      modelError = `${(e as Error).message} — run \`npm run weights\` before building, or open your own ONNX file`;
    }
    const subgroups = gpu.hasSubgroups ? `subgroups of ${gpu.adapter.subgroupMinSize}–${gpu.adapter.subgroupMaxSize}` : 'no subgroups';
    const a = gpu.adapter;
    return {
      // vendor and architecture too: a software adapter may leave its device and description empty (SwiftShader)
      adapter: `${[a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') || 'unknown adapter'}${a.software ? ' (software)' : ''}`,
      software: gpu.adapter.software,
      hasTimestamps: gpu.hasTimestamps,
      subgroups,
      model: info,
      modelError,
    };
  },

  async openModel({ descriptionUrl }) {
    return adopt(need(gpu, 'the WebGPU device is not ready'), await fetchDescribed(descriptionUrl));
  },

  async loadModel({ bytes, name, description: json, labels: labelsText }) {
    const device = need(gpu, 'the WebGPU device is not ready');
    const data = new Uint8Array(bytes);
    check(data.length <= MAX_MODEL_BYTES, () => `'${name}' holds ${fmtBytes(data.length)}, more than any model this page opens (${fmtBytes(MAX_MODEL_BYTES)})`);
    const d = json === null ? defaultDescription(name, null) : parseDescription(json.text, json.name);
    // Names dropped with the model, else those of the first model when they are as many as this one's classes.
    const names = labelsText === null ? null : parseSynset(labelsText.text);
    return adopt(device, { bytes: data, name, description: d, labels: names, labelsWhere: labelsText?.name ?? null });
  },

  async setImage({ blob, name }) {
    need(model, 'no model is loaded: open an ONNX file first');
    return classify(name, await decodeImageBlob(blob, {}, name));
  },

  async saliency({ method, samples, noise, classIndex }, emit, signal) {
    const m = need(model, 'no model is loaded');
    const c = need(current, 'no image is loaded');
    const started = performance.now();
    const r = await saliency(m, c.x, classIndex === null ? undefined : [classIndex], {
      method,
      samples,
      noise,
      onProgress: (done, total) => emit({ done, total }),
      signal,
    });
    const [, height, width] = r.shape;
    return {
      method,
      classIndex: r.classes[0]!,
      predicted: r.predicted[0]!,
      map: r.map,
      height,
      width,
      ms: performance.now() - started,
      copies: r.copies?.[0] ?? null,
      stopped: r.stopped ?? false,
    };
  },

  async fool({ target, lr, maxIters }, emit, signal) {
    const m = need(model, 'no model is loaded');
    const c = need(current, 'no image is loaded');
    const pace = new Pace();
    const r = await fool(m, c.x, target, {
      normalization: description.normalization,
      lr,
      maxIters,
      signal,
      onImage: ({ iteration, image, scores }) => {
        pace.tick();
        const probs = softmaxRef(host([1, scores.length], scores)).data;
        const predicted = probs.indexOf(Math.max(...probs));
        emit({ iteration, maxIters, image, predicted, targetProb: probs[target]!, msPerIteration: pace.msPerTick });
      },
    });
    return {
      target,
      fooled: r.fooled,
      stopped: r.stopped,
      iterations: r.iterations,
      targetProb: r.targetProb,
      finalClass: r.finalClass,
      originalClass: r.originalClass,
      linf: r.linf,
      l2: r.l2,
      original: r.original,
      image: r.image,
      msPerIteration: pace.msPerTick,
    };
  },

  async classviz({ target, settings, snapshots }, emit, signal) {
    const m = need(model, 'no model is loaded');
    const pace = new Pace();
    let score: number | null = null;
    const r = await classVisualization(m, target, {
      ...settings,
      normalization: description.normalization,
      // about `snapshots` pictures along the way, whatever the length of the run
      snapshotEvery: Math.max(1, Math.ceil(settings.iterations / snapshots)),
      onIteration: (info) => {
        pace.tick();
        score = info.score;
      },
      onImage: ({ iteration, image }) => emit({ iteration, iterations: settings.iterations, image, score, msPerIteration: pace.msPerTick }),
      signal,
    });
    return {
      target,
      image: r.image,
      snapshots: r.snapshots,
      iterations: r.iterations,
      stopped: r.stopped,
      startScore: r.startScore,
      finalScore: r.finalScore,
      finalProb: r.finalProb,
      argmax: r.argmax,
      msPerIteration: pace.msPerTick,
    };
  },

  async tape() {
    const m = need(model, 'no model is loaded');
    const c = need(current, 'no image is loaded');
    return inspectTape(m, c.x, c.top[0]!.index);
  },

  async sanity({ seed, method }, emit, signal) {
    const m = need(model, 'no model is loaded');
    const c = need(current, 'no image is loaded');
    return sanityCheck(m, c.x, c.top[0]!.index, { seed, method, signal, emit });
  },
};

// One call at a time: the GPU work of two calls must not interleave (they share the model and the current image).
let queue: Promise<void> = Promise.resolve();
const controllers = new Map<number, AbortController>();

function post(message: FromWorker): void {
  // Live images and maps are copied; they are small next to what a structured clone of a tensor would be.
  scope.postMessage(message);
}

async function run(call: Call): Promise<void> {
  const controller = controllers.get(call.id)!;
  try {
    // A device lost while the page was idle: replace it before the call, which then runs as if nothing happened.
    if (gpu?.isLost) await recoverDevice();
    const handler = handlers[call.op] as Handler<Op>;
    const result = await handler(call.request, (event) => post({ kind: 'event', id: call.id, event }), controller.signal);
    post({ kind: 'done', id: call.id, result });
  } catch (e) {
    const error = e as Error;
    let user = error instanceof PixelpropError || error?.name === 'AbortError';
    let message = (error?.message ?? String(e)).split('\n')[0]!;
    const lost = gpu !== null && (await wasLost(gpu));
    if (lost) {
      // The call died with the device: make a new one now, so that the next call just works, and say so once.
      user = true;
      try {
        await recoverDevice();
        message = 'the GPU device was lost; the page made a new one and loaded the model again: run it again';
      } catch (r) {
        message = `the GPU device was lost and no new one could be made (${(r as Error).message.split('\n')[0]}): reload the page`;
      }
    }
    post({ kind: 'error', id: call.id, message, user, stack: user ? undefined : error?.stack, webgpu: call.op === 'init' && gpu === null });
  } finally {
    controllers.delete(call.id);
  }
}

// The end-to-end test (test/web.e2e.test.ts) reaches the device through this, to lose it in the middle of a run.
(scope as unknown as { __pixelprop: { gpu: () => Gpu | null } }).__pixelprop = { gpu: () => gpu };

scope.onmessage = (ev: MessageEvent<ToWorker>) => {
  const message = ev.data;
  if (message.kind === 'stop') {
    controllers.get(message.id)?.abort();
    return;
  }
  controllers.set(message.id, new AbortController());
  queue = queue.then(() => run(message));
};
