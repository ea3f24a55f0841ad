/** Decoding GIFs in the tests with omggif (a decoder apart from the encoder, gifenc): every frame as RGBA. */
import { GifReader } from 'omggif';

export interface DecodedGif {
  width: number;
  height: number;
  /** each frame drawn on a canvas of its own, RGBA, width · height · 4 bytes */
  frames: Uint8Array[];
  /** each frame's delay in ms (GIF stores hundredths of a second) */
  delaysMs: number[];
  /** 0: loops forever; null: no loop extension */
  loopCount: number | null;
}

export function decodeGif(bytes: Uint8Array): DecodedGif {
  const reader = new GifReader(bytes);
  const frames: Uint8Array[] = [];
  const delaysMs: number[] = [];
  for (let i = 0; i < reader.numFrames(); i++) {
    const pixels = new Uint8Array(reader.width * reader.height * 4);
    reader.decodeAndBlitFrameRGBA(i, pixels);
    frames.push(pixels);
    delaysMs.push(reader.frameInfo(i).delay * 10);
  }
  const loopCount = reader.loopCount() as number | null | undefined;
  return { width: reader.width, height: reader.height, frames, delaysMs, loopCount: loopCount ?? null };
}

/** The largest difference of any channel between an RGB frame and a decoded RGBA one, with alpha checked opaque. */
export function maxFrameError(rgb: ArrayLike<number>, rgba: Uint8Array): number {
  let worst = 0;
  for (let p = 0; p < rgb.length / 3; p++) {
    for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(rgb[3 * p + c]! - rgba[4 * p + c]!));
    if (rgba[4 * p + 3] !== 255) return Infinity;
  }
  return worst;
}
