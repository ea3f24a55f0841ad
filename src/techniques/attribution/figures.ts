/**
 * Figures of attribution maps, drawn with src/image's grid from what `attribute` returns. How a map is drawn follows
 * what its values mean (METHODS[].map):
 *
 *   CAM ≥ 0      over the photo in 'jet', as pytorch-grad-cam's show_cam_on_image draws it:
 *                out = (1 − α)·photo + α·jet(map / max map), α = 0.5;
 *   max_c |g|    a magnitude, in 'hot' from 0 (black) to its maximum (white), as the CS231n saliency figures;
 *   Σ_c a        a signed contribution (it sums to a score difference), in 'bwr' with 0 white, ±max|a| saturated.
 *
 * Two figures: a comparison (rows = images, columns = the photo then each method) and Adebayo et al.'s randomization
 * grid (rows = methods, columns = the trained model then each randomization step). Pure: Node and browser alike.
 */
import { check } from '../../gpu/errors.js';
import { colorize, type ColormapName } from '../../image/colormap.js';
import { drawGrid, type GridCell } from '../../image/figure.js';
import { checkImage, type RgbImage8 } from '../../image/image.js';
import { methodNamed } from './index.js';

/** Caption font scale: 10×14-pixel letters, readable under a 224-pixel image. */
const TEXT_SCALE = 2;
/** The CAM's weight over the photo. */
const OVERLAY_ALPHA = 0.5;

/** A heat map over a photo of the same size: (1 − α)·photo + α·cmap(map scaled to [0, max]). */
export function overlay(photo: RgbImage8, map: ArrayLike<number>, options: { alpha?: number; cmap?: ColormapName } = {}): RgbImage8 {
  checkImage(photo, 3, 'overlay');
  const alpha = options.alpha ?? OVERLAY_ALPHA;
  check(alpha >= 0 && alpha <= 1, () => `overlay: alpha ${alpha} must be in [0, 1]`);
  const heat = colorize(map, photo.width, photo.height, { cmap: options.cmap ?? 'jet' });
  const data = new Uint8ClampedArray(photo.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round((1 - alpha) * photo.data[i]! + alpha * heat.data[i]!);
  return { width: photo.width, height: photo.height, data };
}

/** `map` (one image's, H × W) drawn the way its method's values call for (see the top of this file). */
export function drawMap(method: string, photo: RgbImage8, map: ArrayLike<number>): RgbImage8 {
  const { width, height } = photo;
  check(map.length === width * height, () => `${method}: a map of ${map.length} values for a ${width}×${height} photo`);
  switch (methodNamed(method).map) {
    case 'CAM ≥ 0':
      return overlay(photo, map);
    case 'max_c |g|':
      return colorize(map, width, height, { cmap: 'hot' });
    case 'Σ_c a':
      return colorize(map, width, height, { cmap: 'bwr' });
  }
}

export interface ComparisonRow {
  /** the photo as the network saw it (its input size), and its caption (e.g. the class) */
  photo: RgbImage8;
  caption: string;
  /** one map per method, [H, W] */
  maps: { method: string; map: ArrayLike<number> }[];
}

/** Rows = images; columns = the photo, then each method's map captioned with the method's name. */
export function comparisonFigure(rows: readonly ComparisonRow[], title?: string): RgbImage8 {
  check(rows.length > 0, 'comparison figure: no images');
  const grid: GridCell[][] = rows.map((row) => [
    { image: row.photo, caption: row.caption },
    ...row.maps.map(({ method, map }) => ({ image: drawMap(method, row.photo, map), caption: method })),
  ]);
  return drawGrid({ rows: grid, textScale: TEXT_SCALE, ...(title !== undefined && { title }) });
}

/**
 * Adebayo et al.'s figure: rows = methods; columns = the map of the trained model, then after each randomization step
 * (captioned with the last layer randomized). maps[m][s]: method m's map after step s (s = 0: trained), [H, W].
 */
export function randomizationFigure(
  photo: RgbImage8,
  methods: readonly string[],
  layers: readonly string[],
  maps: readonly (readonly ArrayLike<number>[])[],
  title?: string,
): RgbImage8 {
  check(maps.length === methods.length, () => `randomization figure: maps for ${maps.length} methods, ${methods.length} named`);
  const grid: GridCell[][] = methods.map((method, m) => {
    const steps = maps[m]!;
    check(steps.length === layers.length + 1, () => `randomization figure: ${method} has ${steps.length} maps for ${layers.length} steps + the trained model`);
    return steps.map((map, s) => ({ image: drawMap(method, photo, map), caption: `${method}\n${s === 0 ? 'trained' : layers[s - 1]!}` }));
  });
  return drawGrid({ rows: [[{ image: photo, caption: 'input' }], ...grid], textScale: TEXT_SCALE, ...(title !== undefined && { title }) });
}
