/**
 * Colormaps for maps of one number per pixel (saliency, gradients), as matplotlib draws them.
 *
 * matplotlib defines a colormap by piecewise-linear segments per channel (`segmentdata`: rows x, y0, y1 — at x the
 * channel jumps from y0 to y1), samples it into a lookup table of N = 256 colours, and maps a value t ∈ [0, 1] to
 * entry floor(t · 256) (t = 1 → the last entry); as bytes, entry values are scaled by 255 and truncated. The same
 * is done here, so a figure's pixels are the pixels `plt.imsave(…, cmap='hot')` writes.
 *
 * - 'hot': black → red → yellow → white, the map of the CS231n saliency figures (magnitudes).
 * - 'bwr': blue → white → red, diverging, for signed values (a gradient's sign): white is 0.
 * - 'gray': black → white.
 * - 'jet': dark blue → cyan → yellow → dark red, what Grad-CAM overlays are conventionally drawn in.
 *
 * Pure: runs the same in Node and in a browser.
 */
import { PixelpropError, check } from '../gpu/errors.js';
import type { RgbImage8 } from './image.js';

export type ColormapName = 'hot' | 'bwr' | 'gray' | 'jet';

/** Rows [x, y0, y1] of one channel, x increasing from 0 to 1. */
type Segments = ReadonlyArray<readonly [number, number, number]>;

/** matplotlib's `_cm.py` data. */
const SEGMENT_DATA: Record<ColormapName, readonly [Segments, Segments, Segments]> = {
  hot: [
    [[0, 0.0416, 0.0416], [0.365079, 1, 1], [1, 1, 1]],
    [[0, 0, 0], [0.365079, 0, 0], [0.746032, 1, 1], [1, 1, 1]],
    [[0, 0, 0], [0.746032, 0, 0], [1, 1, 1]],
  ],
  // LinearSegmentedColormap.from_list of (0,0,1), (1,1,1), (1,0,0) at x = 0, 0.5, 1.
  bwr: [
    [[0, 0, 0], [0.5, 1, 1], [1, 1, 1]],
    [[0, 0, 0], [0.5, 1, 1], [1, 0, 0]],
    [[0, 1, 1], [0.5, 1, 1], [1, 0, 0]],
  ],
  gray: [
    [[0, 0, 0], [1, 1, 1]],
    [[0, 0, 0], [1, 1, 1]],
    [[0, 0, 0], [1, 1, 1]],
  ],
  jet: [
    [[0, 0, 0], [0.35, 0, 0], [0.66, 1, 1], [0.89, 1, 1], [1, 0.5, 0.5]],
    [[0, 0, 0], [0.125, 0, 0], [0.375, 1, 1], [0.64, 1, 1], [0.91, 0, 0], [1, 0, 0]],
    [[0, 0.5, 0.5], [0.11, 1, 1], [0.34, 1, 1], [0.65, 0, 0], [1, 0, 0]],
  ],
};

export const LUT_SIZE = 256;

/**
 * matplotlib's `_create_lookup_table(N, segments)`: entry i is the segments evaluated at x = i / (N − 1); at a jump
 * the first entry takes y1 of the left end, inner entries interpolate from y1 of the row before to y0 of the row
 * after, the last entry is y0 of the last row.
 */
function lookupTable(segments: Segments, n: number): Float64Array {
  const xs = segments.map((s) => s[0] * (n - 1));
  const lut = new Float64Array(n);
  lut[0] = segments[0]![2];
  lut[n - 1] = segments[segments.length - 1]![1];
  for (let i = 1; i < n - 1; i++) {
    const xi = (n - 1) * (i * (1 / (n - 1))); // numpy's (N − 1) · linspace(0, 1, N), rounding included
    let k = 0;
    while (xs[k]! < xi) k++; // searchsorted: first row with x ≥ xi
    const distance = (xi - xs[k - 1]!) / (xs[k]! - xs[k - 1]!);
    lut[i] = distance * (segments[k]![1] - segments[k - 1]![2]) + segments[k - 1]![2];
  }
  for (let i = 0; i < n; i++) lut[i] = Math.min(1, Math.max(0, lut[i]!));
  return lut;
}

const cache = new Map<ColormapName, Uint8Array>();

/** The 256-entry table as bytes, RGB interleaved: entry i is [3i, 3i + 1, 3i + 2]. */
export function colormapLut(name: ColormapName): Uint8Array {
  let lut = cache.get(name);
  if (lut) return lut;
  const data = SEGMENT_DATA[name];
  if (!data) throw new PixelpropError(`unknown colormap '${String(name)}' (known: ${Object.keys(SEGMENT_DATA).join(', ')})`);
  lut = new Uint8Array(LUT_SIZE * 3);
  for (let c = 0; c < 3; c++) {
    const channel = lookupTable(data[c]!, LUT_SIZE);
    for (let i = 0; i < LUT_SIZE; i++) lut[3 * i + c] = Math.trunc(channel[i]! * 255); // numpy's astype(uint8)
  }
  cache.set(name, lut);
  return lut;
}

/** The colour of t ∈ [0, 1] (values outside are clamped), as bytes [r, g, b]. */
export function colorOf(name: ColormapName, t: number): [number, number, number] {
  const lut = colormapLut(name);
  const i = lutIndex(t);
  return [lut[3 * i]!, lut[3 * i + 1]!, lut[3 * i + 2]!];
}

function lutIndex(t: number): number {
  return Math.min(LUT_SIZE - 1, Math.max(0, Math.floor(t * LUT_SIZE)));
}

export interface ColorizeOptions {
  /** Default 'hot'. */
  cmap?: ColormapName;
  /**
   * The values mapped to the first and last colour. Default: [0, max] for 'hot' and 'gray' — the map divided by its
   * maximum, as the saliency figures show it — and [−m, m] with m = max |v| for 'bwr', so that 0 is white.
   */
  range?: readonly [number, number];
}

/** A map of width · height values (row-major) → an 8-bit RGB image through a colormap. */
export function colorize(values: ArrayLike<number>, width: number, height: number, options: ColorizeOptions = {}): RgbImage8 {
  check(
    Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0,
    () => `colorize: size ${width}×${height} must be positive integers`,
  );
  check(values.length === width * height, () => `colorize: ${values.length} values for a ${width}×${height} map`);
  const cmap = options.cmap ?? 'hot';
  const lut = colormapLut(cmap);
  let maxValue = -Infinity;
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new PixelpropError(`colorize: value ${v} at index ${i} is not finite`);
    maxValue = Math.max(maxValue, v);
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const [lo, hi] = options.range ?? (cmap === 'bwr' ? [-maxAbs, maxAbs] : [0, maxValue]);
  check(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi, () => `colorize: range [${lo}, ${hi}] must be finite with lo ≤ hi`);
  // A constant map (hi = lo, e.g. all zeros) has no scale: it shows as the colour of 0 — black for 'hot', white for
  // 'bwr' — rather than as a division by zero.
  const constantIndex = lutIndex(cmap === 'bwr' ? 0.5 : 0);
  const out = new Uint8ClampedArray(width * height * 3);
  for (let p = 0; p < values.length; p++) {
    const i = hi > lo ? lutIndex((values[p]! - lo) / (hi - lo)) : constantIndex;
    out[3 * p] = lut[3 * i]!;
    out[3 * p + 1] = lut[3 * i + 1]!;
    out[3 * p + 2] = lut[3 * i + 2]!;
  }
  return { width, height, data: out };
}
