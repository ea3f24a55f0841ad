/**
 * The page: picks images and models, sends the work to the engine's worker (client.ts → worker.ts) and shows what
 * comes back. Everything computed — scores, maps, fooling and class-visualization images, the tape — comes from
 * pixelprop's library in the worker; the page only draws, with the library's pure helpers (colorize, differenceImage,
 * PNG and .npy encoding).
 *
 * `window.__pixelprop` exposes the page's state and numbers (read by test/web.e2e.test.ts and handy in a console).
 */
import models from 'virtual:pixelprop-models';
import samples from 'virtual:pixelprop-samples';
import { PixelpropError, fmtBytes } from '../src/gpu/errors.js';
import { encodePngBlob, npyBlob } from '../src/image/browser-io.js';
import { colorize } from '../src/image/colormap.js';
import type { RgbImage8 } from '../src/image/image.js';
import { CLASS_VISUALIZATION_DEFAULTS, CLASS_VISUALIZATION_RANGES, YOSINSKI_PRESET } from '../src/techniques/classviz.js';
import { differenceImage } from '../src/techniques/figures.js';
import { FOOL_DEFAULTS, FOOL_RANGES } from '../src/techniques/fool.js';
import { SEED_RANGE, fmtRange, rangeProblem, type NumberRange } from '../src/techniques/ranges.js';
import { SALIENCY_DEFAULTS, SALIENCY_RANGES, type SaliencyMethod } from '../src/techniques/saliency.js';
import { Engine, EngineError } from './client.js';
import { MAX_MODEL_BYTES } from './limits.js';
import { setUpDebugger } from './debugger.js';
import { byId, canvasOf, download, fmtMs, fmtNum, fmtPct, make, paint, setNumber, setUsable, stem } from './dom.js';
import { classField, classText, setPickerModel } from './picker.js';
import { recordingButton, type RecordedGif, type RunRecording } from './recording.js';
import { resetAttribution, setAttributionModel, setUpAttribution } from './attribution.js';
import { setUpNotebook, type NotebookState } from './notebook.js';
import type {
  AttributionOutput,
  Classification,
  ClassVizOutput,
  CurvesOutput,
  Events,
  FoolOutput,
  InitResult,
  ModelInfo,
  Op,
  Requests,
  Results,
  SaliencyOutput,
  SanityOutput,
  SanityStep,
  Settings,
  TapeOutput,
  TapeRow,
  TapeRules,
} from './protocol.js';

/** What the page has computed, for tests and curious consoles. */
interface PageState {
  ready: boolean;
  busy: boolean;
  init: InitResult | null;
  model: ModelInfo | null;
  classification: Classification | null;
  classifications: number;
  saliency: SaliencyOutput | null;
  fool: FoolOutput | null;
  foolSteps: number;
  classviz: ClassVizOutput | null;
  classvizSteps: number;
  /** the animated GIFs made by the Record GIF buttons, in order */
  recordings: RecordedGif[];
  tape: TapeOutput | null;
  sanitySteps: SanityStep[];
  sanity: SanityOutput | null;
  /** the attribution maps and curves computed, in order (the comparison adds one map per method) */
  attributions: AttributionOutput[];
  curves: CurvesOutput[];
  timings: { loadToFirstClassificationMs: number | null; saliencyMs: number | null; foolIterationMs: number | null; classvizIterationMs: number | null };
  /** the Notebook view's figures (web/notebook.ts), set when the page starts */
  notebook: NotebookState | null;
  /** every error message the page has shown */
  errors: string[];
  /** every line the loading screen showed */
  loading: string[];
  /** the service worker's cache holds what a reload needs (null: not known yet) */
  offlineReady: boolean | null;
}

const state: PageState = {
  ready: false,
  busy: false,
  init: null,
  model: null,
  classification: null,
  classifications: 0,
  saliency: null,
  fool: null,
  foolSteps: 0,
  classviz: null,
  classvizSteps: 0,
  recordings: [],
  tape: null,
  sanitySteps: [],
  sanity: null,
  attributions: [],
  curves: [],
  notebook: null,
  timings: { loadToFirstClassificationMs: null, saliencyMs: null, foolIterationMs: null, classvizIterationMs: null },
  errors: [],
  loading: [],
  offlineReady: null,
};
(window as unknown as { __pixelprop: PageState }).__pixelprop = state;

/**
 * The photo the page opens on: the one that makes each technique's defaults show what it does. The coffee cup turns
 * into a stingray in about 20 steps (the cat still held out after 100, ending as a puffer), as in `pixelprop demo`.
 */
const DEFAULT_SAMPLE = 'coffee.png';
let engine: Engine;
/** the open image's name and its picture as the network sees it */
let current: Classification | null = null;
let originalUrl: string | null = null;

// ---- status, errors, busy ---------------------------------------------------------------------------------------

function setStatus(text: string): void {
  byId('status').textContent = text;
}

/** Shows an error in the page: the one-line message of a PixelpropError, or a bug's message (and its stack in the console). */
function showError(e: unknown): string {
  let message: string;
  if (e instanceof EngineError) {
    message = e.message;
    if (!e.user) console.error(`pixelprop engine bug: ${e.message}\n${e.workerStack ?? ''}`);
  } else if (e instanceof PixelpropError) {
    message = e.message;
  } else {
    message = e instanceof Error ? e.message : String(e);
    console.error(e);
  }
  state.errors.push(message);
  byId('error-text').textContent = message;
  byId('error').hidden = false;
  return message;
}

function clearError(): void {
  byId('error').hidden = true;
}

function showNoWebGpu(reason: string): void {
  byId('no-webgpu-reason').textContent = reason;
  byId('no-webgpu').hidden = false;
  byId('app').hidden = true;
  setStatus('WebGPU is not available');
}

function setUpGuard(): void {
  document.addEventListener(
    'click',
    (ev) => {
      if ((ev.target as Element | null)?.closest?.('[aria-disabled="true"]')) {
        ev.preventDefault();
        ev.stopImmediatePropagation();
      }
    },
    true,
  );
}

function setBusy(busy: boolean): void {
  state.busy = busy;
  for (const el of document.querySelectorAll<HTMLElement>('button.run, .thumbs button, input[type=file]')) setUsable(el, !busy);
  document.body.classList.toggle('busy', busy);
}

/**
 * Runs one call on the engine with the page's busy state, its Stop button and progress bar; errors are shown in the
 * page and give null.
 */
