/**
 * What the technique tests share: the real SqueezeNet 1.1 (from weights/) and the 25 ImageNet photos from ../shared
 * (read-only, never copied into the repository; a test file gates its photo tests on `sharedData('photos', …)` of
 * shared-data.ts), and the switch for the heavy tests.
 *
 * Heavy tests — all 25 photos fooled, class visualizations at the full 100 iterations — are what the techniques
 * promise, so `npm test` (and CI) runs them; they take a few minutes on a software adapter. PIXELPROP_QUICK=1 skips
 * them while iterating on something else; the same properties are also checked on smaller runs either way.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Gpu } from '../src/gpu/device.js';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { MODEL_PATH, sharedDataDir } from './shared-data.js';

export const HEAVY = process.env.PIXELPROP_QUICK !== '1';

export { MODEL_PATH, repoRoot } from './shared-data.js';
/** The ImageNet photos' folder, when `sharedData('photos', …)` found it. */
export const PHOTOS = sharedDataDir('photos');

export interface Photo {
  file: string;
  /** the ImageNet label of labels.json */
  label: number;
  name: string;
}

/** The 25 photos with their labels, in file order. */
export function photos(): Photo[] {
  const labels = JSON.parse(readFileSync(join(PHOTOS, 'labels.json'), 'utf8')) as { file: string; classIndex: number; name: string }[];
  const files = new Set(readdirSync(PHOTOS));
  return labels.filter((l) => files.has(l.file)).map((l) => ({ file: join(PHOTOS, l.file), label: l.classIndex, name: l.name }));
}

/** The photo `name` (e.g. "00_958.png") preprocessed as a [1, 3, 224, 224] tensor. */
export async function photoTensor(gpu: Gpu, name: string): Promise<Tensor> {
  return Tensor.from(gpu, [1, 3, 224, 224], preprocess(await readImage(join(PHOTOS, name))), name);
}

/** The real model, loaded once for the file (call at the top level, after useGpu()). */
export function useModel(gpu: () => Gpu): () => Model {
  let model: Model | undefined;
  beforeAll(() => {
    model = Model.load(gpu(), readFileSync(MODEL_PATH));
  });
  afterAll(() => model?.dispose());
  return () => {
    if (!model) throw new Error('model not loaded yet');
    return model;
  };
}

/** Mean of a list, for the reports. */
export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}
