/**
 * What an image file is and how big it says it is, read from its first bytes — before any decoder runs.
 *
 * A decoder trusts the width and height in the header and allocates for them: a 100-byte PNG that declares
 * 100000×100000 pixels asks for 40 GB. So the header is read here, by hand, and the declared size is checked against
 * a limit first (for PNG the IHDR chunk, which the format requires to come first; for JPEG the SOF segment, which
 * comes before the first scan). The format is taken from the magic bytes, never from the file name: a PNG called
 * photo.jpg is still a PNG.
 *
 * Pure: no Node, no DOM — the browser side uses the same checks.
 */
import { PixelpropError, check } from '../gpu/errors.js';

export type ImageFormat = 'png' | 'jpeg';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** PNG: bits per sample (1, 2, 4, 8, 16); JPEG: sample precision (8). */
  bitDepth: number;
  /** PNG colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA); JPEG: number of components (1, 3, 4). */
  colorType: number;
  /** PNG: Adam7 interlacing; JPEG: progressive coding. */
  interlaced: boolean;
}

export interface DecodeLimits {
  /**
   * The largest image accepted, in megapixels (10⁶ pixels) of declared width × height. 50 by default: any camera
   * photo, while a decoded 50 MP image already takes 600 MB as float RGB.
   */
  maxMegapixels?: number;
}

export const DEFAULT_MAX_MEGAPIXELS = 50;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** 'png', 'jpeg', or null, from the magic bytes. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  // SOI marker then the start of another marker: every JPEG (JFIF, Exif, raw) begins FF D8 FF.
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/**
 * Reads the header and checks the declared size, throwing a PixelpropError naming `name` when the bytes are not a
 * PNG or JPEG, the header is damaged, the size is zero or above the limit, or the coding is one the decoders lack.
 */
export function probeImage(bytes: Uint8Array, name: string, limits: DecodeLimits = {}): ImageHeader {
  const format = sniffFormat(bytes);
  if (format === null) throw new PixelpropError(`'${name}' is not a PNG or JPEG image`);
  const header = format === 'png' ? readPngHeader(bytes, name) : readJpegHeader(bytes, name);
  checkDeclaredSize(header.width, header.height, name, limits);
  return header;
}

export function checkDeclaredSize(width: number, height: number, name: string, limits: DecodeLimits = {}): void {
  if (width === 0 || height === 0) throw new PixelpropError(`'${name}' has zero size (${width}×${height})`);
  const maxMegapixels = limits.maxMegapixels ?? DEFAULT_MAX_MEGAPIXELS;
  check(maxMegapixels > 0, () => `maxMegapixels ${maxMegapixels} must be a positive number`);
  const megapixels = (width * height) / 1e6;
  if (megapixels > maxMegapixels) {
    throw new PixelpropError(
      `'${name}' declares ${width}×${height} pixels (${megapixels.toFixed(1)} megapixels), ` +
        `more than the limit of ${maxMegapixels} megapixels`,
    );
  }
}

/**
 * The size a WebP or GIF file declares, read from its header; null when the bytes are neither. Node decodes only PNG
 * and JPEG; a browser also decodes these two, and must know their size before it lets createImageBitmap allocate.
 *
 * - GIF (GIF87a/GIF89a): the logical screen, 16-bit little-endian width and height at bytes 6 and 8. A frame larger
 *   than the screen is refused too, as far as the first image descriptor (0x2C) is reached by walking the blocks.
 * - WebP (RIFF … WEBP): the first chunk says which coding — 'VP8 ' (lossy: 14-bit sizes after the 3-byte start code),
 *   'VP8L' (lossless: 14-bit width−1 and height−1 packed after the 0x2F signature) or 'VP8X' (extended: 24-bit
 *   canvas width−1 and height−1).
 */
