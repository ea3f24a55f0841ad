/**
 * The Attribution view: every method of the library's table (src/techniques/attribution/index.ts) on the current
 * image, a layer picker for the class activation maps, all methods side by side, the deletion / insertion curves of
 * the shown map, and downloads. The worker computes (protocol.ts `attribute`, `attributionCurves`); this file only
 * draws and asks.
 */
import { encodePngBlob, npyBlob } from '../src/image/browser-io.js';
import type { RgbImage8 } from '../src/image/image.js';
import { ATTRIBUTION_RANGES, METHODS, type MethodInfo } from '../src/techniques/attribution/index.js';
import { PATH_DEFAULTS } from '../src/techniques/attribution/paths.js';
import { CURVE_DEFAULTS } from '../src/techniques/attribution/evaluate.js';
import { SALIENCY_DEFAULTS } from '../src/techniques/saliency.js';
import { byId, canvasOf, download, fmtMs, fmtNum, make, paint, setNumber, stem } from './dom.js';
import type { NumberRange } from '../src/techniques/ranges.js';
import type { AttributionOutput, CurvesOutput, Events, ModelInfo, Op, Requests, Results } from './protocol.js';

/** What the view needs from the page (web/main.ts): its one way to run a call, and the current image. */
export interface AttributionContext {
  run<K extends Op>(
    op: K,
    request: Requests[K],
    ui?: { stop?: string; progress?: string; onEvent?: (event: Events[K]) => void },
  ): Promise<Results[K] | null>;
  /** the class field's value: an index, or null for the predicted class (throws a one-line error when invalid) */
  classOf(): number | null;
  classText(index: number): string;
  showError(e: unknown): void;
  /** the current image's name, or null */
  imageName(): string | null;
  /** a shown number field's value, checked against its range in the words of its label (web/main.ts) */
  fieldValue(id: string): number;
  /** gives number fields the ranges the library accepts */
  setRanges(fields: [string, NumberRange][]): void;
  /** for tests: every map and curve computed */
  record(kind: 'map' | 'curves', output: AttributionOutput | CurvesOutput): void;
}

const FAMILY_NOTES: Record<MethodInfo['family'], string> = {
  gradient: 'one backward pass to the pixels',
  cam: 'the gradient at a layer weighs that layer’s channels; the map is upsampled (bilinear) to the image',
  path: 'gradients averaged along a path of inputs, in chunks of the device’s largest batch',
  rule: 'the backward pass with modified rules at ReLUs (guided backprop, deconvnet) or at every layer (LRP)',
  occlusion: 'no gradient: a grey patch slides over the image, and the score’s drop is the map',
};

const MAP_NOTES: Record<MethodInfo['map'], string> = {
  'CAM ≥ 0': 'jet over the photo: blue = 0, red = its maximum',
  'max_c |g|': "'hot': black = 0, white = its maximum",
  'Σ_c a': 'blue = negative, white = 0, red = positive (symmetric about 0)',
};

/** A path method's steps by default (Integrated Gradients' quadrature points, the others' random samples). */
function defaultSteps(method: string): number | null {
  if (method === 'integrated-gradients') return PATH_DEFAULTS.igSteps;
  if (method === 'smoothgrad') return SALIENCY_DEFAULTS.samples;
  return METHODS.find((m) => m.name === method)?.family === 'path' ? PATH_DEFAULTS.samples : null;
}

/**
 * The page's limits: the library takes up to ATTRIBUTION_RANGES.steps, but in a browser tab 512 steps already mean
 * minutes on a software adapter (the memory check: chunks keep memory at one batch whatever the steps).
 */
const MAX_PAGE_STEPS = Math.min(512, ATTRIBUTION_RANGES.steps.max);
/** a point per curve per row of pixels at 224 × 224 is already finer than the eye can use */
const MAX_CURVE_STEPS = 224;

let shown: AttributionOutput | null = null;
/** the curves chart's blob: URL, revoked when the next one replaces it */
let chartUrl: string | null = null;

