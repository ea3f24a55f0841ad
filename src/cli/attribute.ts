/**
 * `pixelprop attribute IMAGE... --method M|all`: any attribution method of src/techniques/attribution for each image,
 * drawn over or beside the photo as the method's values call for (attribution/figures.ts), optionally as .npy arrays.
 *
 * Also what `evaluate` shares with it: the options that set a method up (their parsing and checks, their usage text)
 * and the maps of a list of images computed in chunks. Everything a user can get wrong is checked before the output
 * folder is created: options, image files, classes, the CAM layer (once the model is open, before any map is computed).
 */
import { PixelpropError, className, type RgbImage } from '../index.js';
import { encodePng, readImage } from '../image/node-io.js';
import { encodeNpy } from '../image/npy.js';
import { SALIENCY_DEFAULTS } from '../techniques/saliency.js';
import { fmtRange } from '../techniques/ranges.js';
import {
  ATTRIBUTION_RANGES,
  CAM_METHODS,
  METHODS,
  METHOD_NAMES,
  attribute,
  methodNamed,
  resolveCamLayer,
  type AttributionOptions,
} from '../techniques/attribution/index.js';
import { comparisonFigure } from '../techniques/attribution/figures.js';
import { BASELINES, PATH_DEFAULTS, type BaselineKind } from '../techniques/attribution/paths.js';
import { OCCLUSION_DEFAULTS } from '../techniques/attribution/occlusion.js';
import { closest } from '../util/suggest.js';
import { flag, num, parse, str, type Options, type Parsed } from './args.js';
import { inputRange } from '../image/preprocess.js';
import { MODEL_OPTIONS, MODEL_SYNOPSIS, modelChoice, modelUsage, openSession, type Session } from './common.js';
import { OutputFolder } from './output.js';
import { classLabel, classOf, imageBatch } from './figures.js';
import type { Command } from './main.js';
import { Progress } from './progress.js';
import type { Tensor } from '../gpu/tensor.js';
import type { RgbImage8 } from '../image/image.js';

// ---- what `attribute` and `evaluate` share ------------------------------------------------------------------------

/** The options that set a method up, as parseArgs reads them. */
export const METHOD_OPTIONS: Options = {
  layer: { type: 'string' },
  baseline: { type: 'string' },
  steps: { type: 'string' },
  samples: { type: 'string' },
  noise: { type: 'string' },
  seed: { type: 'string' },
  patch: { type: 'string' },
  stride: { type: 'string' },
};

const R = ATTRIBUTION_RANGES;

/** Their usage text, with defaults and ranges. */
export const METHOD_USAGE = `  --layer L       CAM methods: the layer, an ONNX value name with spatial extent (default: the last one before
                  global pooling; 'pixelprop info' lists them)
  --baseline B    integrated-gradients: ${BASELINES.join(', ')} (default ${PATH_DEFAULTS.baseline}; blur: the image blurred with σ ${PATH_DEFAULTS.blurSigma} pixels,
                  noise: uniform noise)
  --steps N       integrated-gradients: points on the path, in ${fmtRange(R.steps)} (default ${PATH_DEFAULTS.igSteps}); run ${PATH_DEFAULTS.batch} per pass
  --samples N     smoothgrad, expected-gradients, smoothgrad-squared, vargrad: random draws per image, in
                  ${fmtRange(R.samples)} (default ${SALIENCY_DEFAULTS.samples} for smoothgrad, ${PATH_DEFAULTS.samples} for the others)
  --noise S       smoothgrad, smoothgrad-squared, vargrad: noise σ as a fraction of the image's value range, in
                  ${fmtRange(R.noise)} (default ${PATH_DEFAULTS.noise})
  --seed S        the seed of every random draw, in ${fmtRange(R.seed)} (default ${PATH_DEFAULTS.seed})
  --patch P       occlusion: the patch's side in pixels, in ${fmtRange(R.patch)} and at most the image's (default ${OCCLUSION_DEFAULTS.patch})
  --stride S      occlusion: pixels between patches, in ${fmtRange(R.stride)} (default ${OCCLUSION_DEFAULTS.stride})`;

/** The method settings as given (undefined: the method's own default), checked. */
export interface MethodSettings {
  layer?: string;
  baseline?: BaselineKind;
  steps?: number;
  samples?: number;
  noise?: number;
  seed?: number;
  patch?: number;
  stride?: number;
}