async function run<K extends Op>(
  op: K,
  request: Requests[K],
  ui: { stop?: string; progress?: string; status?: string; onEvent?: (event: Events[K]) => void; transfer?: Transferable[] } = {},
): Promise<Results[K] | null> {
  if (state.busy) {
    showError(new PixelpropError('the engine is busy: wait for the running job to finish, or stop it'));
    return null;
  }
  clearError();
  setBusy(true);
  const stop = ui.stop ? byId<HTMLButtonElement>(ui.stop) : null;
  const progress = ui.progress ? byId<HTMLProgressElement>(ui.progress) : null;
  const job = engine.call(op, request, ui.onEvent, ui.transfer);
  if (stop) {
    setUsable(stop, true);
    stop.onclick = () => {
      setUsable(stop, false);
      job.stop();
    };
  }
  if (progress) {
    progress.hidden = false;
    progress.removeAttribute('value'); // indeterminate until the first event
  }
  try {
    return await job.result;
  } catch (e) {
    const message = showError(e);
    // the view's status line said how the run went so far: it must not outlive the run
    if (ui.status) byId(ui.status).textContent = `failed: ${message}`;
    return null;
  } finally {
    if (stop) setUsable(stop, false);
    if (progress) progress.hidden = true;
    setBusy(false);
  }
}

function setProgress(id: string, done: number, total: number): void {
  const progress = byId<HTMLProgressElement>(id);
  progress.max = total;
  progress.value = done;
}

// ---- tabs -----------------------------------------------------------------------------------------------------------

function selectTab(tab: HTMLButtonElement): void {
  for (const t of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) {
    const selected = t === tab;
    t.setAttribute('aria-selected', String(selected));
    t.tabIndex = selected ? 0 : -1;
    byId(t.getAttribute('aria-controls')!).hidden = !selected;
  }
}

function setUpTabs(): void {
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role=tab]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => selectTab(tab));
    tab.addEventListener('keydown', (ev) => {
      const step = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length]!;
      next.focus();
      selectTab(next);
    });
  });
}

// ---- model and image ------------------------------------------------------------------------------------------------

function setModel(info: ModelInfo): void {
  state.model = info;
  setPickerModel(info);
  setAttributionModel(info);
  byId('model-name').textContent = `${info.title} · ${info.numClasses} classes${info.background ? ' (0: background)' : ''} · input ${info.inputSize} × ${info.inputSize}${info.synonyms ? '' : ' · no class names'}`;
  byId('model-name').title = info.preprocessing;
  // The picker shows the known model in use, or the placeholder for a file of the person's own.
  const picker = byId<HTMLSelectElement>('model-picker');
  picker.value = models.some((m) => m.name === info.name) ? info.name : '';
}

/** A bar as long as a probability (style.css draws it from --p). */
function bar(p: number): HTMLSpanElement {
  const el = make('span', { className: 'bar' });
  el.style.setProperty('--p', `${(100 * p).toFixed(2)}%`);
  return el;
}

function showClassification(c: Classification): void {
  current = c;
  state.classification = c;
  state.classifications++;
  for (const id of ['input-canvas', 'classify-input', 'sal-image', 'sal-overlay-image', 'fool-original']) paint(byId<HTMLCanvasElement>(id), c.picture);
  byId('image-name').textContent = c.name;
  byId('fool-original-caption').textContent = `original: ${c.top[0]!.name} (${fmtPct(c.top[0]!.prob)})`;
  byId('top5').replaceChildren(
    ...c.top.map((t) =>
      make(
        'li',
        {},
        make('span', { className: 'name', textContent: t.name, title: `class ${t.index}` }),
        bar(t.prob),
        make('span', { className: 'pct', textContent: fmtPct(t.prob) }),
      ),
    ),
  );
  byId('forward-time').textContent =
    `forward pass: ${fmtMs(c.forwardMs)}` + (c.compiledPipelines ? ` (compiling ${c.compiledPipelines} GPU pipelines first)` : '');
  byId('classify-table').replaceChildren(
    ...c.top.map((t, i) =>
      make(
        'tr',
        {},
        make('td', { textContent: String(i + 1) }),
        make('td', { textContent: t.name }),
        make('td', { textContent: String(t.index) }),
        make('td', { className: 'num', textContent: t.score.toFixed(3) }),
        make('td', {}, bar(t.prob), ` ${fmtPct(t.prob)}`),
      ),
    ),
  );
  resetResults();
}

/** A new image or model makes the maps and images computed for the previous one stale. */
function resetResults(): void {
  for (const id of ['sal-map', 'sal-overlay-map', 'fool-image', 'fool-diff']) {
    const canvas = byId<HTMLCanvasElement>(id);
    canvas.getContext('2d')!.clearRect(0, 0, canvas.width, canvas.height);
  }
  for (const id of ['sal-png', 'sal-npy', 'fool-png', 'tape-json', 'tape-csv']) byId<HTMLButtonElement>(id).disabled = true;
  for (const id of ['sal-caption', 'fool-status', 'tape-summary', 'tape-notes', 'sanity-status']) byId(id).textContent = '';
  tapeShown = null;
  byId('fool-image-caption').textContent = 'fooling image';
  byId('sal-map').setAttribute('aria-label', 'The saliency map: none computed yet');
  byId('fool-image').setAttribute('aria-label', 'The fooling image: none computed yet');
  const chart = byId<HTMLImageElement>('fool-chart');
  chart.hidden = true;
  chart.removeAttribute('src');
  byId('tape-rows').replaceChildren();
  byId('sanity-strip').replaceChildren();
  saliencyShown = null;
  foolShown = null;
  foolRecording?.clear();
  resetAttribution(current?.picture ?? null);
}

/** Classifies an image; on success it becomes the current one (and its thumbnail, for a sample, is marked). */
async function openImage(blob: Blob, name: string, sample = false): Promise<void> {
  const c = await run('setImage', { blob, name });
  if (!c) return;
  for (const b of document.querySelectorAll('.thumbs button')) {
    const selected = sample && b.getAttribute('data-name') === name;
    b.classList.toggle('selected', selected);
    b.setAttribute('aria-pressed', String(selected));
  }
  if (originalUrl) URL.revokeObjectURL(originalUrl);
  originalUrl = URL.createObjectURL(blob);
  byId<HTMLImageElement>('classify-original').src = originalUrl;
  showClassification(c);
  if (state.timings.loadToFirstClassificationMs === null) state.timings.loadToFirstClassificationMs = performance.now();
}

/** The address of a known model's description, which names its ONNX file and class names (web/vite.config.ts serves them). */
const descriptionUrl = (name: string): string => new URL(`weights/${name}.json`, document.baseURI).href;

