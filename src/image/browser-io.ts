/**
 * Image files in a browser: the browser's own decoders (createImageBitmap) instead of pngjs/jpeg-js, a canvas to get
 * at the pixels, and Blobs for saving. Same types and checks as node-io.ts, with these differences, all the
 * browser's doing:
 *
 * - 8-bit precision: a canvas holds 8 bits per channel, so a 16-bit PNG loses its low byte.
 * - Alpha is dropped, as in Node, but a 2D canvas stores premultiplied colour, so pixels with alpha < 1 come back
 *   with rounded colours and fully transparent ones as black (Node keeps the stored colour, like PIL).
 * - Browsers apply the EXIF orientation of a JPEG (PIL and node-io do not).
 * - Formats: PNG, JPEG, WebP and GIF, each with its declared size checked from its header before the browser
 *   decodes it (probe.ts); other formats are refused, since their size would be known only once decoded.
 *
 * Browser-only globals (createImageBitmap, OffscreenCanvas); no Node imports.
 */
import { PixelpropError } from '../gpu/errors.js';
import { checkImage, toRgba, type RgbImage, type RgbImage8 } from './image.js';
import { checkDeclaredSize, probeBrowserImage, probeImage, sniffFormat, type DecodeLimits } from './probe.js';
import { encodeNpy } from './npy.js';

/** No image file is read whole above this: a photo the network sees at 224 × 224 is far smaller. */
export const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;

/** Decodes an image Blob/File to float RGB in [0, 1]. `name` (default: the File's name) is used in messages. */
export async function decodeImageBlob(blob: Blob, limits: DecodeLimits = {}, name?: string): Promise<RgbImage> {
  const label = name ?? (blob as File).name ?? 'image';
  if (blob.size === 0) throw new PixelpropError(`'${label}' is empty (0 bytes)`);
  if (blob.size > MAX_IMAGE_FILE_BYTES) {
    throw new PixelpropError(`'${label}' holds ${(blob.size / 2 ** 20).toFixed(0)} MiB, more than any image this reads (${MAX_IMAGE_FILE_BYTES / 2 ** 20} MiB)`);
  }
  const bytes = new Uint8Array(await blob.arrayBuffer());
  // The declared size is checked before the browser's decoder allocates for it; a format whose header is not read
  // here is refused rather than handed to createImageBitmap unchecked.
  if (sniffFormat(bytes) !== null) probeImage(bytes, label, limits);
  else if (probeBrowserImage(bytes, label, limits) === null) {
    throw new PixelpropError(`'${label}' is not a PNG, JPEG, WebP or GIF image (the formats whose size is checked before decoding)`);
  }
  let bitmap: ImageBitmap;
  try {
    // premultiplyAlpha 'none' and no colour conversion: the stored values, as PIL reads them.
    bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new PixelpropError(`'${label}' is not an image this browser can decode`);
  }
  try {
    const { width, height } = bitmap;
    checkDeclaredSize(width, height, label, limits);
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new PixelpropError('this browser has no 2D OffscreenCanvas to read pixels with');
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    const out = new Float32Array(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      out[3 * p] = rgba[4 * p]! / 255;
      out[3 * p + 1] = rgba[4 * p + 1]! / 255;
      out[3 * p + 2] = rgba[4 * p + 2]! / 255;
    }
    return { width, height, data: out };
  } finally {
    bitmap.close();
  }
}

/** An ImageData for `putImageData` on a canvas. */
export function toImageData(img: RgbImage8): ImageData {
  checkImage(img, 3, 'toImageData');
  return new ImageData(toRgba(img), img.width, img.height);
}

/** A PNG Blob of an 8-bit image, for a download link. */
export async function encodePngBlob(img: RgbImage8): Promise<Blob> {
  const canvas = new OffscreenCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new PixelpropError('this browser has no 2D OffscreenCanvas to encode a PNG with');
  ctx.putImageData(toImageData(img), 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}

/** A .npy Blob of float32 values of the given shape. */
export function npyBlob(data: ArrayLike<number>, shape: readonly number[]): Blob {
  return new Blob([encodeNpy(data, shape)], { type: 'application/octet-stream' });
}
