/**
 * src/image/figure.ts and font.ts: the canvas primitives, text layout and truncation, and the grid figures (sizes,
 * where images and captions land). Pure CPU.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import { BLACK, Canvas, WHITE, drawGrid, fitText, textWidth } from '../src/image/figure.js';
import { ADVANCE, FONT_CHARACTERS, GLYPH_HEIGHT, GLYPH_WIDTH, LINE_HEIGHT, glyph, glyphPixel } from '../src/image/font.js';
import { colorize } from '../src/image/colormap.js';
import { toUint8, type RgbImage8 } from '../src/image/image.js';
import { readImage, writePng } from '../src/image/node-io.js';
import { pixel, solid } from './bitmaps.js';
import { sharedData } from './shared-data.js';

const PHOTOS = sharedData('photos', 'the figure from real photos');
const photos = PHOTOS === null ? [] : readdirSync(PHOTOS).filter((f) => f.endsWith('.png')).sort().map((f) => join(PHOTOS, f));

/** The bounding box [x0, y0, x1, y1) of pixels that differ from white inside a window, or null when none do. */
function inkBox(img: RgbImage8, x0: number, y0: number, x1: number, y1: number): [number, number, number, number] | null {
  let box: [number, number, number, number] | null = null;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const [r, g, b] = pixel(img, x, y);
      if (r === 255 && g === 255 && b === 255) continue;
      box = box ? [Math.min(box[0], x), Math.min(box[1], y), Math.max(box[2], x + 1), Math.max(box[3], y + 1)] : [x, y, x + 1, y + 1];
    }
  }
  return box;
}

describe('font', () => {
  it('covers printable ASCII 32–126, one glyph each, within the 5-wide cell; unknown characters draw as ?', () => {
    expect(FONT_CHARACTERS).toBe(Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join(''));
    const seen = new Set<string>();
    for (const ch of FONT_CHARACTERS) {
      const rows = glyph(ch);
      expect(rows.length).toBe(GLYPH_HEIGHT);
      for (const row of rows) expect(row >> GLYPH_WIDTH).toBe(0);
      const key = Array.from(rows).join(',');
      if (ch !== ' ') {
        expect(rows.some((r) => r !== 0), `'${ch}' has ink`).toBe(true);
        expect(seen.has(key), `'${ch}' differs from every other glyph`).toBe(false);
      }
      seen.add(key);
    }
    expect(glyph('é')).toBe(glyph('?'));
    // descenders use the two rows below the baseline; capitals do not
    expect(glyph('g').subarray(7).some((r) => r !== 0)).toBe(true);
    expect(glyph('E').subarray(7).every((r) => r === 0)).toBe(true);
    expect(glyphPixel(glyph('T'), 2, 6)).toBe(true);
    expect(glyphPixel(glyph('T'), 0, 6)).toBe(false);
  });
});