/** A known model, chosen in the picker. */
async function openKnownModel(name: string): Promise<void> {
  showLoadedModel(await run('openModel', { descriptionUrl: descriptionUrl(name) }));
}

/**
 * A model of the person's own: an .onnx file, with its description (.json, README "Models") and class names (.txt)
 * when they come with it; without a description, ImageNet's mean/std apply.
 */
async function openModel(file: File, companions: File[] = []): Promise<void> {
  // Refused from its size, before the browser reads it whole into memory.
  if (file.size > MAX_MODEL_BYTES) {
    showError(new PixelpropError(`'${file.name}' holds ${fmtBytes(file.size)}, more than any model this page opens (${fmtBytes(MAX_MODEL_BYTES)})`));
    return;
  }
  const text = async (ext: RegExp) => {
    const f = companions.find((c) => ext.test(c.name));
    // A description or a list of names is small; a large one is a wrong file, refused before it is read.
    if (f && f.size > 16 * 2 ** 20) throw new PixelpropError(`'${f.name}' holds ${fmtBytes(f.size)}, too much for a description or class names`);
    return f ? { name: f.name, text: await f.text() } : null;
  };
  let description, labels;
  try {
    [description, labels] = [await text(/\.json$/i), await text(/\.txt$/i)];
  } catch (e) {
    showError(e);
    return;
  }
  const bytes = await file.arrayBuffer();
  showLoadedModel(await run('loadModel', { bytes, name: file.name, description, labels }, { transfer: [bytes] }));
}

function showLoadedModel(r: { model: ModelInfo; classification: Classification | null } | null): void {
  if (!r) return;
  setModel(r.model);
  if (r.classification) showClassification(r.classification);
  setStatus(`${statusLine()} · model: ${r.model.name}`);
}

async function openSample(name: string): Promise<void> {
  const url = new URL(`samples/${name}`, document.baseURI).href;
  let blob: Blob;
  try {
    const response = await fetch(url);
    if (!response.ok) throw new PixelpropError(`cannot fetch the sample ${url}: HTTP ${response.status}`);
    blob = await response.blob();
  } catch (e) {
    showError(e instanceof PixelpropError ? e : new PixelpropError(`cannot fetch the sample ${url}: ${(e as Error).message}`));
    return;
  }
  await openImage(blob, name, true);
}

/** Files opened or dropped together: a model (with its description and names), or else an image. */
async function openFiles(files: File[]): Promise<void> {
  const onnx = files.find((f) => /\.onnx$/i.test(f.name));
  if (onnx) return openModel(onnx, files.filter((f) => f !== onnx));
  if (files[0]) return openImage(files[0], files[0].name);
}

function setUpInputs(): void {
  byId('samples').replaceChildren(
    ...samples.map((name) => {
      // the picture is decorative (alt ""): the caption names the button, once
      const b = make(
        'button',
        { type: 'button', onclick: () => void openSample(name) },
        make('img', { src: new URL(`samples/${name}`, document.baseURI).href, alt: '', loading: 'lazy' }),
        make('span', { textContent: stem(name) }),
      );
      b.dataset.name = name;
      b.setAttribute('aria-pressed', 'false');
      return b;
    }),
  );
  const imageInput = byId<HTMLInputElement>('image-file');
  imageInput.addEventListener('change', () => {
    const files = [...(imageInput.files ?? [])];
    imageInput.value = '';
    void openFiles(files);
  });
  const modelInput = byId<HTMLInputElement>('model-file');
  modelInput.addEventListener('change', () => {
    const files = [...(modelInput.files ?? [])];
    modelInput.value = '';
    void openFiles(files);
  });
  const picker = byId<HTMLSelectElement>('model-picker');
  picker.replaceChildren(
    make('option', { value: '', textContent: 'your own file', disabled: true }),
    ...models.map((m) => make('option', { value: m.name, textContent: m.title })),
  );
  picker.addEventListener('change', () => {
    if (picker.value) void openKnownModel(picker.value);
  });
  document.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    document.body.classList.add('dropping');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dropping'));
  document.addEventListener('drop', (ev) => {
    ev.preventDefault();
    document.body.classList.remove('dropping');
    void openFiles([...(ev.dataTransfer?.files ?? [])]);
  });
  byId('error-close').addEventListener('click', clearError);
}

// ---- saliency ---------------------------------------------------------------------------------------------------------

let saliencyShown: { output: SaliencyOutput; picture: RgbImage8 } | null = null;

/** What each method's map holds, with its largest value named after it ("max of …" follows). */
const MAP_WORDS: Record<SaliencyMethod, (r: SaliencyOutput) => string> = {
  vanilla: () => 'vanilla gradient: max over the map of max_c |∂s/∂x|',
  gradxinput: () => 'gradient × input: max over the map of max_c |x · ∂s/∂x|',
  smoothgrad: (r) =>
    `SmoothGrad, ${r.stopped ? `stopped after ${r.copies} of ${r.samples} noisy copies` : `mean of ${r.copies} noisy copies`}: ` +
    'max over the map of the mean of max_c |∂s/∂x|',
};

/**
 * Gives each number field the range the library accepts (src/techniques/ranges.ts): the browser then offers no value
 * outside it, and the library still refuses, with one line, whatever gets past (a typed value, an empty field).
 */
function setRanges(fields: [string, NumberRange][]): void {
  for (const [id, range] of fields) {
    const input = byId<HTMLInputElement>(id);
    input.min = String(range.min);
    input.max = String(range.max);
    ranges.set(id, range);
  }
}

const ranges = new Map<string, NumberRange>();

/**
 * A number field's value, checked against its range in the words of its label ("copies must be positive", "copies is
 * empty"): a wrong value is refused here, before the engine sees it, so the message names the field the user sees.
 */