export function methodSettings(values: Parsed['values']): MethodSettings {
  const settings: MethodSettings = {};
  const layer = str(values, 'layer');
  if (layer !== undefined) settings.layer = layer;
  const baseline = str(values, 'baseline');
  if (baseline !== undefined) {
    if (!BASELINES.includes(baseline as BaselineKind)) {
      throw new PixelpropError(`unknown baseline '${baseline}'; closest: ${closest(baseline, BASELINES).join(', ')} (baselines: ${BASELINES.join(', ')})`);
    }
    settings.baseline = baseline as BaselineKind;
  }
  for (const key of ['steps', 'samples', 'noise', 'seed', 'patch', 'stride'] as const) {
    if (values[key] !== undefined) settings[key] = num(values, key, NaN, R[key]);
  }
  return settings;
}

/** Refuses --layer when none of `methods` reads a layer (it would be ignored). */
export function checkLayerUse(settings: MethodSettings, methods: readonly string[]): void {
  if (settings.layer !== undefined && !methods.some((m) => methodNamed(m).family === 'cam')) {
    throw new PixelpropError(`--layer is for the CAM methods (${CAM_METHODS.join(', ')}), not ${methods.join(', ')}`);
  }
}

/** The library's options for `method`: --steps counts Integrated Gradients' path points, --samples the other draws. */
export function optionsFor(method: string, s: MethodSettings): AttributionOptions {
  const draws = method === 'integrated-gradients' ? s.steps : s.samples;
  return {
    ...(s.layer !== undefined && { layer: s.layer }),
    ...(s.baseline !== undefined && { baseline: s.baseline }),
    ...(draws !== undefined && { steps: draws }),
    ...(s.samples !== undefined && { samples: s.samples }),
    ...(s.noise !== undefined && { noise: s.noise }),
    ...(s.seed !== undefined && { seed: s.seed }),
    ...(s.patch !== undefined && { patch: s.patch }),
    ...(s.stride !== undefined && { stride: s.stride }),
  };
}

/** --method/--methods: names checked (closest names suggested), 'all' for every method. */
export function methodList(spec: string): string[] {
  if (spec === 'all') return [...METHOD_NAMES];
  const names = spec.split(',').map((m) => m.trim());
  for (const m of names) methodNamed(m);
  return [...new Set(names)];
}

/** One image's map from one method. */
export interface ImageMap {
  /** [H, W] */
  map: Float32Array;
  class: number;
  predicted: number;
  layer?: string;
  completeness?: { attributionSum: number; scoreDelta: number; relError: number };
}

/** Images per forward/backward pass for the one-pass methods (the path methods and occlusion chunk on their own). */
export const CHUNK = 8;

/**
 * Runs `visit` on consecutive chunks of `images` ([count, 3, size, size] each, freed after), with the chunk's
 * pictures as the network sees them.
 */
export async function forChunks(
  session: Session,
  images: readonly RgbImage[],
  chunk: number,
  visit: (x: Tensor, start: number, pictures: RgbImage8[]) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < images.length; start += chunk) {
    const { x, pictures } = imageBatch(session, images.slice(start, start + chunk));
    try {
      await visit(x, start, pictures);
    } finally {
      x.dispose();
    }
  }
}

/** `method`'s maps of the images of x, one per image. */
export async function mapsOf(
  session: Session,
  x: Tensor,
  method: string,
  classes: readonly number[] | undefined,
  settings: MethodSettings,
  onProgress?: (done: number, total: number) => void,
): Promise<ImageMap[]> {
  const r = await attribute(session.model, x, method, classes, {
    ...optionsFor(method, settings),
    // black and white in the model's own input space: the baselines and the noise of the path methods
    pixelRange: inputRange(session.preprocessing.normalization),
    ...(onProgress && { onProgress }),
  });
  const [n, h, w] = r.shape;
  return Array.from({ length: n }, (_, i) => ({
    map: r.map.slice(i * h * w, (i + 1) * h * w),
    class: r.classes[i]!,
    predicted: r.predicted[i]!,
    ...(r.layer !== undefined && { layer: r.layer }),
    ...(r.completeness && {
      completeness: {
        attributionSum: r.completeness.attributionSum[i]!,
        scoreDelta: r.completeness.scoreDelta[i]!,
        relError: r.completeness.relError[i]!,
      },
    }),
  }));
}

