/**
 * Animated GIFs of a sequence of 8-bit pictures — an optimization recorded frame by frame — encoded by gifenc
 * (https://github.com/mattdesl/gifenc: its PnnQuant quantizer, palette mapping and LZW writer). The same in Node and in
 * a browser: no Node imports.
 *
 * One global palette for the whole animation, not one per frame. gifenc's quantizer (pairwise nearest neighbour)
 * takes time in proportion to the square of the distinct colours it is given: a class visualization starts from
 * noise, every pixel its own colour, and quantizing each 224 × 224 noise frame took seconds. So the palette is
 * quantized once, from a bounded sample of pixels spread evenly over every frame, in gifenc's 4-bit-per-channel
 * histogram (at most 4096 bins, so at most a second even for noise); its colours are the means of the pixels in each
 * bin, so a colour the frames share exactly (a flat background) comes out exactly. Each frame is then mapped to its
 * nearest palette colours (at 5-6-5 bits, finer than the histogram). A global palette also keeps a colour from
 * flickering between frames as per-frame palettes would; what it costs is fit when the colours drift over the run
 * (noise at the start, a picture at the end) — the sample weighs every frame equally.
 */
import * as gifencModule from 'gifenc';
import { check } from '../gpu/errors.js';
import { checkImage, toRgba, type RgbImage8 } from './image.js';

type Gifenc = typeof gifencModule;
/**
 * gifenc is CommonJS marked as transpiled ESM: a bundler (the page's vite) exposes its named exports, Node's ESM
 * loader only `default` (its module.exports). Either way, this is the object holding GIFEncoder, quantize, applyPalette.
 */
const gifenc: Gifenc = 'GIFEncoder' in gifencModule ? gifencModule : (gifencModule as unknown as { default: Gifenc }).default;

export interface GifOptions {
  /** how long each frame shows, in ms (default 100: 10 frames a second); GIF stores hundredths of a second */
  delayMs?: number;
  /** how long the last frame shows before the animation starts over, in ms (default 2000: the result, held) */
  lastDelayMs?: number;
  /** most colours of the palette, in [2, 256] (default 256) */
  colors?: number;
}

export const GIF_DEFAULTS = { delayMs: 100, lastDelayMs: 2000, colors: 256 } as const;

/** GIF stores a frame's delay in hundredths of a second, in 16 bits. */
const MAX_DELAY_MS = 0xffff * 10;
/** Pixels the palette is quantized from, at most: enough to see every colour a run has, few enough to be quick. */
const PALETTE_SAMPLE = 1 << 16;

/** Up to PALETTE_SAMPLE pixels as RGBA, the same number from each frame, evenly spaced within it. */
function paletteSample(frames: readonly RgbImage8[]): Uint8Array {
  const pixels = frames[0]!.width * frames[0]!.height;
  const perFrame = Math.max(1, Math.min(pixels, Math.floor(PALETTE_SAMPLE / frames.length)));
  const stride = pixels / perFrame;
  const sample = new Uint8Array(frames.length * perFrame * 4);
  let at = 0;
  for (const frame of frames) {
    for (let k = 0; k < perFrame; k++) {
      const p = 3 * Math.floor(k * stride);
      sample[at++] = frame.data[p]!;
      sample[at++] = frame.data[p + 1]!;
      sample[at++] = frame.data[p + 2]!;
      sample[at++] = 255;
    }
  }
  return sample;
}

/**
 * The frames (all of one size) as an animated GIF that loops forever: each shown for `delayMs`, the last for
 * `lastDelayMs`. Throws a PixelpropError on no frames, frames of different sizes or a delay GIF cannot store.
 */
export function encodeGif(frames: readonly RgbImage8[], options: GifOptions = {}): Uint8Array {
  const steps = encodeGifSteps(frames, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * encodeGif one frame at a time, for a caller that must not block for the whole encoding (the page's main thread):
 * yields the number of frames encoded after each, returns the GIF's bytes. Checks everything before the first frame.
 */
export function* encodeGifSteps(frames: readonly RgbImage8[], options: GifOptions = {}): Generator<number, Uint8Array, void> {
  const { delayMs, lastDelayMs, colors } = { ...GIF_DEFAULTS, ...options };
  check(frames.length > 0, 'a GIF needs at least one frame');
  const { width, height } = frames[0]!;
  for (const [i, frame] of frames.entries()) {
    checkImage(frame, 3, `GIF frame ${i}`);
    check(frame.width === width && frame.height === height, () => `GIF frame ${i} is ${frame.width}×${frame.height}, the first ${width}×${height}: every frame must have one size`);
  }
  // A GIF's screen size is 16 bits.
  check(width <= 0xffff && height <= 0xffff, () => `a GIF is at most 65535 pixels a side, the frames are ${width}×${height}`);
  for (const [name, ms] of [['delayMs', delayMs], ['lastDelayMs', lastDelayMs]] as const) {
    check(Number.isFinite(ms) && ms >= 0 && ms <= MAX_DELAY_MS, () => `GIF ${name} ${ms} must be in [0, ${MAX_DELAY_MS}] ms`);
  }
  check(Number.isInteger(colors) && colors >= 2 && colors <= 256, () => `GIF colors ${colors} must be a whole number in [2, 256]`);

  const palette = gifenc.quantize(paletteSample(frames), colors, { format: 'rgb444' });
  const gif = gifenc.GIFEncoder();
  for (const [i, frame] of frames.entries()) {
    const index = gifenc.applyPalette(toRgba(frame), palette, 'rgb565');
    const last = i === frames.length - 1;
    // The palette given with the first frame is the global colour table; later frames use it (no local tables).
    gif.writeFrame(index, width, height, { ...(i === 0 && { palette, repeat: 0 }), delay: last ? lastDelayMs : delayMs });
    yield i + 1;
  }
  gif.finish();
  return gif.bytes();
}
