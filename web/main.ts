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
import { SEED_RANGE, type NumberRange } from '../src/techniques/ranges.js';
import { SALIENCY_DEFAULTS, SALIENCY_RANGES, type SaliencyMethod } from '../src/techniques/saliency.js';
import { Engine, EngineError } from './client.js';
import { MAX_MODEL_BYTES } from './limits.js';
import { byId, canvasOf, download, fmtMs, fmtNum, fmtPct, make, numberOf, paint, setNumber, stem } from './dom.js';
import { classField, classText, setPickerModel } from './picker.js';
import type {
  Classification,
  ClassVizOutput,
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
  tape: TapeOutput | null;
  sanitySteps: SanityStep[];
  sanity: SanityOutput | null;
  timings: { loadToFirstClassificationMs: number | null; saliencyMs: number | null; foolIterationMs: number | null; classvizIterationMs: number | null };
  /** every error message the page has shown */
  errors: string[];
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
  tape: null,
  sanitySteps: [],
  sanity: null,
  timings: { loadToFirstClassificationMs: null, saliencyMs: null, foolIterationMs: null, classvizIterationMs: null },
  errors: [],
};
(window as unknown as { __pixelprop: PageState }).__pixelprop = state;

const DEFAULT_SAMPLE = 'chelsea.png';
let engine: Engine;
/** the open image's name and its picture as the network sees it */
let current: Classification | null = null;
let originalUrl: string | null = null;

// ---- status, errors, busy ---------------------------------------------------------------------------------------

function setStatus(text: string): void {
  byId('status').textContent = text;
}

