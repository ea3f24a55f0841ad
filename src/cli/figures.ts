/**
 * What `saliency`, `fool`, `classviz` and `demo` share: turning a class given on the command line into an index,
 * preprocessing decoded images into a batch, and writing each technique's files — the figure PNGs of
 * src/techniques/figures.ts, the images, the arrays — into the command's OutputFolder (written all at once, at its
 * commit), plus the JSON-ready summary of what will be written. `demo` runs
 * the same three as the single commands, through these same functions, so their files are identical.
 */
import { basename, extname } from 'node:path';
import { Tensor, className, resolveClass, type Labels, type RgbImage, type RgbImage8 } from '../index.js';
import { deprocess } from '../image/preprocess.js';
import { encodePng } from '../image/node-io.js';
import { encodeNpy } from '../image/npy.js';
import type { ClassVisualizationResult } from '../techniques/classviz.js';
import { classVisualizationFigure, foolingFigure, saliencyFigure } from '../techniques/figures.js';
import type { FoolResult } from '../techniques/fool.js';
import type { SaliencyResult } from '../techniques/saliency.js';
import { preprocessBatch, type Session } from './common.js';
import type { OutputFolder } from './output.js';

/** "tarantula (76)": how a class shows in text output. */
export function classLabel(labels: Labels | null, index: number): string {
  return `${className(labels, index)} (${index})`;
}

/** The class of a --class/--target value: an index or a name, checked against the model (suggestions when unknown). */
export function classOf(session: Session, spec: string): number {
  return resolveClass(spec, session.labels, session.model.numClasses);
}

/**
 * Images preprocessed as the session's model expects them, as one batch [N, 3, size, size], and their 8-bit
 * pictures as the network sees them.
 */
export function imageBatch(session: Session, images: RgbImage[], name = 'images'): { x: Tensor; pictures: RgbImage8[] } {
  const { size, normalization } = session.preprocessing;
  const per = 3 * size * size;
  const chw = preprocessBatch(images, session.preprocessing);
  const pictures = images.map((_, i) => deprocess(chw.subarray(i * per, (i + 1) * per), size, size, { normalization }));
  return { x: Tensor.from(session.gpu, [images.length, 3, size, size], chw, name), pictures };
}

/** A file's name without folder and extension: "photos/cat.jpg" → "cat". */
export function stem(file: string): string {
  return basename(file, extname(file));
}

// ---- saliency -----------------------------------------------------------------------------------------------------

export interface SaliencySummary {
  method: string;
  output: string;
  npy?: { saliency: string; grad: string };
  images: { file: string; class: number; className: string; predicted: number; predictedName: string }[];
}

export function writeSaliency(
  out: OutputFolder,
  labels: Labels | null,
  files: string[],
  pictures: RgbImage8[],
  result: SaliencyResult,
  npy: boolean,
): SaliencySummary {
  const [n, h, w] = result.shape;
  const photos = pictures.map((image, i) => ({ image, caption: className(labels, result.classes[i]!) }));
  const title = result.method === 'vanilla' ? undefined : `saliency: ${result.method}`;
  const output = out.add('saliency.png', encodePng(saliencyFigure(photos, result.map, h, w, title)));
  const summary: SaliencySummary = {
    method: result.method,
    output,
    images: files.map((file, i) => ({
      file,
      class: result.classes[i]!,
      className: className(labels, result.classes[i]!),
      predicted: result.predicted[i]!,
      predictedName: className(labels, result.predicted[i]!),
    })),
  };
  if (npy) {
    summary.npy = {
      saliency: out.add('saliency.npy', encodeNpy(result.map, [n, h, w])),
      grad: out.add('grad.npy', encodeNpy(result.grad, [n, 3, h, w])),
    };
  }
  return summary;
}

/** The run recorded as an animated GIF (--record, src/cli/record.ts): its path and frame count. */
export interface RecordingSummary {
  file: string;
  frames: number;
}

const recordingText = (r: RecordingSummary | undefined): string => (r ? `, ${r.file} (animated GIF, ${r.frames} frames)` : '');

// ---- fooling ------------------------------------------------------------------------------------------------------

