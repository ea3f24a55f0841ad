/**
 * The engine's Web Worker: the WebGPU device, the model and the current image live here, so that a forward and
 * backward pass — seconds on a software adapter — never freezes the page. It answers the calls of protocol.ts one at a
 * time, with pixelprop's library doing all the work; this file only translates between messages and library calls.
 */
import { createDevice, type Gpu } from '../src/gpu/device.js';
import { PixelpropError, check } from '../src/gpu/errors.js';
import { registerShaders } from '../src/gpu/shaders.js';
import { Tensor } from '../src/gpu/tensor.js';
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
import { inspectTape } from './inspect.js';
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
/** the synset read at start; a model whose class count differs gets no names */
let synset: Labels | null = null;
let current: Current | null = null;

function need<T>(value: T | null, what: string): T {
  check(value !== null, what);
  return value;
}

function labelsFor(m: Model): Labels | null {
  return synset && synset.names.length === m.numClasses ? synset : null;
}

function modelInfo(m: Model, name: string): ModelInfo {
  const labels = labelsFor(m);
  return {
    name,
    numClasses: m.numClasses,
    inputSize: m.imageSize(),
    names: Array.from({ length: m.numClasses }, (_, i) => className(labels, i)),
    synonyms: labels ? labels.names.slice(0, m.numClasses) : null,
  };
}

/** The k most likely classes of one image's scores (the library's topK, with this model's names). */
function top(scores: Float32Array, k: number, m: Model): Ranked[] {
  return topK(scores, k, labelsFor(m));
}

/** Preprocesses `image` for the model and classifies it; replaces the current image. */
async function classify(name: string, image: RgbImage): Promise<Classification> {
  const m = need(model, 'no model is loaded: open an ONNX file');
  const size = m.imageSize();
  const chw = preprocess(image, { size });
  const x = Tensor.from(m.gpu, [1, 3, size, size], chw, 'image');
  try {
    const pipelines = m.gpu.pipelineCount;
    const started = performance.now();
    const scores = m.forward(x);
    const values = await scores.read();
    scores.dispose();
    const forwardMs = performance.now() - started;
    const ranked = top(values, 5, m);
    current?.x.dispose();
    current = { name, image, x, picture: deprocess(chw, size, size), top: ranked };
    return { name, picture: current.picture, top: ranked, forwardMs, compiledPipelines: m.gpu.pipelineCount - pipelines };
  } catch (e) {
    x.dispose();
    throw e;
  }
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
  async init({ modelUrl, synsetUrl }) {
    if (!gpu) {
      if (!scope.navigator.gpu) throw new PixelpropError('this browser exposes no WebGPU (navigator.gpu) to Web Workers');
      gpu = await createDevice();
    }
    let modelError: string | null = null;
    try {
      synset = parseSynset(new TextDecoder().decode(await fetchBytes(synsetUrl, 'class names')));
    } catch (e) {
      modelError = (e as Error).message; // the model still runs; classes are then shown by index
    }
    try {
      model = Model.load(gpu, await fetchBytes(modelUrl, 'default model'));
      modelName = modelUrl.replace(/^.*\//, '');
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
      model: model ? modelInfo(model, modelName) : null,
      modelError,
    };
  },

  async loadModel({ bytes, name }) {
    const device = need(gpu, 'the WebGPU device is not ready');
    const loaded = Model.load(device, new Uint8Array(bytes)); // a bad file throws here, and the old model stays
    model?.dispose();
    model = loaded;
    modelName = name;
    // The current image goes through the new model (its input size may differ).
    const classification = current ? await classify(current.name, current.image) : null;
    return { model: modelInfo(loaded, name), classification };
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
    const handler = handlers[call.op] as Handler<Op>;
    const result = await handler(call.request, (event) => post({ kind: 'event', id: call.id, event }), controller.signal);
    post({ kind: 'done', id: call.id, result });
  } catch (e) {
    const error = e as Error;
    const user = error instanceof PixelpropError || error?.name === 'AbortError';
    const message = (error?.message ?? String(e)).split('\n')[0]!;
    post({ kind: 'error', id: call.id, message, user, stack: user ? undefined : error?.stack, webgpu: call.op === 'init' && gpu === null });
  } finally {
    controllers.delete(call.id);
  }
}

scope.onmessage = (ev: MessageEvent<ToWorker>) => {
  const message = ev.data;
  if (message.kind === 'stop') {
    controllers.get(message.id)?.abort();
    return;
  }
  controllers.set(message.id, new AbortController());
  queue = queue.then(() => run(message));
};