function fieldValue(id: string): number {
  const input = byId<HTMLInputElement>(id);
  const label = input.closest('label');
  const name = label ? [...label.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(' ').trim() : id;
  const range = ranges.get(id);
  if (input.value.trim() === '') {
    throw new PixelpropError(`${name} is empty: give a number${range ? ` in ${fmtRange(range)}` : ''}`);
  }
  const value = input.valueAsNumber;
  const problem = range ? rangeProblem(value, range) : Number.isFinite(value) ? null : 'must be a number';
  if (problem) throw new PixelpropError(`${name} ${input.value.trim()} ${problem}${range ? ` (range ${fmtRange(range)})` : ''}`);
  return value;
}

function setUpSaliency(): void {
  setRanges([
    ['sal-samples', SALIENCY_RANGES.samples],
    ['sal-noise', SALIENCY_RANGES.noise],
  ]);
  const method = byId<HTMLSelectElement>('sal-method');
  setNumber('sal-samples', SALIENCY_DEFAULTS.samples);
  setNumber('sal-noise', SALIENCY_DEFAULTS.noise);
  const showSmooth = (): void => {
    for (const el of document.querySelectorAll<HTMLElement>('#view-saliency .smooth')) el.hidden = method.value !== 'smoothgrad';
  };
  method.addEventListener('change', showSmooth);
  showSmooth();
  const classOf = classField('sal-class', 'sal-class-hint', 'class of the map', true);
  const opacity = byId<HTMLInputElement>('sal-opacity');
  const applyOpacity = (): void => void (byId('sal-overlay-map').style.opacity = opacity.value);
  opacity.addEventListener('input', applyOpacity);
  applyOpacity();

  byId('sal-run').addEventListener('click', async () => {
    const m = method.value as SaliencyMethod;
    let request: Requests['saliency'];
    try {
      // copies and noise are read only where they are shown (SmoothGrad): a hidden field must not block a method
      const smooth = m === 'smoothgrad';
      request = {
        method: m,
        classIndex: classOf(),
        samples: smooth ? fieldValue('sal-samples') : SALIENCY_DEFAULTS.samples,
        noise: smooth ? fieldValue('sal-noise') : SALIENCY_DEFAULTS.noise,
      };
    } catch (e) {
      return void showError(e);
    }
    const r = await run('saliency', request, {
      stop: m === 'smoothgrad' ? 'sal-stop' : undefined, // the other methods are one pass: nothing to stop
      progress: 'sal-progress',
      status: 'sal-caption',
      onEvent: ({ done, total }) => {
        setProgress('sal-progress', done, total);
        byId('sal-caption').textContent = `${done} of ${total} noisy copies done`;
      },
    });
    if (!r) return;
    const picture = colorize(r.map, r.width, r.height, { cmap: 'hot' });
    paint(byId<HTMLCanvasElement>('sal-map'), picture);
    paint(byId<HTMLCanvasElement>('sal-overlay-map'), picture);
    saliencyShown = { output: r, picture };
    state.saliency = r;
    if (r.method === 'vanilla') state.timings.saliencyMs = r.ms;
    const max = r.map.reduce((a, b) => Math.max(a, b), 0);
    const caption = `map of ${classText(r.classIndex)}${r.classIndex === r.predicted ? ', the predicted class' : ''} · ${MAP_WORDS[r.method](r)} = ${fmtNum(max)} · ${fmtMs(r.ms)}`;
    byId('sal-caption').textContent = caption;
    byId('sal-map').setAttribute('aria-label', `Saliency map: ${caption}`);
    for (const id of ['sal-png', 'sal-npy']) byId<HTMLButtonElement>(id).disabled = false;
  });
  byId('sal-png').addEventListener('click', async () => {
    if (!saliencyShown || !current) return;
    download(await encodePngBlob(saliencyShown.picture), `${stem(current.name)}-saliency-${saliencyShown.output.method}.png`);
  });
  byId('sal-npy').addEventListener('click', () => {
    if (!saliencyShown || !current) return;
    const { map, height, width, method: m } = saliencyShown.output;
    download(npyBlob(map, [height, width]), `${stem(current.name)}-saliency-${m}.npy`);
  });
}

// ---- fooling ----------------------------------------------------------------------------------------------------------

let foolShown: FoolOutput | null = null;
let foolRecording: RunRecording | null = null;

function setUpFooling(): void {
  setRanges([
    ['fool-lr', FOOL_RANGES.lr],
    ['fool-iters', FOOL_RANGES.maxIters],
  ]);
  setNumber('fool-lr', FOOL_DEFAULTS.lr);
  setNumber('fool-iters', FOOL_DEFAULTS.maxIters);
  const targetOf = classField('fool-target', 'fool-target-hint', 'target class');
  const recording = recordingButton('fool-gif', (gif) => state.recordings.push(gif));
  foolRecording = recording;
  const showStep = (original: RgbImage8, image: RgbImage8): void => {
    paint(byId<HTMLCanvasElement>('fool-image'), image);
    paint(byId<HTMLCanvasElement>('fool-diff'), differenceImage(original, image, 10));
  };
  byId('fool-run').addEventListener('click', async () => {
    if (!current) return;
    let request: Requests['fool'];
    try {
      request = { target: targetOf()!, lr: fieldValue('fool-lr'), maxIters: fieldValue('fool-iters') };
    } catch (e) {
      return void showError(e);
    }
    const { target } = request;
    const original = current.picture;
    const originalName = current.top[0]!.name;
    const imageName = current.name;
    const nameOf = (k: number): string => state.model?.names[k] ?? String(k);
    state.foolSteps = 0;
    const status = byId('fool-status');
    byId<HTMLImageElement>('fool-chart').hidden = true;
    recording.start();
    const r = await run('fool', request, {
      stop: 'fool-stop',
      progress: 'fool-progress',
      status: 'fool-status',
      onEvent: (step) => {
        state.foolSteps++;
        recording.add(step.iteration, step.image);
        showStep(original, step.image);
        setProgress('fool-progress', step.iteration, step.maxIters);
        byId('fool-image-caption').textContent = `iteration ${step.iteration}: ${nameOf(step.predicted)}`;
        status.textContent =
          `iteration ${step.iteration} / ${step.maxIters} · top class: ${classText(step.predicted)} · ` +
          `p(${nameOf(target)}): ${fmtPct(step.targetProb)} · p(${originalName}): ${fmtPct(step.originalProb)} · ` +
          `${fmtMs(step.msPerIteration)} per iteration`;
      },
    });
    if (!r) return;
    foolShown = r;
    state.fool = r;
    state.timings.foolIterationMs = r.msPerIteration;
    showStep(original, r.image);
    recording.finish(r.iterations, r.image, `${stem(imageName)}-fool-${target}.gif`);
    if (r.originalClass === target) {
      // nothing to fool: no step was taken, and a time per iteration would measure nothing
      byId('fool-image-caption').textContent = 'unchanged';
      status.textContent = `the image already is ${classText(target)}: the network classifies it as the target before any change — choose another target`;
      return;
    }
    byId('fool-image-caption').textContent = `saved (8-bit): ${nameOf(r.finalClass)} (${fmtPct(r.targetProb)} ${nameOf(target)})`;
    const verdict = r.fooled
      ? `fooled: the saved PNG is classified as ${classText(target)} with p: ${fmtPct(r.targetProb)}, after ${r.iterations} iterations`
      : `${r.stopped ? 'stopped' : 'not fooled'} after ${r.iterations} iterations: the saved PNG is classified as ${classText(r.finalClass)}, p(target): ${fmtPct(r.targetProb)}`;
    status.textContent = `${verdict} · change: at most ${r.linf}/255 per value, L2 ${r.l2.toFixed(1)} (0–255 units) · ${fmtMs(r.msPerIteration)} per iteration`;
    byId('fool-image').setAttribute('aria-label', `The fooling image: ${verdict}`);
    if (r.chartSvg) {
      const chart = byId<HTMLImageElement>('fool-chart');
      if (chart.src) URL.revokeObjectURL(chart.src);
      chart.src = URL.createObjectURL(new Blob([r.chartSvg], { type: 'image/svg+xml' }));
      chart.alt = `Chart: p(${nameOf(target)}) and p(${originalName}) after each of the ${r.iterations} iterations; p(${nameOf(target)}) ends at ${fmtPct(r.targetProb)}`;
      chart.hidden = false;
    }
    byId<HTMLButtonElement>('fool-png').disabled = false;
  });
  byId('fool-png').addEventListener('click', async () => {
    if (!foolShown || !current) return;
    download(await encodePngBlob(foolShown.image), `${stem(current.name)}-fool-${foolShown.target}.png`);
  });
}

// ---- class visualization ----------------------------------------------------------------------------------------------

const VIZ_FIELDS: [keyof Settings, string][] = [
  ['iterations', 'viz-iters'],
  ['lr', 'viz-lr'],
  ['l2', 'viz-l2'],
  ['decay', 'viz-decay'],
  ['blurSigma', 'viz-sigma'],
  ['blurEvery', 'viz-blur-every'],
  ['jitter', 'viz-jitter'],
  ['seed', 'viz-seed'],
];

let vizShown: ClassVizOutput | null = null;

function fillViz(settings: Settings): void {
  for (const [key, id] of VIZ_FIELDS) setNumber(id, settings[key] as number);
  byId<HTMLInputElement>('viz-normalized').checked = settings.normalizedStep;
}

/** The fields' settings; throws, in the words of a field's label, when one is empty or out of its range. */
function readViz(): Settings {
  const settings = { normalizedStep: byId<HTMLInputElement>('viz-normalized').checked } as Settings;
  for (const [key, id] of VIZ_FIELDS) (settings as unknown as Record<string, number>)[key] = fieldValue(id);
  return settings;
}

function setUpClassViz(): void {
  setRanges(VIZ_FIELDS.map(([key, id]) => [id, CLASS_VISUALIZATION_RANGES[key as keyof typeof CLASS_VISUALIZATION_RANGES]]));
  fillViz(CLASS_VISUALIZATION_DEFAULTS);
  byId('viz-defaults').addEventListener('click', () => fillViz(CLASS_VISUALIZATION_DEFAULTS));
  byId('viz-yosinski').addEventListener('click', () => fillViz({ ...CLASS_VISUALIZATION_DEFAULTS, ...YOSINSKI_PRESET }));
  const classOf = classField('viz-class', 'viz-class-hint', 'class to visualize');
  const recording = recordingButton('viz-gif', (gif) => state.recordings.push(gif));
  byId('viz-run').addEventListener('click', async () => {
    let target: number;
    let settings: Settings;
    try {
      target = classOf()!;
      settings = readViz();
    } catch (e) {
      return void showError(e);
    }
    state.classvizSteps = 0;
    byId('viz-strip').replaceChildren();
    recording.start();
    const status = byId('viz-status');
    const r = await run(
      'classviz',
      { target, settings, snapshots: 8 },
      {
        stop: 'viz-stop',
        progress: 'viz-progress',
        status: 'viz-status',
        onEvent: (step) => {
          state.classvizSteps++;
          recording.add(step.iteration, step.image);
          paint(byId<HTMLCanvasElement>('viz-image'), step.image);
          setProgress('viz-progress', step.iteration, step.iterations);
          status.textContent =
            `iteration ${step.iteration} / ${step.iterations} · score s_y = ${step.score === null ? '—' : step.score.toFixed(2)} · ` +
            `${fmtMs(step.msPerIteration)} per iteration`;
        },
      },
    );
    if (!r) return;
    vizShown = r;
    state.classviz = r;
    state.timings.classvizIterationMs = r.msPerIteration;
    paint(byId<HTMLCanvasElement>('viz-image'), r.image);
    byId('viz-caption').textContent = `${classText(target)} after ${r.iterations} iterations`;
    status.textContent =
      `${r.stopped ? 'stopped after' : 'done:'} ${r.iterations} iterations · score ${r.startScore.toFixed(2)} → ${r.finalScore.toFixed(2)} · ` +
      `p: ${fmtPct(r.finalProb)} · the network now predicts ${classText(r.argmax)} · ${fmtMs(r.msPerIteration)} per iteration`;
    byId('viz-strip').replaceChildren(
      ...r.snapshots.map((s) => make('figure', {}, canvasOf(s.image, `${classText(target)} at iteration ${s.iteration}`), make('figcaption', { textContent: `iteration ${s.iteration}` }))),
    );
    byId<HTMLButtonElement>('viz-png').disabled = false;
    recording.finish(r.iterations, r.image, `classviz-${target}-${r.iterations}.gif`);
  });
  byId('viz-png').addEventListener('click', async () => {
    if (!vizShown) return;
    download(await encodePngBlob(vizShown.image), `classviz-${vizShown.target}-${vizShown.iterations}.png`);
  });
}

// ---- tape inspector ---------------------------------------------------------------------------------------------------

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 'es'}`;

/** "[1,64,55,55]" of a named shape "x[1,64,55,55]" as numbers. */
const dims = (named: string): number[] => JSON.parse(named.slice(named.lastIndexOf('['))) as number[];

/** "64 × 55 × 55": an activation's channels × height × width (the batch of one left out). */
const chw = (named: string): string => dims(named).slice(1).join(' × ');

/**
 * What an op does, in words and with this op's numbers ("3×3 convolution, 64 filters, stride 2, then ReLU"), rather
 * than the engine's attribute shorthand (its `info`, kept in the details).
 */
function plainOp(row: TapeRow): string {
  const relu = /\+relu/.test(row.info) ? ', then ReLU' : '';
  const stride = /\bs(\d+),(\d+)/.exec(row.info);
  const strideText = stride && stride[1] !== '1' ? `, stride ${stride[1]}` : '';
  const conv = (weight: string): string => {
    const [filters, , kh, kw] = dims(weight);
    return `${kh}×${kw} convolution, ${filters} filters`;
  };
  // the 4-D inputs after the first that are not the data again (a fire module's expand convs both read the squeeze)
  const data = dims(row.inputShapes[0]!).join();
  const weights = row.inputShapes.filter((shape, k) => k > 0 && dims(shape).length === 4 && dims(shape).join() !== data);
  switch (row.op) {
    case 'Conv':
      return `${conv(weights[0]!)}${strideText}${relu}`;
    case 'ConvConcat':
      return `${weights.map(conv).join(' and ')}, side by side, their outputs stacked${relu}`;
    case 'MaxPool':
    case 'AveragePool': {
      const k = /\bk(\d+)×(\d+)/.exec(row.info);
      return `${row.op === 'MaxPool' ? 'max' : 'average'} pooling${k ? ` over ${k[1]}×${k[2]} windows` : ''}${strideText}`;
    }
    case 'GlobalAveragePool': {
      const [, , h, w] = dims(row.inputShapes[0]!);
      return `the average of each channel's ${h}×${w} values`;
    }
    case 'Reshape':
    case 'Flatten':
      return `the same numbers as a ${dims(row.outputShape).join(' × ')} tensor (no arithmetic)`;
    default:
      return row.info ? `${row.op} (${row.info})` : row.op;
  }
}

