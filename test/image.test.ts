/**
 * src/image: decoding every kind of PNG and JPEG (and refusing bad files before decoding), PIL/torchvision-style
 * preprocessing against a float64 reference written from the definition, .npy bytes as NumPy writes them,
 * matplotlib's colormaps. Pure CPU.
 *
 * Where a python3 has numpy / PIL / matplotlib, the same things are also checked against the real libraries (PYTHON=
 * /path/to/python chooses the interpreter; otherwise the first of python3 on the PATH and Debian's /usr/bin/python3
 * that has them, since a pyenv shim may hide the apt packages). CI installs them (.ci/run), so there they run; on a
 * developer's machine without them those tests are skipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { PixelpropError } from '../src/gpu/errors.js';
import { decodeImage, encodePng, readImage, readNpy, writeNpy, writePng } from '../src/image/node-io.js';
import { toFloat, toUint8, type RgbImage } from '../src/image/image.js';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  NORMALIZED_MAX,
  NORMALIZED_MIN,
  centerCrop,
  centerCropOffsets,
  deprocess,
  normalize,
  preprocess,
  resizeBilinear,
  shorterSideSize,
} from '../src/image/preprocess.js';
import { decodeNpy, encodeNpy } from '../src/image/npy.js';
import { colorOf, colorize, colormapLut } from '../src/image/colormap.js';
import { probeBrowserImage, sniffFormat } from '../src/image/probe.js';
import { Rng } from '../src/util/rng.js';
import { sharedData } from './shared-data.js';

const { PNG } = pngjs;
const PHOTOS = sharedData('photos', 'decoding the 25 ImageNet photos');
const photos = PHOTOS === null ? [] : readdirSync(PHOTOS).filter((f) => f.endsWith('.png')).sort().map((f) => join(PHOTOS, f));

const dir = mkdtempSync(join(tmpdir(), 'pixelprop-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes?: Uint8Array) => {
  const path = join(dir, name);
  if (bytes) writeFileSync(path, bytes);
  return path;
};

// ---------------------------------------------------------------------------------------------------------------
// Python, when present, as an independent oracle.
const PYTHONS = process.env.PYTHON ? [process.env.PYTHON] : ['python3', '/usr/bin/python3'];
function importsIn(python: string, modules: string): boolean {
  return spawnSync(python, ['-c', `import ${modules}`]).status === 0;
}
const PYTHON = PYTHONS.find((p) => importsIn(p, 'numpy, PIL, matplotlib')) ?? PYTHONS[0]!;
function pythonHas(modules: string): boolean {
  return importsIn(PYTHON, modules);
}
function python(code: string): Buffer {
  const r = spawnSync(PYTHON, ['-c', code], { maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr.toString()}`);
  return r.stdout;
}
const hasNumpy = pythonHas('numpy');
const hasPil = pythonHas('numpy, PIL');
const hasMatplotlib = pythonHas('numpy, matplotlib');

// ---------------------------------------------------------------------------------------------------------------
// PNG files by hand, for what pngjs cannot write (palette, 1–4 bit, tRNS, interlacing, hostile headers).
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
function ihdr(width: number, height: number, depth: number, colorType: number, interlace = 0): Uint8Array {
  const d = new Uint8Array(13);
  const v = new DataView(d.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  d.set([depth, colorType, 0, 0, interlace], 8);
  return chunk('IHDR', d);
}
/** A PNG from raw scanlines (each starting with its filter byte), with extra chunks between IHDR and IDAT. */
function pngBytes(header: Uint8Array, raw: Uint8Array, extra: Uint8Array[] = []): Uint8Array {
  const sig = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return concat([sig, header, ...extra, chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}
/** Packs rows of samples (each 0…2^depth−1) into filter-0 scanlines. */
function scanlines(rows: number[][], depth: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const row of rows) {
    const line = new Uint8Array(1 + Math.ceil((row.length * depth) / 8));
    row.forEach((s, i) => {
      if (depth === 16) {
        line[1 + 2 * i] = s >> 8;
        line[2 + 2 * i] = s & 0xff;
      } else {
        const bit = i * depth;
        line[1 + (bit >> 3)]! |= s << (8 - depth - (bit & 7));
      }
    });
    parts.push(line);
  }
  return concat(parts);
}

function pngjsFile(width: number, height: number, rgba: Uint8Array | Uint16Array, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16 = 8): Uint8Array {
  const data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  const png = { width, height, data } as unknown as InstanceType<typeof PNG>;
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true, bitDepth });
}

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => rng.int(0, 255));
}

/** Exact equality of two long arrays (vitest's deep equality is slow on 150k-element typed arrays). */
function expectSame(a: ArrayLike<number>, b: ArrayLike<number>, what = 'arrays'): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) expect(a[i], `${what}: element ${i}`).toBe(b[i]);
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function checkError(error: unknown, pattern: RegExp): void {
  expect(error, `expected a PixelpropError matching ${pattern}`).toBeInstanceOf(PixelpropError);
  expect((error as Error).message).toMatch(pattern);
  expect((error as Error).message).not.toContain('\n');
}
/** `fn` throws a one-line PixelpropError matching `pattern`. */
function expectError(fn: () => unknown, pattern: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  checkError(error, pattern);
}
/** `p` rejects with a one-line PixelpropError matching `pattern`. */
async function expectRejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  checkError(error, pattern);
}

