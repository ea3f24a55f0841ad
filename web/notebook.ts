/**
 * The Notebook view: CS231n's "Network Visualization" notebook (PyTorch version, SqueezeNet 1.1) run live — saliency
 * maps of the sample photos, the fooling figure (original | fooling image | difference | difference × 10), class
 * visualizations of tarantula and the classes the notebook suggests, and its inline question answered by running
 * both ascents. Every number comes from the worker, where the library does the work (src/techniques/notebook.ts
 * holds the notebook's choices and the question's experiment); this file asks in order and draws.
 */
import samples from 'virtual:pixelprop-samples';
import { PixelpropError } from '../src/gpu/errors.js';
import { imagenetOutput } from '../src/graph/description.js';
import { colorize } from '../src/image/colormap.js';
import type { RgbImage8 } from '../src/image/image.js';
import { CLASS_VISUALIZATION_DEFAULTS, CLASS_VISUALIZATION_RANGES } from '../src/techniques/classviz.js';
import { differenceImage } from '../src/techniques/figures.js';
import { FOOL_DEFAULTS } from '../src/techniques/fool.js';
import { NOTEBOOK_CLASSES, NOTEBOOK_FOOL } from '../src/techniques/notebook.js';
import type { NumberRange } from '../src/techniques/ranges.js';
import { byId, canvasOf, fmtPct, make, paint, setNumber } from './dom.js';
import type { ClassVizOutput, Events, FoolOutput, ModelInfo, NotebookAscent, NotebookImage, NotebookSaliency, Op, Requests, Results } from './protocol.js';

/** What the view has computed, for the end-to-end test (window.__pixelprop.notebook). */
export interface NotebookState {
  saliency: NotebookSaliency[];
  fool: FoolOutput | null;
  classviz: ClassVizOutput[];
  ascent: NotebookAscent | null;
  /** "Run the notebook" presses that reached the end, and whether the last one was stopped */
  runs: number;
  stopped: boolean;
}

/** The steps of both ascents of the inline question: enough for their scores to part. */
const ASCENT_STEPS = 10;
const ASCENT_RANGE: NumberRange = { min: 1, max: 1000, integer: true };

export interface NotebookContext {
  run<K extends Op>(
    op: K,
    request: Requests[K],
    ui?: { stop?: string; progress?: string; status?: string; onEvent?: (event: Events[K]) => void },
  ): Promise<Results[K] | null>;
  classText(index: number): string;
  /** the loaded model: the notebook's classes are ImageNet's, one further on where output 0 is a background class */
  model(): ModelInfo | null;
  showError(e: unknown): string;
  fieldValue(id: string): number;
  setRanges(fields: [string, NumberRange][]): void;
  setProgress(id: string, done: number, total: number): void;
}

async function fetchSample(name: string): Promise<NotebookImage> {
  const url = new URL(`samples/${name}`, document.baseURI).href;
  const response = await fetch(url).catch((e: Error) => {
    throw new PixelpropError(`cannot fetch the sample ${url}: ${e.message}`);
  });
  if (!response.ok) throw new PixelpropError(`cannot fetch the sample ${url}: HTTP ${response.status}`);
  return { blob: await response.blob(), name };
}

const figure = (image: RgbImage8, label: string, caption: string): HTMLElement =>
  make('figure', {}, canvasOf(image, label), make('figcaption', { textContent: caption }));