export interface FoolSummary {
  file: string;
  target: number;
  targetName: string;
  fooled: boolean;
  iterations: number;
  extraIterations: number;
  roundings: number;
  targetProb: number;
  linf: number;
  l2: number;
  originalClass: number;
  originalName: string;
  finalClass: number;
  finalName: string;
  /** the fooling image (8-bit PNG, what was checked) and the four-panel figure */
  output: string;
  figure: string;
  recording?: RecordingSummary;
}

export function writeFooling(out: OutputFolder, labels: Labels | null, file: string, result: FoolResult): FoolSummary {
  const base = `${stem(file)}-fool-${result.target}`;
  const output = out.add(`${base}.png`, encodePng(result.image));
  const outcome = result.fooled ? `fooled in ${result.iterations} steps` : `not fooled after ${result.iterations} steps`;
  const title = `${className(labels, result.originalClass)} -> ${className(labels, result.target)}: ${outcome}`;
  const figure = out.add(
    `${base}-figure.png`,
    encodePng(
      foolingFigure(
        { image: result.original, caption: className(labels, result.originalClass) },
        { image: result.image, caption: className(labels, result.finalClass) },
        title,
      ),
    ),
  );
  return {
    file,
    target: result.target,
    targetName: className(labels, result.target),
    fooled: result.fooled,
    iterations: result.iterations,
    extraIterations: result.extraIterations,
    roundings: result.roundings,
    targetProb: result.targetProb,
    linf: result.linf,
    l2: result.l2,
    originalClass: result.originalClass,
    originalName: className(labels, result.originalClass),
    finalClass: result.finalClass,
    finalName: className(labels, result.finalClass),
    output,
    figure,
  };
}

export function foolText(s: FoolSummary): string {
  const verdict = s.fooled
    ? `fooled: ${s.originalName} (${s.originalClass}) -> ${s.finalName} (${s.finalClass}), p = ${s.targetProb.toFixed(3)}, after ${s.iterations} steps`
    : `not fooled after ${s.iterations} steps: the saved image is ${s.finalName} (${s.finalClass}); p(${s.targetName}) = ${s.targetProb.toFixed(3)}`;
  const steps = (n: number): string => `${n} extra step${n === 1 ? '' : 's'}`;
  const extra = s.extraIterations > 0 ? `\n  the 8-bit image did not fool at first: ${steps(s.extraIterations)}` : '';
  return `${s.file}: ${verdict}${extra}\n  perturbation (0-255 units): Linf ${s.linf}, L2 ${s.l2.toFixed(1)}\n  wrote ${s.output}, ${s.figure}${recordingText(s.recording)}`;
}

// ---- class visualization ------------------------------------------------------------------------------------------

export interface ClassVizSummary {
  class: number;
  className: string;
  iterations: number;
  seed: number;
  startScore: number;
  finalScore: number;
  finalProb: number;
  argmax: number;
  argmaxName: string;
  /** the final image and the strip of snapshots */
  output: string;
  figure: string;
  recording?: RecordingSummary;
}

export function writeClassViz(
  out: OutputFolder,
  labels: Labels | null,
  result: ClassVisualizationResult,
  settings: { iterations: number; seed: number },
): ClassVizSummary {
  const base = `classviz-${result.target}`;
  const output = out.add(`${base}.png`, encodePng(result.image));
  const figure = out.add(`${base}-snapshots.png`, encodePng(classVisualizationFigure(result.snapshots, className(labels, result.target))));
  return {
    class: result.target,
    className: className(labels, result.target),
    iterations: settings.iterations,
    seed: settings.seed,
    startScore: result.startScore,
    finalScore: result.finalScore,
    finalProb: result.finalProb,
    argmax: result.argmax,
    argmaxName: className(labels, result.argmax),
    output,
    figure,
  };
}

export function classVizText(s: ClassVizSummary): string {
  return (
    `${s.className} (${s.class}), ${s.iterations} iterations, seed ${s.seed}: score ${s.startScore.toFixed(2)} -> ${s.finalScore.toFixed(2)}, ` +
    `p = ${s.finalProb.toFixed(3)}, predicted ${s.argmaxName} (${s.argmax})\n  wrote ${s.output}, ${s.figure}${recordingText(s.recording)}`
  );
}