/** Clears what belongs to the previous image (the page calls this when the image or the model changes). */
export function resetAttribution(picture: RgbImage8 | null): void {
  shown = null;
  if (picture) paint(byId<HTMLCanvasElement>('attr-image'), picture);
  const map = byId<HTMLCanvasElement>('attr-map');
  map.getContext('2d')!.clearRect(0, 0, map.width, map.height);
  for (const id of ['attr-caption', 'attr-map-caption']) byId(id).textContent = '';
  byId('attr-chart').replaceChildren();
  byId('attr-compare').replaceChildren();
  for (const id of ['attr-png', 'attr-npy', 'attr-curves']) byId<HTMLButtonElement>(id).disabled = true;
}

/** Fills the layer picker with the model's spatial activations, the CAMs' default selected. */
export function setAttributionModel(model: ModelInfo): void {
  const layer = byId<HTMLSelectElement>('attr-layer');
  layer.replaceChildren(
    ...model.camLayers.map((l) =>
      make('option', {
        value: l.name,
        textContent: `${l.name} [${l.shape.join('×')}]${l.name === model.defaultCamLayer ? ' (default)' : ''}`,
        selected: l.name === model.defaultCamLayer,
      }),
    ),
  );
}

function caption(r: AttributionOutput, classText: (i: number) => string): string {
  const parts = [
    `${r.info.title} of ${classText(r.classIndex)}${r.classIndex === r.predicted ? ', the predicted class' : ''}`,
    ...(r.layer ? [`layer ${r.layer}`] : []),
    `values ${fmtNum(r.min)} … ${fmtNum(r.max)} (${r.info.map})`,
    ...(r.completeness
      ? [
          `completeness: Σ attributions ${fmtNum(r.completeness.attributionSum)} vs s(x) − s(x′) ${fmtNum(r.completeness.scoreDelta)}, ` +
            `relative error ${(100 * r.completeness.relError).toFixed(2)} %`,
        ]
      : []),
    fmtMs(r.ms),
  ];
  return parts.join(' · ');
}

