/**
 * Recording as GIF: src/image/gif.ts (gifenc) encodes frames that omggif, another library, decodes back — frame
 * count, size, delays, looping and pixel values — and src/techniques/recording.ts picks the iterations that become
 * frames (the command line's stride, the page's bound).
 */
import { describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import type { RgbImage8 } from '../src/image/image.js';
import { encodeGif, encodeGifSteps } from '../src/image/gif.js';
import { FrameRecorder, defaultRecordEvery, maxRecordedFrames } from '../src/techniques/recording.js';
import { solid } from './bitmaps.js';
import { decodeGif, maxFrameError } from './gif-decode.js';

/** A smooth picture with many colours: red across, green down, blue along the diagonal. */
function ramp(width: number, height: number): RgbImage8 {
  const data = new Uint8ClampedArray(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([Math.round((255 * x) / (width - 1)), Math.round((255 * y) / (height - 1)), Math.round((255 * (x + y)) / (width + height - 2))], 3 * (y * width + x));
    }
  }
  return { width, height, data };
}

describe('encodeGif', () => {
  it('flat-colour frames decode as encoded: count, size, delays, looping, and each colour exactly', () => {
    const colors = [
      [200, 30, 10],
      [12, 140, 250],
      [90, 90, 90],
      [255, 255, 255],
    ];
    const frames = colors.map((c) => solid(24, 10, c));
    const gif = decodeGif(encodeGif(frames, { delayMs: 50, lastDelayMs: 1500 }));
    expect(gif.frames).toHaveLength(4);
    expect([gif.width, gif.height]).toEqual([24, 10]);
    expect(gif.delaysMs).toEqual([50, 50, 50, 1500]);
    expect(gif.loopCount).toBe(0); // forever
    // The palette's colours are the means of the pixels in their histogram bins: a colour alone in its bin is exact.
    for (const [i, frame] of frames.entries()) expect(maxFrameError(frame.data, gif.frames[i]!), `frame ${i}`).toBe(0);
  });

  it('a frame of many colours survives within the palette\'s error, and the default delays apply', () => {
    const picture = ramp(64, 48);
    const frames = [solid(64, 48, [0, 0, 0]), picture];
    const gif = decodeGif(encodeGif(frames));
    expect(gif.delaysMs).toEqual([100, 2000]);
    expect(maxFrameError(frames[0]!.data, gif.frames[0]!)).toBe(0);
    // 256 colours for a ramp of 64 × 48 × 3 levels: a cube of 256 cells has sides of 256/∛256 ≈ 40 levels, so no
    // value is more than about 20 from its cell's mean; measured 16.
    const error = maxFrameError(picture.data, gif.frames[1]!);
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThanOrEqual(20);
    // Fewer colours, larger error: the palette really is what quantizes.
    const coarse = decodeGif(encodeGif(frames, { colors: 8 }));
    expect(maxFrameError(picture.data, coarse.frames[1]!)).toBeGreaterThan(error);
  });

  it('a noise frame of 224 × 224 (a class visualization\'s start) and a single frame encode', () => {
    let state = 1;
    const noise = solid(224, 224, [0, 0, 0]);
    for (let i = 0; i < noise.data.length; i++) noise.data[i] = (state = (state * 1103515245 + 12345) >>> 0) >>> 24;
    const gif = decodeGif(encodeGif([noise, noise]));
    expect([gif.frames.length, gif.width, gif.height]).toEqual([2, 224, 224]);
    expect(decodeGif(encodeGif([solid(3, 2, [1, 2, 3])])).frames).toHaveLength(1);
  });

  it('encodeGifSteps yields after each frame and returns what encodeGif returns; it checks before the first frame', () => {
    const frames = [solid(8, 8, [10, 20, 30]), ramp(8, 8), solid(8, 8, [250, 0, 0])];
    const steps = encodeGifSteps(frames);
    const yielded: number[] = [];
    let step = steps.next();
    for (; !step.done; step = steps.next()) yielded.push(step.value);
    expect(yielded).toEqual([1, 2, 3]);
    expect(Array.from(step.value)).toEqual(Array.from(encodeGif(frames)));
    expect(() => encodeGifSteps([frames[0]!, solid(8, 9, [0, 0, 0])]).next()).toThrow(/GIF frame 1/);
  });

  it('refuses no frames, frames of different sizes and delays a GIF cannot store', () => {
    expect(() => encodeGif([])).toThrow(PixelpropError);
    expect(() => encodeGif([solid(4, 4, [0, 0, 0]), solid(4, 5, [0, 0, 0])])).toThrow(/GIF frame 1 is 4×5, the first 4×4/);
    expect(() => encodeGif([solid(4, 4, [0, 0, 0])], { delayMs: -1 })).toThrow(/delayMs -1 must be in \[0, 655350\] ms/);
    expect(() => encodeGif([solid(4, 4, [0, 0, 0])], { lastDelayMs: 1e9 })).toThrow(/lastDelayMs/);
    expect(() => encodeGif([solid(4, 4, [0, 0, 0])], { colors: 1 })).toThrow(/colors 1/);
  });
});

