import type { OpDoc } from '../src/graph/op.js';

/**
 * The messages between the page (main.ts, through client.ts) and the engine's Web Worker (worker.ts).
 *
 * The page sends `{ kind: 'call', id, request }`; the worker answers with any number of `{ kind: 'event', id, event }`
 * (progress, live images) and then one `{ kind: 'done', id, result }` or `{ kind: 'error', id, … }`. A
 * `{ kind: 'stop', id }` aborts that call's AbortSignal: optimizations end after their current iteration and still
 * answer `done`, with `stopped: true`. The worker runs one call at a time, in the order they came.
 *
 * Everything crossing is structured-cloneable: images as RgbImage8 (width, height, HWC bytes), maps as Float32Array.
 */
import type { RgbImage8 } from '../src/image/image.js';
import type { SaliencyMethod } from '../src/techniques/saliency.js';
import type { ClassVisualizationOptions } from '../src/techniques/classviz.js';
import type { DebugStep, ElementCheck, StepTensor, TensorRole } from '../src/teaching/debugger.js';
import type { TileSet } from '../src/teaching/tiles.js';
import type { BaselineKind } from '../src/techniques/attribution/paths.js';
import type { RuleMethod } from '../src/techniques/attribution/rules.js';
import type { MethodInfo } from '../src/techniques/attribution/index.js';
import type { AscentRun } from '../src/techniques/notebook.js';

/** One ranked class: index, name, raw score (logit) and softmax probability (0–1), as the library ranks them. */
export type { Ranked } from '../src/graph/labels.js';
import type { Ranked } from '../src/graph/labels.js';

export interface ModelInfo {
  name: string;
  /** how the picker shows it ("SqueezeNet 1.1"); the file name for a model without a description */
  title: string;
  /** resize, crop and normalization, as the description gives them (or the defaults, ImageNet's) */
  preprocessing: string;
  /** output 0 is a background class (ImageNet's class i is output i + 1) */
  background: boolean;
  numClasses: number;
  /** side of the square input, 224 for SqueezeNet */
  inputSize: number;
  /** one display name per class ("tarantula", or "class 7" without a synset) */
  names: string[];
  /** every synonym per class, for the class picker's search; null without a synset */
  synonyms: string[][] | null;
  /** the activations a class activation map can read (ONNX value names, shapes at batch 1), in computation order */
  camLayers: { name: string; shape: number[] }[];
  /** the last spatial activation before global pooling: the CAMs' default layer (null: the model has none) */
  defaultCamLayer: string | null;
}

export interface Classification {
  /** the image's name (file name or sample name) */
  name: string;
  /** the crop the network sees, as 8 bits */
  picture: RgbImage8;
  top: Ranked[];
  /** wall-clock time of the forward pass and the read-back, ms */
  forwardMs: number;
  /** GPU pipelines compiled during that pass (the first pass compiles its kernels; later ones reuse them) */
  compiledPipelines: number;
}

export type Settings = Required<Omit<ClassVisualizationOptions, 'onIteration' | 'snapshotEvery'>>;

export interface Requests {
  /** the default model's description (weights/NAME.json), which names its ONNX file and class names */
  init: { descriptionUrl: string };
  /** a known model of the site, by its description's address (the picker) */
  openModel: { descriptionUrl: string };
  /** a model from the person's disk, with its description and class names when they were dropped with it */
  loadModel: { bytes: ArrayBuffer; name: string; description: { name: string; text: string } | null; labels: { name: string; text: string } | null };
  setImage: { blob: Blob; name: string };
  saliency: { method: SaliencyMethod; samples: number; noise: number; classIndex: number | null };
  fool: { target: number; lr: number; maxIters: number };
  classviz: { target: number; settings: Settings; snapshots: number };
  tape: { runs: number; rules: TapeRules };
  sanity: { seed: number; method: SaliencyMethod };
  /** the step-through debugger (web/debugger.ts): record, draw one step's tensors, check one element */
  debugStart: Record<string, never>;
  debugStep: { step: number; maxTiles: number };
  debugCheck: { step: number; role: TensorRole; slot: number; index: number };
  /** one attribution method on the current image; `layer` for CAMs (null: the default), `steps` for path methods */
  attribute: { method: string; layer: string | null; classIndex: number | null; steps: number | null; baseline: BaselineKind };
  /** deletion and insertion curves of the current image, pixels ordered by `map` (the shown method's) */
  attributionCurves: { method: string; map: Float32Array; classIndex: number; steps: number };
  /** the Notebook view (web/notebook.ts): its own photos, leaving the page's current image as it is */
  notebookSaliency: { images: NotebookImage[] };
  notebookFool: NotebookImage & { target: number; maxIters: number };
  notebookAscent: NotebookImage & { steps: number };
}

