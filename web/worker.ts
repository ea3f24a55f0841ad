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
import { deprocess, inputRange, preprocess } from '../src/image/preprocess.js';
import { host } from '../src/kernels/host.js';
import { softmaxRef } from '../src/kernels/softmax.js';
import { curvesChart, foolingChart, renderSvg, type FoolingPoint } from '../src/charts/index.js';
import { classVisualization } from '../src/techniques/classviz.js';
import { FOOL_DEFAULTS, fool } from '../src/techniques/fool.js';
import { scoreAscent, type AscentRun } from '../src/techniques/notebook.js';
import { saliency } from '../src/techniques/saliency.js';
import { attribute, camLayers, defaultCamLayer, methodNamed, type AttributionOptions } from '../src/techniques/attribution/index.js';
import { deletionInsertion } from '../src/techniques/attribution/evaluate.js';
import { drawMap } from '../src/techniques/attribution/figures.js';
import { checkImageModel } from '../src/techniques/model-input.js';
import { SCORES_OVERFLOW, checkFinite } from '../src/util/finite.js';
import { inspectTapeRuns } from './inspect.js';
import { BackwardDebugger } from '../src/teaching/debugger.js';
import { MAX_MODEL_BYTES } from './limits.js';
import type {
  Call,
  Classification,
  Events,
  FromWorker,
  ModelInfo,
  NotebookImage,
  NotebookSaliency,
  Op,
  Ranked,
  Requests,
  Results,
  ToWorker,
} from './protocol.js';
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
/** the step-through debugger's recording, until the next one */
let debug: BackwardDebugger | null = null;

