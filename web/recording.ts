/**
 * The "Record GIF" buttons of the optimizations (fooling, class visualization): the page keeps the pictures a run
 * shows it, live, and encodes them into an animated GIF when the button is pressed (src/image/gif.ts, gifenc).
 *
 * A run of any length is shown every iteration, so the frames kept are bounded: at most PAGE_RECORDED_FRAMES, evenly
 * spaced over the run (FrameRecorder doubles its stride when full), the result last. The encoding runs on the page's
 * own thread, one frame at a time with a pause between frames, so the page keeps answering; the button says how far
 * it is.
 */
import { encodeGifSteps } from '../src/image/gif.js';
import type { RgbImage8 } from '../src/image/image.js';
import { FrameRecorder } from '../src/techniques/recording.js';
import { byId, download, setUsable } from './dom.js';

/** The most frames a recording of the page holds: 100 pictures of 224 × 224 are 15 MB. */
export const PAGE_RECORDED_FRAMES = 100;

/** What the page says about a GIF it made (window.__pixelprop.recordings, for the tests). */
export interface RecordedGif {
  fileName: string;
  frames: number;
  /** the first and the last frame's iteration, and the stride between frames */
  iterations: [number, number];
  every: number;
  bytes: number;
}

export interface RunRecording {
  /** a new run: forget the previous one's frames (the button waits for this run to end) */
  start(): void;
  /** a picture the run showed, after `iteration` iterations */
  add(iteration: number, image: RgbImage8): void;
  /** the run's result: the last frame; the button becomes usable when there are two frames or more */
  finish(iteration: number, image: RgbImage8, fileName: string): void;
  /** no recording (a new image made the run stale) */
  clear(): void;
}

/** The button `id` as a run's recorder; each GIF it makes is reported to `onGif`. */
export function recordingButton(id: string, onGif: (gif: RecordedGif) => void): RunRecording {
  const button = byId<HTMLButtonElement>(id);
  const label = button.textContent ?? '';
  let recorder: FrameRecorder | null = null;
  let fileName = '';
  let encoding = false;

  button.addEventListener('click', async () => {
    if (!recorder || encoding) return;
    // This run's frames and name: a new run may start while they are encoded.
    const { frames, every } = recorder;
    const name = fileName;
    encoding = true;
    setUsable(button, false);
    try {
      const steps = encodeGifSteps(frames.map((f) => f.image));
      let bytes: Uint8Array;
      for (;;) {
        const step = steps.next();
        if (step.done) {
          bytes = step.value;
          break;
        }
        button.textContent = `Encoding GIF: frame ${step.value} of ${frames.length}`;
        await new Promise((resolve) => setTimeout(resolve, 0)); // let the page draw and answer between frames
      }
      download(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/gif' }), name);
      onGif({ fileName: name, frames: frames.length, iterations: [frames[0]!.iteration, frames[frames.length - 1]!.iteration], every, bytes: bytes.length });
    } finally {
      button.textContent = label;
      encoding = false;
      setUsable(button, true);
    }
  });

  const reset = (): void => {
    recorder = null;
    button.disabled = true;
  };
  return {
    start() {
      reset();
      recorder = new FrameRecorder({ maxFrames: PAGE_RECORDED_FRAMES });
    },
    add(iteration, image) {
      recorder?.add(iteration, image);
    },
    finish(iteration, image, name) {
      if (!recorder) return;
      recorder.finish(iteration, image);
      fileName = name;
      // One frame is no animation: the PNG download holds it.
      button.disabled = recorder.frames.length < 2;
      button.title = `The run as an animated GIF: ${recorder.frames.length} frames, one every ${recorder.every} iteration${recorder.every === 1 ? '' : 's'}, the result last`;
    },
    clear: reset,
  };
}
