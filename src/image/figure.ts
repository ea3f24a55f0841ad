/**
 * Figures without a plotting library: an RGB canvas with rectangles, scaled images and bitmap-font text, and a grid
 * layout for the three figures of the project —
 *
 *   saliency:   photos on the top row, their 'hot' maps below, each captioned with its class;
 *   fooling:    original | fooling image | difference | difference ×10, each captioned with its predicted class;
 *   class viz:  snapshots in a row, captioned "iter 25", "iter 50", ….
 *
 * Everything is integer pixel arithmetic on a byte array, so a figure is the same pixels in Node and in a browser.
 */
import { check } from '../gpu/errors.js';
import { ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, LINE_HEIGHT, glyph, glyphPixel } from './font.js';
import { checkImage, type Rgb, type RgbImage8 } from './image.js';

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];

/** What ends a caption cut short to fit its cell. */
const ELLIPSIS = '..';

export class Canvas {
  readonly data: Uint8ClampedArray;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = WHITE,
  ) {
    check(
      Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0,
      () => `canvas size ${width}×${height} must be positive integers`,
    );
    this.data = new Uint8ClampedArray(width * height * 3);
    this.fill(0, 0, width, height, background);
  }

  /** Paints the rectangle [x, x + w) × [y, y + h), clipped to the canvas. */
  fill(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const x1 = Math.min(this.width, x + w);
    const y1 = Math.min(this.height, y + h);
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) this.set(xx, yy, color);
    }
  }

  /**
   * Draws `img` scaled to w × h at (x, y) with nearest-neighbour sampling — a saliency map stays crisp pixels when
   * enlarged — clipped to the canvas. Destination pixel (dx, dy) shows source pixel (⌊(dx + ½)·W/w⌋, ⌊(dy + ½)·H/h⌋),
   * the one whose area contains the destination pixel's centre.
   */
  blit(img: RgbImage8, x: number, y: number, w = img.width, h = img.height): void {
    checkImage(img, 3, 'blit');
    check(Number.isInteger(w) && Number.isInteger(h) && w >= 0 && h >= 0, () => `blit: size ${w}×${h} must be integers ≥ 0`);
    for (let dy = Math.max(0, -y); dy < h && y + dy < this.height; dy++) {
      const sy = Math.min(img.height - 1, Math.floor(((dy + 0.5) * img.height) / h));
      for (let dx = Math.max(0, -x); dx < w && x + dx < this.width; dx++) {
        const sx = Math.min(img.width - 1, Math.floor(((dx + 0.5) * img.width) / w));
        const s = (sy * img.width + sx) * 3;
        const d = ((y + dy) * this.width + x + dx) * 3;
        this.data[d] = img.data[s]!;
        this.data[d + 1] = img.data[s + 1]!;
        this.data[d + 2] = img.data[s + 2]!;
      }
    }
  }

  /**
   * Draws one line of text with its top-left corner at (x, y), each font pixel a `scale` × `scale` square; returns
   * the width drawn. Pixels outside the canvas are skipped.
   */
  text(str: string, x: number, y: number, options: { scale?: number; color?: Rgb } = {}): number {
    const scale = checkScale(options.scale ?? 1);
    const color = options.color ?? BLACK;
    let penX = x;
    for (const ch of str) {
      const rows = glyph(ch);
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
        for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
          if (glyphPixel(rows, gx, gy)) this.fill(penX + gx * scale, y + gy * scale, scale, scale, color);
        }
      }
      penX += ADVANCE * scale;
    }
    return textWidth(str, scale);
  }

  toImage(): RgbImage8 {
    return { width: this.width, height: this.height, data: this.data };
  }

  private set(x: number, y: number, color: Rgb): void {
    const d = (y * this.width + x) * 3;
    this.data[d] = color[0];
    this.data[d + 1] = color[1];
    this.data[d + 2] = color[2];
  }
}

function checkScale(scale: number): number {
  check(Number.isInteger(scale) && scale >= 1, () => `text scale ${scale} must be an integer ≥ 1`);
  return scale;
}

/** Width in pixels of one line of text: the last character's spacing column is not counted. */
export function textWidth(str: string, scale = 1): number {
  const n = [...str].length;
  return n === 0 ? 0 : (n * ADVANCE - (ADVANCE - GLYPH_WIDTH)) * checkScale(scale);
}