// ---------------------------------------------------------------------------------------------------------------
describe('decoding PNG', () => {
  const W = 7;
  const H = 5;
  const rgba = randomBytes(W * H * 4, 1);
  rgba[3] = 0; // a fully transparent pixel keeps its stored colour (alpha dropped, as PIL's convert('RGB'))

  it('8-bit RGB and RGBA: every value is v / 255, alpha dropped without compositing', () => {
    // (pngjs's writer composites onto white when it drops alpha, so the RGB file is written from opaque pixels.)
    const opaque = rgba.map((v, i) => (i % 4 === 3 ? 255 : v));
    for (const [colorType, pixels] of [[2, opaque], [6, rgba]] as const) {
      const img = decodeImage(pngjsFile(W, H, pixels, colorType), 'x.png');
      expect([img.width, img.height]).toEqual([W, H]);
      const expected = Float32Array.from({ length: W * H * 3 }, (_, i) => pixels[4 * Math.floor(i / 3) + (i % 3)]! / 255);
      expect(img.data).toEqual(expected);
    }
  });

  it('8-bit gray and gray+alpha: R = G = B = v / 255', () => {
    for (const colorType of [0, 4] as const) {
      // pngjs converts RGBA input to gray by averaging; write a gray image so that the value is known.
      const alpha = (i: number) => (colorType === 4 ? (i * 37) % 256 : 255);
      const gray = Uint8Array.from({ length: W * H * 4 }, (_, i) => (i % 4 === 3 ? alpha(i) : rgba[i - (i % 4)]!));
      const img = decodeImage(pngjsFile(W, H, gray, colorType), 'g.png');
      for (let p = 0; p < W * H; p++) {
        for (let c = 0; c < 3; c++) expect(img.data[3 * p + c]).toBe(Math.fround(gray[4 * p]! / 255));
      }
    }
  });

  it('16-bit RGB and RGBA keep all 16 bits: v / 65535, not the high byte', () => {
    const rng = new Rng(2);
    const samples = Uint16Array.from({ length: W * H * 4 }, () => rng.int(0, 65535));
    samples[0] = 0x0101 * 200 + 1; // 51401: differs from any 8-bit value scaled up
    samples[1] = 65535;
    samples[2] = 0;
    for (let p = 0; p < W * H; p++) samples[4 * p + 3] = p % 2 === 0 ? 65535 : rng.int(0, 65535);
    for (const colorType of [2, 6] as const) {
      if (colorType === 2) for (let p = 0; p < W * H; p++) samples[4 * p + 3] = 65535;
      const img = decodeImage(pngjsFile(W, H, samples, colorType, 16), 'deep.png');
      const expected = Float32Array.from({ length: W * H * 3 }, (_, i) => samples[4 * Math.floor(i / 3) + (i % 3)]! / 65535);
      expect(img.data).toEqual(expected);
      expect(Math.abs(img.data[0]! * 255 - Math.round(img.data[0]! * 255))).toBeGreaterThan(1e-3);
    }
  });

  it('palette (8- and 4-bit, with tRNS): the palette colours, transparency ignored', () => {
    const palette = [
      [255, 0, 0],
      [0, 128, 255],
      [17, 34, 51],
    ];
    const plte = chunk('PLTE', Uint8Array.from(palette.flat()));
    const trns = chunk('tRNS', Uint8Array.from([0, 128, 255]));
    const rows = [
      [0, 1, 2, 1],
      [2, 2, 0, 1],
    ];
    for (const depth of [8, 4]) {
      const img = decodeImage(pngBytes(ihdr(4, 2, depth, 3), scanlines(rows, depth), [plte, trns]), 'p.png');
      const expected = rows.flat().flatMap((i) => palette[i]!.map((v) => v / 255));
      expect(Array.from(img.data)).toEqual(Array.from(Float32Array.from(expected)));
    }
  });

  it('1-, 2-, 4-bit and 16-bit gray scale to [0, 1] by 2^depth − 1; a tRNS colour key does not black pixels out', () => {
    for (const depth of [1, 2, 4, 16]) {
      const max = 2 ** depth - 1;
      const rows = [
        [0, max, Math.floor(max / 3), 1, max],
        [max, 0, 0, 1, Math.floor(max / 2)],
        [1, 1, max, 0, 0],
      ];
      const key = new Uint8Array(2);
      new DataView(key.buffer).setUint16(0, max); // the white level is "transparent"
      const img = decodeImage(pngBytes(ihdr(5, 3, depth, 0), scanlines(rows, depth), [chunk('tRNS', key)]), 'g.png');
      const expected = rows.flat().flatMap((v) => [v / max, v / max, v / max]);
      expect(Array.from(img.data)).toEqual(Array.from(Float32Array.from(expected)));
    }
  });

  it('Adam7-interlaced: the same pixels as non-interlaced', () => {
    const w = 13;
    const h = 11;
    const pixels = randomBytes(w * h * 3, 3);
    const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
    const parts: number[] = [];
    for (const [x0, y0, dx, dy] of passes as [number, number, number, number][]) {
      for (let y = y0; y < h; y += dy) {
        if (x0 >= w) continue;
        parts.push(0);
        for (let x = x0; x < w; x += dx) parts.push(...pixels.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));
      }
    }
    const img = decodeImage(pngBytes(ihdr(w, h, 8, 2, 1), Uint8Array.from(parts)), 'i.png');
    expect(img.data).toEqual(Float32Array.from(pixels, (v) => v / 255));
  });

  it('the format comes from the content, not the extension', async () => {
    const pngAsJpg = file('really-a-png.jpg', pngjsFile(W, H, rgba, 2));
    expect((await readImage(pngAsJpg)).width).toBe(W);
    const jpgAsPng = file('really-a-jpeg.png', jpeg.encode({ width: W, height: H, data: Buffer.from(rgba) }, 90).data);
    expect((await readImage(jpgAsPng)).height).toBe(H);
    expect(sniffFormat(Uint8Array.from([1, 2, 3]))).toBeNull();
  });

  it.skipIf(photos.length === 0)('the 25 ImageNet photos decode to 224×224 RGB in [0, 1], equal to pngjs 8-bit', async () => {
    for (const path of photos) {
      const img = await readImage(path);
      expect([img.width, img.height]).toEqual([224, 224]);
      const ref = PNG.sync.read(readFileSync(path));
      expect(maxAbsDiff(toUint8(img).data, Uint8Array.from({ length: 224 * 224 * 3 }, (_, i) => ref.data[4 * Math.floor(i / 3) + (i % 3)]!))).toBe(0);
    }
  });
});

