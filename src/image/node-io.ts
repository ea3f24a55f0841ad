/**
 * Image and array files in Node: decoding PNG (pngjs) and JPEG (jpeg-js) into float RGB, writing PNG and .npy.
 * The only module of src/image that touches Node; the browser decodes through browser-io.ts.
 *
 * What decoding promises, decided to match what the CS231n notebook feeds the network — PIL's
 * `Image.open(f).convert('RGB')` followed by torchvision's ToTensor:
 *
 * - Alpha is dropped, not composited: convert('RGB') keeps each pixel's stored colour whatever its alpha (a fully
 *   transparent pixel shows whatever colour the file stores under it). Same for palette transparency and for a tRNS
 *   colour key in a gray or RGB PNG.
 * - Gray becomes R = G = B.
 * - Values are v / (2^depth − 1): a 16-bit PNG keeps its 16 bits (PIL would truncate it to 8), 1/2/4-bit gray is
 *   stretched to [0, 1], palette entries are 8-bit.
 * - No colour management: gAMA/iCCP/sRGB chunks, ICC profiles and EXIF orientation are ignored, as PIL ignores them.
 * - JPEG is decoded by jpeg-js, whose IDCT and chroma upsampling differ from libjpeg's by a level or two.
 *
 * Before any decoder runs, the file's own header is read (probe.ts) and its declared size checked against a limit,
 * so that a small hostile file cannot make the decoder allocate gigabytes; jpeg-js additionally gets its own memory
 * and resolution bounds, and a PNG's data is inflated with a cap and checked to be exactly the size its header
 * implies (pngjs would silently decode missing data as black rows).
 */
import { constants } from 'node:fs';
import { open, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { PixelpropError, fmtBytes } from '../gpu/errors.js';
import { checkImage, type RgbImage, type RgbImage8 } from './image.js';
import { DEFAULT_MAX_MEGAPIXELS, probeImage, withoutPngTransparency, type DecodeLimits, type ImageHeader } from './probe.js';
import { decodeNpy, encodeNpy, type NpyArray } from './npy.js';

const { PNG } = pngjs;

/** No image file this library accepts is larger than this; bigger files are refused before being read. */
const MAX_FILE_BYTES = 1 << 30;

/** Reads an image file (PNG or JPEG, recognized by its content) as float RGB in [0, 1]. */
export async function readImage(path: string, limits: DecodeLimits = {}): Promise<RgbImage> {
  return decodeImage(await readWholeFile(path, 'image'), path, limits);
}

/** Decodes PNG or JPEG bytes; `name` is what error messages call the data. */
export function decodeImage(bytes: Uint8Array, name = 'image', limits: DecodeLimits = {}): RgbImage {
  if (bytes.length === 0) throw new PixelpropError(`'${name}' is empty (0 bytes)`);
  const header = probeImage(bytes, name, limits);
  return header.format === 'png' ? decodePng(bytes, header, name) : decodeJpeg(bytes, header, name, limits);
}

function decodePng(bytes: Uint8Array, header: ImageHeader, name: string): RgbImage {
  const source = withoutPngTransparency(bytes, name);
  checkImageDataSize(source, header, name);
  let png: { width: number; height: number; data: ArrayLike<number> };
  try {
    // skipRescale: keep samples as stored (16-bit as 0…65535) instead of pngjs's rounding to 8 bits.
    png = PNG.sync.read(Buffer.from(source.buffer, source.byteOffset, source.byteLength), { skipRescale: true });
  } catch (err) {
    throw new PixelpropError(`corrupt PNG '${name}': ${(err as Error).message}`);
  }
  if (png.width !== header.width || png.height !== header.height) {
    throw new PixelpropError(`corrupt PNG '${name}': decoded ${png.width}×${png.height}, header says ${header.width}×${header.height}`);
  }
  // pngjs gives RGBA (gray replicated, palette looked up — palette entries are always 8-bit).
  const maxSample = header.colorType === 3 ? 255 : 2 ** header.bitDepth - 1;
  return rgbaToFloatRgb(png.width, png.height, png.data, maxSample);
}

/**
 * Inflates the image data once before pngjs does, with the output capped, and checks that it is exactly the size
 * the header implies. pngjs itself checks neither way: short data (a truncated or damaged file) silently decodes
 * to an image with zero rows at the bottom — a wrong image, not an error — and an interlaced image is inflated with
 * no bound at all, so a few kilobytes of deflate could expand to gigabytes.
 */
function checkImageDataSize(bytes: Uint8Array, header: ImageHeader, name: string): void {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[header.colorType as 0 | 2 | 3 | 4 | 6];
  const bitsPerPixel = channels * header.bitDepth;
  // A scanline is a filter byte and then its pixels, packed to whole bytes.
  const scanlines = (w: number, h: number) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bitsPerPixel) / 8)) : 0);
  let expected = 0;
  if (!header.interlaced) {
    expected = scanlines(header.width, header.height);
  } else {
    // Adam7's seven passes, each a smaller image: first column, first row, column step, row step.
    const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
    for (const [x0, y0, dx, dy] of passes as [number, number, number, number][]) {
      expected += scanlines(Math.ceil(Math.max(0, header.width - x0) / dx), Math.ceil(Math.max(0, header.height - y0) / dy));
    }
  }
  const idat: Uint8Array[] = [];
  for (let i = 8; i + 8 <= bytes.length; ) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + i, 4).getUint32(0);
    const type = String.fromCharCode(...bytes.subarray(i + 4, i + 8));
    if (type === 'IDAT') idat.push(bytes.subarray(i + 8, Math.min(bytes.length, i + 8 + length)));
    i += 12 + length;
  }
  let inflated: number;
  try {
    // One byte of slack tells "exactly right" from "too much" without letting "too much" grow.
    inflated = inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 }).length;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ERR_BUFFER_TOO_LARGE' ? 'more than' : `${e.message}, not`;
    throw new PixelpropError(`corrupt PNG '${name}': image data inflates to ${why} the ${expected} bytes its header implies`);
  }
  if (inflated !== expected) {
    throw new PixelpropError(`corrupt PNG '${name}': image data inflates to ${inflated} bytes, not the ${expected} its header implies`);
  }
}