describe('canvas', () => {
  it('fill and blit clip to the canvas; blit scales with nearest neighbour', () => {
    const c = new Canvas(6, 4);
    expect(pixel(c.toImage(), 0, 0)).toEqual([...WHITE]);
    c.fill(-2, -2, 3, 3, [1, 2, 3]);
    expect(pixel(c.toImage(), 0, 0)).toEqual([1, 2, 3]);
    expect(pixel(c.toImage(), 1, 0)).toEqual([255, 255, 255]);
    // a 2×2 image drawn at 4×4: each source pixel becomes a 2×2 block
    const src: RgbImage8 = { width: 2, height: 2, data: new Uint8ClampedArray([10, 0, 0, 20, 0, 0, 30, 0, 0, 40, 0, 0]) };
    const big = new Canvas(4, 4);
    big.blit(src, 0, 0, 4, 4);
    const reds = Array.from({ length: 16 }, (_, p) => pixel(big.toImage(), p % 4, Math.floor(p / 4))[0]);
    expect(reds).toEqual([10, 10, 20, 20, 10, 10, 20, 20, 30, 30, 40, 40, 30, 30, 40, 40]);
    // shrinking picks the source pixel under each destination centre; clipping at the edges does not throw
    const small = new Canvas(3, 3);
    small.blit(big.toImage(), 1, 1, 2, 2);
    expect(pixel(small.toImage(), 1, 1)[0]).toBe(10);
    expect(pixel(small.toImage(), 2, 2)[0]).toBe(40);
    small.blit(src, 2, 2, 10, 10);
    expect(pixel(small.toImage(), 2, 2)[0]).toBe(10);
  });

  it('text draws its glyphs at integer scale, and measures what it draws', () => {
    expect(textWidth('')).toBe(0);
    expect(textWidth('A')).toBe(GLYPH_WIDTH);
    expect(textWidth('iter 25')).toBe(7 * ADVANCE - 1);
    expect(textWidth('iter 25', 3)).toBe(3 * (7 * ADVANCE - 1));
    for (const scale of [1, 2, 3]) {
      const c = new Canvas(80, 40);
      const w = c.text('Hg', 5, 3, { scale, color: BLACK });
      expect(w).toBe(textWidth('Hg', scale));
      // H fills rows 0–6 from its left column; g reaches the descender rows: the ink box is exactly the text box
      expect(inkBox(c.toImage(), 0, 0, 80, 40)).toEqual([5, 3, 5 + w, 3 + GLYPH_HEIGHT * scale]);
      // every font pixel is a scale × scale square: H's top-left pixel
      for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) expect(pixel(c.toImage(), 5 + dx, 3 + dy)).toEqual([0, 0, 0]);
    }
    expect(() => new Canvas(4, 4).text('x', 0, 0, { scale: 1.5 })).toThrow(PixelpropError);
  });

  it('fitText keeps what fits and ends the rest in ".."', () => {
    expect(fitText('tench', 100)).toBe('tench');
    const long = 'great white shark, white shark, man-eater, man-eating shark, Carcharodon carcharias';
    const fitted = fitText(long, 100);
    expect(fitted.endsWith('..')).toBe(true);
    expect(textWidth(fitted)).toBeLessThanOrEqual(100);
    expect(textWidth(fitted) + 2 * ADVANCE).toBeGreaterThan(100); // as long as fits: one more character would not
    expect(long.startsWith(fitted.slice(0, -2))).toBe(true);
    expect(fitText(long, 11)).toBe('..');
    expect(fitText(long, 3)).toBe('');
    expect(fitText('abcdef', 40, 2)).toBe('a..'); // 'ab..' would be 46 px at scale 2
  });
});