describe('decoding JPEG', () => {
  it('decodes what jpeg-js encodes, within JPEG loss', () => {
    const w = 40;
    const h = 24;
    const rgba = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) rgba.set([x * 6, 40 + y * 7, 200 - x * 3 - y * 2, 255], (y * w + x) * 4);
    }
    const img = decodeImage(jpeg.encode({ width: w, height: h, data: Buffer.from(rgba) }, 95).data, 'x.jpg');
    expect([img.width, img.height]).toEqual([w, h]);
    const original = Float32Array.from({ length: w * h * 3 }, (_, i) => rgba[4 * Math.floor(i / 3) + (i % 3)]! / 255);
    const err = maxAbsDiff(img.data, original);
    expect(err).toBeLessThan(6 / 255); // measured 3/255 for this smooth image at quality 95
  });
});

describe('refusing bad files with one line', () => {
  const good = pngjsFile(4, 4, randomBytes(64, 4), 2);

  it('missing file, directory, empty file, text file', async () => {
    await expectRejects(readImage(join(dir, 'x.png')), new RegExp(`^cannot read image '.*x\\.png': no such file$`));
    const sub = join(dir, 'folder.png');
    mkdirSync(sub);
    await expectRejects(readImage(sub), /cannot read image '.*folder\.png': it is a directory/);
    await expectRejects(readImage(file('empty.png', new Uint8Array(0))), /'.*empty\.png' is empty \(0 bytes\)/);
    await expectRejects(readImage(file('notes.png', new TextEncoder().encode('hello, world'))), /'.*notes\.png' is not a PNG or JPEG image$/);
  });

  it('corrupt PNGs: truncated, bad CRC, damaged data', () => {
    expect(() => decodeImage(good, 'ok.png')).not.toThrow();
    expectError(() => decodeImage(good.subarray(0, 20), 'cut.png'), /^corrupt PNG 'cut\.png': file ends inside the header/);
    expectError(() => decodeImage(good.subarray(0, good.length - 20), 'cut.png'), /^corrupt PNG 'cut\.png': /);
    const badCrc = good.slice();
    badCrc[29]! ^= 0xff; // IHDR CRC
    expectError(() => decodeImage(badCrc, 'crc.png'), /^corrupt PNG 'crc\.png': /);
    // pngjs alone decodes these to an image with black rows; they must be errors.
    const shortData = pngBytes(ihdr(4, 4, 8, 2), new Uint8Array(10)); // 10 bytes where 4 rows of 13 belong
    expectError(() => decodeImage(shortData, 'short.png'), /^corrupt PNG 'short\.png': image data inflates to 10 bytes, not the 52 its header implies$/);
    const longData = pngBytes(ihdr(4, 4, 8, 2), new Uint8Array(53));
    expectError(() => decodeImage(longData, 'long.png'), /^corrupt PNG 'long\.png': image data inflates to 53 bytes, not the 52/);
    const cutStream = pngBytes(ihdr(4, 4, 8, 2), new Uint8Array(52));
    const idatAt = Buffer.from(cutStream).indexOf('IDAT');
    const damaged = cutStream.slice();
    damaged[idatAt + 6]! ^= 0x55; // inside the deflate stream; the CRC is then wrong too
    expectError(() => decodeImage(damaged, 'damaged.png'), /^corrupt PNG 'damaged\.png': /);
    expectError(() => decodeImage(pngBytes(ihdr(4, 4, 16, 3), new Uint8Array(0)), 'p16.png'), /bit depth 16 is not allowed for colour type 3/);
  });

  it('absurd and zero declared sizes are refused from the header, before any decoder allocates', () => {
    // 100000×100000 RGBA would be 40 GB; the file is a few dozen bytes. (pngjs would size its inflate buffer from
    // the header; the error must be ours, naming the declared size.)
    const bomb = pngBytes(ihdr(100000, 100000, 8, 6), new Uint8Array(100));
    expectError(() => decodeImage(bomb, 'bomb.png'), /^'bomb\.png' declares 100000×100000 pixels \(10000\.0 megapixels\), more than the limit of 50 megapixels$/);
    expectError(() => decodeImage(pngBytes(ihdr(0, 5, 8, 2), new Uint8Array(0)), 'zero.png'), /^'zero\.png' has zero size \(0×5\)$/);
    expectError(() => decodeImage(good, 'small.png', { maxMegapixels: 1e-5 }), /declares 4×4 pixels/);

    const jpg = jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(256, 128) }, 90).data;
    const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
    const big = Uint8Array.from(jpg);
    big.set([60000 >> 8, 60000 & 0xff, 60000 >> 8, 60000 & 0xff], sof + 5); // height, width
    expectError(() => decodeImage(big, 'big.jpg'), /^'big\.jpg' declares 60000×60000 pixels/);
    const zero = Uint8Array.from(jpg);
    zero.set([0, 0], sof + 5);
    expectError(() => decodeImage(zero, 'z.jpg'), /^'z\.jpg' has zero size/);
    const arithmetic = Uint8Array.from(jpg);
    arithmetic[sof + 1] = 0xc9;
    expectError(() => decodeImage(arithmetic, 'a.jpg'), /arithmetic JPEG; only baseline and progressive/);
  });

  it('the browser-only formats: GIF and WebP sizes read from their headers, huge ones refused; others are not read', () => {
    // Headers laid out as PIL writes them (checked against PIL's GIF and its lossy, lossless and extended WebP).
    const gif = (w: number, h: number, frame?: [number, number, number, number]): Uint8Array => {
      const b = new Uint8Array(40);
      b.set([...'GIF89a'].map((c) => c.charCodeAt(0)));
      new DataView(b.buffer).setUint16(6, w, true);
      new DataView(b.buffer).setUint16(8, h, true);
      if (frame) {
        b[13] = 0x2c; // image descriptor: left, top, width, height
        frame.forEach((v, k) => new DataView(b.buffer).setUint16(14 + 2 * k, v, true));
      }
      return b;
    };
    const webp = (chunk: string, body: (v: DataView) => void): Uint8Array => {
      const b = new Uint8Array(40);
      b.set([...'RIFF'].map((c) => c.charCodeAt(0)));
      b.set([...'WEBP'].map((c) => c.charCodeAt(0)), 8);
      b.set([...chunk].map((c) => c.charCodeAt(0)), 12);
      body(new DataView(b.buffer));
      return b;
    };
    const vp8x = (w: number, h: number) =>
      webp('VP8X', (v) => {
        v.setUint16(24, (w - 1) & 0xffff, true);
        v.setUint8(26, (w - 1) >> 16);
        v.setUint16(27, (h - 1) & 0xffff, true);
        v.setUint8(29, (h - 1) >> 16);
      });
    const vp8l = (w: number, h: number) =>
      webp('VP8L', (v) => {
        v.setUint8(20, 0x2f);
        v.setUint32(21, ((w - 1) | ((h - 1) << 14)) >>> 0, true);
      });
    const vp8 = (w: number, h: number) =>
      webp('VP8 ', (v) => {
        [0x9d, 0x01, 0x2a].forEach((x, k) => v.setUint8(23 + k, x));
        v.setUint16(26, w, true);
        v.setUint16(28, h, true);
      });
    expect(probeBrowserImage(gif(37, 21, [0, 0, 37, 21]), 'a.gif')).toEqual({ format: 'gif', width: 37, height: 21 });
    expect(probeBrowserImage(vp8x(37, 21), 'a.webp')).toEqual({ format: 'webp', width: 37, height: 21 });
    expect(probeBrowserImage(vp8l(37, 21), 'a.webp')).toEqual({ format: 'webp', width: 37, height: 21 });
    expect(probeBrowserImage(vp8(37, 21), 'a.webp')).toEqual({ format: 'webp', width: 37, height: 21 });
    expectError(() => probeBrowserImage(gif(60000, 60000), 'big.gif'), /^'big\.gif' declares 60000×60000 pixels/);
    expectError(() => probeBrowserImage(gif(10, 10, [50000, 0, 30000, 30000]), 'frame.gif'), /^'frame\.gif' declares 80000×30000 pixels/);
    expectError(() => probeBrowserImage(vp8x(16000000, 16000000), 'big.webp'), /^'big\.webp' declares 16000000×16000000 pixels/);
    expectError(() => probeBrowserImage(vp8l(16384, 16384), 'big.webp'), /declares 16384×16384 pixels/);
    expectError(() => probeBrowserImage(gif(10, 10).subarray(0, 10), 'cut.gif'), /^corrupt GIF 'cut\.gif': file ends inside the header$/);
    expect(probeBrowserImage(new TextEncoder().encode('BM and the rest of a bitmap'), 'a.bmp')).toBeNull();
  });

  it('an interlaced PNG whose data inflates past its declared size is refused (pngjs would inflate it unbounded)', () => {
    const raw = new Uint8Array(100000); // a 4×4 interlaced image needs a few dozen bytes
    expectError(() => decodeImage(pngBytes(ihdr(4, 4, 8, 2, 1), raw), 'zip.png'), /^corrupt PNG 'zip\.png': image data inflates to more than the 55 bytes its header implies$/);
  });

  it('corrupt JPEGs: truncated, no frame header', () => {
    const jpg = jpeg.encode({ width: 16, height: 16, data: Buffer.from(randomBytes(1024, 5)) }, 90).data;
    expect(() => decodeImage(jpg, 'ok.jpg')).not.toThrow();
    expectError(() => decodeImage(jpg.subarray(0, jpg.length - 40), 'cut.jpg'), /^corrupt JPEG 'cut\.jpg': /);
    expectError(() => decodeImage(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]), 'eoi.jpg'), /^corrupt JPEG 'eoi\.jpg': no frame header/);
  });
});

