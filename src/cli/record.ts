/**
 * `--record FILE.gif [--record-every N]`, shared by the optimization commands (fool, classviz): the run as an
 * animated GIF, its frames the picture every N-th iteration and the result (src/techniques/recording.ts), written
 * with the command's other outputs, all or none (output.ts). Checked before the run: the name ends in .gif, its folder
 * can be written, N is in its range and the run cannot give more than MAX_RECORDED_FRAMES frames.
 */
import { lstatSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { PixelpropError, check } from '../gpu/errors.js';
import type { RgbImage8 } from '../image/image.js';
import {
  DEFAULT_RECORDED_FRAMES,
  FrameRecorder,
  MAX_RECORDED_FRAMES,
  RECORD_EVERY_RANGE,
  defaultRecordEvery,
  maxRecordedFrames,
} from '../techniques/recording.js';
import { fmtRange } from '../techniques/ranges.js';
import { num, str, type Options, type Parsed } from './args.js';
import type { RecordingSummary } from './figures.js';
import { OutputFolder } from './output.js';

export const RECORD_OPTIONS = {
  record: { type: 'string' },
  'record-every': { type: 'string' },
} as const satisfies Options;

export const RECORD_SYNOPSIS = '[--record FILE.gif] [--record-every N]';

/** The usage lines of RECORD_OPTIONS, descriptions from `column`; `iterations` names the option that bounds the run. */
export function recordUsage(column: number, iterations: string): string {
  const line = (flag: string, text: string) => `  ${flag.padEnd(column - 2)}${text}`;
  const pad = ' '.repeat(column);
  return [
    line('--record FILE.gif', 'also write the run as an animated GIF (a path of its own, not in --out): the image'),
    `${pad}every --record-every iterations, then the result, held for 2 s`,
    line('--record-every N', `a frame every N iterations, N in ${fmtRange(RECORD_EVERY_RANGE)} (default: ${iterations} / ${DEFAULT_RECORDED_FRAMES},`),
    `${pad}rounded up: at most ${DEFAULT_RECORDED_FRAMES} frames); at most ${MAX_RECORDED_FRAMES} frames in all`,
  ].join('\n');
}

export interface Recording {
  /** the path as given */
  file: string;
  every: number;
  recorder: FrameRecorder;
  folder: OutputFolder;
}

/**
 * The recording asked for by --record / --record-every, or null; throws a one-line PixelpropError on a name that is
 * not a .gif file, a folder that cannot be written, or a stride out of range or giving too many frames for a run of
 * at most `iterations` iterations (`showsStart`: the technique shows its start, iteration 0, as fooling does).
 */
export function recordingOf(values: Parsed['values'], iterations: number, showsStart: boolean): Recording | null {
  const file = str(values, 'record');
  if (file === undefined) {
    check(values['record-every'] === undefined, '--record-every needs --record FILE.gif');
    return null;
  }
  check(/\.gif$/i.test(file) && !/[\\/]$/.test(file) && basename(file) !== '.gif', () => `--record must name a .gif file, got '${file}'`);
  const every = num(values, 'record-every', defaultRecordEvery(iterations), RECORD_EVERY_RANGE);
  const frames = maxRecordedFrames(iterations, every, showsStart);
  check(
    frames <= MAX_RECORDED_FRAMES,
    () => `--record-every ${every} would record up to ${frames} frames of ${iterations} iterations, more than ${MAX_RECORDED_FRAMES}: take N of at least ${Math.ceil(iterations / (MAX_RECORDED_FRAMES - (showsStart ? 1 : 0)))}`,
  );
  let folder: OutputFolder;
  try {
    folder = OutputFolder.prepare(dirname(file));
  } catch (e) {
    throw e instanceof PixelpropError ? new PixelpropError(`--record ${file}: ${e.message}`) : e;
  }
  let isFolder = false;
  try {
    isFolder = lstatSync(file).isDirectory();
  } catch {
    // nothing there yet
  }
  check(!isFolder, () => `--record ${file}: a folder has that name`);
  return { file, every, recorder: new FrameRecorder({ every }), folder };
}

/** The live view that feeds the recording: ask the technique for a picture every `every` iterations. */
export function recordingView(recording: Recording | null): { imageEvery: number; onImage: (info: { iteration: number; image: RgbImage8 }) => void } | Record<string, never> {
  if (!recording) return {};
  return { imageEvery: recording.every, onImage: ({ iteration, image }) => recording.recorder.add(iteration, image) };
}

/** Ends the recording with the result and adds the GIF to its folder's outputs; its path and frame count. */
export function addRecording(recording: Recording, iterations: number, result: RgbImage8): RecordingSummary {
  recording.recorder.finish(iterations, result);
  const file = recording.folder.add(basename(recording.file), recording.recorder.gif());
  return { file, frames: recording.recorder.frames.length };
}