export function setUpNotebook(ctx: NotebookContext): NotebookState {
  const state: NotebookState = { saliency: [], fool: null, classviz: [], ascent: null, runs: 0, stopped: false };
  ctx.setRanges([
    ['nb-iters', CLASS_VISUALIZATION_RANGES.iterations],
    ['nb-ascent-steps', ASCENT_RANGE],
  ]);
  setNumber('nb-iters', CLASS_VISUALIZATION_DEFAULTS.iterations);
  setNumber('nb-ascent-steps', ASCENT_STEPS);
  const status = byId('nb-status');
  const output = (imagenetClass: number): number => imagenetOutput({ background: ctx.model()?.background ?? false }, imagenetClass);
  const ui = { stop: 'nb-stop', progress: 'nb-progress', status: 'nb-status' };

  async function saliencyFigure(): Promise<boolean> {
    const images = await Promise.all(samples.map(fetchSample));
    status.textContent = `Saliency maps of ${images.length} photos…`;
    const r = await ctx.run('notebookSaliency', { images }, { ...ui, onEvent: (e) => ctx.setProgress('nb-progress', e.done, e.total) });
    if (!r) return false;
    state.saliency = r.items;
    byId('nb-saliency').replaceChildren(
      ...r.items.map((s) => {
        const caption = `${s.name}: ${ctx.classText(s.classIndex)}, p ${fmtPct(s.prob)}`;
        return make(
          'figure',
          {},
          canvasOf(s.picture, s.name),
          canvasOf(colorize(s.map, s.width, s.height, { cmap: 'hot' }), `saliency map of ${s.name} for ${ctx.classText(s.classIndex)}`),
          make('figcaption', { textContent: caption }),
        );
      }),
    );
    return !r.stopped;
  }

  async function foolingFigure(): Promise<boolean> {
    const photo = await fetchSample(NOTEBOOK_FOOL.sample);
    const target = output(NOTEBOOK_FOOL.target);
    const box = byId('nb-fool');
    box.replaceChildren();
    const live = make('canvas', { className: 'pic' });
    box.append(live);
    status.textContent = `Fooling ${photo.name} into ${ctx.classText(target)}…`;
    const r = await ctx.run(
      'notebookFool',
      { ...photo, target, maxIters: FOOL_DEFAULTS.maxIters },
      {
        ...ui,
        onEvent: (step) => {
          paint(live, step.image);
          ctx.setProgress('nb-progress', step.iteration, step.maxIters);
          status.textContent = `Fooling ${photo.name} into ${ctx.classText(target)}: iteration ${step.iteration}, p(target) ${fmtPct(step.targetProb)}`;
        },
      },
    );
    if (!r) return false;
    state.fool = r;
    box.replaceChildren(
      figure(r.original, `${photo.name}, the original`, `original: ${ctx.classText(r.originalClass)}`),
      figure(r.image, `the fooling image, classified as ${ctx.classText(r.finalClass)}`, `fooling image: ${ctx.classText(r.finalClass)}`),
      figure(differenceImage(r.original, r.image, 1), 'the difference', 'difference'),
      figure(differenceImage(r.original, r.image, 10), 'the difference magnified ten times', 'magnified difference (× 10)'),
    );
    byId('nb-fool-caption').textContent =
      `${r.fooled ? 'Fooled' : r.stopped ? 'Stopped' : 'Not fooled'} after ${r.iterations} iterations (lr ${FOOL_DEFAULTS.lr}, at most ${FOOL_DEFAULTS.maxIters}): ` +
      `the saved 8-bit image is ${ctx.classText(r.finalClass)}, p(${ctx.classText(target)}) ${fmtPct(r.targetProb)}; ` +
      `change L∞ ${r.linf}/255, L2 ${r.l2.toFixed(1)} (0–255 units).`;
    return !r.stopped;
  }

  async function classVizFigure(iterations: number): Promise<boolean> {
    const box = byId('nb-classviz');
    box.replaceChildren();
    state.classviz = [];
    const settings = { ...CLASS_VISUALIZATION_DEFAULTS, iterations };
    for (const target of NOTEBOOK_CLASSES.map(output)) {
      const live = make('canvas', { className: 'pic' });
      const caption = make('figcaption', { textContent: `${ctx.classText(target)}…` });
      box.append(make('figure', {}, live, caption));
      const r = await ctx.run(
        'classviz',
        { target, settings, snapshots: 1 },
        {
          ...ui,
          onEvent: (step) => {
            paint(live, step.image);
            ctx.setProgress('nb-progress', step.iteration, step.iterations);
            status.textContent = `Class visualization of ${ctx.classText(target)}: iteration ${step.iteration} / ${step.iterations}`;
          },
        },
      );
      if (!r) return false;
      state.classviz.push(r);
      paint(live, r.image);
      live.setAttribute('role', 'img');
      live.setAttribute('aria-label', `class visualization of ${ctx.classText(target)}`);
      caption.textContent = `${ctx.classText(target)}: p ${fmtPct(r.finalProb)}, score ${r.startScore.toFixed(1)} → ${r.finalScore.toFixed(1)}, ${r.iterations} iterations`;
      if (r.stopped) return false;
    }
    return true;
  }

  async function ascentFigure(steps: number): Promise<boolean> {
    const photo = await fetchSample(NOTEBOOK_FOOL.sample);
    status.textContent = `Inline question: ${steps} ascent steps along the gradient, then along the saliency map…`;
    const r = await ctx.run('notebookAscent', { ...photo, steps }, { ...ui, onEvent: (e) => ctx.setProgress('nb-progress', e.done, e.total) });
    if (!r) return false;
    state.ascent = r;
    const words = { gradient: 'the gradient', saliency: 'the saliency map' } as const;
    const gains = r.runs.map((run) => run.scores.at(-1)! - run.scores[0]!);
    byId('nb-ascent').replaceChildren(
      figure(r.original, `${r.name}, the start`, `start: s = ${r.runs[0]?.scores[0]?.toFixed(2) ?? '—'}`),
      ...r.runs.map((run) =>
        figure(
          run.image,
          `after ${steps} steps along ${words[run.direction]}`,
          `along ${words[run.direction]}: s = ${run.scores.at(-1)!.toFixed(2)}, p ${fmtPct(run.finalProb)}, predicts ${ctx.classText(run.finalClass)}`,
        ),
      ),
    );
    const [byGradient, bySaliency] = gains as [number, number | undefined];
    byId('nb-ascent-caption').textContent =
      bySaliency === undefined
        ? 'Stopped before the ascent along the saliency map.'
        : `${steps} steps of length ${FOOL_DEFAULTS.lr} from ${r.name}, raising the score of ${ctx.classText(r.classIndex)}: along the gradient it rose by ` +
          `${byGradient.toFixed(2)}, along the saliency map by ${bySaliency.toFixed(2)}. ` +
          (byGradient > bySaliency
            ? 'So no: the saliency map is |∂s/∂x| (the largest over the channels) — it keeps how much each pixel matters but drops the sign, ' +
              'so every step brightens pixels whose darkening would have raised the score too, and it gives all three channels the same push. ' +
              'It is not the direction of steepest ascent; the gradient is.'
            : 'Here the saliency map did as well as the gradient — run it on another photo: its steps only ever brighten pixels, whatever the sign of their effect.');
    return !r.stopped;
  }

  byId('nb-run').addEventListener('click', async () => {
    let iterations: number;
    let steps: number;
    try {
      iterations = ctx.fieldValue('nb-iters');
      steps = ctx.fieldValue('nb-ascent-steps');
    } catch (e) {
      return void ctx.showError(e);
    }
    try {
      const finished = (await saliencyFigure()) && (await foolingFigure()) && (await classVizFigure(iterations)) && (await ascentFigure(steps));
      state.stopped = !finished;
      state.runs++;
      status.textContent = finished ? 'Done: every figure of the notebook, computed in this page.' : 'Stopped (or failed: see above); the figures so far stay.';
    } catch (e) {
      status.textContent = `failed: ${ctx.showError(e)}`;
    }
  });
  return state;
}
