/**
 * A tensor drawn as channel tiles: one small colormapped image per channel of an activation or gradient [1, C, H, W],
 * what the step-through debugger shows for each tensor of an op. Pure: the same in Node and in the page.
 *
 * - All tiles of a tensor share one colour scale, so that channels compare: 'bwr' over [−m, m] (m = max |v|, white
 *   is 0) when the tensor has a negative value — a gradient, a pre-activation — else 'hot' over [0, max]. Each tile
 *   also carries its own min and max.
 * - At most `maxTiles` channels are drawn: those of the largest max |v|, in channel order (a one-hot class gradient
 *   lives in one channel of 1000; the first channels would all be zero).
 * - A tensor with no spatial extent — scores [1, K], a pooled [1, K, 1, 1] — is one tile of its K values, row-major
 *   in a grid ceil(√K) wide (the cells after K are blank: drawn as 0).
 *
 * `elementIndex` turns a click on a tile back into the flat index of the tensor's element, for the element check.
 */
import { check, fmtShape } from '../gpu/errors.js';
import type { Shape } from '../gpu/tensor.js';
import { colorize, type ColormapName } from '../image/colormap.js';
import type { RgbImage8 } from '../image/image.js';

/** Tiles drawn per tensor unless asked otherwise. */
export const DEFAULT_MAX_TILES = 16;

export interface ChannelTile {
  /** the channel drawn (0 for a vector drawn as one grid) */
  channel: number;
  min: number;
  max: number;
  image: RgbImage8;
}

export interface TileSet {
  shape: Shape;
  /** 'channels': one tile per channel of [1, C, H, W]; 'vector': the whole tensor as one grid of `width` columns */
  layout: 'channels' | 'vector';
  /** every tile's size */
  width: number;
  height: number;
  cmap: ColormapName;
  /** the colour scale shared by every tile: [lo, hi] mapped to the first and last colour */
  range: [number, number];
  /** the tensor's own smallest and largest value */
  min: number;
  max: number;
  /** channels in all (tiles drawn: `tiles.length`) */
  channels: number;
  tiles: ChannelTile[];
}

/** Tiles of a tensor of batch 1 (see the file comment). */
export function channelTiles(values: ArrayLike<number>, shape: Shape, options: { maxTiles?: number } = {}): TileSet {
  const size = shape.reduce((a, b) => a * b, 1);
  check(values.length === size, () => `channelTiles: ${values.length} values for a tensor ${fmtShape(shape)}`);
  check(shape[0] === 1, () => `channelTiles: tensor ${fmtShape(shape)} is not of batch 1`);
  const maxTiles = options.maxTiles ?? DEFAULT_MAX_TILES;
  check(Number.isInteger(maxTiles) && maxTiles >= 1, () => `channelTiles: maxTiles ${maxTiles} must be a positive integer`);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < size; i++) {
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  const signed = min < 0;
  const cmap: ColormapName = signed ? 'bwr' : 'hot';
  const m = Math.max(Math.abs(min), Math.abs(max));
  const range: [number, number] = signed ? [-m, m] : [0, max];
  const spatial = shape.length === 4 && shape[2]! * shape[3]! > 1;
  if (!spatial) {
    const width = Math.ceil(Math.sqrt(size));
    const height = Math.ceil(size / width);
    const grid = new Float64Array(width * height);
    for (let i = 0; i < size; i++) grid[i] = values[i]!;
    const image = colorize(grid, width, height, { cmap, range });
    return { shape: [...shape], layout: 'vector', width, height, cmap, range, min, max, channels: 1, tiles: [{ channel: 0, min, max, image }] };
  }
  const [, channels, height, width] = shape as [number, number, number, number];
  const plane = height * width;
  const stats = Array.from({ length: channels }, (_, c) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = c * plane; p < (c + 1) * plane; p++) {
      lo = Math.min(lo, values[p]!);
      hi = Math.max(hi, values[p]!);
    }
    return { channel: c, min: lo, max: hi, magnitude: Math.max(Math.abs(lo), Math.abs(hi)) };
  });
  const chosen = [...stats]
    .sort((a, b) => b.magnitude - a.magnitude || a.channel - b.channel)
    .slice(0, maxTiles)
    .sort((a, b) => a.channel - b.channel);
  const tiles = chosen.map(({ channel, min: lo, max: hi }) => {
    const slice = Array.prototype.slice.call(values, channel * plane, (channel + 1) * plane) as number[];
    return { channel, min: lo, max: hi, image: colorize(slice, width, height, { cmap, range }) };
  });
  return { shape: [...shape], layout: 'channels', width, height, cmap, range, min, max, channels, tiles };
}

/** The flat index of the element under pixel (x, y) of the tile of `channel` (the tile set's layout decides how). */
export function elementIndex(set: Pick<TileSet, 'shape' | 'layout' | 'width' | 'height'>, channel: number, x: number, y: number): number {
  check(Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < set.width && y < set.height, () => `pixel (${x}, ${y}) is outside the ${set.width}×${set.height} tile`);
  const size = set.shape.reduce((a, b) => a * b, 1);
  if (set.layout === 'vector') {
    const i = y * set.width + x;
    check(i < size, () => `pixel (${x}, ${y}) is a blank cell after the ${size} values`);
    return i;
  }
  check(Number.isInteger(channel) && channel >= 0 && channel < set.shape[1]!, () => `channel ${channel} is not one of the tensor's ${set.shape[1]}`);
  return (channel * set.height + y) * set.width + x;
}

/** The element's position as text: "[0, 12, 3, 40]". */
export function elementPosition(shape: Shape, index: number): string {
  const at: number[] = [];
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(rest % shape[d]!);
    rest = Math.floor(rest / shape[d]!);
  }
  return `[${at.join(', ')}]`;
}
