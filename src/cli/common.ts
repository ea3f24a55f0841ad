/**
 * What the commands share: finding the weights (fetching them when the default ones are missing), opening a device
 * and a model, reading images into a batch. Results are written through output.ts, once everything has been checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDevice, type Gpu } from '../gpu/device.js';
import { PixelpropError } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { parseSynset, type Labels } from '../graph/labels.js';
import { Model } from '../graph/model.js';
import type { RgbImage } from '../image/image.js';
import { readFileLimited, readImage } from '../image/node-io.js';
import { checkImageModel } from '../techniques/model-input.js';
import { preprocess } from '../image/preprocess.js';

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

export const DEFAULT_WEIGHTS = 'weights/squeezenet1.1.onnx';

/**
 * The model file to use. An explicit --weights path must exist; the default one (in the package's weights/ folder)
 * is fetched by scripts/weights.mjs when it is missing, as `npm run weights` would.
 */
export async function resolveWeights(explicit: string | undefined, quiet = false): Promise<{ model: string; synset: string | null }> {
  if (explicit !== undefined) {
    const model = resolve(explicit);
    if (!existsSync(model)) throw new PixelpropError(`cannot read model '${explicit}': no such file`);
    const synset = join(dirname(model), 'synset.txt');
    return { model, synset: existsSync(synset) ? synset : null };
  }
  const root = packageRoot();
  const model = join(root, DEFAULT_WEIGHTS);
  const synset = join(root, 'weights', 'synset.txt');
  if (!existsSync(model) || !existsSync(synset)) {
    const script = pathToFileURL(join(root, 'scripts', 'weights.mjs')).href;
    const { ensureWeights } = (await import(script)) as typeof import('../../scripts/weights.mjs');
    try {
      await ensureWeights({ quiet });
    } catch (e) {
      throw new PixelpropError((e as Error).message);
    }
  }
  return { model, synset };
}

export interface Session {
  gpu: Gpu;
  model: Model;
  labels: Labels | null;
  modelPath: string;
  /** frees the model and the device (every command ends with it, in a finally) */
  close(): void;
}

/** No model file this reads is larger (the parser's own limit on all constants together is 1 GiB). */
export const MAX_MODEL_BYTES = 2 ** 30 + 2 ** 26;
/** synset.txt is 31 KiB for ImageNet's 1000 classes. */
const MAX_SYNSET_BYTES = 16 * 2 ** 20;

/**
 * A device and a model, ready to run. With `images` (every command but `run`), the model must take square RGB images
 * that fit the device and give scores [N, K] (checkImageModel), checked here, before any image is resized for it.
 */
export async function openSession(weights: string | undefined, options: { quiet?: boolean; images?: boolean } = {}): Promise<Session> {
  const paths = await resolveWeights(weights, options.quiet);
  const bytes = await readFileLimited(paths.model, 'model', MAX_MODEL_BYTES);
  const synsetBytes = paths.synset ? await readFileLimited(paths.synset, 'class names', MAX_SYNSET_BYTES) : null;
  const gpu = await createDevice();
  try {
    const model = Model.load(gpu, bytes);
    try {
      if (options.images ?? true) checkImageModel(model);
      const labels = synsetBytes ? parseSynset(new TextDecoder().decode(synsetBytes)) : null;
      return {
        gpu,
        model,
        labels,
        modelPath: paths.model,
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

/** Reads and preprocesses images; every file is checked before any is used. */
export async function readImages(files: string[], size: number): Promise<ImageBatch> {
  if (files.length === 0) throw new PixelpropError('no image given');
  const images: RgbImage[] = [];
  for (const f of files) images.push(await readImage(f));
  const per = 3 * size * size;
  const chw = new Float32Array(files.length * per);
  images.forEach((img, i) => chw.set(preprocess(img, { size }), i * per));
  return { files, images, chw, size };
}

export function batchTensor(gpu: Gpu, batch: ImageBatch, name = 'image'): Tensor {
  return Tensor.from(gpu, [batch.files.length, 3, batch.size, batch.size], batch.chw, name);
}