export function setUpAttribution(ctx: AttributionContext): void {
  const method = byId<HTMLSelectElement>('attr-method');
  const families: MethodInfo['family'][] = ['gradient', 'cam', 'path', 'rule', 'occlusion'];
  const familyNames: Record<MethodInfo['family'], string> = {
    gradient: 'gradients',
    cam: 'class activation maps',
    path: 'path methods',
    rule: 'modified backward rules',
    occlusion: 'gradient-free',
  };
  method.replaceChildren(
    ...families.map((f) =>
      make('optgroup', { label: familyNames[f] }, ...METHODS.filter((m) => m.family === f).map((m) => make('option', { value: m.name, textContent: m.title }))),
    ),
  );
  method.value = 'gradcam';

  // Only the fields the chosen method reads are shown, and only those are read (a hidden field never blocks a run).
  const info = (): MethodInfo => METHODS.find((m) => m.name === method.value)!;
  const showFields = (): void => {
    const m = info();
    const steps = defaultSteps(m.name);
    byId('attr-steps').closest('label')!.hidden = steps === null;
    if (steps !== null) setNumber('attr-steps', steps);
    byId('attr-baseline').closest('label')!.hidden = m.name !== 'integrated-gradients';
    byId('attr-layer').closest('label')!.hidden = m.family !== 'cam';
    byId('attr-method-note').textContent = `${FAMILY_NOTES[m.family]}; map: ${MAP_NOTES[m.map]}`;
  };
  method.addEventListener('change', showFields);
  showFields();
  setNumber('attr-curve-steps', CURVE_DEFAULTS.steps);
  ctx.setRanges([
    ['attr-steps', { min: 1, max: MAX_PAGE_STEPS, integer: true }],
    ['attr-curve-steps', { min: 1, max: MAX_CURVE_STEPS, integer: true }],
  ]);

  const request = (name: string): Requests['attribute'] => {
    const steps = defaultSteps(name) === null ? null : ctx.fieldValue('attr-steps');
    return {
      method: name,
      layer: METHODS.find((m) => m.name === name)!.family === 'cam' ? byId<HTMLSelectElement>('attr-layer').value || null : null,
      classIndex: ctx.classOf(),
      steps,
      baseline: byId<HTMLSelectElement>('attr-baseline').value as Requests['attribute']['baseline'],
    };
  };
  const ui = {
    stop: 'attr-stop',
    progress: 'attr-progress',
    onEvent: ({ done, total }: Events['attribute']) => {
      const progress = byId<HTMLProgressElement>('attr-progress');
      progress.max = total;
      progress.value = done;
    },
  };

  byId('attr-run').addEventListener('click', async () => {
    let req: Requests['attribute'];
    try {
      req = request(method.value);
    } catch (e) {
      return ctx.showError(e);
    }
    const r = await ctx.run('attribute', req, ui);
    if (!r) return;
    shown = r;
    ctx.record('map', r);
    paint(byId<HTMLCanvasElement>('attr-map'), r.picture);
    byId('attr-map').setAttribute('aria-label', `${r.info.title} map of ${ctx.classText(r.classIndex)}`);
    byId('attr-map-caption').textContent = `${r.method} (${MAP_NOTES[r.info.map]})`;
    byId('attr-caption').textContent = caption(r, ctx.classText);
    byId('attr-chart').replaceChildren();
    for (const id of ['attr-png', 'attr-npy', 'attr-curves']) byId<HTMLButtonElement>(id).disabled = false;
  });

  // Stop ends the comparison, not only the method it is computing (run() stops the current call).
  let comparisonStopped = false;
  byId('attr-stop').addEventListener('click', () => (comparisonStopped = true));
  byId('attr-all').addEventListener('click', async () => {
    const grid = byId('attr-compare');
    grid.replaceChildren();
    comparisonStopped = false;
    let classIndex: number | null = null;
    const stepsField = defaultSteps(method.value) === null ? null : ctx.fieldValue('attr-steps');
    for (const m of METHODS) {
      let req: Requests['attribute'];
      try {
        req = request(m.name);
      } catch (e) {
        return ctx.showError(e);
      }
      // One steps field for all: the shown one when the chosen method has it, else each method's default.
      if (req.steps !== null && stepsField !== null) req.steps = stepsField;
      else if (req.steps !== null) req.steps = defaultSteps(m.name);
      const r = await ctx.run('attribute', req, ui);
      if (!r) return; // an error (a stop of a method of many passes is one) ends the comparison where it is
      ctx.record('map', r);
      classIndex = r.classIndex;
      grid.append(make('figure', {}, canvasOf(r.picture, `${r.info.title} map of ${ctx.classText(r.classIndex)}`), make('figcaption', { textContent: `${r.method} · ${fmtMs(r.ms)}` })));
      if (comparisonStopped) {
        byId('attr-caption').textContent = `comparison stopped after ${grid.childElementCount} of ${METHODS.length} methods`;
        return;
      }
    }
    if (classIndex !== null) byId('attr-caption').textContent = `all ${METHODS.length} methods, maps of ${ctx.classText(classIndex)}`;
  });

  byId('attr-curves').addEventListener('click', async () => {
    if (!shown) return;
    const r = await ctx.run('attributionCurves', { method: shown.method, map: shown.map, classIndex: shown.classIndex, steps: ctx.fieldValue('attr-curve-steps') }, { progress: 'attr-progress' });
    if (!r) return;
    ctx.record('curves', r);
    // An <img> of the SVG, not inline SVG: the page's Content-Security-Policy allows images from blob: URLs, and
    // Vega's SVG carries inline styles that the policy would refuse in the document.
    const chart = byId('attr-chart');
    if (chartUrl) URL.revokeObjectURL(chartUrl);
    chartUrl = URL.createObjectURL(new Blob([r.svg], { type: 'image/svg+xml' }));
    const title = `deletion and insertion curves of the ${r.method} map: AUC ${r.deletion.auc.toFixed(3)} and ${r.insertion.auc.toFixed(3)}`;
    chart.replaceChildren(make('img', { src: chartUrl, alt: title }));
    chart.append(
      make('p', {
        className: 'meta',
        textContent: `AUC: deletion ${r.deletion.auc.toFixed(3)} (lower is better) · insertion ${r.insertion.auc.toFixed(3)} (higher is better) · ${fmtMs(r.ms)}`,
      }),
    );
  });

  byId('attr-png').addEventListener('click', async () => {
    const name = ctx.imageName();
    if (!shown || !name) return;
    download(await encodePngBlob(shown.picture), `${stem(name)}-${shown.method}.png`);
  });
  byId('attr-npy').addEventListener('click', () => {
    const name = ctx.imageName();
    if (!shown || !name) return;
    download(npyBlob(shown.map, [shown.height, shown.width]), `${stem(name)}-${shown.method}.npy`);
  });
}
