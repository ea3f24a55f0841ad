/**
 * `pixelprop classviz --class C`: the image the network finds most typical of class C, grown from noise by gradient
 * ascent with jitter, L2 decay, clamping and blur (Simonyan et al. 2014; Yosinski et al. 2015; CS231n's
 * create_class_visualization), with snapshots along the way.
 */
import { PixelpropError } from '../index.js';
import {
  CLASS_VISUALIZATION_DEFAULTS as DEFAULTS,
  CLASS_VISUALIZATION_RANGES as RANGES,
  YOSINSKI_PRESET,
  classVisualization,
  type ClassVisualizationOptions,
} from '../techniques/classviz.js';
import { fmtRange } from '../techniques/ranges.js';
import { flag, num, parse, str, type Parsed } from './args.js';
import { MODEL_OPTIONS, MODEL_SYNOPSIS, modelChoice, modelUsage, openSession } from './common.js';
import { OutputFolder } from './output.js';
import { classOf, classVizText, writeClassViz } from './figures.js';
import { RECORD_OPTIONS, RECORD_SYNOPSIS, addRecording, recordUsage, recordingOf, recordingView } from './record.js';
import type { Command } from './main.js';
import { Progress } from './progress.js';

const USAGE = `pixelprop classviz --class C [--iters N] [--seed S] [--lr L] [--l2 LAMBDA] [--decay D] [--blur-sigma SIGMA]
                   [--blur-every K] [--jitter J] [--snapshot-every K] [--normalized-step] [--preset yosinski]
                   [--out DIR] [--json] ${RECORD_SYNOPSIS}
                   ${MODEL_SYNOPSIS}

  Starting from random noise, repeat: shift the image by a random (ox, oy) in [-J, J]^2, step along the gradient of
  s_C(I) - LAMBDA * ||I||^2, shift back, clamp each pixel to the colours a photo can have, and blur every K-th step.
  Writes DIR/classviz-C.png (the final image, stretched to the full 0-255 range) and DIR/classviz-C-snapshots.png
  (the image every --snapshot-every steps).

  --class C           the class: an index or a name ("tarantula", "Yorkshire terrier")
  --iters N           steps, in ${fmtRange(RANGES.iterations)} (default ${DEFAULTS.iterations})
  --seed S            seed of the start noise and of the jitter, in ${fmtRange(RANGES.seed)} (default ${DEFAULTS.seed});
                      same seed, same image
  --lr L              step size, in ${fmtRange(RANGES.lr)} (default ${DEFAULTS.lr})
  --l2 LAMBDA         L2 penalty, in ${fmtRange(RANGES.l2)} (default ${DEFAULTS.l2})
  --decay D           Yosinski's decay I <- (1 - D) * I after each step, in ${fmtRange(RANGES.decay)} (default ${DEFAULTS.decay})
  --blur-sigma SIGMA  Gaussian blur, in pixels, in ${fmtRange(RANGES.blurSigma)} (default ${DEFAULTS.blurSigma})
  --blur-every K      blur at steps 0, K, 2K, ..., K in ${fmtRange(RANGES.blurEvery)} (default ${DEFAULTS.blurEvery})
  --jitter J          largest shift, in pixels, in ${fmtRange(RANGES.jitter)} (default ${DEFAULTS.jitter}; 0: none)
  --snapshot-every K  keep the image every K steps, K in ${fmtRange(RANGES.snapshotEvery)} (default ${DEFAULTS.snapshotEvery})
  --normalized-step   step by lr * g / ||g|| instead of lr * g
  --preset yosinski   Yosinski et al.'s settings: ${YOSINSKI_PRESET.iterations} steps, lr ${YOSINSKI_PRESET.lr}, l2 ${YOSINSKI_PRESET.l2}, decay ${YOSINSKI_PRESET.decay},
                      blur ${YOSINSKI_PRESET.blurSigma} every ${YOSINSKI_PRESET.blurEvery} (options given explicitly override it)
  --out DIR           output folder, created if needed (default: the current folder); files there are replaced
  --json              print {class, className, iterations, seed, startScore, finalScore, finalProb, argmax,
                      argmaxName, output, figure}, and recording: {file, frames} with --record
${recordUsage(22, '--iters')}
${modelUsage(22)}

  example: pixelprop classviz --class tarantula --out viz`;