describe('writing PNG', () => {
  it('RGB and RGBA images round-trip through encodePng / writePng', async () => {
    const rgb = { width: 9, height: 4, data: new Uint8ClampedArray(randomBytes(9 * 4 * 3, 6)) };
    const back = await readImage(await writeAndPath('rgb.png', rgb));
    expect(toUint8(back).data).toEqual(rgb.data);
    const rgba = { width: 3, height: 2, data: randomBytes(24, 7) };
    const decoded = decodeImage(encodePng(rgba), 'rgba.png');
    expect(Array.from(toUint8(decoded).data)).toEqual(Array.from({ length: 18 }, (_, i) => rgba.data[4 * Math.floor(i / 3) + (i % 3)]));
  });

  async function writeAndPath(name: string, img: Parameters<typeof writePng>[1]): Promise<string> {
    const path = file(name);
    await writePng(path, img);
    return path;
  }

  it('a missing folder is one line', async () => {
    await expectRejects(writePng(join(dir, 'nope', 'x.png'), { width: 1, height: 1, data: new Uint8ClampedArray(3) }), /^cannot write PNG '.*x\.png': its folder does not exist$/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The float64 reference of PIL's antialiased bilinear resize, straight from the definition: output pixel (x, y)
// is Σᵢ Σⱼ wₓ(i) w_y(j) · in(i, j), where along each axis w(i) = tri((i + ½ − c) / f) / Σ tri(…), c = (o + ½)·in/out,
// f = max(in/out, 1), over every source pixel (the triangle is zero outside its support).
function axisWeightsRef(inSize: number, outSize: number, o: number): Float64Array {
  const scale = inSize / outSize;
  const f = Math.max(scale, 1);
  const c = (o + 0.5) * scale;
  const w = Float64Array.from({ length: inSize }, (_, i) => Math.max(0, 1 - Math.abs((i + 0.5 - c) / f)));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}
function resizeRef(img: RgbImage, outW: number, outH: number): Float64Array {
  const out = new Float64Array(outW * outH * 3);
  const wx = Array.from({ length: outW }, (_, x) => axisWeightsRef(img.width, outW, x));
  const wy = Array.from({ length: outH }, (_, y) => axisWeightsRef(img.height, outH, y));
  // Only the source pixels with a nonzero weight contribute; listing them keeps the double sum short.
  const nonzero = (w: Float64Array) => [...w.keys()].filter((i) => w[i]! > 0);
  const isOf = wx.map(nonzero);
  const jsOf = wy.map(nonzero);
  for (let y = 0; y < outH; y++) {
    const js = jsOf[y]!;
    for (let x = 0; x < outW; x++) {
      const is = isOf[x]!;
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (const j of js) for (const i of is) acc += wx[x]![i]! * wy[y]![j]! * img.data[(j * img.width + i) * 3 + c]!;
        out[(y * outW + x) * 3 + c] = acc;
      }
    }
  }
  return out;
}
/** HWC [0,1] → CHW normalized, float64. */
function normalizeRef(hwc: ArrayLike<number>, w: number, h: number): Float64Array {
  const out = new Float64Array(3 * w * h);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < w * h; p++) out[c * w * h + p] = (hwc[3 * p + c]! - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
  }
  return out;
}
function cropRef(hwc: Float64Array, w: number, left: number, top: number, cw: number, ch: number): Float64Array {
  const out = new Float64Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw * 3; x++) out[y * cw * 3 + x] = hwc[((top + y) * w + left) * 3 + x]!;
  return out;
}
function gradientImage(w: number, h: number): RgbImage {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data.set([x / (w - 1), y / (h - 1), 0.5 + 0.5 * Math.sin((x + 2 * y) / 17)], (y * w + x) * 3);
    }
  }
  return { width: w, height: h, data };
}
function noiseImage(w: number, h: number, seed: number): RgbImage {
  return toFloat({ width: w, height: h, data: new Uint8ClampedArray(randomBytes(w * h * 3, seed)) });
}

