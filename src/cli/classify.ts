/**
 * `pixelprop classify IMAGE...`: the K most likely ImageNet classes of each image, with the network's raw score and
 * its softmax probability, as an aligned table or as JSON.
 *
 * The images are decoded before the GPU is touched, so that a missing or broken file costs nothing and prints one
 * line. The images then go through the model in batches no larger than the device allows (Model.maxBatch).
 */
import { PixelpropError, Tensor, topK, type Ranked, type RgbImage } from '../index.js';
import { readImage } from '../image/node-io.js';
import { fmtRange, type NumberRange } from '../techniques/ranges.js';
import { SCORES_OVERFLOW, checkFinite } from '../util/finite.js';
import { flag, num, parse } from './args.js';
import { MODEL_OPTIONS, MODEL_SYNOPSIS, modelChoice, modelUsage, openSession, preprocessBatch } from './common.js';
import type { Command } from './main.js';
import { Progress } from './progress.js';

/** The most classes a model may have for --top to list them all; the model's own count is checked once it is loaded. */
const TOP_RANGE: NumberRange = { min: 1, max: 100_000, integer: true };

const USAGE = `pixelprop classify IMAGE... [--top K] [--json] [--logits]
                   ${MODEL_SYNOPSIS}

  The K most likely classes of each image (PNG or JPEG; resized and center-cropped as for training).
  score is the network's raw output for the class (a logit); prob is the softmax of all the scores.

  --top K         classes per image, most likely first, in ${fmtRange(TOP_RANGE)} and at most the model's classes (default 5)
  --json          print a JSON array, one object per image: {file, top: [{index, name, score, prob}], logits?}
  --logits        also print every class's score (in JSON: "logits", an array of K_total numbers)
${modelUsage(18)}

  example: pixelprop classify cat.jpg dog.png --top 3`;

/** At most this many images go through the GPU at once, whatever the device allows: memory, not speed, limits it. */
const CHUNK = 8;

export interface Classification {
  file: string;
  top: Ranked[];
  logits?: number[];
}

function table(results: Classification[]): string {
  const lines: string[] = [];
  const nameWidth = Math.max(5, ...results.flatMap((r) => r.top.map((t) => t.name.length))); // one width for all images
  for (const r of results) {
    lines.push(r.file);
    lines.push(`  rank  index  ${'class'.padEnd(nameWidth)}  ${'score'.padStart(9)}  ${'prob'.padStart(7)}`);
    r.top.forEach((t, i) => {
      lines.push(
        `  ${String(i + 1).padStart(4)}  ${String(t.index).padStart(5)}  ${t.name.padEnd(nameWidth)}  ${t.score.toFixed(3).padStart(9)}  ${t.prob.toFixed(4).padStart(7)}`,
      );
    });
    if (r.logits) lines.push(`  logits: ${r.logits.map((v) => v.toPrecision(6)).join(' ')}`);
  }
  return lines.join('\n');
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals: files } = parse('classify', argv, {
    top: { type: 'string' },
    json: { type: 'boolean' },
    logits: { type: 'boolean' },
    ...MODEL_OPTIONS,
  });
  const k = num(values, 'top', 5, TOP_RANGE);
  if (files.length === 0) throw new PixelpropError("classify: no image given (see 'pixelprop classify --help')");
  const images: RgbImage[] = [];
  for (const f of files) images.push(await readImage(f));

  const progress = new Progress('classify');
  const session = await openSession(modelChoice(values));
  const { gpu, model, labels } = session;
  try {
    if (k > model.numClasses) throw new PixelpropError(`--top ${k} is more than the model's ${model.numClasses} classes`);
    const size = model.imageSize();
    const chunk = Math.max(1, Math.min(CHUNK, model.maxBatch()));
    const results: Classification[] = [];
    for (let start = 0; start < files.length; start += chunk) {
      progress.update(`image ${start + 1}/${files.length}`, true);
      const part = images.slice(start, start + chunk);
      const chw = preprocessBatch(part, session.preprocessing);
      const x = Tensor.from(gpu, [part.length, 3, size, size], chw, 'images');
      const scores = model.forward(x);
      const data = await scores.read();
      x.dispose();
      scores.dispose();
      checkFinite(data, 'the score tensor read back from the GPU', SCORES_OVERFLOW);
      const classes = model.numClasses;
      part.forEach((_, i) => {
        const row = data.subarray(i * classes, (i + 1) * classes);
        const r: Classification = { file: files[start + i]!, top: topK(row, k, labels) };
        if (flag(values, 'logits')) r.logits = Array.from(row);
        results.push(r);
      });
    }
    progress.done();
    console.log(flag(values, 'json') ? JSON.stringify(results, null, 2) : table(results));
    return 0;
  } finally {
    progress.done();
    session.close();
  }
}

export const command: Command = {
  name: 'classify',
  summary: 'the top-K ImageNet classes of images, with scores and probabilities',
  usage: USAGE,
  run,
};
