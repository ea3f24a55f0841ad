/**
 * What the commands share: choosing a model (--model, --weights, --mean, --std, --labels: one options fragment, one
 * usage text, one resolver), finding its files (fetching a known model's when missing) and its description, opening
 * a device and the model, reading images into a batch as the model expects them. Results are written through output.ts, once everything has been checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDevice, type Gpu } from '../gpu/device.js';
import { PixelpropError, check } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { MAX_DESCRIPTION_BYTES, checkDescribedModel, defaultDescription, imagePreprocessing, parseDescription, withNormalization, type ModelDescription } from '../graph/description.js';
import { parseSynset, type Labels } from '../graph/labels.js';
import { Model, type Precision } from '../graph/model.js';
import { CONV_PRECISIONS } from '../kernels/conv2d-tiled.js';
import type { RgbImage } from '../image/image.js';
import { readFileLimited, readImage } from '../image/node-io.js';
import { checkImageModel } from '../techniques/model-input.js';
import { INPUT_SIZE, preprocess, type PreprocessOptions } from '../image/preprocess.js';
import { closest } from '../util/suggest.js';
import { str, type Options, type Parsed } from './args.js';

/** The folder holding package.json: two levels above src/cli, three above dist/src/cli. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'pixelprop') return dir;
    dir = dirname(dir);
  }
  throw new PixelpropError('cannot find the pixelprop package folder');
}

// ---- which model: --model NAME, --weights PATH, --mean, --std, --labels ----------------------------------------------

/**
 * The options that choose a model and its preprocessing, for `parse` (every command that runs a model spreads them
 * into its own), with their usage lines (modelUsage) and what they mean (modelChoice, then openSession).
 */
