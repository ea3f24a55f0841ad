/**
 * Occlusion — M. Zeiler, R. Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014, section 4.2 —
 * the gradient-free reference point every attribution paper compares with: slide a square patch of a fill colour
 * over the image and record how much the class score drops,
 *
 *     M[h, w] = mean over the patches P covering (h, w) of  s_y(x) − s_y(x with P filled),
 *
 * so a pixel whose hiding costs the score much is important. Forward passes only, `batch` occluded copies at a time
 * (the copies are made on the GPU from one upload of the image); the scores come back per chunk and the map is
 * assembled on the CPU (it is one number per patch).
 */
import { check } from '../../gpu/errors.js';
import { Tensor } from '../../gpu/tensor.js';
import type { Model } from '../../graph/model.js';
import { occluded, patchGrid } from '../../kernels/attribution.js';
import { checkImages, gradientAt, release, type AttributionResult } from './common.js';

export interface OcclusionOptions {
  /** the patch's side in pixels (default 32) */
  patch?: number;
  /** pixels between patches (default 16: each pixel under up to 4 patches) */
  stride?: number;
  /** the fill per channel in normalized units (default 0: the mean colour) */
  fill?: readonly number[];
  /** occluded copies per forward pass (default 16, at most the device's largest batch) */
  batch?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export const OCCLUSION_DEFAULTS = { patch: 32, stride: 16, batch: 16 } as const;

export async function occlusion(model: Model, x: Tensor, classes?: readonly number[], options: OcclusionOptions = {}): Promise<AttributionResult> {
  const [n, c, h, w] = checkImages(x, 'occlusion');
  const grid = patchGrid(h, w, options.patch ?? OCCLUSION_DEFAULTS.patch, options.stride ?? OCCLUSION_DEFAULTS.stride);
  const batch = Math.min(options.batch ?? OCCLUSION_DEFAULTS.batch, Math.max(1, model.maxBatch()));
  check(Number.isInteger(batch) && batch > 0, () => `occlusion: batch ${batch} must be a positive integer`);
  const fillValues = options.fill ?? new Array<number>(c).fill(0);
  check(fillValues.length === c && fillValues.every(Number.isFinite), () => `occlusion: the fill needs ${c} finite values, one per channel`);
  // The clean scores and the classes (given or predicted) from one pass; the gradient it also computes is not used.
  const clean = await gradientAt(model, x, classes);
  const k = model.numClasses;
  const scores = await clean.scores.read();
  release(clean);
  const fill = Tensor.from(model.gpu, [c], fillValues, 'occlusion.fill');
  const patches = grid.rows * grid.columns;
  const map = new Float32Array(n * h * w);
  const covered = new Uint16Array(h * w);
  for (let p = 0; p < patches; p++) {
    const top = Math.floor(p / grid.columns) * grid.stride;
    const left = (p % grid.columns) * grid.stride;
    for (let y = top; y < top + grid.patch; y++) for (let xx = left; xx < left + grid.patch; xx++) covered[y * w + xx]!++;
  }
  try {
    for (let i = 0; i < n; i++) {
      const y = clean.classes[i]!;
      const base = scores[i * k + y]!;
      for (let first = 0; first < patches; first += batch) {
        const count = Math.min(batch, patches - first);
        const copies = occluded(x, i, grid, first, count, fill, 'occlusion.copies');
        const out = model.forward(copies);
        copies.dispose();
        const values = await out.read();
        out.dispose();
        for (let q = 0; q < count; q++) {
          const drop = base - values[q * k + y]!;
          const p = first + q;
          const top = Math.floor(p / grid.columns) * grid.stride;
          const left = (p % grid.columns) * grid.stride;
          for (let yy = top; yy < top + grid.patch; yy++) for (let xx = left; xx < left + grid.patch; xx++) map[(i * h + yy) * w + xx]! += drop;
        }
        options.onProgress?.(i * patches + first + count, n * patches);
        options.signal?.throwIfAborted();
      }
      // The mean over the patches that cover each pixel (pixels no patch reaches, at the right and bottom edges when
      // the stride does not divide, stay 0).
      for (let p = 0; p < h * w; p++) if (covered[p]) map[i * h * w + p]! /= covered[p]!;
    }
  } finally {
    fill.dispose();
  }
  return { method: 'occlusion', classes: clean.classes, predicted: clean.predicted, map, shape: [n, h, w], scores };
}