/** The op's name in the model: its layer and its part of it ("fire2 squeeze", "fire2 expand"), else what it is. */
function opTitle(row: TapeRow, rows: TapeRow[]): string {
  if (!row.layer) return row.op === 'MaxPool' ? 'max pool' : row.op === 'GlobalAveragePool' ? 'global average pool' : row.op.toLowerCase();
  if (!row.layer.startsWith('fire')) return row.layer;
  const first = rows.find((r) => r.layer === row.layer);
  return `${row.layer} ${first === row ? 'squeeze' : 'expand'}`;
}

/**
 * The library's formulas as text ("Σ_{n,h,w}", "x_i", "x₁"), typeset: a subscript in braces or a single letter or
 * digit after "_" becomes <sub>.
 */
function typeset(text: string): (Node | string)[] {
  const out: (Node | string)[] = [];
  let at = 0;
  for (const m of text.matchAll(/_\{([^}]*)\}|_([A-Za-z0-9])(?![A-Za-z0-9])/g)) {
    out.push(text.slice(at, m.index));
    out.push(make('sub', { textContent: m[1] ?? m[2]! }));
    at = m.index + m[0].length;
  }
  out.push(text.slice(at));
  return out;
}

/** How an op's forward and backward are computed (its definition in src/graph/ops/), with its shapes and dispatches: a row under the op's. */
function opDocRow(row: TapeRow, r: TapeOutput, columns: number): HTMLTableRowElement {
  const doc = row.doc;
  const median = r.runs > 1 ? `, medians of ${r.runs} runs` : '';
  const times =
    r.timing === 'none'
      ? `${plural(row.forwardDispatches, 'dispatch')} forward, ${row.backwardDispatches} backward (no GPU times: the adapter has no timestamp-query)`
      : `${plural(row.forwardDispatches, 'dispatch')} forward (${fmtMs(row.forwardMs)}), ${row.backwardDispatches} backward (${fmtMs(row.backwardMs)}), GPU time with each dispatch in a pass of its own${median}`;
  const article = make(
    'article',
    { className: 'doc' },
    make('p', { className: 'shapes', textContent: `${row.inputShapes.join(', ')} → ${row.outputShape} · engine op ${row.op}${row.info ? ` (${row.info})` : ''}` }),
    make(
      'div',
      { className: 'parts' },
      make(
        'section',
        {},
        make('h4', { textContent: 'Forward' }),
        make('p', {}, ...typeset(doc.forward)),
        make('h4', { textContent: 'Kept for the backward' }),
        make('p', {}, ...typeset(doc.saves)),
      ),
      make('section', {}, make('h4', { textContent: 'Backward' }), make('p', {}, ...typeset(doc.backward))),
    ),
    make('p', { className: 'meta', textContent: times }),
  );
  return make('tr', { className: 'detail' }, make('td', { colSpan: columns }, article));
}