/** A photo the Notebook view sends with its call (a sample's bytes and name). */
export interface NotebookImage {
  blob: Blob;
  name: string;
}

export interface NotebookSaliency {
  name: string;
  /** the photo as the network sees it */
  picture: RgbImage8;
  /** max_c |∂s_y/∂x| at the predicted class y, [height, width] */
  map: Float32Array;
  height: number;
  width: number;
  classIndex: number;
  prob: number;
}

export interface NotebookAscent {
  name: string;
  /** the class whose score both ascents raise: the photo's predicted class */
  classIndex: number;
  original: RgbImage8;
  /** the ascent along the gradient, then along the saliency map (src/techniques/notebook.ts) */
  runs: AscentRun[];
  stopped: boolean;
}

export interface InitResult {
  adapter: string;
  software: boolean;
  hasTimestamps: boolean;
  subgroups: string;
  /** null when the default model could not be loaded (then modelError says why) */
  model: ModelInfo | null;
  modelError: string | null;
}

export interface SaliencyOutput {
  method: SaliencyMethod;
  classIndex: number;
  predicted: number;
  map: Float32Array;
  height: number;
  width: number;
  ms: number;
  copies: number | null;
  /** SmoothGrad: the copies asked for (`copies` is fewer when stopped) */
  samples: number | null;
  stopped: boolean;
}

export interface FoolOutput {
  target: number;
  fooled: boolean;
  stopped: boolean;
  iterations: number;
  /** times a fooling float image was rounded to 8 bits and classified again (each an extra forward, shown live) */
  roundings: number;
  targetProb: number;
  finalClass: number;
  originalClass: number;
  linf: number;
  l2: number;
  original: RgbImage8;
  image: RgbImage8;
  msPerIteration: number | null;
  /** p(target) and p(original class) after each iteration's forward pass, drawn as an SVG chart (null: no iteration) */
  chartSvg: string | null;
}

export interface ClassVizOutput {
  target: number;
  image: RgbImage8;
  snapshots: { iteration: number; image: RgbImage8 }[];
  iterations: number;
  stopped: boolean;
  startScore: number;
  finalScore: number;
  finalProb: number;
  argmax: number;
  msPerIteration: number | null;
}

/** The backward the tape inspector runs: every op's own gradient, or a method's modified rules (src/techniques/attribution/rules.ts). */
export type TapeRules = 'gradient' | RuleMethod;

/** One recorded op of the tape inspector. */
export interface TapeRow {
  index: number;
  /** the engine op, e.g. 'Conv' */
  op: string;
  /** the value it computes (its ONNX output name) */
  name: string;
  /** the layer its weights belong to, named as the sanity check names them (conv1, fire2 … fire9, conv10); null without weights */
  layer: string | null;
  info: string;
  /** how the op computes its forward and backward, from its definition (src/graph/ops/) */
  doc: OpDoc;
  inputShapes: string[];
  outputShape: string;
  /** GPU time of the op's forward / backward dispatches, ms; null without timestamp-query */
  forwardMs: number | null;
  backwardMs: number | null;
  forwardDispatches: number;
  backwardDispatches: number;
  /** its position in the order backward visits ops (0 = first), or null when backward skipped it */
  backwardOrder: number | null;
  /** ‖dy‖₂ at its output, and ‖dx‖₂ of each input that received a gradient (null where none) */
  outputGradNorm: number | null;
  inputGradNorms: (number | null)[];
  /** the rule its backward used when not its own gradient ('guided', 'deconvnet', 'lrp-epsilon', 'lrp-zplus'), else null */
  rule: string | null;
}

export interface TapeOutput {
  rows: TapeRow[];
  rules: TapeRules;
  classIndex: number;
  /** 'timestamp-query' (GPU times per dispatch) or 'none' */
  timing: 'timestamp-query' | 'none';
  /** the inspections the times are medians of */
  runs: number;
  /** median wall-clock of as many real forward + backward passes (nothing timed inside), ms; null for one inspection alone */
  realPassMs: number | null;
  /** wall-clock of the whole instrumented forward + backward, ms (includes the inspector's own work) */
  wallMs: number;
  /** dispatches not inside any op (gradient accumulation between ops, if any) */
  otherDispatches: number;
  otherMs: number | null;
  /** ‖∂s_y/∂x‖₂ at the image */
  inputGradNorm: number;
}