describe('drawGrid', () => {
  it('has the size of its layout: margins, title, cells, captions, gaps', () => {
    const cell = (caption?: string) => ({ image: solid(32, 32, [200, 0, 0]), caption });
    const fig = drawGrid({ title: 'Saliency', rows: [[cell('a'), cell('b'), cell('c')], [cell(), cell(), cell()]] });
    // width: 2·10 margin + 3·32 cells + 2·10 gaps; height: 2·10 + title (2·10 + 10 gap) + 2·32 + one caption line
    // (4 padding + 10) on the first row only + one 10 gap
    expect([fig.width, fig.height]).toEqual([20 + 96 + 20, 20 + 30 + 64 + 14 + 10]);
    expect(fig.data.length).toBe(fig.width * fig.height * 3);
    // the background is white, the cells are where the layout says
    expect(pixel(fig, 0, 0)).toEqual([255, 255, 255]);
    expect(pixel(fig, 10, 40)).toEqual([200, 0, 0]); // first cell's top-left: (margin, margin + title)
    expect(pixel(fig, 10 + 2 * 42 + 31, 40 + 31)).toEqual([200, 0, 0]); // third cell's bottom-right
    expect(pixel(fig, 10 + 32, 40)).toEqual([255, 255, 255]); // the gap after the first cell
    expect(pixel(fig, 10, 40 + 32 + 14 + 10)).toEqual([200, 0, 0]); // second row starts below caption and gap

    const big = drawGrid({ rows: [[cell('x')]], textScale: 2, margin: 0, gap: 0, cellSize: 64 });
    expect([big.width, big.height]).toEqual([64, 64 + 2 * 4 + 2 * LINE_HEIGHT]);
  });

  it('captions and the title render as ink in their areas, centred, and never wider than their cell', () => {
    const long = 'great white shark, white shark, man-eater, man-eating shark';
    const rows = [[{ image: solid(64, 64, [0, 0, 255]), caption: 'tench' }, { image: solid(64, 64, [0, 0, 255]), caption: long }]];
    const fig = drawGrid({ title: 'A title', rows });
    const captionTop = 10 + 30 + 64;
    const caption1 = inkBox(fig, 10, captionTop, 10 + 64, fig.height);
    expect(caption1, 'first caption has ink').not.toBeNull();
    const w = textWidth('tench');
    expect(caption1![0]).toBe(10 + Math.floor((64 - w) / 2)); // centred under its cell
    expect(caption1![2] - caption1![0]).toBe(w);
    const caption2 = inkBox(fig, 10 + 64, captionTop, fig.width, fig.height);
    expect(caption2).not.toBeNull();
    expect(caption2![0]).toBeGreaterThanOrEqual(10 + 64 + 10); // the long one is cut to its own cell
    expect(caption2![2]).toBeLessThanOrEqual(10 + 64 + 10 + 64);
    expect(inkBox(fig, 0, 0, fig.width, 10 + 20), 'title has ink').not.toBeNull();
    expect(inkBox(fig, 0, 0, fig.width, 10), 'nothing in the top margin').toBeNull();
  });

  it('fits images of other sizes into the cell keeping their aspect; multi-line captions; ragged rows', () => {
    const wide = solid(64, 32, [0, 255, 0]);
    const fig = drawGrid({ rows: [[{ image: wide, caption: 'line one\nline two' }], [{ image: solid(8, 8, [0, 0, 0]) }, { image: solid(8, 8, [9, 9, 9]) }]], cellSize: 32 });
    expect(fig.width).toBe(20 + 2 * 32 + 10); // the longest row decides
    // the 64×32 image becomes 32×16, centred vertically in its 32×32 cell
    expect(pixel(fig, 10, 10 + 7)).toEqual([255, 255, 255]);
    expect(pixel(fig, 10, 10 + 8)).toEqual([0, 255, 0]);
    expect(pixel(fig, 10 + 31, 10 + 23)).toEqual([0, 255, 0]);
    expect(pixel(fig, 10, 10 + 24)).toEqual([255, 255, 255]);
    // two caption lines: ink in both line bands
    const top = 10 + 32 + 4;
    expect(inkBox(fig, 10, top, 42, top + LINE_HEIGHT)).not.toBeNull();
    expect(inkBox(fig, 10, top + LINE_HEIGHT, 42, top + 2 * LINE_HEIGHT)).not.toBeNull();
    // 8×8 images are enlarged 4× to fill the cell
    const row2 = 10 + 32 + 4 + 2 * LINE_HEIGHT + 10;
    expect(pixel(fig, 10, row2)).toEqual([0, 0, 0]);
    expect(pixel(fig, 10 + 42 + 31, row2 + 31)).toEqual([9, 9, 9]);
  });

  it('bad layouts are one-line errors', () => {
    expect(() => drawGrid({ rows: [] })).toThrow(/no images to draw/);
    expect(() => drawGrid({ rows: [[{ image: solid(2, 2, [0, 0, 0]) }]], cellSize: 0 })).toThrow(/cellSize 0/);
    expect(() => drawGrid({ rows: [[{ image: { width: 2, height: 2, data: new Uint8ClampedArray(5) } }]] })).toThrow(PixelpropError);
  });

  it.skipIf(photos.length < 4)('a saliency-style figure from real photos round-trips through a PNG file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pixelprop-figure-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const images = await Promise.all(photos.slice(0, 4).map((p) => readImage(p)));
    // a stand-in map per photo: the local contrast |∂I/∂x| summed over channels
    const maps = images.map((img) => {
      const m = new Float32Array(img.width * img.height);
      for (let p = 0; p < m.length; p++) {
        const q = p % img.width === img.width - 1 ? p : p + 1;
        for (let c = 0; c < 3; c++) m[p]! += Math.abs(img.data[3 * q + c]! - img.data[3 * p + c]!);
      }
      return colorize(m, img.width, img.height);
    });
    const names = ['hay', 'quail', 'Tibetan mastiff', 'Border terrier'];
    const fig = drawGrid({
      title: 'Saliency maps',
      rows: [images.map((img, i) => ({ image: toUint8(img), caption: names[i] })), maps.map((image) => ({ image }))],
    });
    expect([fig.width, fig.height]).toEqual([20 + 4 * 224 + 3 * 10, 20 + 30 + 2 * 224 + 14 + 10]);
    const path = join(dir, 'saliency.png');
    await writePng(path, fig);
    const back = toUint8(await readImage(path));
    expect(Buffer.from(back.data).equals(Buffer.from(fig.data))).toBe(true);
  });
});