export function probeBrowserImage(b: Uint8Array, name: string, limits: DecodeLimits = {}): { format: 'gif' | 'webp'; width: number; height: number } | null {
  const ascii = (at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));
  const u16le = (i: number): number => b[i]! | (b[i + 1]! << 8);
  const u24le = (i: number): number => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
  if (b.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) {
    if (b.length < 13) throw new PixelpropError(`corrupt GIF '${name}': file ends inside the header`);
    const width = u16le(6);
    const height = u16le(8);
    checkDeclaredSize(width, height, name, limits);
    // Skip the global colour table and extension blocks up to the first image descriptor, whose size is checked too.
    let i = 13 + (b[10]! & 0x80 ? 3 * 2 ** ((b[10]! & 7) + 1) : 0);
    while (i < b.length && b[i] === 0x21) {
      i += 2;
      while (i < b.length && b[i]! !== 0) i += b[i]! + 1;
      i++;
    }
    if (i + 9 < b.length && b[i] === 0x2c) checkDeclaredSize(u16le(i + 1) + u16le(i + 5), u16le(i + 3) + u16le(i + 7), name, limits);
    return { format: 'gif', width, height };
  }
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
    if (b.length < 30) throw new PixelpropError(`corrupt WebP '${name}': file ends inside the header`);
    const chunk = ascii(12, 4);
    let width: number;
    let height: number;
    if (chunk === 'VP8 ') {
      if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) throw new PixelpropError(`corrupt WebP '${name}': no VP8 start code`);
      width = u16le(26) & 0x3fff;
      height = u16le(28) & 0x3fff;
    } else if (chunk === 'VP8L') {
      if (b[20] !== 0x2f) throw new PixelpropError(`corrupt WebP '${name}': no VP8L signature`);
      const bits = (b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24)) >>> 0;
      width = (bits & 0x3fff) + 1;
      height = ((bits >>> 14) & 0x3fff) + 1;
    } else if (chunk === 'VP8X') {
      width = u24le(24) + 1;
      height = u24le(27) + 1;
    } else {
      throw new PixelpropError(`'${name}' is a WebP file with a first chunk '${chunk}' this page cannot read the size of`);
    }
    checkDeclaredSize(width, height, name, limits);
    return { format: 'webp', width, height };
  }
  return null;
}

function u16be(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function u32be(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) >>> 0) + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
}

/** The bit depths the PNG specification allows for each colour type (table 11.1). */
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

function readPngHeader(b: Uint8Array, name: string): ImageHeader {
  // signature (8) · IHDR length (4) · 'IHDR' (4) · 13 bytes of data · CRC (4)
  if (b.length < 8 + 8 + 13 + 4) throw new PixelpropError(`corrupt PNG '${name}': file ends inside the header`);
  const type = String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!);
  if (type !== 'IHDR' || u32be(b, 8) !== 13) {
    throw new PixelpropError(`corrupt PNG '${name}': the first chunk is '${type}', not a 13-byte IHDR`);
  }
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  const bitDepth = b[24]!;
  const colorType = b[25]!;
  const interlace = b[28]!;
  if (width > 0x7fffffff || height > 0x7fffffff) {
    throw new PixelpropError(`corrupt PNG '${name}': size ${width}×${height} is beyond the format's 2³¹−1`);
  }
  const depths = PNG_DEPTHS[colorType];
  if (!depths) throw new PixelpropError(`corrupt PNG '${name}': unknown colour type ${colorType}`);
  if (!depths.includes(bitDepth)) {
    throw new PixelpropError(`corrupt PNG '${name}': bit depth ${bitDepth} is not allowed for colour type ${colorType}`);
  }
  if (b[26] !== 0 || b[27] !== 0 || interlace > 1) {
    throw new PixelpropError(`corrupt PNG '${name}': unknown compression, filter or interlace method in IHDR`);
  }
  return { format: 'png', width, height, bitDepth, colorType, interlaced: interlace === 1 };
}

/** SOF markers C0…CF, except C4 (DHT), C8 (reserved) and CC (DAC), which share the range. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

const JPEG_CODINGS: Record<number, string> = {
  0xc3: 'lossless',
  0xc5: 'hierarchical',
  0xc6: 'hierarchical',
  0xc7: 'hierarchical',
  0xc9: 'arithmetic',
  0xca: 'arithmetic',
  0xcb: 'arithmetic',
  0xcd: 'arithmetic',
  0xce: 'arithmetic',
  0xcf: 'arithmetic',
};

/**
 * Walks the marker segments from SOI up to the frame header (ITU T.81 B.2): every segment but the standalone markers
 * carries a 2-byte length that includes itself, so the walk jumps over APPn/EXIF/ICC blocks without reading them.
 */
