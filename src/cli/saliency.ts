/**
 * `pixelprop saliency IMAGE...`: which pixels the class score is most sensitive to (Simonyan et al. 2014), for each
 * image, as the CS231n figure — photos above their 'hot' maps — and optionally as .npy arrays.
 *
 * Everything a user can get wrong is checked before the output folder is created: the options, the image files
 * (decoded before the GPU is touched), the classes.
 */
import { PixelpropError, type RgbImage, type RgbImage8 } from '../index.js';
import { readImage } from '../image/node-io.js';
import { SALIENCY_DEFAULTS, SALIENCY_METHODS, SALIENCY_RANGES, saliency, type SaliencyMethod, type SaliencyResult } from '../techniques/saliency.js';
import { fmtRange } from '../techniques/ranges.js';
import { flag, num, parse, str } from './args.js';
import { MODEL_OPTIONS, MODEL_SYNOPSIS, modelChoice, modelUsage, openSession } from './common.js';
import { OutputFolder } from './output.js';
import { classLabel, classOf, imageBatch, writeSaliency } from './figures.js';
import type { Command } from './main.js';
import { Progress } from './progress.js';

const USAGE = `pixelprop saliency IMAGE... [--class C]... [--method M] [--samples N] [--noise S] [--seed S] [--out DIR] [--npy] [--json]
                   ${MODEL_SYNOPSIS}

  Saliency maps M = max_c |ds_y/dx| (Simonyan et al. 2014) of the images, 8 images per forward and backward pass.
  Writes DIR/saliency.png: the images (resized and center-cropped as the network sees them) above their maps.

  --class C       the class y of the maps: an index or a name ("tarantula"); once for all images, or once per image
                  (default: the class the network predicts for each image)
  --method M      vanilla (default), smoothgrad (mean map of noisy copies, Smilkov et al. 2017) or gradxinput
                  (max_c |x * ds_y/dx|)
  --samples N     smoothgrad: noisy copies per image, in ${fmtRange(SALIENCY_RANGES.samples)} (default ${SALIENCY_DEFAULTS.samples})
  --noise S       smoothgrad: noise std as a fraction of the image's value range, in ${fmtRange(SALIENCY_RANGES.noise)}
                  (default ${SALIENCY_DEFAULTS.noise})
  --seed S        smoothgrad: seed of the noise, in ${fmtRange(SALIENCY_RANGES.seed)} (default ${SALIENCY_DEFAULTS.seed})
  --out DIR       output folder, created if needed (default: the current folder); files there are replaced
  --npy           also write DIR/saliency.npy [N,H,W] and DIR/grad.npy [N,3,H,W] (float32, np.load reads them)
  --json          print {method, output, npy?, images: [{file, class, className, predicted, predictedName}]}
${modelUsage(18)}

  example: pixelprop saliency cat.jpg dog.png --out maps --npy`;

/** Images per forward/backward pass (SmoothGrad batches its noisy copies on its own). */
const CHUNK = 8;

/** The results of consecutive chunks of images as one. */
function concatResults(parts: SaliencyResult[]): SaliencyResult {
  const join = (pick: (r: SaliencyResult) => Float32Array): Float32Array => {
    const out = new Float32Array(parts.reduce((n, r) => n + pick(r).length, 0));
    let at = 0;
    for (const r of parts) {
      out.set(pick(r), at);
      at += pick(r).length;
    }
    return out;
  };
  const [, h, w] = parts[0]!.shape;
  return {
    method: parts[0]!.method,
    classes: parts.flatMap((r) => r.classes),
    predicted: parts.flatMap((r) => r.predicted),
    map: join((r) => r.map),
    grad: join((r) => r.grad),
    scores: join((r) => r.scores),
    shape: [parts.reduce((n, r) => n + r.shape[0], 0), h, w],
  };
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals: files } = parse('saliency', argv, {
    class: { type: 'string', multiple: true },
    method: { type: 'string' },
    samples: { type: 'string' },
    noise: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    npy: { type: 'boolean' },
    json: { type: 'boolean' },
    ...MODEL_OPTIONS,
  });
  const method = (str(values, 'method') ?? SALIENCY_DEFAULTS.method) as SaliencyMethod;
  if (!SALIENCY_METHODS.includes(method)) throw new PixelpropError(`--method must be one of ${SALIENCY_METHODS.join(', ')}, got '${method}'`);
  const samples = num(values, 'samples', SALIENCY_DEFAULTS.samples, SALIENCY_RANGES.samples);
  const noise = num(values, 'noise', SALIENCY_DEFAULTS.noise, SALIENCY_RANGES.noise);
  const seed = num(values, 'seed', SALIENCY_DEFAULTS.seed, SALIENCY_RANGES.seed);
  const classSpecs = (values.class as string[] | undefined) ?? [];
  if (files.length === 0) throw new PixelpropError("saliency: no image given (see 'pixelprop saliency --help')");
  if (classSpecs.length > 1 && classSpecs.length !== files.length) {
    throw new PixelpropError(`--class given ${classSpecs.length} times for ${files.length} images: give it once, or once per image`);
  }
  const out = OutputFolder.prepare(str(values, 'out') ?? '.');
  const images: RgbImage[] = [];
  for (const f of files) images.push(await readImage(f));

  const progress = new Progress('saliency');
  const session = await openSession(modelChoice(values));
  try {
    const resolved = classSpecs.map((c) => classOf(session, c));
    const classes = resolved.length === 0 ? undefined : resolved.length === 1 ? files.map(() => resolved[0]!) : resolved;
    const parts: SaliencyResult[] = [];
    const pictures: RgbImage8[] = [];
    // Chunks bound the GPU memory whatever the number of images; each chunk is one forward and one backward.
    for (let start = 0; start < files.length; start += CHUNK) {
      progress.update(`${method}: image ${start + 1}/${files.length}`, true);
      const { x, pictures: seen } = imageBatch(session, images.slice(start, start + CHUNK));
      pictures.push(...seen);
      try {
        const onProgress = (done: number, total: number): void =>
          progress.update(`${method}: images ${start + 1}-${start + seen.length} of ${files.length}, noisy copy ${done}/${total}`);
        parts.push(await saliency(session.model, x, classes?.slice(start, start + CHUNK), { method, samples, noise, seed, onProgress }));
      } finally {
        x.dispose();
      }
    }
    const result = concatResults(parts);
    progress.done();
    const summary = writeSaliency(out, session.labels, files, pictures, result, flag(values, 'npy'));
    out.commit();
    if (flag(values, 'json')) {
      console.log(JSON.stringify(summary, null, 2));
    } else {
      for (const img of summary.images) console.log(`${img.file}: map of ${classLabel(session.labels, img.class)}`);
      console.log(`wrote ${[summary.output, ...(summary.npy ? [summary.npy.saliency, summary.npy.grad] : [])].join(', ')}`);
    }
    return 0;
  } finally {
    progress.done();
    session.close();
  }
}

export const command: Command = {
  name: 'saliency',
  summary: 'saliency maps of images (vanilla, SmoothGrad, gradient x input)',
  usage: USAGE,
  run,
};