/**
 * Why the gradient norms read as they do at the top of the network: the backward starts from a one-hot seed at the
 * scores (norm 1); a reshape moves numbers without changing them; a global average pool hands each of its H·W inputs
 * 1/(H·W) of the gradient, so a norm ν becomes ν/√(H·W) (1/13 for 13×13).
 */
function normNotes(r: TapeOutput): string {
  const lrp = r.rules === 'lrp-epsilon' || r.rules === 'lrp-zplus';
  const notes = [
    lrp
      ? `‖dy‖₂ at the last op is the score s_y itself: LRP's relevance starts as the class score (at class ${r.classIndex}, 0 for the others) and is redistributed downwards`
      : `‖dy‖₂ is 1 at the last op: the backward starts from a one-hot seed at the scores (1 for class ${r.classIndex}, 0 for the others)`,
  ];
  for (const row of r.rows) {
    if (row.op === 'Reshape' || row.op === 'Flatten') notes.push(`a ${row.op.toLowerCase()} only moves numbers, so its ‖dx‖₂ equals its ‖dy‖₂`);
    if (row.op === 'GlobalAveragePool' && !lrp) {
      const [, , h = 1, w = 1] = dims(row.inputShapes[0]!);
      notes.push(
        `the global average pool gives each of its ${h}×${w} inputs 1/${h * w} of the gradient, so the norm shrinks by √${h * w} = ${fmtNum(Math.sqrt(h * w))}: ` +
          `${fmtNum(row.outputGradNorm)} / ${fmtNum(Math.sqrt(h * w))} = ${fmtNum(row.inputGradNorms[0] ?? null)}`,
      );
    }
  }
  return `${lrp ? 'Relevance' : 'Gradient'} norms: ${notes.join('; ')}.`;
}

/** The rule an op's backward used, in words: its own gradient, or the run's replacement (guided ReLU, an LRP rule). */
function ruleText(row: TapeRow): string {
  if (row.backwardOrder === null) return '—';
  switch (row.rule) {
    case null:
      return 'own gradient';
    case 'guided':
      return 'guided: max(dy·f′(z), 0)';
    case 'deconvnet':
      return 'deconvnet: max(dy, 0)';
    default:
      return row.rule.replace(/^lrp-epsilon: /, 'LRP-ε: ').replace(/^lrp-zplus: /, 'LRP-z⁺: ');
  }
}

