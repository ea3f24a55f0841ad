/**
 * A model is more than its graph: what a pixel must become before the network sees it, which file names its classes,
 * whether its class 0 is a "background" class before ImageNet's 1000. A model description says so, as a small JSON
 * file beside the ONNX file (`npm run weights` writes one for each known model, scripts/models.mjs; people write one
 * for theirs):
 *
 *   {
 *     "name": "mobilenetv2",                      a name: letters, digits, '.', '_', '-'
 *     "title": "MobileNetV2 1.0/224",             optional: how the page's picker shows it
 *     "onnx": "mobilenetv2-1.0-224.onnx",         the model file, relative to the description's folder
 *     "labels": "mobilenetv2-labels-1001.txt",    optional: class names, one a line, in output order
 *     "background": true,                         optional (default false): output 0 is "background", ImageNet class i is output i + 1
 *     "inputSize": 224,                           optional: the side of the square input (checked against the model's)
 *     "resize": 224,                              optional: the shorter side is resized to this, then center-cropped to inputSize
 *     "preprocessing": { "scale": 2, "offset": -1 }    x = p·scale + offset for pixels p in [0, 1]
 *                   or { "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] }   x = (p − mean) / std
 *   }
 *
 * scale, offset, mean and std are each one number (every channel) or three (R, G, B). Any other field, a missing one,
 * or a value of the wrong kind is refused with one line naming the file and the field. From the preprocessing follows
 * the box of valid inputs in model space (inputRange, src/image/preprocess.ts), which the techniques keep images in.
 *
 * Pure: the page parses descriptions too.
 */
import { PixelpropError } from '../gpu/errors.js';
import { IMAGENET_NORMALIZATION, MAX_INPUT_SIDE, inputRange, type Normalization, type PreprocessOptions } from '../image/preprocess.js';
import { closest } from '../util/suggest.js';
import type { Labels } from './labels.js';

export interface ModelDescription {
  name: string;
  title: string;
  /** the ONNX file, as written (relative to the description's folder) */
  onnx: string;
  /** the class names file, as written, or null */
  labels: string | null;
  /** output 0 is a background class: ImageNet's class i is output i + 1 */
  background: boolean;
  inputSize: number | null;
  /** the shorter side before the center crop (null: the input size, nothing cut off but the longer side's excess) */
  resize: number | null;
  normalization: Normalization;
  /** the preprocessing as the description wrote it, for `pixelprop info` */
  preprocessingText: string;
}

/** Longer than any description needs; checked before a file is read. */
export const MAX_DESCRIPTION_BYTES = 64 * 1024;

const FIELDS = ['name', 'title', 'onnx', 'labels', 'background', 'inputSize', 'resize', 'preprocessing'] as const;
const REQUIRED = ['name', 'onnx', 'preprocessing'] as const;

type Triple = readonly [number, number, number];

/** A number or three, each finite (and positive where asked), as a triple. */
function triple(value: unknown, what: string, fail: (msg: string) => never, positive = false): Triple {
  const values = typeof value === 'number' ? [value, value, value] : value;
  if (!Array.isArray(values) || values.length !== 3 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    fail(`${what} must be a finite number or an array of 3 (R, G, B), got ${JSON.stringify(value)}`);
  }
  if (positive && !values.every((v: number) => v > 0)) fail(`${what} must be positive, got ${JSON.stringify(value)}`);
  return values as unknown as Triple;
}

const fmtTriple = (t: Triple): string => (t[0] === t[1] && t[1] === t[2] ? String(t[0]) : `[${t.join(', ')}]`);

function normalizationOf(value: unknown, fail: (msg: string) => never): { normalization: Normalization; text: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`"preprocessing" must be an object, {"mean", "std"} or {"scale", "offset"}, got ${JSON.stringify(value)}`);
  }
  const keys = Object.keys(value).sort().join(',');
  const v = value as Record<string, unknown>;
  if (keys === 'mean,std') {
    const mean = triple(v.mean, '"preprocessing.mean"', fail);
    const std = triple(v.std, '"preprocessing.std"', fail, true);
    return { normalization: { mean, std }, text: `x = (p - mean) / std, mean ${fmtTriple(mean)}, std ${fmtTriple(std)}` };
  }
  if (keys === 'offset,scale') {
    const scale = triple(v.scale, '"preprocessing.scale"', fail, true);
    const offset = triple(v.offset, '"preprocessing.offset"', fail);
    // p·s + o = (p − (−o/s)) / (1/s)
    const mean = [0, 1, 2].map((c) => -offset[c]! / scale[c]!) as unknown as Triple;
    const std = [0, 1, 2].map((c) => 1 / scale[c]!) as unknown as Triple;
    return { normalization: { mean, std }, text: `x = p * scale + offset, scale ${fmtTriple(scale)}, offset ${fmtTriple(offset)}` };
  }
  return fail(`"preprocessing" must have exactly "mean" and "std", or exactly "scale" and "offset"; it has ${keys ? keys.split(',').map((k) => `"${k}"`).join(', ') : 'none'}`);
}

