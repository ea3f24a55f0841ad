/**
 * The three figures of the CS231n "Network Visualization" notebook, drawn with src/image's grid (no plotting
 * library), from what the techniques return:
 *
 *   saliency:   the images on the top row, their maps in matplotlib's 'hot' below, each captioned with its class;
 *   fooling:    original | fooling image | difference | difference ×10, the first two captioned with the class the
 *               network predicts for them;
 *   class viz:  the snapshots in a row, "iter 25", "iter 50", …, under the class name.
 *
 * The difference is shown as the notebook shows it: deprocess(X_fooling − X), i.e. the difference of the two images
 * added to the ImageNet mean colour (a brownish gray, (124, 116, 104)) and clamped — no change shows as that gray,
 * brighter and darker pixels as lighter and darker.
 *
 * Pure: runs the same in Node and in a browser.
 */
import { check } from '../gpu/errors.js';
import { colorize } from '../image/colormap.js';
import { drawGrid, type GridCell } from '../image/figure.js';
import { checkImage, type RgbImage8 } from '../image/image.js';
import { IMAGENET_STD, deprocess } from '../image/preprocess.js';
import type { Snapshot } from './classviz.js';

/** Caption font scale: 10×14-pixel letters, readable under a 224-pixel image. */
const TEXT_SCALE = 2;

/** One image of a figure and its caption. */
export interface Captioned {
  image: RgbImage8;
  caption: string;
}

/**
 * Photos above their saliency maps. `maps` holds one H × W map per photo, row-major ([N, H, W], as `saliency`
 * returns it); each is drawn in 'hot' from 0 (black) to its own maximum (white).
 */
export function saliencyFigure(photos: Captioned[], maps: Float32Array, height: number, width: number, title?: string): RgbImage8 {
  const plane = height * width;
  check(photos.length > 0 && maps.length === photos.length * plane, () => `saliency figure: ${maps.length} map values for ${photos.length} ${width}×${height} maps`);
  const top: GridCell[] = photos.map((p) => ({ image: p.image, caption: p.caption }));
  const bottom: GridCell[] = photos.map((_, i) => ({ image: colorize(maps.subarray(i * plane, (i + 1) * plane), width, height, { cmap: 'hot' }) }));
  return drawGrid({ rows: [top, bottom], textScale: TEXT_SCALE, title });
}

/** deprocess(magnify · (X_b − X_a)) for two 8-bit images: their difference around the ImageNet mean colour. */
export function differenceImage(a: RgbImage8, b: RgbImage8, magnify = 1): RgbImage8 {
  checkImage(a, 3, 'difference image');
  checkImage(b, 3, 'difference image');
  check(a.width === b.width && a.height === b.height, () => `difference image: sizes differ, ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  check(Number.isFinite(magnify), () => `difference image: magnify ${magnify} is not a finite number`);
  const plane = a.width * a.height;
  // In normalized units a byte difference d of channel c is (d / 255) / std_c; deprocess maps it back to
  // d / 255 + mean_c and clamps.
  const chw = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) chw[c * plane + p] = (magnify * (b.data[3 * p + c]! - a.data[3 * p + c]!)) / 255 / IMAGENET_STD[c]!;
  }
  return deprocess(chw, a.height, a.width);
}

/** original | fooling | difference | difference ×10, the first two captioned (with their predicted classes). */
export function foolingFigure(original: Captioned, fooling: Captioned, title?: string): RgbImage8 {
  const cells: GridCell[] = [
    original,
    fooling,
    { image: differenceImage(original.image, fooling.image), caption: 'difference' },
    { image: differenceImage(original.image, fooling.image, 10), caption: 'difference x10' },
  ];
  return drawGrid({ rows: [cells], textScale: TEXT_SCALE, title });
}

/** The snapshots of a class visualization in a row, captioned "iter K"; the last one is the final image. */
export function classVisualizationFigure(snapshots: readonly Snapshot[], title?: string): RgbImage8 {
  check(snapshots.length > 0, 'class visualization figure: no snapshots');
  const cells = snapshots.map((s) => ({ image: s.image, caption: `iter ${s.iteration}` }));
  return drawGrid({ rows: [cells], textScale: TEXT_SCALE, title });
}