/** The classes of --class (once for all images, or once per image), checked against the model; undefined: predicted. */
export function classesOf(session: Session, specs: readonly string[], count: number): number[] | undefined {
  const resolved = specs.map((c) => classOf(session, c));
  return resolved.length === 0 ? undefined : resolved.length === 1 ? new Array<number>(count).fill(resolved[0]!) : resolved;
}

export function checkClassCount(specs: readonly string[], files: readonly string[]): void {
  if (specs.length > 1 && specs.length !== files.length) {
    throw new PixelpropError(`--class given ${specs.length} times for ${files.length} images: give it once, or once per image`);
  }
}

// ---- attribute ----------------------------------------------------------------------------------------------------

const USAGE = `pixelprop attribute IMAGE... --method M|all [--class C]... [--layer L] [--baseline B] [--steps N] [--samples N]
                   [--noise S] [--seed S] [--patch P] [--stride S] [--out DIR] [--npy] [--json]
                   ${MODEL_SYNOPSIS}

  Attribution maps of the images by any method: which pixels (or, for CAMs, which regions of a layer) the class
  score rests on. Writes DIR/attribution-M.png: each image beside its map — CAMs in jet over the photo, magnitudes
  (max_c |g|) in hot, signed contributions (which sum to a score difference) in bwr with 0 white.

  --method M      one of ${METHOD_NAMES.join(', ')};
                  or 'all': every method, one figure DIR/attribution-all.png (rows = images, columns = methods)
  --class C       the class of the maps: an index or a name; once for all images, or once per image
                  (default: the class the network predicts for each image)
${METHOD_USAGE}
  --out DIR       output folder, created if needed (default: the current folder); files there are replaced
  --npy           also write DIR/attribution-M.npy [N,H,W] per method (float32, np.load reads them)
  --json          print one object per image and method: {file, method, class, className, layer, output, npy, min,
                  max}, and for integrated-gradients and LRP completeness: {attributionSum, scoreDelta, relError}
                  (Σ attributions against s(x) − s(baseline); LRP: Σ relevance against s(x))
${modelUsage(18)}

  example: pixelprop attribute cat.jpg --method integrated-gradients --baseline blur --out maps --npy`;

export interface AttributionSummary {
  file: string;
  method: string;
  class: number;
  className: string;
  layer: string | null;
  output: string;
  npy: string | null;
  min: number;
  max: number;
  completeness?: { attributionSum: number; scoreDelta: number; relError: number };
}

function range(map: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of map) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min, max };
}

/**
 * "completeness: Σ attributions 12.34 against s(x) − s(x′) 12.40: relative error 0.48%". Integrated Gradients' sum
 * approximates a score difference (from its baseline x′); LRP's relevance is conserved from the score itself, less
 * what biases and ε absorb.
 */
export function completenessText(method: string, c: NonNullable<ImageMap['completeness']>): string {
  const what = methodNamed(method).family === 'rule' ? 'Σ relevance' : 'Σ attributions';
  const target = methodNamed(method).family === 'rule' ? 's(x)' : 's(x) − s(x′)';
  const text = `completeness: ${what} ${c.attributionSum.toPrecision(5)} against ${target} ${c.scoreDelta.toPrecision(5)}: relative error ${(100 * c.relError).toFixed(2)}%`;
  // A path method's error is the quadrature's, and more points shrink it; LRP's is what biases and ε absorb, by design.
  return methodNamed(method).family === 'path' && c.relError > COMPLETENESS_HINT_ABOVE
    ? `${text} (above ${100 * COMPLETENESS_HINT_ABOVE}%: on a ReLU network the gradient along the path jumps wherever a unit switches, so the sum converges slowly; more --steps bring it down)`
    : text;
}

/** the completeness error above which a path method's summary suggests more steps */
const COMPLETENESS_HINT_ABOVE = 0.01;