function readJpegHeader(b: Uint8Array, name: string): ImageHeader {
  const corrupt = (why: string) => new PixelpropError(`corrupt JPEG '${name}': ${why}`);
  let i = 2;
  for (;;) {
    if (i >= b.length) throw corrupt('file ends before the frame header (SOF)');
    if (b[i] !== 0xff) throw corrupt(`expected a marker at byte ${i}`);
    while (i < b.length && b[i] === 0xff) i++; // fill bytes: any number of FF may precede a marker
    if (i >= b.length) throw corrupt('file ends before the frame header (SOF)');
    const marker = b[i++]!;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue; // TEM, RSTn, SOI: no length
    if (marker === 0xd9 || marker === 0xda) throw corrupt('no frame header (SOF) before the image data');
    if (marker === 0x00) throw corrupt(`stray FF 00 at byte ${i - 2}`);
    if (i + 2 > b.length) throw corrupt('file ends inside a segment header');
    const length = u16be(b, i);
    if (length < 2) throw corrupt(`segment length ${length} at byte ${i}`);
    if (isStartOfFrame(marker)) {
      if (length < 8 || i + 8 > b.length) throw corrupt('frame header (SOF) is cut short');
      const precision = b[i + 2]!;
      const height = u16be(b, i + 3);
      const width = u16be(b, i + 5);
      const components = b[i + 7]!;
      const coding = JPEG_CODINGS[marker];
      if (coding) {
        throw new PixelpropError(`'${name}' is a ${coding} JPEG; only baseline and progressive (Huffman) JPEGs are supported`);
      }
      if (precision !== 8) {
        throw new PixelpropError(`'${name}' is a ${precision}-bit JPEG; only 8-bit JPEGs are supported`);
      }
      if (height === 0) {
        // T.81 lets the height come later in a DNL segment; no decoder we use supports it, and nobody writes it.
        throw new PixelpropError(`'${name}' has zero size (${width}×0: height deferred to a DNL marker is not supported)`);
      }
      if (![1, 3, 4].includes(components)) {
        throw new PixelpropError(`'${name}' has ${components} colour components; only 1 (gray), 3 (YCbCr/RGB) or 4 (CMYK) are supported`);
      }
      return { format: 'jpeg', width, height, bitDepth: precision, colorType: components, interlaced: marker === 0xc2 };
    }
    i += length;
  }
}

/**
 * The bytes of a PNG without its tRNS chunks. PIL's convert('RGB') ignores the transparency of a gray or RGB image
 * and keeps every pixel's colour; pngjs instead blacks out pixels of the transparent colour. Removing the chunk (it
 * only ever describes alpha) makes pngjs return the stored colours, as PIL does. Returns `bytes` itself when there
 * is no tRNS chunk.
 */
export function withoutPngTransparency(bytes: Uint8Array, name: string): Uint8Array {
  const keep: Array<[number, number]> = [];
  let found = false;
  let i = 8;
  let runStart = 0;
  while (i + 8 <= bytes.length) {
    const length = u32be(bytes, i);
    const type = String.fromCharCode(bytes[i + 4]!, bytes[i + 5]!, bytes[i + 6]!, bytes[i + 7]!);
    const end = i + 12 + length;
    if (end > bytes.length) throw new PixelpropError(`corrupt PNG '${name}': chunk '${type}' runs past the end of the file`);
    if (type === 'tRNS') {
      keep.push([runStart, i]);
      runStart = end;
      found = true;
    }
    i = end;
    if (type === 'IEND') break;
  }
  if (!found) return bytes;
  keep.push([runStart, bytes.length]);
  const out = new Uint8Array(keep.reduce((n, [a, b]) => n + b - a, 0));
  let o = 0;
  for (const [a, b] of keep) {
    out.set(bytes.subarray(a, b), o);
    o += b - a;
  }
  return out;
}