/** Shows an error in the page: the one-line message of a PixelpropError, or a bug's message (and its stack in the console). */
function showError(e: unknown): void {
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

function setBusy(busy: boolean): void {
  state.busy = busy;
  for (const el of document.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button.run, .thumbs button, input[type=file]')) el.disabled = busy;
  document.body.classList.toggle('busy', busy);
}

/**
 * Runs one call on the engine with the page's busy state, its Stop button and progress bar; errors are shown in the
 * page and give null.
 */
async function run<K extends Op>(
  op: K,
  request: Requests[K],
  ui: { stop?: string; progress?: string; onEvent?: (event: Events[K]) => void; transfer?: Transferable[] } = {},
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
    stop.disabled = false;
    stop.onclick = () => {
      stop.disabled = true;
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
    showError(e);
    return null;
  } finally {
    if (stop) stop.disabled = true;
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
  for (const id of ['sal-png', 'sal-npy', 'fool-png']) byId<HTMLButtonElement>(id).disabled = true;
  for (const id of ['sal-caption', 'fool-status', 'tape-summary', 'sanity-status']) byId(id).textContent = '';
  byId('tape-rows').replaceChildren();
  byId('sanity-strip').replaceChildren();
  saliencyShown = null;
  foolShown = null;
}

/** Classifies an image; on success it becomes the current one (and its thumbnail, for a sample, is marked). */
async function openImage(blob: Blob, name: string, sample = false): Promise<void> {
  const c = await run('setImage', { blob, name });
  if (!c) return;
  for (const b of document.querySelectorAll('.thumbs button')) b.classList.toggle('selected', sample && b.getAttribute('data-name') === name);
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
    ...samples.map((name) =>
      make(
        'button',
        { type: 'button', title: name, onclick: () => void openSample(name) },
        make('img', { src: new URL(`samples/${name}`, document.baseURI).href, alt: stem(name), loading: 'lazy' }),
        make('span', { textContent: stem(name) }),
      ),
    ),
  );
  for (const b of byId('samples').querySelectorAll('button')) b.setAttribute('data-name', b.title);
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

/**
 * Gives each number field the range the library accepts (src/techniques/ranges.ts): the browser then offers no value
 * outside it, and the library still refuses, with one line, whatever gets past (a typed value, an empty field).
 */
function setRanges(fields: [string, NumberRange][]): void {
  for (const [id, range] of fields) {
    const input = byId<HTMLInputElement>(id);
    input.min = String(range.min);
    input.max = String(range.max);
  }
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
    let classIndex: number | null;
    try {
      classIndex = classOf();
    } catch (e) {
      return showError(e);
    }
    const r = await run(
      'saliency',
      { method: method.value as SaliencyMethod, samples: numberOf('sal-samples'), noise: numberOf('sal-noise'), classIndex },
      {
        stop: method.value === 'smoothgrad' ? 'sal-stop' : undefined, // the other methods are one pass: nothing to stop
        progress: 'sal-progress',
        onEvent: ({ done, total }) => setProgress('sal-progress', done, total),
      },
    );
    if (!r) return;
    const picture = colorize(r.map, r.width, r.height, { cmap: 'hot' });
    paint(byId<HTMLCanvasElement>('sal-map'), picture);
    paint(byId<HTMLCanvasElement>('sal-overlay-map'), picture);
    saliencyShown = { output: r, picture };
    state.saliency = r;
    if (r.method === 'vanilla') state.timings.saliencyMs = r.ms;
    const smooth = r.copies === null ? '' : ` · mean of ${r.copies} noisy copies${r.stopped ? ' (stopped early)' : ''}`;
    const max = r.map.reduce((a, b) => Math.max(a, b), 0);
    byId('sal-caption').textContent =
      `map of ${classText(r.classIndex)}${r.classIndex === r.predicted ? ', the predicted class' : ''} · ${r.method}${smooth} · ` +
      `max |∂s/∂x| = ${fmtNum(max)} · ${fmtMs(r.ms)}`;
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

function setUpFooling(): void {
  setRanges([
    ['fool-lr', FOOL_RANGES.lr],
    ['fool-iters', FOOL_RANGES.maxIters],
  ]);
  setNumber('fool-lr', FOOL_DEFAULTS.lr);
  setNumber('fool-iters', FOOL_DEFAULTS.maxIters);
  const targetOf = classField('fool-target', 'fool-target-hint', 'target class');
  const showStep = (original: RgbImage8, image: RgbImage8): void => {
    paint(byId<HTMLCanvasElement>('fool-image'), image);
    paint(byId<HTMLCanvasElement>('fool-diff'), differenceImage(original, image, 10));
  };
  byId('fool-run').addEventListener('click', async () => {
    if (!current) return;
    let target: number;
    try {
      target = targetOf()!;
    } catch (e) {
      return showError(e);
    }
    const original = current.picture;
    state.foolSteps = 0;
    const status = byId('fool-status');
    const r = await run(
      'fool',
      { target, lr: numberOf('fool-lr'), maxIters: numberOf('fool-iters') },
      {
        stop: 'fool-stop',
        progress: 'fool-progress',
        onEvent: (step) => {
          state.foolSteps++;
          showStep(original, step.image);
          setProgress('fool-progress', step.iteration, step.maxIters);
          byId('fool-image-caption').textContent = `iteration ${step.iteration}: ${state.model?.names[step.predicted] ?? step.predicted}`;
          status.textContent =
            `iteration ${step.iteration} / ${step.maxIters} · top class: ${classText(step.predicted)} · ` +
            `p(${state.model?.names[target] ?? target}): ${fmtPct(step.targetProb)} · ${fmtMs(step.msPerIteration)} per iteration`;
        },
      },
    );
    if (!r) return;
    foolShown = r;
    state.fool = r;
    state.timings.foolIterationMs = r.msPerIteration;
    showStep(original, r.image);
    byId('fool-image-caption').textContent = `saved (8-bit): ${state.model?.names[r.finalClass] ?? r.finalClass} (${fmtPct(r.targetProb)} ${state.model?.names[target] ?? target})`;
    const verdict = r.fooled
      ? `fooled: the saved PNG is classified as ${classText(target)} with p: ${fmtPct(r.targetProb)}, after ${r.iterations} iterations`
      : `${r.stopped ? 'stopped' : 'not fooled'} after ${r.iterations} iterations: the saved PNG is classified as ${classText(r.finalClass)}, p(target): ${fmtPct(r.targetProb)}`;
    status.textContent = `${verdict} · change: at most ${r.linf}/255 per value, L2 ${r.l2.toFixed(1)} (0–255 units) · ${fmtMs(r.msPerIteration)} per iteration`;
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

function readViz(): Settings {
  const settings = { normalizedStep: byId<HTMLInputElement>('viz-normalized').checked } as Settings;
  for (const [key, id] of VIZ_FIELDS) (settings as unknown as Record<string, number>)[key] = numberOf(id);
  return settings;
}

function setUpClassViz(): void {
  setRanges(VIZ_FIELDS.map(([key, id]) => [id, CLASS_VISUALIZATION_RANGES[key as keyof typeof CLASS_VISUALIZATION_RANGES]]));
  fillViz(CLASS_VISUALIZATION_DEFAULTS);
  byId('viz-defaults').addEventListener('click', () => fillViz(CLASS_VISUALIZATION_DEFAULTS));
  byId('viz-yosinski').addEventListener('click', () => fillViz({ ...CLASS_VISUALIZATION_DEFAULTS, ...YOSINSKI_PRESET }));
  const classOf = classField('viz-class', 'viz-class-hint', 'class to visualize');
  byId('viz-run').addEventListener('click', async () => {
    let target: number;
    try {
      target = classOf()!;
    } catch (e) {
      return showError(e);
    }
    const settings = readViz();
    state.classvizSteps = 0;
    byId('viz-strip').replaceChildren();
    const status = byId('viz-status');
    const r = await run(
      'classviz',
      { target, settings, snapshots: 8 },
      {
        stop: 'viz-stop',
        progress: 'viz-progress',
        onEvent: (step) => {
          state.classvizSteps++;
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
      ...r.snapshots.map((s) => make('figure', {}, canvasOf(s.image), make('figcaption', { textContent: `iteration ${s.iteration}` }))),
    );
    byId<HTMLButtonElement>('viz-png').disabled = false;
  });
  byId('viz-png').addEventListener('click', async () => {
    if (!vizShown) return;
    download(await encodePngBlob(vizShown.image), `classviz-${vizShown.target}-${vizShown.iterations}.png`);
  });
}

// ---- tape inspector ---------------------------------------------------------------------------------------------------

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 'es'}`;

/** How an op's backward is computed (its definition in src/graph/ops/), with its shapes and dispatches: a row under the op's. */
function opDocRow(row: TapeRow, timing: TapeOutput['timing'], columns: number): HTMLTableRowElement {
  const doc = row.doc;
  const times =
    timing === 'none'
      ? `${plural(row.forwardDispatches, 'dispatch')} forward, ${row.backwardDispatches} backward (no GPU times: the adapter has no timestamp-query)`
      : `${plural(row.forwardDispatches, 'dispatch')} forward (${fmtMs(row.forwardMs)}), ${row.backwardDispatches} backward (${fmtMs(row.backwardMs)}), GPU time`;
  const article = make(
    'article',
    { className: 'doc' },
    make('p', { className: 'shapes', textContent: `${row.inputShapes.join(', ')} → ${row.outputShape}` }),
    make(
      'div',
      { className: 'parts' },
      make('section', {}, make('h4', { textContent: 'Backward' }), make('p', { textContent: doc.backward })),
      make(
        'section',
        {},
        make('h4', { textContent: 'Forward' }),
        make('p', { textContent: doc.forward }),
        make('h4', { textContent: 'Kept for the backward' }),
        make('p', { textContent: doc.saves }),
      ),
    ),
    make('p', { className: 'meta', textContent: times }),
  );
  return make('tr', { className: 'detail' }, make('td', { colSpan: columns }, article));
}

/** "[1,64,55,55] +2 → [1,16,55,55]": the first input's shape (the data; weights follow it) and the output's. */
function shapesText(row: TapeRow): string {
  const shape = (named: string): string => named.slice(named.lastIndexOf('['));
  const more = row.inputShapes.length > 1 ? ` +${row.inputShapes.length - 1}` : '';
  return `${shape(row.inputShapes[0]!)}${more} → ${shape(row.outputShape)}`;
}

function setUpTape(): void {
  byId('tape-run').addEventListener('click', async () => {
    const r = await run('tape', {});
    if (!r) return;
    state.tape = r;
    const sum = (pick: (row: TapeRow) => number | null): number => r.rows.reduce((a, row) => a + (pick(row) ?? 0), 0);
    const timed = r.timing === 'timestamp-query';
    byId('tape-summary').textContent =
      `${r.rows.length} ops recorded, gradient of the score of ${classText(r.classIndex)} · ` +
      (timed
        ? `GPU time by timestamp-query (each dispatch timed in its own pass; browsers may round timestamps): forward ${fmtMs(sum((row) => row.forwardMs))}, backward ${fmtMs(sum((row) => row.backwardMs))}`
        : 'per-op times are not available: this adapter has no timestamp-query') +
      ` · wall-clock of the whole instrumented pass ${fmtMs(r.wallMs)}` +
      (r.otherDispatches ? ` · ${plural(r.otherDispatches, 'dispatch')} between ops (gradient accumulation${timed ? `, ${fmtMs(r.otherMs)}` : ''})` : '') +
      ` · ‖∂s_y/∂x‖₂ = ${fmtNum(r.inputGradNorm)}`;
    const rows = r.rows.map((row) => {
      const tr = make(
        'tr',
        { tabIndex: 0, title: 'how its backward is computed' },
        make('td', { className: 'num', textContent: String(row.index) }),
        make('td', {}, make('strong', { textContent: row.op }), ...(row.info ? [make('small', { textContent: ` ${row.info}` })] : [])),
        make('td', { className: 'shapes', textContent: shapesText(row), title: `${row.inputShapes.join(', ')} → ${row.outputShape}` }),
        make('td', { className: 'num', textContent: timed ? fmtMs(row.forwardMs) : 'n/a' }),
        make('td', { className: 'num', textContent: timed ? fmtMs(row.backwardMs) : 'n/a' }),
        make('td', { className: 'num', textContent: row.backwardOrder === null ? 'skipped' : String(row.backwardOrder + 1) }),
        make('td', { className: 'num', textContent: fmtNum(row.outputGradNorm) }),
        make('td', { className: 'num', textContent: row.inputGradNorms.filter((n) => n !== null).map(fmtNum).join(', ') || '—' }),
      );
      const select = (): void => {
        const wasOpen = tr.classList.contains('selected');
        for (const other of byId('tape-rows').querySelectorAll('tr.selected')) other.classList.remove('selected');
        byId('tape-rows').querySelector('tr.detail')?.remove();
        if (wasOpen) return; // a second click closes it
        tr.classList.add('selected');
        tr.after(opDocRow(row, r.timing, tr.children.length));
      };
      tr.addEventListener('click', select);
      tr.addEventListener('keydown', (ev) => (ev.key === 'Enter' || ev.key === ' ') && select());
      return tr;
    });
    byId('tape-rows').replaceChildren(...rows);
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
    const r = await run(
      'sanity',
      { seed: numberOf('sanity-seed'), method: byId<HTMLSelectElement>('sanity-method').value as SaliencyMethod },
      {
        stop: 'sanity-stop',
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
              canvasOf(colorize(step.map, side, side, { cmap: 'hot' })),
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

async function start(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
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
    init = await engine.call('init', { descriptionUrl: descriptionUrl(models[0]!.name) }).result;
  } catch (e) {
    if (e instanceof EngineError && e.webgpu) return showNoWebGpu(`The engine could not start WebGPU: ${e.message}`);
    showError(e);
    return;
  }
  state.init = init;
  setStatus(statusLine());
  byId('app').hidden = false;
  if (init.model) setModel(init.model);
  if (init.modelError) showError(new PixelpropError(init.modelError));
  state.ready = true;
  if (init.model) await openSample(samples.includes(DEFAULT_SAMPLE) ? DEFAULT_SAMPLE : samples[0]!);
}

setUpTabs();
setUpInputs();
setUpSaliency();
setUpFooling();
setUpClassViz();
setUpTape();
setUpSanity();
void start();

// Reloads work offline: the built site caches its own files (web/sw.ts).
if (__PIXELPROP_SERVICE_WORKER__ && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((e: Error) => console.warn(`pixelprop: no offline cache (${e.message})`));
}