export const MODEL_OPTIONS = {
  model: { type: 'string' },
  weights: { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  labels: { type: 'string' },
  precision: { type: 'string' },
} as const satisfies Options;

/** "[--model NAME | --weights PATH] [--mean R,G,B] [--std R,G,B] [--labels FILE]", for a command's synopsis. */
export const MODEL_SYNOPSIS = '[--model NAME | --weights PATH] [--mean R,G,B] [--std R,G,B] [--labels FILE] [--precision P]';

/** The registry (scripts/models.mjs: plain ESM beside weights.mjs, read where the package is, src or dist). */
const registry = (await import(pathToFileURL(join(packageRoot(), 'scripts', 'models.mjs')).href)) as typeof import('../../scripts/models.mjs');

export const KNOWN_MODELS: readonly string[] = Object.keys(registry.MODELS);
export const DEFAULT_MODEL: string = registry.DEFAULT_MODEL;

/** The usage lines of MODEL_OPTIONS, their descriptions starting at column `column` (as the command's other options). */
export function modelUsage(column = 18): string {
  const line = (flag: string, text: string) => `  ${flag.padEnd(column - 2)}${text}`;
  const pad = ' '.repeat(column);
  return [
    line('--model NAME', `a known model: ${KNOWN_MODELS.join(', ')} (default ${DEFAULT_MODEL});`),
    `${pad}\`npm run weights -- --model NAME\` fetches it (else the first use does, where it can)`,
    line('--weights PATH', 'an ONNX model, with NAME.json beside NAME.onnx describing it when there is one, or a'),
    `${pad}description .json itself (README, "Models"); without one: ImageNet mean/std, synset.txt beside it`,
    line('--mean R,G,B', "the model's input is (p - mean) / std for pixels p in [0, 1]: replaces the description's"),
    line('--std R,G,B', 'mean and std (one number for all channels, or three)'),
    line('--labels FILE', 'class names, one a line in output order (replaces the description\'s)'),
    line('--precision P', `the convolutions' arithmetic: ${CONV_PRECISIONS.join(', ')} (default f32; f16 = half-precision`),
    `${pad}weights, products and sums, mixed = half-precision products summed in f32; both need shader-f16)`,
  ].join('\n');
}

type Triple = readonly [number, number, number];

/** What the options chose, checked for form (files and names are checked by openSession). */
export interface ModelChoice {
  /** a registry name */
  model?: string;
  /** an ONNX file or a description */
  weights?: string;
  mean?: Triple;
  std?: Triple;
  labels?: string;
  precision?: Precision;
}

function tripleOption(values: Parsed['values'], name: string): Triple | undefined {
  const text = str(values, name);
  if (text === undefined) return undefined;
  const parts = text.split(',').map((t) => t.trim());
  const numbers = parts.map(Number);
  check(
    (parts.length === 1 || parts.length === 3) && parts.every((t) => t !== '') && numbers.every(Number.isFinite),
    () => `--${name} must be one number or three separated by commas (R,G,B), got '${text}'`,
  );
  check(name !== 'std' || numbers.every((v) => v > 0), () => `--std must be positive, got '${text}'`);
  return (numbers.length === 1 ? [numbers[0]!, numbers[0]!, numbers[0]!] : numbers) as unknown as Triple;
}

/** The model chosen by MODEL_OPTIONS' values. */
export function modelChoice(values: Parsed['values']): ModelChoice {
  const choice: ModelChoice = {};
  const model = str(values, 'model');
  const weights = str(values, 'weights');
  if (model !== undefined && weights !== undefined) throw new PixelpropError('give --model NAME or --weights PATH, not both');
  if (model !== undefined) {
    checkKnownModel(model); // before any file is read
    choice.model = model;
  }
  if (weights !== undefined) choice.weights = weights;
  const mean = tripleOption(values, 'mean');
  const std = tripleOption(values, 'std');
  const labels = str(values, 'labels');
  if (mean) choice.mean = mean;
  if (std) choice.std = std;
  if (labels !== undefined) choice.labels = labels;
  const precision = str(values, 'precision');
  if (precision !== undefined) {
    check((CONV_PRECISIONS as readonly string[]).includes(precision), () => `--precision must be one of ${CONV_PRECISIONS.join(', ')}, got '${precision}'`);
    choice.precision = precision as Precision;
  }
  return choice;
}

/** A model's files and description, before anything is loaded. */
export interface ResolvedModel {
  model: string;
  labels: string | null;
  description: ModelDescription;
  /** where the description came from: a file, or the defaults for a model without one */
  describedBy: string;
}

async function readDescription(path: string): Promise<ModelDescription> {
  const bytes = await readFileLimited(path, 'model description', MAX_DESCRIPTION_BYTES);
  return parseDescription(new TextDecoder().decode(bytes), path);
}

function checkKnownModel(name: string): void {
  if (!KNOWN_MODELS.includes(name)) {
    throw new PixelpropError(`unknown model '${name}' (did you mean '${closest(name, KNOWN_MODELS, 1)[0]}'? known models: ${KNOWN_MODELS.join(', ')})`);
  }
}

/** The registry's model `name`, fetched by scripts/weights.mjs when its files or its description are missing. */
async function knownModel(name: string, quiet: boolean): Promise<ResolvedModel> {
  checkKnownModel(name);
  const root = packageRoot();
  const entry = registry.MODELS[name]!;
  const dir = join(root, 'weights');
  const descriptionPath = join(dir, `${name}.json`);
  const needed = [descriptionPath, join(dir, entry.description.onnx), join(dir, entry.description.labels)];
  if (!needed.every((f) => existsSync(f))) {
    const script = pathToFileURL(join(root, 'scripts', 'weights.mjs')).href;
    const { ensureWeights } = (await import(script)) as typeof import('../../scripts/weights.mjs');
    try {
      await ensureWeights({ quiet, model: name, weightsDir: dir });
    } catch (e) {
      throw new PixelpropError((e as Error).message);
    }
  }
  return described(descriptionPath, await readDescription(descriptionPath));
}

/** The files a description names, relative to its folder; each must exist. */
function described(descriptionPath: string, description: ModelDescription): ResolvedModel {
  const dir = dirname(descriptionPath);
  const model = resolve(dir, description.onnx);
  if (!existsSync(model)) throw new PixelpropError(`cannot read model '${model}' (named by ${descriptionPath}): no such file`);
  const labels = description.labels === null ? null : resolve(dir, description.labels);
  if (labels !== null && !existsSync(labels)) throw new PixelpropError(`cannot read class names '${labels}' (named by ${descriptionPath}): no such file`);
  return { model, labels, description, describedBy: descriptionPath };
}

/**
 * The files and the description of the chosen model, with --labels/--mean/--std applied. --weights X.onnx takes
 * X.json beside it as its description when there is one; a known model's files are fetched when missing.
 */
export async function resolveModel(choice: ModelChoice, quiet = false): Promise<ResolvedModel> {
  let resolved: ResolvedModel;
  if (choice.weights === undefined) {
    resolved = await knownModel(choice.model ?? DEFAULT_MODEL, quiet);
  } else if (/\.json$/i.test(choice.weights)) {
    const path = resolve(choice.weights);
    if (!existsSync(path)) throw new PixelpropError(`cannot read model description '${choice.weights}': no such file`);
    resolved = described(path, await readDescription(path));
  } else {
    const model = resolve(choice.weights);
    if (!existsSync(model)) throw new PixelpropError(`cannot read model '${choice.weights}': no such file`);
    const beside = join(dirname(model), `${basename(model).replace(/\.onnx$/i, '')}.json`);
    if (existsSync(beside)) {
      resolved = described(beside, await readDescription(beside));
      if (resolved.model !== model) {
        throw new PixelpropError(`model description ${beside} describes '${resolved.description.onnx}', not '${basename(model)}'`);
      }
    } else {
      const synset = join(dirname(model), 'synset.txt');
      const labels = existsSync(synset) ? synset : null;
      resolved = { model, labels, description: defaultDescription(basename(model), labels && 'synset.txt'), describedBy: 'defaults (no description beside the model)' };
    }
  }
  if (choice.labels !== undefined) {
    const labels = resolve(choice.labels);
    if (!existsSync(labels)) throw new PixelpropError(`cannot read class names '${choice.labels}': no such file`);
    resolved = { ...resolved, labels, description: { ...resolved.description, labels: choice.labels } };
  }
  return { ...resolved, description: withNormalization(resolved.description, choice.mean ?? null, choice.std ?? null) };
}

/**
 * The default model's file and class names (fetched by scripts/weights.mjs when missing), or those of an explicit
 * --weights path; for the benchmarks, which run SqueezeNet.
 */
export async function resolveWeights(explicit: string | undefined, quiet = false): Promise<{ model: string; labels: string | null }> {
  const { model, labels } = await resolveModel(explicit === undefined ? {} : { weights: explicit }, quiet);
  return { model, labels };
}

export interface Session {
  gpu: Gpu;
  model: Model;
  labels: Labels | null;
  modelPath: string;
  labelsPath: string | null;
  /** what the model expects: its preprocessing, labels, background class, input size */
  description: ModelDescription;
  describedBy: string;
  /** how an image becomes this model's input (size, resize, normalization), for readImages and preprocess */
  preprocessing: Required<PreprocessOptions>;
  /** frees the model and the device (every command ends with it, in a finally) */
  close(): void;
}

/** No model file this reads is larger (the parser's own limit on all constants together is 1 GiB). */
export const MAX_MODEL_BYTES = 2 ** 30 + 2 ** 26;
/** synset.txt is 31 KiB for ImageNet's 1000 classes. */
const MAX_SYNSET_BYTES = 16 * 2 ** 20;

/**
 * A device and a model, ready to run, with its description. With `images` (every command but `run` and `info`), the
 * model must take square RGB images that fit the device and give scores [N, K] (checkImageModel), checked here,
 * before any image is resized for it, and its class names (when it has some) must be as many as its scores, and its
 * input as large as its description says.
 */
export async function openSession(choice: ModelChoice, options: { quiet?: boolean; images?: boolean } = {}): Promise<Session> {
  const resolved = await resolveModel(choice, options.quiet);
  const bytes = await readFileLimited(resolved.model, 'model', MAX_MODEL_BYTES);
  const labelsBytes = resolved.labels ? await readFileLimited(resolved.labels, 'class names', MAX_SYNSET_BYTES) : null;
  const labels = labelsBytes ? parseSynset(new TextDecoder().decode(labelsBytes)) : null;
  const { description } = resolved;
  const gpu = await createDevice();
  try {
    const model = Model.load(gpu, bytes, choice.precision ? { precision: choice.precision } : {});
    try {
      const images = options.images ?? true;
      let size = description.inputSize ?? INPUT_SIZE;
      if (images) {
        size = checkImageModel(model);
        checkDescribedModel(description, { size, numClasses: model.numClasses }, labels, { description: resolved.describedBy, labels: resolved.labels ?? '' });
      }
      return {
        gpu,
        model,
        labels,
        modelPath: resolved.model,
        labelsPath: resolved.labels,
        description,
        describedBy: resolved.describedBy,
        preprocessing: imagePreprocessing(description, size),
        close: () => {
          model.dispose();
          gpu.destroy();
        },
      };
    } catch (e) {
      model.dispose();
      throw e;
    }
  } catch (e) {
    gpu.destroy();
    throw e;
  }
}

export interface ImageBatch {
  files: string[];
  /** the decoded images, as read (before resizing) */
  images: RgbImage[];
  /** the preprocessed batch [N, 3, size, size] */
  chw: Float32Array;
  size: number;
}

/**
 * Reads and preprocesses images as the session's model expects them (`session.preprocessing`); every file is checked
 * before any is used.
 */
export async function readImages(files: string[], preprocessing: Required<PreprocessOptions>): Promise<ImageBatch> {
  if (files.length === 0) throw new PixelpropError('no image given');
  const images: RgbImage[] = [];
  for (const f of files) images.push(await readImage(f));
  return { files, images, chw: preprocessBatch(images, preprocessing), size: preprocessing.size };
}

/** Decoded images as one preprocessed batch [N, 3, size, size]. */
export function preprocessBatch(images: readonly RgbImage[], preprocessing: Required<PreprocessOptions>): Float32Array {
  const per = 3 * preprocessing.size * preprocessing.size;
  const chw = new Float32Array(images.length * per);
  images.forEach((img, i) => chw.set(preprocess(img, preprocessing), i * per));
  return chw;
}

export function batchTensor(gpu: Gpu, batch: ImageBatch, name = 'image'): Tensor {
  return Tensor.from(gpu, [batch.files.length, 3, batch.size, batch.size], batch.chw, name);
}