async function run(argv: string[]): Promise<number> {
  const { values, positionals: files } = parse('attribute', argv, {
    method: { type: 'string' },
    class: { type: 'string', multiple: true },
    ...METHOD_OPTIONS,
    out: { type: 'string' },
    npy: { type: 'boolean' },
    json: { type: 'boolean' },
    ...MODEL_OPTIONS,
  });
  const spec = str(values, 'method');
  if (spec === undefined) throw new PixelpropError(`attribute: --method is required (one of ${METHOD_NAMES.join(', ')}, or all)`);
  if (spec !== 'all') methodNamed(spec); // one name: a comma list is for evaluate's --methods
  const methods = methodList(spec);
  const settings = methodSettings(values);
  checkLayerUse(settings, methods);
  const classSpecs = (values.class as string[] | undefined) ?? [];
  if (files.length === 0) throw new PixelpropError("attribute: no image given (see 'pixelprop attribute --help')");
  checkClassCount(classSpecs, files);
  const out = OutputFolder.prepare(str(values, 'out') ?? '.');
  const images: RgbImage[] = [];
  for (const f of files) images.push(await readImage(f));

  const progress = new Progress('attribute');
  const session = await openSession(modelChoice(values));
  try {
    const classes = classesOf(session, classSpecs, files.length);
    // --layer checked against the model before any map is computed.
    if (methods.some((m) => methodNamed(m).family === 'cam')) resolveCamLayer(session.model, settings.layer);
    const maps = new Map<string, ImageMap[]>(methods.map((m) => [m, []]));
    const pictures: RgbImage8[] = [];
    await forChunks(session, images, CHUNK, async (x, start, seen) => {
      pictures.push(...seen);
      for (const method of methods) {
        const label = `${method}: images ${start + 1}-${start + seen.length} of ${files.length}`;
        progress.update(label, true);
        const onProgress = (done: number, total: number): void => progress.update(`${label}, ${done}/${total}`);
        maps.get(method)!.push(...(await mapsOf(session, x, method, classes?.slice(start, start + CHUNK), settings, onProgress)));
      }
    });
    progress.done();

    const size = session.model.imageSize();
    const rowsFor = (shown: readonly string[]) =>
      pictures.map((photo, i) => ({
        photo,
        caption: className(session.labels, maps.get(shown[0]!)![i]!.class),
        maps: shown.map((method) => ({ method, map: maps.get(method)![i]!.map })),
      }));
    const figures = new Map<string, string>();
    if (spec === 'all') {
      const output = out.add('attribution-all.png', encodePng(comparisonFigure(rowsFor(methods))));
      for (const m of methods) figures.set(m, output);
    } else {
      const info = METHODS.find((m) => m.name === spec)!;
      const layer = maps.get(spec)![0]!.layer;
      const title = `${info.title}${layer !== undefined ? ` at ${layer}` : ''}`;
      figures.set(spec, out.add(`attribution-${spec}.png`, encodePng(comparisonFigure(rowsFor([spec]), title))));
    }
    const npy = new Map<string, string>();
    if (flag(values, 'npy')) {
      for (const m of methods) {
        const all = new Float32Array(files.length * size * size);
        maps.get(m)!.forEach((r, i) => all.set(r.map, i * size * size));
        npy.set(m, out.add(`attribution-${m}.npy`, encodeNpy(all, [files.length, size, size])));
      }
    }
    const summaries: AttributionSummary[] = methods.flatMap((method) =>
      maps.get(method)!.map((r, i) => ({
        file: files[i]!,
        method,
        class: r.class,
        className: className(session.labels, r.class),
        layer: r.layer ?? null,
        output: figures.get(method)!,
        npy: npy.get(method) ?? null,
        ...range(r.map),
        ...(r.completeness && { completeness: r.completeness }),
      })),
    );
    out.commit();
    if (flag(values, 'json')) {
      console.log(JSON.stringify(summaries, null, 2));
    } else {
      for (const s of summaries) {
        const at = s.layer !== null ? ` at ${s.layer}` : '';
        console.log(`${s.file}: ${s.method} of ${classLabel(session.labels, s.class)}${at}, map in [${s.min.toPrecision(3)}, ${s.max.toPrecision(3)}]`);
        if (s.completeness) console.log(`  ${completenessText(s.method, s.completeness)}`);
      }
      console.log(`wrote ${[...new Set(figures.values()), ...npy.values()].join(', ')}`);
    }
    return 0;
  } finally {
    progress.done();
    session.close();
  }
}

export const command: Command = {
  name: 'attribute',
  summary: 'attribution maps by any method (CAMs, Integrated Gradients, LRP, occlusion, ...) or all side by side',
  usage: USAGE,
  run,
};