describe('preprocessing (Resize 224 + CenterCrop 224 + Normalize)', () => {
  it('a 224×224 image passes through the resize unchanged: preprocess = normalize, bit for bit', () => {
    const img = noiseImage(224, 224, 8);
    expectSame(resizeBilinear(img, 224, 224).data, img.data, 'resize to the same size');
    const x = preprocess(img);
    expect(x.length).toBe(3 * 224 * 224);
    expectSame(x, normalize(img), 'preprocess vs normalize');
    // Normalize in float32 the way torch computes it: fl(fl(v − fl(mean)) / fl(std)).
    const torchLike = new Float32Array(x.length);
    const f = Math.fround;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 224 * 224; p++) torchLike[c * 224 * 224 + p] = f(f(img.data[3 * p + c]! - f(IMAGENET_MEAN[c]!)) / f(IMAGENET_STD[c]!));
    }
    expectSame(x, torchLike, 'preprocess vs float32 normalize');
    expect(maxAbsDiff(x, normalizeRef(img.data, 224, 224))).toBeLessThan(1e-6);
  });

  it('448×448 → 224: the antialiased (4-tap) bilinear of PIL, vs the float64 reference', () => {
    for (const img of [gradientImage(448, 448), noiseImage(448, 448, 9)]) {
      const ref = normalizeRef(resizeRef(img, 224, 224), 224, 224);
      const err = maxAbsDiff(preprocess(img), ref);
      expect(err).toBeLessThan(2e-6); // float32 rounding of values up to ~2.6
    }
    // Antialiasing, concretely: a 1-pixel checkerboard shrunk 2× is flat gray (each output averages 2×2 in the
    // interior), where point-sampling bilinear would give back the checkerboard.
    const checker = gradientImage(448, 448);
    for (let p = 0; p < 448 * 448; p++) checker.data.fill(((p % 448) + Math.floor(p / 448)) % 2, 3 * p, 3 * p + 3);
    const small = resizeBilinear(checker, 224, 224);
    expect(small.data[(100 * 224 + 100) * 3]).toBeCloseTo(0.5, 6);
  });

  it('non-square images: shorter side to 224 (truncating), centre crop with round-half-even offsets', () => {
    expect(shorterSideSize(300, 200, 224)).toEqual([336, 224]);
    expect(shorterSideSize(200, 300, 224)).toEqual([224, 336]);
    expect(shorterSideSize(225, 500, 224)).toEqual([224, 497]); // 224·500/225 = 497.8 → 497
    expect(centerCropOffsets(224, 497, 224, 224)).toEqual([0, 136]); // (497 − 224)/2 = 136.5 → 136 (half to even)
    expect(centerCropOffsets(227, 224, 224, 224)).toEqual([2, 0]); // 1.5 → 2
    expect(centerCropOffsets(336, 224, 224, 224)).toEqual([56, 0]);

    for (const [w, h] of [[300, 200], [200, 300], [500, 225], [97, 61]] as const) {
      const img = gradientImage(w, h);
      const [rw, rh] = shorterSideSize(w, h, 224);
      const [left, top] = centerCropOffsets(rw, rh, 224, 224);
      const ref = normalizeRef(cropRef(resizeRef(img, rw, rh), rw, left, top, 224, 224), 224, 224);
      expect(maxAbsDiff(preprocess(img), ref), `${w}×${h}`).toBeLessThan(2e-6);
    }
    // centerCrop/crop on their own
    const img = noiseImage(30, 20, 10);
    const c = centerCrop(img, 10, 10);
    expect(c.data.subarray(0, 3)).toEqual(img.data.subarray((5 * 30 + 10) * 3, (5 * 30 + 10) * 3 + 3));
  });

  it('a configurable size; downscaling by non-integer factors and upscaling match the reference', () => {
    const img = noiseImage(123, 77, 11);
    for (const [w, h] of [[50, 31], [200, 100], [123, 40], [7, 77]] as const) {
      expect(maxAbsDiff(resizeBilinear(img, w, h).data, resizeRef(img, w, h)), `${w}×${h}`).toBeLessThan(1e-6);
    }
    const x = preprocess(img, { size: 64 });
    expect(x.length).toBe(3 * 64 * 64);
    const [rw, rh] = shorterSideSize(123, 77, 64);
    const [l, t] = centerCropOffsets(rw, rh, 64, 64);
    expect(maxAbsDiff(x, normalizeRef(cropRef(resizeRef(img, rw, rh), rw, l, t, 64, 64), 64, 64))).toBeLessThan(2e-6);
  });

  it.skipIf(!hasPil)('agrees with PIL Image.resize(BILINEAR) to within one 8-bit level', () => {
    const img8 = { width: 181, height: 137, data: new Uint8ClampedArray(randomBytes(181 * 137 * 3, 12)) };
    const path = file('pil-in.png', encodePng(img8));
    for (const [w, h] of [[224, 169], [64, 48], [300, 227]] as const) {
      const out = python(
        `import sys, numpy as np; from PIL import Image\n` +
          `a = np.asarray(Image.open('${path}').convert('RGB').resize((${w}, ${h}), Image.BILINEAR))\n` +
          `np.save(sys.stdout.buffer, a)`,
      );
      const pil = decodeNpy(new Uint8Array(out));
      expect(pil.shape).toEqual([h, w, 3]);
      const ours = resizeBilinear(toFloat(img8), w, h).data.map((v) => v * 255);
      expect(maxAbsDiff(ours, pil.data), `${w}×${h}`).toBeLessThanOrEqual(1 + 1e-4); // measured ≤ 1.000 (PIL rounds after each pass)
    }
  });

  it('deprocess(preprocess(x)) == x for 224×224 8-bit images', async () => {
    const imgs = [toUint8(noiseImage(224, 224, 13))];
    if (photos.length > 0) imgs.push(toUint8(await readImage(photos[0]!)));
    for (const img8 of imgs) {
      const back = deprocess(preprocess(toFloat(img8)), 224, 224);
      expect([back.width, back.height]).toEqual([224, 224]);
      expectSame(back.data, img8.data, 'deprocess(preprocess(x))');
    }
  });

  it('normalized bounds are the images of black and white; deprocess clamps, or stretches with rescale', () => {
    const black = normalize({ width: 1, height: 1, data: new Float32Array(3) });
    const white = normalize({ width: 1, height: 1, data: new Float32Array([1, 1, 1]) });
    for (let c = 0; c < 3; c++) {
      expect(NORMALIZED_MIN[c]).toBeCloseTo(black[c]!, 6);
      expect(NORMALIZED_MAX[c]).toBeCloseTo(white[c]!, 6);
    }
    expect(NORMALIZED_MIN[0]).toBeCloseTo(-0.485 / 0.229, 12);
    const far = new Float32Array([-10, 10, -10, 10, 0, 0]); // [3,1,2]
    expect(Array.from(deprocess(far, 1, 2).data)).toEqual([0, 0, 104, 255, 255, 104]); // 0.406 · 255 = 103.5
    const stretched = deprocess(new Float32Array([0, 1, 0, 1, 0, 1]), 1, 2, { rescale: true }).data;
    expect(Math.min(...stretched)).toBe(0);
    expect(Math.max(...stretched)).toBe(255);
  });

  it('bad arguments are one-line errors', () => {
    expectError(() => preprocess(gradientImage(4, 4), { size: 0 }), /size 0 must be a positive integer/);
    expectError(() => preprocess({ width: 2, height: 2, data: new Float32Array(5) }), /5 values for a 2×2 image with 3 channels/);
    expectError(() => deprocess(new Float32Array(10), 2, 2), /10 values for a \[3,2,2\] image/);
    expectError(() => deprocess(new Float32Array(3).fill(NaN), 1, 1), /NaN/);
    expectError(() => centerCrop(gradientImage(4, 4), 5, 2), /does not fit/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('.npy', () => {
  it('writes the bytes NumPy writes: header dict, growth room, 64-byte alignment, newline, little-endian float32', () => {
    const bytes = encodeNpy([0, 1, 2, 3, 4, 5.5], [2, 3]);
    const headerLength = bytes[8]! | (bytes[9]! << 8);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    expect((10 + headerLength) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    expect(header).toBe(dict + ' '.repeat(headerLength - dict.length - 1) + '\n');
    expect(headerLength).toBe(118); // the 59-character dict, 20 spaces of growth room, 38 of padding, '\n'
    expect(Array.from(new Float32Array(bytes.slice(10 + headerLength).buffer))).toEqual([0, 1, 2, 3, 4, 5.5]);
    expect(bytes.length).toBe(128 + 24);
    // When the text would end exactly on a 64-byte boundary NumPy still pads, by a full 64.
    expect(encodeNpy([], [0, 11, 101, 101, 101, 101, 101, 1, 1, 1, 1]).length).toBe(192);
    // 1-D and 0-D tuples are written the Python way
    expect(new TextDecoder().decode(encodeNpy([7], [1]))).toContain("'shape': (1,), }");
    expect(new TextDecoder().decode(encodeNpy([7], []))).toContain("'shape': (), }");
  });

  const shapes = [[2, 3], [5], [], [1, 3, 224, 224], [0], [13, 13, 1000], [0, 11, 101, 101, 101, 101, 101, 1, 1, 1, 1]];

  it('decodeNpy reads back what encodeNpy writes, including Fortran order', () => {
    for (const shape of shapes.slice(0, 5)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 100));
      const back = decodeNpy(encodeNpy(data, shape));
      expect(back.shape).toEqual(shape);
      expect(back.descr).toBe('<f4');
      expectSame(back.data, data, `shape [${shape}]`);
    }
    // The same bytes declared Fortran order are the transpose: (2,3) column-major [0..5] = [[0,2,4],[1,3,5]].
    const f = encodeNpy([0, 1, 2, 3, 4, 5], [2, 3]);
    const at = Buffer.from(f).indexOf('False');
    f.set(new TextEncoder().encode('True '), at);
    expect(Array.from(decodeNpy(f).data)).toEqual([0, 2, 4, 1, 3, 5]);
  });

  it.skipIf(!hasNumpy)('byte for byte what np.save writes, and np.load reads ours', () => {
    // One interpreter for all shapes: each np.save output as a base64 line.
    const tuple = (shape: number[]) => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
    const saved = python(
      `import sys, io, base64, numpy as np\n` +
        `for shape in [${shapes.map(tuple).join(', ')}]:\n` +
        `    b = io.BytesIO(); np.save(b, (np.sin(np.arange(int(np.prod(shape)))) * 100).astype('<f4').reshape(shape))\n` +
        `    print(base64.b64encode(b.getvalue()).decode())`,
    )
      .toString()
      .trim()
      .split('\n');
    shapes.forEach((shape, k) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const ours = encodeNpy(Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 100), shape);
      expect(Buffer.from(ours).equals(Buffer.from(saved[k]!, 'base64')), `shape [${shape}]`).toBe(true);
    });
    // and NumPy's other layouts come in: float64, uint8, big-endian, Fortran order
    const layouts = [
      ["np.arange(6, dtype='<f8').reshape(2, 3)", '<f8'],
      ["np.arange(6, dtype='u1').reshape(2, 3)", '|u1'],
      ["np.arange(6, dtype='>f4').reshape(2, 3)", '>f4'],
      ["np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3))", '<f4'],
    ] as const;
    const files = python(
      `import sys, io, base64, numpy as np\n` +
        `for a in [${layouts.map(([expr]) => expr).join(', ')}]:\n` +
        `    b = io.BytesIO(); np.save(b, a); print(base64.b64encode(b.getvalue()).decode())`,
    )
      .toString()
      .trim()
      .split('\n');
    layouts.forEach(([, descr], k) => {
      const back = decodeNpy(new Uint8Array(Buffer.from(files[k]!, 'base64')));
      expect(back.descr).toBe(descr);
      expect(back.shape).toEqual([2, 3]);
      expect(Array.from(back.data)).toEqual([0, 1, 2, 3, 4, 5]);
    });
  });

  it('writeNpy / readNpy files; bad files are one line', async () => {
    const path = file('map.npy');
    await writeNpy(path, [1.5, -2, 3], [3, 1]);
    const back = await readNpy(path);
    expect(back.shape).toEqual([3, 1]);
    expect(Array.from(back.data)).toEqual([1.5, -2, 3]);
    if (hasNumpy) {
      expect(python(`import numpy as np; a = np.load('${path}'); print(a.dtype, a.shape, a.ravel().tolist())`).toString().trim()).toBe(
        'float32 (3, 1) [1.5, -2.0, 3.0]',
      );
    }
    expectError(() => decodeNpy(new Uint8Array(20), 'z.npy'), /^'z\.npy' is not a readable \.npy file: no \\x93NUMPY magic$/);
    const i8 = encodeNpy([1], [1]);
    i8.set(new TextEncoder().encode("'<i8'"), 20);
    expectError(() => decodeNpy(i8, 'i.npy'), /dtype '<i8' is not one of float32, float64, uint8/);
    expectError(() => encodeNpy([1, 2], [3]), /2 values for shape \[3\]/);
    await expectRejects(readNpy(join(dir, 'none.npy')), /^cannot read \.npy file '.*none\.npy': no such file$/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('colormaps', () => {
  it("'hot' matches matplotlib: endpoints, quarter points, and the segment definition at every table entry", () => {
    // matplotlib 3.x: colormaps['hot']([0, .25, .5, .75, 1], bytes=True)
    expect(colorOf('hot', 0)).toEqual([10, 0, 0]);
    expect(colorOf('hot', 0.25)).toEqual([178, 0, 0]);
    expect(colorOf('hot', 0.5)).toEqual([255, 91, 0]);
    expect(colorOf('hot', 0.75)).toEqual([255, 255, 6]);
    expect(colorOf('hot', 1)).toEqual([255, 255, 255]);
    expect(colorOf('hot', -3)).toEqual([10, 0, 0]); // clamped, like matplotlib's under/over colours
    expect(colorOf('hot', 7)).toEqual([255, 255, 255]);
    // _hot_data: red 0.0416 → 1 on [0, .365079]; green 0 → 1 on [.365079, .746032]; blue 0 → 1 on [.746032, 1]
    const ramp = (x: number, a: number, b: number, y0: number) => (x <= a ? y0 : x >= b ? 1 : y0 + ((1 - y0) * (x - a)) / (b - a));
    const lut = colormapLut('hot');
    for (let i = 0; i < 256; i++) {
      const x = i / 255;
      const expected = [ramp(x, 0, 0.365079, 0.0416), ramp(x, 0.365079, 0.746032, 0), ramp(x, 0.746032, 1, 0)];
      for (let c = 0; c < 3; c++) expect(Math.abs(lut[3 * i + c]! - Math.trunc(expected[c]! * 255)), `entry ${i}`).toBeLessThanOrEqual(1);
    }
  });

  it("'jet' matches matplotlib at its quarter points", () => {
    // matplotlib 3.6: colormaps['jet']([0, .25, .5, .75, 1], bytes=True)
    expect([0, 0.25, 0.5, 0.75, 1].map((t) => colorOf('jet', t))).toEqual([[0, 0, 127], [0, 128, 255], [124, 255, 121], [255, 148, 0], [127, 0, 0]]);
  });

  it("'bwr' is blue–white–red with white at the middle; 'gray' is the identity ramp", () => {
    expect(colorOf('bwr', 0)).toEqual([0, 0, 255]);
    expect(colorOf('bwr', 0.5)).toEqual([255, 254, 254]);
    expect(colorOf('bwr', 1)).toEqual([255, 0, 0]);
    // (matplotlib's truncation to bytes makes some gray entries one level low: entry 33 is 32.99… → 32.)
    for (let i = 0; i < 256; i++) expect(i - colorOf('gray', i / 256 + 1e-9)[0]).toBeOneOf([0, 1]);
    expect(colorOf('gray', 1)).toEqual([255, 255, 255]);
  });

  it.skipIf(!hasMatplotlib)('every table entry equals matplotlib', () => {
    const out = python(
      `import sys, numpy as np, matplotlib; from matplotlib import colormaps\n` +
        `np.save(sys.stdout.buffer, np.stack([colormaps[n](np.arange(256), bytes=True)[:, :3] for n in ('hot', 'bwr', 'gray', 'jet')]))`,
    );
    const mpl = decodeNpy(new Uint8Array(out));
    expect(mpl.shape).toEqual([4, 256, 3]);
    expect(Array.from(colormapLut('hot'))).toEqual(Array.from(mpl.data.subarray(0, 768)));
    expect(Array.from(colormapLut('bwr'))).toEqual(Array.from(mpl.data.subarray(768, 1536)));
    expect(Array.from(colormapLut('gray'))).toEqual(Array.from(mpl.data.subarray(1536, 2304)));
    expect(Array.from(colormapLut('jet'))).toEqual(Array.from(mpl.data.subarray(2304)));
  });

  it('colorize divides by the max (hot) or the max magnitude (bwr); constant maps and non-finite values', () => {
    const img = colorize([0, 0.5, 1, 2], 2, 2);
    expect(Array.from(img.data.subarray(0, 3))).toEqual(colorOf('hot', 0));
    expect(Array.from(img.data.subarray(3, 6))).toEqual(colorOf('hot', 0.25));
    expect(Array.from(img.data.subarray(9, 12))).toEqual([255, 255, 255]);
    const signed = colorize([-2, 0, 1], 3, 1, { cmap: 'bwr' });
    expect(Array.from(signed.data)).toEqual([...colorOf('bwr', 0), ...colorOf('bwr', 0.5), ...colorOf('bwr', 0.75)]);
    expect(Array.from(colorize([0, 0], 2, 1).data)).toEqual([10, 0, 0, 10, 0, 0]);
    expectError(() => colorize([0, NaN], 2, 1), /value NaN at index 1 is not finite/);
    expectError(() => colorize([0, 1], 3, 1), /2 values for a 3×1 map/);
  });
});