describe('FrameRecorder', () => {
  const picture = (v: number): RgbImage8 => solid(2, 2, [v, v, v]);

  it('keeps every N-th iteration and the final picture, and as many frames as maxRecordedFrames says', () => {
    for (const [iterations, every] of [[10, 3], [9, 3], [1, 1], [100, 1], [7, 10]] as const) {
      for (const showsStart of [true, false]) {
        const r = new FrameRecorder({ every });
        for (let i = showsStart ? 0 : 1; i <= iterations; i++) r.add(i, picture(i));
        r.finish(iterations, picture(iterations));
        const expected = [...Array(iterations + 1).keys()].filter((i) => (showsStart || i > 0) && (i % every === 0 || i === iterations));
        expect(r.frames.map((f) => f.iteration), `${iterations} iterations, every ${every}, start ${showsStart}`).toEqual(expected);
        expect(r.frames).toHaveLength(maxRecordedFrames(iterations, every, showsStart));
      }
    }
  });

  it('a second picture of one iteration replaces the first (fooling\'s 8-bit rounding, the final result)', () => {
    const r = new FrameRecorder({ every: 2 });
    r.add(0, picture(0));
    r.add(2, picture(1));
    r.add(2, picture(2));
    r.finish(2, picture(3));
    expect(r.frames.map((f) => [f.iteration, f.image.data[0]])).toEqual([
      [0, 0],
      [2, 3],
    ]);
    expect(() => r.add(0, picture(0))).toThrow(/iteration 0 after iteration 2/);
  });

  it('with a bound, keeps at most maxFrames, evenly spaced, doubling its stride, and the final picture last', () => {
    const r = new FrameRecorder({ maxFrames: 10 });
    for (let i = 1; i <= 1000; i++) r.add(i, picture(i % 256));
    r.finish(1000, picture(7));
    const kept = r.frames.map((f) => f.iteration);
    expect(kept.length).toBeLessThanOrEqual(10);
    expect(kept.length).toBeGreaterThanOrEqual(5);
    expect(r.every).toBe(128);
    expect(kept).toEqual([128, 256, 384, 512, 640, 768, 896, 1000]);
    expect(r.frames.at(-1)!.image.data[0]).toBe(7);
    // Thinning with the final picture: still within the bound, the final last.
    const full = new FrameRecorder({ maxFrames: 4 });
    for (let i = 0; i <= 3; i++) full.add(i, picture(i));
    full.finish(5, picture(5));
    expect(full.frames.map((f) => f.iteration)).toEqual([0, 2, 5]);
  });

  it('the default stride keeps a run to 100 frames', () => {
    expect(defaultRecordEvery(100)).toBe(1);
    expect(defaultRecordEvery(1000)).toBe(10);
    expect(defaultRecordEvery(1001)).toBe(11);
    for (const n of [1, 99, 100, 101, 250, 1000, 100_000]) expect(maxRecordedFrames(n, defaultRecordEvery(n), false)).toBeLessThanOrEqual(100);
  });

  it('encodes what it kept', () => {
    const r = new FrameRecorder({ every: 5 });
    for (let i = 0; i <= 12; i++) r.add(i, picture(20 * i));
    r.finish(12, picture(240));
    const gif = decodeGif(r.gif({ delayMs: 40 }));
    expect(gif.frames).toHaveLength(4);
    expect(gif.frames.map((f) => f[0])).toEqual([0, 100, 200, 240]);
  });
});