/** The tape as rows of numbers, for a spreadsheet (CSV) or a script (JSON). */
function tapeTable(r: TapeOutput): Record<string, string | number | null>[] {
  return r.rows.map((row) => ({
    index: row.index,
    layer: row.layer,
    op: row.op,
    attributes: row.info,
    input: row.inputShapes[0]!,
    output: row.outputShape,
    forward_ms: row.forwardMs,
    backward_ms: row.backwardMs,
    forward_dispatches: row.forwardDispatches,
    backward_dispatches: row.backwardDispatches,
    backward_visit: row.backwardOrder === null ? null : row.backwardOrder + 1,
    dy_norm: row.outputGradNorm,
    dx_norm: row.inputGradNorms[0] ?? null,
    backward_rule: ruleText(row),
  }));
}

function csvOf(records: Record<string, string | number | null>[]): string {
  const cell = (v: string | number | null): string => (v === null ? '' : typeof v === 'number' ? String(v) : /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const keys = Object.keys(records[0] ?? {});
  return [keys.join(','), ...records.map((rec) => keys.map((k) => cell(rec[k]!)).join(','))].join('\n') + '\n';
}

let tapeShown: TapeOutput | null = null;

function setUpTape(): void {
  setRanges([['tape-runs', { min: 1, max: 20, integer: true }]]);
  byId('tape-run').addEventListener('click', async () => {
    let runs: number;
    try {
      runs = fieldValue('tape-runs');
    } catch (e) {
      return void showError(e);
    }
    const rules = byId<HTMLSelectElement>('tape-rules').value as TapeRules;
    const r = await run('tape', { runs, rules }, { status: 'tape-summary' });
    if (!r) return;
    state.tape = r;
    tapeShown = r;
    const sum = (pick: (row: TapeRow) => number | null): number => r.rows.reduce((a, row) => a + (pick(row) ?? 0), 0);
    const timed = r.timing === 'timestamp-query';
    const of = r.runs > 1 ? `medians of ${r.runs} runs` : 'one run';
    byId('tape-summary').textContent =
      `${r.rows.length} ops recorded, ${r.rules === 'gradient' ? 'gradient' : `${byId<HTMLSelectElement>('tape-rules').selectedOptions[0]?.textContent ?? r.rules} backward`} of the score of ${classText(r.classIndex)} · ` +
      `one real forward + backward: ${r.realPassMs === null ? '—' : fmtMs(r.realPassMs)} wall-clock (${of}) · ` +
      (timed
        ? `per-op GPU times (${of}) time each dispatch in a compute pass of its own, which runs them one by one: they show where the time goes, ` +
          `and their sums (forward ${fmtMs(sum((row) => row.forwardMs))}, backward ${fmtMs(sum((row) => row.backwardMs))}) are not the time of a real pass`
        : 'per-op times are not available: this adapter has no timestamp-query') +
      (r.otherDispatches ? ` · ${plural(r.otherDispatches, 'dispatch')} between ops (gradient accumulation${timed ? `, ${fmtMs(r.otherMs)}` : ''})` : '') +
      ` · ‖∂s_y/∂x‖₂ = ${fmtNum(r.inputGradNorm)}`;
    byId('tape-notes').textContent = normNotes(r);
    const rows = r.rows.map((row) => {
      const tr = make(
        'tr',
        { tabIndex: 0, title: 'how its forward and backward are computed' },
        make('td', { className: 'num', textContent: String(row.index) }),
        make('td', {}, make('strong', { textContent: opTitle(row, r.rows) }), make('br'), make('small', { textContent: plainOp(row) })),
        make('td', { className: 'shapes', textContent: `${chw(row.inputShapes[0]!)} → ${chw(row.outputShape)}`, title: `${row.inputShapes.join(', ')} → ${row.outputShape}` }),
        make('td', { className: 'num', textContent: timed ? fmtMs(row.forwardMs) : 'n/a' }),
        make('td', { className: 'num', textContent: timed ? fmtMs(row.backwardMs) : 'n/a' }),
        make('td', { className: 'num', textContent: row.backwardOrder === null ? 'skipped' : String(row.backwardOrder + 1) }),
        make('td', { className: 'num', textContent: fmtNum(row.outputGradNorm) }),
        make('td', { className: 'num', textContent: row.inputGradNorms.filter((n) => n !== null).map(fmtNum).join(', ') || '—' }),
        make('td', { className: row.rule ? 'rule modified' : 'rule', textContent: ruleText(row) }),
      );
      tr.setAttribute('aria-expanded', 'false');
      const select = (): void => {
        const wasOpen = tr.classList.contains('selected');
        for (const other of byId('tape-rows').querySelectorAll('tr.selected')) {
          other.classList.remove('selected');
          other.setAttribute('aria-expanded', 'false');
        }
        byId('tape-rows').querySelector('tr.detail')?.remove();
        if (wasOpen) return; // a second click closes it
        tr.classList.add('selected');
        tr.setAttribute('aria-expanded', 'true');
        tr.after(opDocRow(row, r, tr.children.length));
      };
      tr.addEventListener('click', select);
      tr.addEventListener('keydown', (ev) => {
        if (ev.key !== 'Enter' && ev.key !== ' ') return;
        ev.preventDefault(); // Space would scroll the page
        select();
      });
      return tr;
    });
    byId('tape-rows').replaceChildren(...rows);
    for (const id of ['tape-json', 'tape-csv']) byId<HTMLButtonElement>(id).disabled = false;
  });
  const name = (): string => `${stem(current?.name ?? 'image')}-tape`;
  byId('tape-json').addEventListener('click', () => {
    if (!tapeShown) return;
    const { rows: _rows, ...summary } = tapeShown;
    const json = JSON.stringify({ ...summary, ops: tapeTable(tapeShown) }, null, 2);
    download(new Blob([`${json}\n`], { type: 'application/json' }), `${name()}.json`);
  });
  byId('tape-csv').addEventListener('click', () => {
    if (tapeShown) download(new Blob([csvOf(tapeTable(tapeShown))], { type: 'text/csv' }), `${name()}.csv`);
  });
}

// ---- sanity check -----------------------------------------------------------------------------------------------------

function setUpSanity(): void {
  setRanges([['sanity-seed', SEED_RANGE]]);
  byId('sanity-run').addEventListener('click', async () => {
    state.sanitySteps = [];
    state.sanity = null;
    const strip = byId('sanity-strip');
    strip.replaceChildren();
    const status = byId('sanity-status');
    status.textContent = '';
    let seed: number;
    try {
      seed = fieldValue('sanity-seed');
    } catch (e) {
      return void showError(e);
    }
    const r = await run(
      'sanity',
      { seed, method: byId<HTMLSelectElement>('sanity-method').value as SaliencyMethod },
      {
        stop: 'sanity-stop',
        status: 'sanity-status',
        progress: 'sanity-progress',
        onEvent: (step) => {
          state.sanitySteps.push(step);
          setProgress('sanity-progress', state.sanitySteps.length, step.of);
          const side = Math.round(Math.sqrt(step.map.length)); // the maps are square, as the model's input
          const caption =
            step.label === 'original'
              ? 'trained network'
              : `up to ${step.label} randomized · ρ = ${step.rankCorrelation.toFixed(2)}`;
          strip.append(
            make(
              'figure',
              {},
              canvasOf(colorize(step.map, side, side, { cmap: 'hot' }), `saliency map, ${caption}`),
              make('figcaption', {}, caption, make('br'), make('small', { textContent: `predicts ${state.model?.names[step.predicted] ?? step.predicted}` })),
            ),
          );
          status.textContent = `${state.sanitySteps.length} of ${step.of} maps · ρ: Spearman rank correlation with the trained network's map`;
        },
      },
    );
    if (!r) return;
    state.sanity = r;
    status.textContent =
      `${r.stopped ? `stopped after ${r.steps} of ${r.layers.length + 1} maps` : `${r.steps} maps`} · layers top down: ${r.layers.join(', ')} · ` +
      `trained weights restored: ${r.restored ? 'yes (the scores are bit-identical to before)' : 'NO — reload the page'} · ` +
      'ρ: Spearman rank correlation with the trained network’s map';
  });
}

// ---- start ------------------------------------------------------------------------------------------------------------

function statusLine(): string {
  const i = state.init!;
  return `WebGPU: ${i.adapter} · ${i.subgroups} · ${i.hasTimestamps ? 'GPU timestamps' : 'no GPU timestamps'}`;
}

/** The loading screen: what is loading ("the model (squeezenet1.1.onnx)"), and how much of it has arrived. */
function showLoading({ what, loaded, total }: Events['init']): void {
  const progress = byId<HTMLProgressElement>('loading-progress');
  let amount = '';
  if (loaded === null) {
    progress.removeAttribute('value');
  } else if (total === null) {
    amount = ` · ${fmtBytes(loaded)}`;
    progress.removeAttribute('value');
  } else {
    amount = ` · ${fmtBytes(loaded)} of ${fmtBytes(total)}`;
    progress.max = total;
    progress.value = loaded;
  }
  const text = `Loading ${what}${amount}`;
  byId('loading-text').textContent = text;
  if (state.loading.at(-1) !== text) state.loading.push(text);
}

async function start(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    byId('loading').hidden = true;
    showNoWebGpu(
      window.isSecureContext
        ? 'This browser does not expose WebGPU (navigator.gpu is missing).'
        : 'WebGPU is only available on secure pages: open this page over https:// or from localhost.',
    );
    return;
  }
  engine = new Engine((message) => {
    setStatus(message);
    showError(new PixelpropError(message));
  });
  let init: InitResult;
  try {
    init = await engine.call('init', { descriptionUrl: descriptionUrl(models[0]!.name) }, showLoading).result;
  } catch (e) {
    byId('loading').hidden = true;
    if (e instanceof EngineError && e.webgpu) return showNoWebGpu(`The engine could not start WebGPU: ${e.message}`);
    showError(e);
    return;
  }
  state.init = init;
  setStatus(statusLine());
  byId('loading').hidden = true;
  byId('app').hidden = false;
  if (init.model) setModel(init.model);
  if (init.modelError) showError(new PixelpropError(init.modelError));
  state.ready = true;
  if (init.model) await openSample(samples.includes(DEFAULT_SAMPLE) ? DEFAULT_SAMPLE : samples[0]!);
}

