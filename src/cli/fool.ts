/**
 * `pixelprop fool IMAGE --target C`: a fooling image (Szegedy et al. 2014) — the photo changed imperceptibly until
 * the network calls it class C — checked after saving to 8 bits, with the CS231n four-panel figure.
 */
import { PixelpropError, className } from '../index.js';
import { readImage } from '../image/node-io.js';
import { FOOL_DEFAULTS, FOOL_RANGES, fool } from '../techniques/fool.js';
import { fmtRange } from '../techniques/ranges.js';
import { flag, num, parse, str } from './args.js';
import { MODEL_OPTIONS, MODEL_SYNOPSIS, modelChoice, modelUsage, openSession } from './common.js';
import { OutputFolder } from './output.js';
import { classOf, foolText, imageBatch, writeFooling } from './figures.js';
import { RECORD_OPTIONS, RECORD_SYNOPSIS, addRecording, recordUsage, recordingOf, recordingView } from './record.js';
import type { Command } from './main.js';
import { Progress } from './progress.js';

const USAGE = `pixelprop fool IMAGE --target C [--lr L] [--max-iters N] [--out DIR] [--json] ${RECORD_SYNOPSIS}
               ${MODEL_SYNOPSIS}

  Gradient ascent on the target class's score, X += lr * g / ||g||, until the network predicts the target for the
  image saved as 8-bit PNG (Szegedy et al. 2014; CS231n's make_fooling_image). Writes DIR/NAME-fool-C.png (the
  fooling image, 224x224 as the network sees it) and DIR/NAME-fool-C-figure.png (original | fooling | difference |
  difference x10).

  --target C          the class to reach: an index or a name ("stingray")
  --lr L              length of each step, in normalized pixel units, in ${fmtRange(FOOL_RANGES.lr)} (default ${FOOL_DEFAULTS.lr})
  --max-iters N       at most N steps, N in ${fmtRange(FOOL_RANGES.maxIters)} (default ${FOOL_DEFAULTS.maxIters})
  --out DIR           output folder, created if needed (default: the current folder); files there are replaced
  --json              print {file, target, targetName, fooled, iterations, extraIterations, roundings, targetProb,
                      linf, l2, originalClass, originalName, finalClass, finalName, output, figure}
                      (linf, l2: the change of the saved image in 0-255 pixel units), and recording: {file,
                      frames} with --record
${recordUsage(22, '--max-iters')}
${modelUsage(22)}

  example: pixelprop fool cat.jpg --target stingray --out fooled`;

async function run(argv: string[]): Promise<number> {
  const { values, positionals: files } = parse('fool', argv, {
    target: { type: 'string' },
    lr: { type: 'string' },
    'max-iters': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    ...RECORD_OPTIONS,
    ...MODEL_OPTIONS,
  });
  const lr = num(values, 'lr', FOOL_DEFAULTS.lr, FOOL_RANGES.lr);
  const maxIters = num(values, 'max-iters', FOOL_DEFAULTS.maxIters, FOOL_RANGES.maxIters);
  const targetSpec = str(values, 'target');
  if (targetSpec === undefined) throw new PixelpropError("fool: --target is required (see 'pixelprop fool --help')");
  if (files.length !== 1) throw new PixelpropError(`fool: expected one image, got ${files.length} (see 'pixelprop fool --help')`);
  const file = files[0]!;
  const out = OutputFolder.prepare(str(values, 'out') ?? '.');
  // The recording starts with the photo (iteration 0), as the fooling's live view does.
  const recording = recordingOf(values, maxIters, true);
  const image = await readImage(file);

  const progress = new Progress('fool');
  const session = await openSession(modelChoice(values));
  try {
    const target = classOf(session, targetSpec);
    const { x } = imageBatch(session, [image], 'image');
    let result;
    try {
      // The score costs a 4-byte read per step: only when someone watches.
      const onIteration = process.stderr.isTTY
        ? (i: { iteration: number; predicted: number; score: number }) =>
            progress.update(`step ${i.iteration}/${maxIters}  score ${i.score.toFixed(2)}  now ${className(session.labels, i.predicted)}`)
        : undefined;
      result = await fool(session.model, x, target, {
        lr,
        maxIters,
        onIteration,
        normalization: session.preprocessing.normalization,
        ...recordingView(recording),
      });
    } finally {
      x.dispose();
    }
    progress.done();
    const summary = {
      ...writeFooling(out, session.labels, file, result),
      ...(recording && { recording: addRecording(recording, result.iterations, result.image) }),
    };
    OutputFolder.commitAll(recording ? [out, recording.folder] : [out]);
    console.log(flag(values, 'json') ? JSON.stringify(summary, null, 2) : foolText(summary));
    return 0;
  } finally {
    progress.done();
    session.close();
  }
}

export const command: Command = {
  name: 'fool',
  summary: 'a fooling image: an imperceptible change that makes the network see another class',
  usage: USAGE,
  run,
};