function side(value: unknown, what: string, fail: (msg: string) => never): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_INPUT_SIDE) {
    fail(`${what} must be a whole number from 1 to ${MAX_INPUT_SIDE}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A description from its JSON text; `where` (the file) starts each error's line. */
export function parseDescription(text: string, where: string): ModelDescription {
  const fail = (msg: string): never => {
    throw new PixelpropError(`model description ${where}: ${msg}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('must be a JSON object');
  const o = json as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      fail(`unknown field "${key}" (did you mean "${closest(key, [...FIELDS], 1)[0]}"? fields: ${FIELDS.join(', ')})`);
    }
  }
  for (const key of REQUIRED) if (o[key] === undefined) fail(`the field "${key}" is missing`);
  const str = (key: string, optional: boolean): string | null => {
    const v = o[key];
    if (v === undefined || (optional && v === null)) return null;
    if (typeof v !== 'string' || v.trim() === '') fail(`"${key}" must be a non-empty string, got ${JSON.stringify(v)}`);
    return v as string;
  };
  const name = str('name', false)!;
  if (!/^[A-Za-z0-9._-]+$/.test(name)) fail(`"name" may hold only letters, digits, '.', '_' and '-', got ${JSON.stringify(name)}`);
  if (o.background !== undefined && typeof o.background !== 'boolean') fail(`"background" must be true or false, got ${JSON.stringify(o.background)}`);
  const inputSize = o.inputSize === undefined ? null : side(o.inputSize, '"inputSize"', fail);
  const resize = o.resize === undefined ? null : side(o.resize, '"resize"', fail);
  if (resize !== null && inputSize !== null && resize < inputSize) fail(`"resize" ${resize} is smaller than "inputSize" ${inputSize}: the crop would not fit`);
  const { normalization, text: preprocessingText } = normalizationOf(o.preprocessing, fail);
  return {
    name,
    title: str('title', true) ?? name,
    onnx: str('onnx', false)!,
    labels: str('labels', true),
    background: o.background === true,
    inputSize,
    resize,
    normalization,
    preprocessingText,
  };
}

/** What applies to a model given without a description: ImageNet's mean/std, synset.txt beside it if there is one. */
export function defaultDescription(onnx: string, labels: string | null): ModelDescription {
  const { mean, std } = IMAGENET_NORMALIZATION;
  return {
    name: onnx.replace(/^.*[\\/]/, '').replace(/\.onnx$/i, ''),
    title: onnx,
    onnx,
    labels,
    background: false,
    inputSize: null,
    resize: null,
    normalization: IMAGENET_NORMALIZATION,
    preprocessingText: `x = (p - mean) / std, mean ${fmtTriple(mean)}, std ${fmtTriple(std)} (ImageNet's: the default for a model without a description)`,
  };
}

/** The description with --mean/--std given on the command line (or the page) replacing its own. */
export function withNormalization(d: ModelDescription, mean: Triple | null, std: Triple | null): ModelDescription {
  if (mean === null && std === null) return d;
  const normalization = { mean: mean ?? d.normalization.mean, std: std ?? d.normalization.std };
  if (!normalization.std.every((s) => s > 0)) throw new PixelpropError(`std ${fmtTriple(normalization.std)} must be positive`);
  return {
    ...d,
    normalization,
    preprocessingText: `x = (p - mean) / std, mean ${fmtTriple(normalization.mean)}, std ${fmtTriple(normalization.std)} (given)`,
  };
}

/** "x = …; inputs in [lo, hi] per channel": the preprocessing and the box of valid inputs that follows from it. */
export function describePreprocessing(d: ModelDescription): string {
  const { lo, hi } = inputRange(d.normalization);
  const fmt = (v: number) => Number(v.toPrecision(4));
  const boxes = [0, 1, 2].map((c) => `[${fmt(lo[c]!)}, ${fmt(hi[c]!)}]`);
  const box = boxes.every((b) => b === boxes[0]) ? `${boxes[0]} in every channel` : `${boxes.join(' ')} (R G B)`;
  return `${d.preprocessingText}; p in [0, 1], so inputs in ${box}`;
}

/** How an image becomes the input of a model described by `d` whose input side is `size`. */
export function imagePreprocessing(d: ModelDescription, size: number): Required<PreprocessOptions> {
  return { size, resize: Math.max(size, d.resize ?? size), normalization: d.normalization };
}

/**
 * A loaded model against its description: the input side it declares (when it declares one), and class names one per
 * score (1000 names on a 1001-class model would name every class wrongly). `labelsWhere` names the class names' file.
 */
export function checkDescribedModel(
  d: ModelDescription,
  model: { size: number; numClasses: number },
  labels: Labels | null,
  where: { description: string; labels: string },
): void {
  if (d.inputSize !== null && d.inputSize !== model.size) {
    throw new PixelpropError(`model description ${where.description} says the input is ${d.inputSize}×${d.inputSize}, but the model takes ${model.size}×${model.size}`);
  }
  if (labels && labels.names.length !== model.numClasses) {
    throw new PixelpropError(`class names ${where.labels}: ${labels.names.length} names for a model with ${model.numClasses} classes`);
  }
}

/** The model's output index of ImageNet's class `imagenetClass` (0..999): one more where output 0 is background. */
export function imagenetOutput(d: Pick<ModelDescription, 'background'>, imagenetClass: number): number {
  return imagenetClass + (d.background ? 1 : 0);
}