/** `str` if it fits in maxWidth pixels, else its longest prefix followed by ".." that does (possibly just ".."/""). */
export function fitText(str: string, maxWidth: number, scale = 1): string {
  if (textWidth(str, scale) <= maxWidth) return str;
  const chars = [...str];
  for (let n = chars.length - 1; n >= 0; n--) {
    const candidate = chars.slice(0, n).join('').trimEnd() + ELLIPSIS;
    if (textWidth(candidate, scale) <= maxWidth) return candidate;
  }
  return '';
}

export interface GridCell {
  image: RgbImage8;
  /** Text under the image; '\n' starts a new line. Lines too wide for the cell end in "..". */
  caption?: string;
}

export interface GridOptions {
  /** Rows of cells, top to bottom; rows may have different lengths (the figure is as wide as the longest). */
  rows: GridCell[][];
  /** A line above the grid, centred, one text scale larger than the captions. */
  title?: string;
  /**
   * Side of the square box each image is fitted into (scaled with nearest neighbour, aspect ratio kept, centred).
   * Default: the largest side among the images, so that images of one size are drawn 1:1.
   */
  cellSize?: number;
  /** Integer size of the caption font (1: 5×7-pixel letters). Default 1. */
  textScale?: number;
  /** White space around the figure, default 10; between cells, default 10. */
  margin?: number;
  gap?: number;
}

/** Space between an image and its caption, at text scale 1. */
const CAPTION_PAD = 4;

/** Lays out and draws a grid figure: white background, optional title, images with captions under them. */
export function drawGrid(options: GridOptions): RgbImage8 {
  const { rows, title } = options;
  check(Array.isArray(rows) && rows.length > 0 && rows.some((r) => r.length > 0), 'drawGrid: no images to draw');
  for (const row of rows) for (const cell of row) checkImage(cell.image, 3, 'drawGrid');
  const textScale = checkScale(options.textScale ?? 1);
  const titleScale = textScale + 1;
  const margin = options.margin ?? 10;
  const gap = options.gap ?? 10;
  const cellSize = options.cellSize ?? Math.max(...rows.flat().map((c) => Math.max(c.image.width, c.image.height)));
  check(Number.isInteger(cellSize) && cellSize > 0, () => `drawGrid: cellSize ${cellSize} must be a positive integer`);
  check(Number.isInteger(margin) && margin >= 0 && Number.isInteger(gap) && gap >= 0, 'drawGrid: margin and gap must be integers ≥ 0');

  const columns = Math.max(...rows.map((r) => r.length));
  const lineHeight = LINE_HEIGHT * textScale;
  const captionLines = rows.map((r) => Math.max(0, ...r.map((c) => (c.caption ? c.caption.split('\n').length : 0))));
  const captionHeights = captionLines.map((n) => (n > 0 ? CAPTION_PAD * textScale + n * lineHeight : 0));
  const titleHeight = title ? LINE_HEIGHT * titleScale + gap : 0;
  const width = 2 * margin + columns * cellSize + (columns - 1) * gap;
  const height =
    2 * margin + titleHeight + rows.length * cellSize + captionHeights.reduce((a, b) => a + b, 0) + (rows.length - 1) * gap;
  const canvas = new Canvas(width, height);

  if (title) {
    const line = fitText(title, width - 2 * margin, titleScale);
    canvas.text(line, Math.floor((width - textWidth(line, titleScale)) / 2), margin, { scale: titleScale });
  }
  let y = margin + titleHeight;
  rows.forEach((row, r) => {
    row.forEach((cell, c) => {
      const x = margin + c * (cellSize + gap);
      const fit = Math.min(cellSize / cell.image.width, cellSize / cell.image.height);
      const w = Math.max(1, Math.round(cell.image.width * fit));
      const h = Math.max(1, Math.round(cell.image.height * fit));
      canvas.blit(cell.image, x + Math.floor((cellSize - w) / 2), y + Math.floor((cellSize - h) / 2), w, h);
      if (!cell.caption) return;
      cell.caption.split('\n').forEach((text, k) => {
        const line = fitText(text, cellSize, textScale);
        const ty = y + cellSize + CAPTION_PAD * textScale + k * lineHeight;
        canvas.text(line, x + Math.floor((cellSize - textWidth(line, textScale)) / 2), ty, { scale: textScale });
      });
    });
    y += cellSize + captionHeights[r]! + gap;
  });
  return canvas.toImage();
}