export const PRESETS: Record<string, Omit<ClassVisualizationOptions, 'onIteration'>> = { yosinski: YOSINSKI_PRESET };

/** The settings from the command line: a preset's values replace the defaults, explicit options replace both. */
export function classVizSettings(values: Parsed['values']): Required<Omit<ClassVisualizationOptions, 'onIteration'>> {
  const presetName = str(values, 'preset');
  const preset = presetName === undefined ? {} : PRESETS[presetName];
  if (!preset) throw new PixelpropError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${presetName}'`);
  const base = { ...DEFAULTS, ...preset };
  return {
    iterations: num(values, 'iters', base.iterations, RANGES.iterations),
    seed: num(values, 'seed', base.seed, RANGES.seed),
    lr: num(values, 'lr', base.lr, RANGES.lr),
    l2: num(values, 'l2', base.l2, RANGES.l2),
    decay: num(values, 'decay', base.decay, RANGES.decay),
    blurSigma: num(values, 'blur-sigma', base.blurSigma, RANGES.blurSigma),
    blurEvery: num(values, 'blur-every', base.blurEvery, RANGES.blurEvery),
    jitter: num(values, 'jitter', base.jitter, RANGES.jitter),
    snapshotEvery: num(values, 'snapshot-every', base.snapshotEvery, RANGES.snapshotEvery),
    normalizedStep: flag(values, 'normalized-step') || base.normalizedStep,
  };
}

/** Draws "step 40/100  score 12.3" while a visualization runs, when stderr is a terminal (the score costs a read). */
export function classVizProgress(progress: Progress, iterations: number): ClassVisualizationOptions['onIteration'] {
  if (!process.stderr.isTTY) return undefined;
  return ({ iteration, score }) => progress.update(`step ${iteration}/${iterations}  score ${score.toFixed(2)}`);
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse('classviz', argv, {
    class: { type: 'string' },
    iters: { type: 'string' },
    seed: { type: 'string' },
    lr: { type: 'string' },
    l2: { type: 'string' },
    decay: { type: 'string' },
    'blur-sigma': { type: 'string' },
    'blur-every': { type: 'string' },
    jitter: { type: 'string' },
    'snapshot-every': { type: 'string' },
    'normalized-step': { type: 'boolean' },
    preset: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    ...RECORD_OPTIONS,
    ...MODEL_OPTIONS,
  });
  if (positionals.length > 0) throw new PixelpropError(`classviz: unexpected argument '${positionals[0]}' (see 'pixelprop classviz --help')`);
  const settings = classVizSettings(values);
  const classSpec = str(values, 'class');
  if (classSpec === undefined) throw new PixelpropError("classviz: --class is required (see 'pixelprop classviz --help')");
  const out = OutputFolder.prepare(str(values, 'out') ?? '.');
  const recording = recordingOf(values, settings.iterations, false);

  const progress = new Progress('classviz');
  const session = await openSession(modelChoice(values));
  try {
    const target = classOf(session, classSpec);
    const result = await classVisualization(session.model, target, {
      ...settings,
      onIteration: classVizProgress(progress, settings.iterations),
      normalization: session.preprocessing.normalization,
      ...recordingView(recording),
    });
    progress.done();
    const summary = {
      ...writeClassViz(out, session.labels, result, settings),
      ...(recording && { recording: addRecording(recording, result.iterations, result.image) }),
    };
    OutputFolder.commitAll(recording ? [out, recording.folder] : [out]);
    console.log(flag(values, 'json') ? JSON.stringify(summary, null, 2) : classVizText(summary));
    return 0;
  } finally {
    progress.done();
    session.close();
  }
}

export const command: Command = {
  name: 'classviz',
  summary: 'a class visualization: the image the network finds most typical of a class',
  usage: USAGE,
  run,
};