/** The recording, while it belongs to the loaded model (a model switch or a new device leaves it stale). */
function debuggerOf(m: Model): BackwardDebugger {
  check(debug !== null && debug.model === m, 'nothing recorded for this model yet: press "Step through" first');
  return debug;
}

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
    camLayers: camLayers(m).map((l) => ({ name: l.name, shape: [...l.shape] })),
    defaultCamLayer: camLayers(m).length > 0 ? defaultCamLayer(m) : null,
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
async function fetchDescribed(
  descriptionUrl: string,
  onProgress?: (what: string, loaded: number, total: number | null) => void,
): Promise<Omit<Candidate, 'model'> & { labelsWhere: string | null }> {
  const progress = (what: string) => onProgress && ((loaded: number, total: number | null) => onProgress(what, loaded, total));
  const d = parseDescription(new TextDecoder().decode(await fetchBytes(descriptionUrl, 'model description')), descriptionUrl);
  const bytes = await fetchBytes(new URL(d.onnx, descriptionUrl).href, 'model', progress(`the model (${d.onnx})`));
  const labelsUrl = d.labels === null ? null : new URL(d.labels, descriptionUrl).href;
  const names =
    labelsUrl === null ? null : parseSynset(new TextDecoder().decode(await fetchBytes(labelsUrl, 'class names', progress(`the class names (${d.labels})`))));
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

/** A file's bytes, with `onProgress(loaded, total)` as they arrive (total null when the server gives no length). */
async function fetchBytes(url: string, what: string, onProgress?: (loaded: number, total: number | null) => void): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new PixelpropError(`cannot fetch the ${what} ${url}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new PixelpropError(`cannot fetch the ${what} ${url}: HTTP ${response.status}`);
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  if (!onProgress || !response.body) return new Uint8Array(await response.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  onProgress(0, total);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    loaded += chunk.length;
    onProgress(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
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

/** The fooling of image `c` (the page's current image, or a photo of the Notebook view) into class `target`. */
async function foolImage(c: Current, { target, lr, maxIters }: Requests['fool'], emit: (event: Events['fool']) => void, signal: AbortSignal): Promise<Results['fool']> {
  const m = need(model, 'no model is loaded');
  const pace = new Pace();
  const original = c.top[0]!.index;
  const names = labels;
  const points: FoolingPoint[] = [];
  const r = await fool(m, c.x, target, {
    normalization: description.normalization,
    lr,
    maxIters,
    signal,
    onImage: ({ iteration, image, scores }) => {
      pace.tick();
      const probs = softmaxRef(host([1, scores.length], scores)).data;
      const predicted = probs.indexOf(Math.max(...probs));
      points.push(
        { iteration, class: `target: ${className(names, target)}`, probability: probs[target]! },
        { iteration, class: `original: ${className(names, original)}`, probability: probs[original]! },
      );
      emit({ iteration, maxIters, image, predicted, targetProb: probs[target]!, originalProb: probs[original]!, msPerIteration: pace.msPerTick });
    },
  });
  // Drawn here, not in the page: Vega compiles its expressions with Function, which the page's CSP forbids (a host
  // that sends a CSP for the worker's script too would forbid it here: the result then comes without its chart).
  const chartSvg = target === original ? null : await renderSvg(foolingChart(points)).catch((e: Error) => {
    console.warn(`pixelprop: no fooling chart (${e.message})`);
    return null;
  });
  return {
    target,
    fooled: r.fooled,
    stopped: r.stopped,
    iterations: r.iterations,
    roundings: r.roundings,
    targetProb: r.targetProb,
    finalClass: r.finalClass,
    originalClass: r.originalClass,
    linf: r.linf,
    l2: r.l2,
    original: r.original,
    image: r.image,
    msPerIteration: pace.msPerTick,
    chartSvg,
  };
}

/**
 * A photo of the Notebook view, preprocessed and classified for the loaded model, for `body` alone: the page's
 * current image stays what it was.
 */
async function withPhoto<T>(photo: NotebookImage, body: (c: Current) => Promise<T>): Promise<T> {
  const m = need(model, 'no model is loaded');
  const candidate = { model: m, bytes: modelBytes!, name: modelName, description, labels };
  const { image: c } = await classifyWith(candidate, photo.name, await decodeImageBlob(photo.blob, {}, photo.name));
  try {
    return await body(c);
  } finally {
    c.x.dispose();
  }
}

type Handler<K extends Op> = (request: Requests[K], emit: (event: Events[K]) => void, signal: AbortSignal) => Promise<Results[K]>;

const handlers: { [K in Op]: Handler<K> } = {
  async init({ descriptionUrl }, emit) {
    if (!gpu) {
      if (!scope.navigator.gpu) throw new PixelpropError('this browser exposes no WebGPU (navigator.gpu) to Web Workers');
      gpu = await createDevice();
    }
    let modelError: string | null = null;
    let info: ModelInfo | null = null;
    try {
      const described = await fetchDescribed(descriptionUrl, (what, loaded, total) => emit({ what, loaded, total }));
      emit({ what: `the model (${described.name}): reading its graph and uploading its weights to the GPU`, loaded: null, total: null });
      info = (await adopt(gpu, described)).model;
      firstLabels = labels;
    } catch (e) {
      modelError = `${(e as Error).message} — run \`npm run weights\` before building, or open your own ONNX file`;
    }
    const { subgroupMinSize: min, subgroupMaxSize: max } = gpu.adapter;
    const subgroups = gpu.hasSubgroups ? `subgroups of ${min === max ? min : `${min}–${max}`}` : 'no subgroups';
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
    // The new model must load and classify the current image before it replaces the old one: a switch that fails
    // anywhere (a bad file, an input too large for this device, scores it cannot read) leaves the old model working.
    // A refusal names the file and says what is still loaded (a bug or a lost device is left as it is).
    const refused = (e: unknown): unknown =>
      e instanceof PixelpropError
        ? new PixelpropError(`'${name}' was not loaded: ${e.message}${model ? ` — the previous model (${modelName}) is still loaded` : ''}`)
        : e;
    try {
      const d = json === null ? defaultDescription(name, null) : parseDescription(json.text, json.name);
      // Names dropped with the model, else those of the first model when they are as many as this one's classes.
      const names = labelsText === null ? null : parseSynset(labelsText.text);
      return await adopt(device, { bytes: data, name, description: d, labels: names, labelsWhere: labelsText?.name ?? null });
    } catch (e) {
      throw refused(e);
    }
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
      samples: method === 'smoothgrad' ? samples : null,
      stopped: r.stopped ?? false,
    };
  },

  async fool(request, emit, signal) {
    return foolImage(need(current, 'no image is loaded'), request, emit, signal);
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

  async notebookSaliency({ images }, emit, signal) {
    const m = need(model, 'no model is loaded');
    const items: NotebookSaliency[] = [];
    for (const photo of images) {
      if (signal.aborted) break;
      emit({ done: items.length, total: images.length });
      items.push(
        await withPhoto(photo, async (c) => {
          // the notebook's saliency: the vanilla gradient at the class the network predicts
          const r = await saliency(m, c.x, undefined, { method: 'vanilla' });
          const [, height, width] = r.shape;
          const top = c.top[0]!;
          return { name: photo.name, picture: c.picture, map: r.map, height, width, classIndex: top.index, prob: top.prob };
        }),
      );
    }
    return { items, stopped: items.length < images.length };
  },

  async notebookFool({ blob, name, target, maxIters }, emit, signal) {
    return withPhoto({ blob, name }, (c) => foolImage(c, { target, lr: FOOL_DEFAULTS.lr, maxIters }, emit, signal));
  },

  async notebookAscent({ blob, name, steps }, emit, signal) {
    const m = need(model, 'no model is loaded');
    return withPhoto({ blob, name }, async (c) => {
      const classIndex = c.top[0]!.index;
      const runs: AscentRun[] = [];
      for (const direction of ['gradient', 'saliency'] as const) {
        if (signal.aborted) break;
        emit({ done: runs.length, total: 2 });
        runs.push(await scoreAscent(m, c.x, classIndex, { direction, steps, normalization: description.normalization, signal }));
      }
      return { name, classIndex, original: c.picture, runs, stopped: signal.aborted };
    });
  },

  async tape({ runs, rules }) {
    const m = need(model, 'no model is loaded');
    const c = need(current, 'no image is loaded');
    return inspectTapeRuns(m, c.x, c.top[0]!.index, runs, rules);
  },

  async debugStart() {
    const m = need(model, 'no model is loaded');
    const c = need(current, 'no image is loaded');
    const started = performance.now();
    if (debug && !debug.model.gpu.isLost) debug.dispose();
    debug = null;
    debug = await BackwardDebugger.record(m, c.x, c.top[0]!.index);
    return { steps: debug.steps, classIndex: debug.classIndex, nodeCount: debug.nodeCount, ms: performance.now() - started };
  },

  async debugStep({ step, maxTiles }) {
    const d = debuggerOf(need(model, 'no model is loaded'));
    const started = performance.now();
    const s = d.steps[step];
    check(s !== undefined, () => `step ${step} does not exist (0 to ${d.steps.length - 1})`);
    const tensors = await Promise.all(s.tensors.map(async (t) => ({ ...t, tiles: await d.tiles(step, t.role, t.slot, { maxTiles }) })));
    return { step, tensors, ms: performance.now() - started };
  },

  async debugCheck({ step, role, slot, index }) {
    const d = debuggerOf(need(model, 'no model is loaded'));
    const started = performance.now();
    const result = await d.checkElement(step, role, slot, index);
    return { ...result, ms: performance.now() - started };
  },

  async attribute({ method, layer, classIndex, steps, baseline }, emit, signal) {
    const m = need(model, 'no model is loaded');
    const c = need(current, 'no image is loaded');
    const info = methodNamed(method);
    const onProgress = (done: number, total: number): void => emit({ done, total });
    // Only the options the method's family reads: a CAM's layer, a path method's steps and baseline, SmoothGrad's
    // copies; the stop and the progress for the methods of many passes.
    const options: AttributionOptions = {
      ...(info.family === 'cam' && layer !== null && { layer }),
      // black and white in the model's own input space (its description's normalization): the path methods' baselines
      ...(info.family === 'path' && { baseline, signal, onProgress, pixelRange: inputRange(description.normalization), ...(steps !== null && { steps }) }),
      ...(info.family === 'occlusion' && { signal, onProgress }),
      ...(method === 'smoothgrad' && { signal, ...(steps !== null && { samples: steps }) }),
    };
    const started = performance.now();
    const r = await attribute(m, c.x, method, classIndex === null ? undefined : [classIndex], options);
    const [, height, width] = r.shape;
    let min = Infinity;
    let max = -Infinity;
    for (const v of r.map) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const k = r.completeness;
    return {
      method,
      info,
      layer: r.layer ?? null,
      classIndex: r.classes[0]!,
      predicted: r.predicted[0]!,
      map: r.map,
      height,
      width,
      min,
      max,
      picture: drawMap(method, c.picture, r.map),
      completeness: k ? { attributionSum: k.attributionSum[0]!, scoreDelta: k.scoreDelta[0]!, relError: k.relError[0]! } : null,
      ms: performance.now() - started,
      stopped: signal.aborted,
    };
  },

  async attributionCurves({ method, map, classIndex, steps }) {
    const m = need(model, 'no model is loaded');
    const c = need(current, 'no image is loaded');
    const started = performance.now();
    const { deletion, insertion } = await deletionInsertion(m, c.x, 0, classIndex, map, { steps });
    const points = [deletion, insertion].flatMap((curve) =>
      curve.fractions.map((fraction, i) => ({ method, kind: curve.kind, fraction, probability: curve.probs[i]! })),
    );
    const svg = await renderSvg(curvesChart(points, `Deletion and insertion: ${method}, ${c.name}`));
    const strip = ({ fractions, probs, auc }: typeof deletion) => ({ fractions, probs, auc });
    return { method, deletion: strip(deletion), insertion: strip(insertion), svg, ms: performance.now() - started };
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