/** Large type and high contrast for a projector; the choice is kept for the next visit. */
function setUpPresentation(): void {
  const toggle = byId<HTMLButtonElement>('presentation');
  const apply = (on: boolean): void => {
    document.documentElement.classList.toggle('presentation', on);
    toggle.setAttribute('aria-pressed', String(on));
    localStorage.setItem('pixelprop-presentation', on ? '1' : '0');
  };
  toggle.addEventListener('click', () => apply(!document.documentElement.classList.contains('presentation')));
  apply(localStorage.getItem('pixelprop-presentation') === '1');
}

/**
 * Says whether a reload would work offline: true only once the service worker's cache holds the page and the model
 * (an install that failed, or a cache missing an entry, is reported as such rather than promised).
 */
async function reportOffline(): Promise<void> {
  const line = byId('offline-status');
  try {
    const registration = await navigator.serviceWorker.register('./sw.js');
    line.textContent = 'Offline use: caching the page and the model…';
    // An install that fails leaves `ready` pending for ever: its worker turning redundant says so instead.
    const installing = registration.installing;
    const failed = new Promise<never>((_, reject) =>
      installing?.addEventListener('statechange', () => {
        if (installing.state === 'redundant' && !registration.active) reject(new Error('the service worker failed to install'));
      }),
    );
    await Promise.race([navigator.serviceWorker.ready, failed]);
    const needed = ['index.html', 'weights/squeezenet1.1.onnx'].map((f) => new URL(f, document.baseURI).href);
    const cached = await Promise.all(needed.map(async (url) => (await caches.match(url, { ignoreSearch: true })) !== undefined));
    state.offlineReady = cached.every(Boolean);
    line.textContent = state.offlineReady
      ? 'Ready for offline use: a reload works without a network.'
      : `Offline use: not available (not cached: ${needed.filter((_, i) => !cached[i]).map((u) => u.replace(/^.*\//, '')).join(', ')}).`;
  } catch (e) {
    state.offlineReady = false;
    line.textContent = `Offline use: not available (${(e as Error).message}).`;
  }
}

setUpGuard();
setUpPresentation();
setUpTabs();
setUpInputs();
setUpSaliency();
setUpFooling();
setUpClassViz();
setUpTape();
setUpDebugger(byId('debugger'), run);
setUpSanity();
setUpAttribution({
  run,
  classOf: classField('attr-class', 'attr-class-hint', 'class of the map', true),
  classText,
  showError,
  fieldValue,
  setRanges,
  imageName: () => current?.name ?? null,
  record: (kind, output) => void (kind === 'map' ? state.attributions.push(output as AttributionOutput) : state.curves.push(output as CurvesOutput)),
});
state.notebook = setUpNotebook({ run, classText, model: () => state.model, showError, fieldValue, setRanges, setProgress });
void start();

// Reloads work offline: the built site caches its own files (web/sw.ts).
if (__PIXELPROP_SERVICE_WORKER__ && 'serviceWorker' in navigator) void reportOffline();
else byId('offline-status').textContent = 'Offline use: not available here (no service worker in this browser, or a development server).';
