/**
 * `pixelprop demo`: the three techniques on the sample photos of samples/ (see samples/LICENSE.md) — saliency maps
 * of all of them, a fooling image of the coffee cup to "stingray", class visualizations of "tarantula" and "Yorkshire
 * terrier" — written as the single commands write them, plus an index.html that shows the figures with their numbers.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PixelpropError, type RgbImage } from '../index.js';
import { readImage } from '../image/node-io.js';
import { CLASS_VISUALIZATION_DEFAULTS, CLASS_VISUALIZATION_RANGES, classVisualization } from '../techniques/classviz.js';
import { FOOL_DEFAULTS, FOOL_RANGES, fool } from '../techniques/fool.js';
import { NOTEBOOK_FOOL } from '../techniques/notebook.js';
import { fmtRange } from '../techniques/ranges.js';
import { saliency } from '../techniques/saliency.js';
import { flag, num, parse, str } from './args.js';
import { imagenetOutput } from '../graph/description.js';
import { MODEL_OPTIONS, MODEL_SYNOPSIS, modelChoice, modelUsage, openSession, packageRoot } from './common.js';
import { OutputFolder } from './output.js';
import { classVizProgress } from './classviz.js';
import {
  classVizText,
  foolText,
  imageBatch,
  writeClassViz,
  writeFooling,
  writeSaliency,
  type ClassVizSummary,
  type FoolSummary,
  type SaliencySummary,
} from './figures.js';
import type { Command } from './main.js';
import { Progress } from './progress.js';

/**
 * What the demo shows: the CS231n notebook's targets (stingray, tarantula, Yorkshire terrier). The coffee photo is
 * classified correctly (espresso) and turns into a stingray in 18 steps; the cat photo still holds out after 100
 * (it ends as a puffer, with p(stingray) = 0.46).
 */
const FOOL_FILE = NOTEBOOK_FOOL.sample;
const FOOL_TARGET = NOTEBOOK_FOOL.target; // stingray (ImageNet's class index), as the page's Notebook view
const CLASSVIZ_TARGETS = [76, 187]; // tarantula, Yorkshire terrier

const USAGE = `pixelprop demo [--out DIR] [--iters N] [--max-iters N] [--seed S] [--json]
                      ${MODEL_SYNOPSIS}

  Runs the three techniques on the sample photos in samples/: saliency maps of all of them, a fooling image of
  ${FOOL_FILE} to stingray (${FOOL_TARGET}), class visualizations of tarantula (76) and Yorkshire terrier (187).
  Writes their figures and DIR/index.html, a page that shows them with the numbers.

  --out DIR       output folder (default pixelprop-demo); files there are replaced
  --iters N       class visualization steps, in ${fmtRange(CLASS_VISUALIZATION_RANGES.iterations)} (default ${CLASS_VISUALIZATION_DEFAULTS.iterations})
  --max-iters N   fooling: at most N steps, N in ${fmtRange(FOOL_RANGES.maxIters)} (default ${FOOL_DEFAULTS.maxIters})
  --seed S        class visualization seed, in ${fmtRange(CLASS_VISUALIZATION_RANGES.seed)} (default ${CLASS_VISUALIZATION_DEFAULTS.seed})
  --json          print {saliency, fooling, classviz, index} (the summaries of the single commands' --json)
${modelUsage(18)}

  The classes are ImageNet's: on a model whose output 0 is a background class (its description says so), each is
  one further on.`;

/** The sample photos, in name order. */
function sampleFiles(): string[] {
  const dir = join(packageRoot(), 'samples');
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  } catch {
    throw new PixelpropError(`demo: the sample photos are missing (no folder ${dir})`);
  }
  if (!names.includes(FOOL_FILE)) throw new PixelpropError(`demo: samples/${FOOL_FILE} is missing`);
  return names.map((f) => join(dir, f));
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fixed = (v: number, digits: number): string => v.toFixed(digits);

