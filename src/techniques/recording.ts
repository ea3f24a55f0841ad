/**
 * Recording an optimization (fooling, class visualization) as an animation: which iterations become frames. The
 * pictures come from the techniques' live views (`onImage` with `imageEvery`), which read the image back only on the
 * iterations asked for, so recording costs the loop a read and a copy of the picture every N-th iteration and
 * nothing else; the GIF is encoded once the run is over (src/image/gif.ts).
 *
 * - The command line asks for every N-th iteration (`--record-every`) and keeps them all.
 * - The page is shown every iteration of a run of any length, and keeps at most `maxFrames`: when one more would not
 *   fit, every other frame is dropped and the stride doubles (1, 2, 4, …), so the frames kept stay evenly spaced
 *   over the whole run.
 *
 * The final picture — the result — always ends the recording, whatever its iteration.
 */
import { check } from '../gpu/errors.js';
import type { RgbImage8 } from '../image/image.js';
import { encodeGif, type GifOptions } from '../image/gif.js';
import type { NumberRange } from './ranges.js';

/** `--record-every`: like the iteration counts. */
export const RECORD_EVERY_RANGE = { min: 1, max: 100_000, integer: true } as const satisfies NumberRange;
/** No recording holds more frames: 1000 pictures of 224 × 224 are 150 MB before encoding. */
export const MAX_RECORDED_FRAMES = 1000;
/** Frames of a recording at the default stride, at most (plus fooling's start, the photo). */
export const DEFAULT_RECORDED_FRAMES = 100;

/** The default stride for a run of at most `iterations`: the smallest that keeps it to DEFAULT_RECORDED_FRAMES frames. */
export function defaultRecordEvery(iterations: number): number {
  return Math.max(1, Math.ceil(iterations / DEFAULT_RECORDED_FRAMES));
}

/**
 * The most frames a run of at most `iterations` iterations recorded every `every`-th gives: the multiples of `every`
 * (with 0 when the technique shows its start, as fooling does) and the final picture.
 */
export function maxRecordedFrames(iterations: number, every: number, showsStart: boolean): number {
  return Math.ceil(iterations / every) + (showsStart ? 1 : 0);
}

export interface RecordedFrame {
  iteration: number;
  image: RgbImage8;
}

export class FrameRecorder {
  private readonly kept: RecordedFrame[] = [];
  private stride: number;
  private readonly maxFrames: number;

  /** `every`: keep iterations 0, every, 2·every, …; `maxFrames`: at most this many, the stride doubling as needed. */
  constructor(options: { every?: number; maxFrames?: number } = {}) {
    this.stride = options.every ?? 1;
    this.maxFrames = options.maxFrames ?? MAX_RECORDED_FRAMES;
    check(Number.isInteger(this.stride) && this.stride >= 1, () => `recording: every ${this.stride} must be a positive whole number`);
    check(Number.isInteger(this.maxFrames) && this.maxFrames >= 2, () => `recording: maxFrames ${this.maxFrames} must be a whole number ≥ 2`);
  }

  /** Offers the picture after `iteration` iterations: kept when the iteration is a multiple of the stride. */
  add(iteration: number, image: RgbImage8): void {
    if (iteration % this.stride === 0) this.keep(iteration, image, false);
  }

  /** The result, after `iteration` iterations: always kept, as the last frame. */
  finish(iteration: number, image: RgbImage8): void {
    this.keep(iteration, image, true);
  }

  /** The frames kept, in order. */
  get frames(): readonly RecordedFrame[] {
    return this.kept;
  }

  /** The iterations are kept every this many (it doubles when the page's bound is reached). */
  get every(): number {
    return this.stride;
  }

  /** The frames as an animated GIF (src/image/gif.ts). */
  gif(options: GifOptions = {}): Uint8Array {
    return encodeGif(
      this.kept.map((f) => f.image),
      options,
    );
  }

  private keep(iteration: number, image: RgbImage8, final: boolean): void {
    const last = this.kept[this.kept.length - 1];
    check(!last || iteration >= last.iteration, () => `recording: iteration ${iteration} after iteration ${last!.iteration}`);
    // A second picture of one iteration (fooling's 8-bit rounding is classified again; the result after the last
    // live view) replaces the first: a frame is the latest picture of its iteration.
    if (last?.iteration === iteration) {
      last.image = image;
      return;
    }
    if (this.kept.length >= this.maxFrames) {
      this.stride *= 2;
      const thinned = this.kept.filter((f) => f.iteration % this.stride === 0);
      this.kept.splice(0, this.kept.length, ...thinned);
      // The new picture may fall between the new multiples; the final one is kept regardless.
      if (!final && iteration % this.stride !== 0) return;
    }
    this.kept.push({ iteration, image });
  }
}