export interface SanityStep {
  /** 'original' or the layer just randomized ("conv10", "fire9", …) */
  label: string;
  /** the layers randomized so far, top down */
  randomized: string[];
  map: Float32Array;
  /** Spearman rank correlation of this map with the original one */
  rankCorrelation: number;
  /** the class the randomized network predicts */
  predicted: number;
  /** maps in the whole cascade: the original and one per layer */
  of: number;
}

export interface SanityOutput {
  layers: string[];
  steps: number;
  stopped: boolean;
  restored: boolean;
}

export interface DebugOutline {
  steps: DebugStep[];
  classIndex: number;
  /** tape ops recorded: the forward's steps (the backward's are those it visited) */
  nodeCount: number;
  ms: number;
}

export interface DebugStepView {
  step: number;
  tensors: (StepTensor & { tiles: TileSet })[];
  ms: number;
}

export interface AttributionOutput {
  method: string;
  /** the method's table entry: its family, title and what its map's values are */
  info: MethodInfo;
  /** CAMs: the layer read; otherwise null */
  layer: string | null;
  classIndex: number;
  predicted: number;
  /** [height, width] in the method's own units (see AttributionResult.map) */
  map: Float32Array;
  height: number;
  width: number;
  min: number;
  max: number;
  /** the map as the method's values call for (CAMs in jet over the photo, magnitudes in hot, signed in bwr) */
  picture: RgbImage8;
  /** path methods: Σ attributions against s(x) − s(baseline) */
  completeness: { attributionSum: number; scoreDelta: number; relError: number } | null;
  ms: number;
  stopped: boolean;
}

export interface CurvesOutput {
  method: string;
  deletion: { fractions: number[]; probs: number[]; auc: number };
  insertion: { fractions: number[]; probs: number[]; auc: number };
  /** both curves as a Vega-Lite chart rendered to SVG */
  svg: string;
  ms: number;
}

export interface Results {
  init: InitResult;
  openModel: { model: ModelInfo; classification: Classification | null };
  loadModel: { model: ModelInfo; classification: Classification | null };
  setImage: Classification;
  saliency: SaliencyOutput;
  fool: FoolOutput;
  classviz: ClassVizOutput;
  tape: TapeOutput;
  sanity: SanityOutput;
  debugStart: DebugOutline;
  debugStep: DebugStepView;
  debugCheck: ElementCheck & { ms: number };
  attribute: AttributionOutput;
  attributionCurves: CurvesOutput;
  notebookSaliency: { items: NotebookSaliency[]; stopped: boolean };
  notebookFool: FoolOutput;
  notebookAscent: NotebookAscent;
}

export interface Events {
  /** what is loading, and how far: bytes for files, null where there is no count (the device) */
  init: { what: string; loaded: number | null; total: number | null };
  openModel: never;
  loadModel: never;
  setImage: never;
  saliency: { done: number; total: number };
  fool: {
    iteration: number;
    maxIters: number;
    image: RgbImage8;
    predicted: number;
    targetProb: number;
    /** p of the class the image started as */
    originalProb: number;
    msPerIteration: number | null;
  };
  classviz: { iteration: number; iterations: number; image: RgbImage8; score: number | null; msPerIteration: number | null };
  tape: never;
  sanity: SanityStep;
  debugStart: never;
  debugStep: never;
  debugCheck: never;
  attribute: { done: number; total: number };
  attributionCurves: never;
  notebookSaliency: { done: number; total: number };
  notebookFool: Events['fool'];
  notebookAscent: { done: number; total: number };
}

export type Op = keyof Requests;

export type Call = { [K in Op]: { kind: 'call'; id: number; op: K; request: Requests[K] } }[Op];
export type Stop = { kind: 'stop'; id: number };
export type ToWorker = Call | Stop;

export type FromWorker =
  | { kind: 'event'; id: number; event: Events[Op] }
  | { kind: 'done'; id: number; result: Results[Op] }
  /** `user`: a PixelpropError or a stop — a one-line message for the page; otherwise a bug, with its stack */
  | { kind: 'error'; id: number; message: string; user: boolean; stack?: string; webgpu?: boolean };