/** A static page: each figure (by file name, beside the page) under a heading, with its numbers. */
export function indexHtml(s: SaliencySummary, f: FoolSummary, c: ClassVizSummary[]): string {
  const img = (path: string, alt: string): string => `<img src="${escapeHtml(basename(path))}" alt="${escapeHtml(alt)}">`;
  const rows = (cells: string[][]): string => cells.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(v)}</td>`).join('')}</tr>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pixelprop demo</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 2em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
</style>
</head>
<body>
<h1>pixelprop demo</h1>
<p>The network's forward and backward passes to the pixels, on WebGPU. Photos: samples/ (see LICENSE.md there).</p>

<h2>Saliency maps</h2>
<p>M = max<sub>c</sub> |&part;s<sub>y</sub>/&part;x| (Simonyan et al. 2014), y = the predicted class.</p>
${img(s.output, 'saliency maps')}
<table>
<tr><th>file</th><th>class</th></tr>
${rows(s.images.map((i) => [basename(i.file), `${i.className} (${i.class})`]))}
</table>

<h2>Fooling image</h2>
<p>Gradient ascent on the target score with steps of fixed length (Szegedy et al. 2014), checked after saving to 8 bits.</p>
${img(f.figure, 'original, fooling image, difference, difference x10')}
<table>
${rows([
  ['image', basename(f.file)],
  ['original class', `${f.originalName} (${f.originalClass})`],
  ['target', `${f.targetName} (${f.target})`],
  ['fooled (8-bit PNG)', f.fooled ? 'yes' : 'no'],
  ['steps', `${f.iterations}${f.extraIterations ? ` (${f.extraIterations} after the first float success)` : ''}`],
  ['p(target)', fixed(f.targetProb, 3)],
  ['change, 0-255 units', `L∞ ${f.linf}, L2 ${fixed(f.l2, 1)}`],
])}
</table>

<h2>Class visualizations</h2>
<p>Gradient ascent on s<sub>y</sub>(I) − λ‖I‖² from noise, with jitter, clamping and blur (Simonyan et al. 2014, Yosinski et al. 2015).</p>
${c
  .map(
    (v) => `<h3>${escapeHtml(v.className)} (${v.class})</h3>
${img(v.figure, `${v.className}, snapshots`)}
<table>
${rows([
  ['steps, seed', `${v.iterations}, ${v.seed}`],
  ['score', `${fixed(v.startScore, 2)} → ${fixed(v.finalScore, 2)}`],
  ['p(class)', fixed(v.finalProb, 3)],
  ['predicted', `${v.argmaxName} (${v.argmax})`],
])}
</table>`,
  )
  .join('\n')}
</body>
</html>
`;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse('demo', argv, {
    out: { type: 'string' },
    iters: { type: 'string' },
    'max-iters': { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean' },
    ...MODEL_OPTIONS,
  });
  if (positionals.length > 0) throw new PixelpropError(`demo: unexpected argument '${positionals[0]}' (see 'pixelprop demo --help')`);
  const iterations = num(values, 'iters', CLASS_VISUALIZATION_DEFAULTS.iterations, CLASS_VISUALIZATION_RANGES.iterations);
  const maxIters = num(values, 'max-iters', FOOL_DEFAULTS.maxIters, FOOL_RANGES.maxIters);
  const seed = num(values, 'seed', CLASS_VISUALIZATION_DEFAULTS.seed, CLASS_VISUALIZATION_RANGES.seed);
  const files = sampleFiles();
  const out = OutputFolder.prepare(str(values, 'out') ?? 'pixelprop-demo');
  const images: RgbImage[] = [];
  for (const f of files) images.push(await readImage(f));

  const progress = new Progress('demo');
  const session = await openSession(modelChoice(values));
  // What was made, printed once the files are written (all of them are, at the end, or none).
  const report: string[] = [];
  const say = (text: string): void => void report.push(text);
  try {

    progress.update('saliency', true);
    const batch = imageBatch(session, images);
    const maps = await saliency(session.model, batch.x, undefined).finally(() => batch.x.dispose());
    const saliencySummary = writeSaliency(out, session.labels, files, batch.pictures, maps, false);
    say(`saliency: wrote ${saliencySummary.output}`);

    progress.update('fooling', true);
    const foolIndex = files.findIndex((f) => basename(f) === FOOL_FILE);
    const one = imageBatch(session, [images[foolIndex]!], 'image');
    const fooled = await fool(session.model, one.x, imagenetOutput(session.description, FOOL_TARGET), {
      maxIters,
      normalization: session.preprocessing.normalization,
    }).finally(() => one.x.dispose());
    const foolSummary = writeFooling(out, session.labels, files[foolIndex]!, fooled);
    say(foolText(foolSummary));

    const classviz: ClassVizSummary[] = [];
    for (const target of CLASSVIZ_TARGETS.map((c) => imagenetOutput(session.description, c))) {
      progress.update(`class visualization of ${target}`, true);
      const onIteration = classVizProgress(progress, iterations);
      const result = await classVisualization(session.model, target, { iterations, seed, onIteration, normalization: session.preprocessing.normalization });
      classviz.push(writeClassViz(out, session.labels, result, { iterations, seed }));
      say(classVizText(classviz[classviz.length - 1]!));
    }
    progress.done();

    const index = out.add('index.html', new TextEncoder().encode(indexHtml(saliencySummary, foolSummary, classviz)));
    out.commit();
    if (flag(values, 'json')) console.log(JSON.stringify({ saliency: saliencySummary, fooling: foolSummary, classviz, index }, null, 2));
    else console.log([...report, `open ${index}`].join('\n'));
    return 0;
  } finally {
    progress.done();
    session.close();
  }
}

export const command: Command = {
  name: 'demo',
  summary: 'all three techniques on the sample photos, with a web page of the results',
  usage: USAGE,
  run,
};