function decodeJpeg(bytes: Uint8Array, header: ImageHeader, name: string, limits: DecodeLimits): RgbImage {
  const maxMegapixels = limits.maxMegapixels ?? DEFAULT_MAX_MEGAPIXELS;
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      // Refuse damaged data instead of filling the missing blocks with gray: never a silently wrong image.
      tolerantDecoding: false,
      maxResolutionInMP: maxMegapixels,
      // jpeg-js needs ≈ 24 bytes per pixel at worst (4 components: coefficients, sample planes, output).
      maxMemoryUsageInMB: Math.ceil(24 * maxMegapixels + bytes.length / 2 ** 20 + 16),
    });
  } catch (err) {
    throw new PixelpropError(`corrupt JPEG '${name}': ${(err as Error).message}`);
  }
  if (decoded.width !== header.width || decoded.height !== header.height) {
    throw new PixelpropError(`corrupt JPEG '${name}': decoded ${decoded.width}×${decoded.height}, header says ${header.width}×${header.height}`);
  }
  const out = new Float32Array(decoded.data.length);
  for (let i = 0; i < out.length; i++) out[i] = decoded.data[i]! / 255;
  return { width: decoded.width, height: decoded.height, data: out };
}

function rgbaToFloatRgb(width: number, height: number, rgba: ArrayLike<number>, maxSample: number): RgbImage {
  const n = width * height;
  const out = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    out[3 * p] = rgba[4 * p]! / maxSample;
    out[3 * p + 1] = rgba[4 * p + 1]! / maxSample;
    out[3 * p + 2] = rgba[4 * p + 2]! / maxSample;
  }
  return { width, height, data: out };
}

/** An 8-bit image with 3 (RGB) or 4 (RGBA) channels per pixel, HWC. */
export interface Image8 {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** PNG bytes of an 8-bit RGB or RGBA image (the channel count follows from the data length). */
export function encodePng(img: Image8 | RgbImage8): Uint8Array {
  const channels = img.data.length === img.width * img.height * 4 ? 4 : 3;
  checkImage(img, channels, 'encodePng');
  const colorType = channels === 4 ? 6 : 2;
  const png = { width: img.width, height: img.height, data: Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength) };
  const bytes = PNG.sync.write(png as unknown as InstanceType<typeof PNG>, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: channels === 4,
  });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export async function writePng(path: string, img: Image8 | RgbImage8): Promise<void> {
  await writeWholeFile(path, encodePng(img), 'PNG');
}

/** Writes float32 values of the given shape as a .npy file that `np.load` reads. */
export async function writeNpy(path: string, data: ArrayLike<number>, shape: readonly number[]): Promise<void> {
  await writeWholeFile(path, encodeNpy(data, shape), '.npy file');
}

export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await readWholeFile(path, '.npy file'), path);
}

async function readWholeFile(path: string, what: string): Promise<Uint8Array> {
  return readFileLimited(path, what, MAX_FILE_BYTES);
}

const article = (what: string): string => `${/^[aeiou.]/i.test(what) ? 'an' : 'a'} ${what}`;

/**
 * The bytes of a regular file, refused with one line when it is anything else or holds more than `maxBytes`.
 *
 * The size a file reports is not trusted: /dev/zero, a FIFO or a /proc file report 0 (or anything) and a plain read
 * of them never ends, or grows memory without bound. So the path must be a regular file (checked before opening, as
 * opening a FIFO blocks until someone writes to it, and again on the open handle), and the read stops at maxBytes + 1
 * bytes whatever the reported size said.
 */
export async function readFileLimited(path: string, what: string, maxBytes: number): Promise<Uint8Array> {
  const refuse = (why: string): PixelpropError => new PixelpropError(`cannot read ${what} '${path}': ${why}`);
  let handle: FileHandle | undefined;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw refuse('it is a directory');
    if (!info.isFile()) throw new PixelpropError(`'${path}' is not a regular file (a device, a pipe or a socket), so it is not read as ${article(what)}`);
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!(await handle.stat()).isFile()) throw new PixelpropError(`'${path}' is not a regular file, so it is not read as ${article(what)}`);
    let buffer = new Uint8Array(Math.min(info.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) break;
        const grown = new Uint8Array(Math.min(2 * buffer.length + 65536, maxBytes + 1));
        grown.set(buffer);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw refuse(`it holds more than ${fmtBytes(maxBytes)}, more than any ${what} this reads`);
    return buffer.subarray(0, length);
  } catch (err) {
    if (err instanceof PixelpropError) throw err;
    throw refuse(describeFsError(err));
  } finally {
    await handle?.close();
  }
}

async function writeWholeFile(path: string, bytes: Uint8Array, what: string): Promise<void> {
  try {
    await writeFile(path, bytes);
  } catch (err) {
    throw new PixelpropError(`cannot write ${what} '${path}': ${describeFsError(err, true)}`);
  }
}

function describeFsError(err: unknown, writing = false): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return writing ? 'its folder does not exist' : 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    default:
      return (err as Error).message;
  }
}
