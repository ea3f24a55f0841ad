/**
 * `pixelprop evaluate IMAGE...`: how far each attribution method's maps can be trusted (attribution/evaluate.ts) —
 * deletion and insertion curves and their AUCs (Petsiuk et al. 2018), and the model randomization test (Adebayo et
 * al. 2018) scored by Spearman's ρ and SSIM against the trained model's maps. Writes the curves and the randomization
 * scores as charts (SVG, src/charts) and Adebayo et al.'s grid of maps for the first image (PNG).
 *
 * Images go one at a time: the path methods and occlusion run per image anyway, and the randomization test then keeps
 * the maps of the first image only (for its figure), not of all.
 */
import { PixelpropError, className, type RgbImage } from '../index.js';
import { encodePng, readImage } from '../image/node-io.js';
import type { RgbImage8 } from '../image/image.js';
import { fmtRange } from '../techniques/ranges.js';
import { METHOD_NAMES, methodNamed, resolveCamLayer } from '../techniques/attribution/index.js';
import {
  CURVE_DEFAULTS,
  deletionInsertion,
  layersOf,
  randomizationTest,
  type RandomizationResult,
  type RandomizationScore,
} from '../techniques/attribution/evaluate.js';
import { randomizationFigure } from '../techniques/attribution/figures.js';
import { curvesChart, randomizationChart, renderSvg, type CurvePoint, type RandomizationPoint } from '../charts/index.js';
import { closest } from '../util/suggest.js';
import { flag, num, parse, str } from './args.js';
import {
  METHOD_OPTIONS,
  METHOD_USAGE,
  checkLayerUse,
  forChunks,
  mapsOf,
  methodList,
  type ImageMap,
  methodSettings,
} from './attribute.js';
import { MODEL_OPTIONS, MODEL_SYNOPSIS, modelChoice, modelUsage, openSession } from './common.js';
import { OutputFolder } from './output.js';
import type { Command } from './main.js';
import { Progress } from './progress.js';

const MODES = ['cascading', 'independent', 'both', 'none'] as const;
type ModeOption = (typeof MODES)[number];
type Mode = RandomizationResult['mode'];

const CURVE_STEPS_RANGE = { min: 1, max: 10_000, integer: true } as const;
const RANDOMIZATION_SEED_DEFAULT = 0;

const USAGE = `pixelprop evaluate IMAGE... [--methods LIST] [--curve-steps N] [--randomize MODE] [--layers LIST] [--seed S]
                  [method options] [--out DIR] [--json] ${MODEL_SYNOPSIS}

  Deletion and insertion curves (Petsiuk et al. 2018) of each method's maps, with their areas (deletion: lower is
  better; insertion: higher is better), and the model randomization test (Adebayo et al. 2018): each map compared,
  by Spearman's rank correlation and SSIM, with the map after the weights are replaced by random ones (cascading: from
  the top layer down, cumulatively; independent: one layer at a time). Scores near 1 mean a map did not notice.
  The maps are of the class the network predicts. Writes DIR/curves.svg, and per randomization mode
  DIR/randomization-MODE.svg (the scores per layer) and DIR/randomization-MODE.png (the first image's maps as the
  layers are randomized).

  --methods LIST     methods, comma-separated, or all (default all: ${METHOD_NAMES.join(', ')})
  --curve-steps N    points per curve − 1, in ${fmtRange(CURVE_STEPS_RANGE)} (default ${CURVE_DEFAULTS.steps})
  --randomize MODE   ${MODES.join(', ')} (default cascading)
  --layers LIST      the layers the randomization steps stop at, comma-separated, top down (default: every layer
                     with weights: SqueezeNet's conv10, fire9 … fire2, conv1)
  --seed S           the seed of the random weights and of the methods' random draws (default ${RANDOMIZATION_SEED_DEFAULT})
${METHOD_USAGE}
  --out DIR          output folder, created if needed (default: the current folder); files there are replaced
  --json             print {images, curveSteps, methods: [{method, deletionAuc, insertionAuc, images: [{file,
                     deletionAuc, insertionAuc, completeness (integrated-gradients, LRP)}]}],
                     randomization: [{mode, layers, restored, scores, images}], outputs}
${modelUsage(21)}

  example: pixelprop evaluate cat.jpg dog.png --methods gradcam,integrated-gradients --steps 32 --out eval`;

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The mean of each score over the images, per method and layer, in the order of the first image's. */
function meanScores(perImage: readonly RandomizationScore[][]): RandomizationScore[] {
  return perImage[0]!.map((s, k) => ({
    method: s.method,
    layer: s.layer,
    spearmanAbs: mean(perImage.map((scores) => scores[k]!.spearmanAbs)),
    spearman: mean(perImage.map((scores) => scores[k]!.spearman)),
    ssim: mean(perImage.map((scores) => scores[k]!.ssim)),
  }));
}

const METRICS = [
  ['spearmanAbs', 'Spearman ρ of |map|'],
  ['spearman', 'Spearman ρ of map'],
  ['ssim', 'SSIM'],
] as const;

async function run(argv: string[]): Promise<number> {
  const { values, positionals: files } = parse('evaluate', argv, {
    methods: { type: 'string' },
    'curve-steps': { type: 'string' },
    randomize: { type: 'string' },
    layers: { type: 'string' },
    ...METHOD_OPTIONS,
    out: { type: 'string' },
    json: { type: 'boolean' },
    ...MODEL_OPTIONS,
  });
  const methods = methodList(str(values, 'methods') ?? 'all');
  const curveSteps = num(values, 'curve-steps', CURVE_DEFAULTS.steps, CURVE_STEPS_RANGE);
  const modeOption = (str(values, 'randomize') ?? 'cascading') as ModeOption;
  if (!MODES.includes(modeOption)) throw new PixelpropError(`--randomize must be one of ${MODES.join(', ')}, got '${modeOption}'`);
  const modes: Mode[] = modeOption === 'both' ? ['cascading', 'independent'] : modeOption === 'none' ? [] : [modeOption];
  const layerNames = str(values, 'layers')?.split(',').map((l) => l.trim());
  if (layerNames && modes.length === 0) throw new PixelpropError('--layers sets the randomization test\'s steps: not with --randomize none');
  const settings = methodSettings(values);
  const seed = settings.seed ?? RANDOMIZATION_SEED_DEFAULT;
  checkLayerUse(settings, methods);
  if (files.length === 0) throw new PixelpropError("evaluate: no image given (see 'pixelprop evaluate --help')");
  const out = OutputFolder.prepare(str(values, 'out') ?? '.');
  const images: RgbImage[] = [];
  for (const f of files) images.push(await readImage(f));

  const progress = new Progress('evaluate');
  const session = await openSession(modelChoice(values));
  try {
    const { model, labels } = session;
    // --layer checked against the model before any map is computed.
    if (methods.some((m) => methodNamed(m).family === 'cam')) resolveCamLayer(model, settings.layer);
    if (layerNames) {
      const known = layersOf(model).map((l) => l.name);
      for (const name of layerNames) {
        if (!known.includes(name)) throw new PixelpropError(`--layers: the model has no layer '${name}'; closest: ${closest(name, known).join(', ')} (layers: ${known.join(', ')})`);
      }
    }
    const imageClasses: number[] = [];
    const curves = new Map<string, { deletion: number[]; insertion: number[]; completeness: (ImageMap['completeness'] | undefined)[] }>(
      methods.map((m) => [m, { deletion: [], insertion: [], completeness: [] }]),
    );
    const curvePoints: CurvePoint[] = [];
    const randomization = new Map<Mode, { layers: string[]; restored: boolean; scores: RandomizationScore[][]; maps?: Float32Array[][] }>();
    let firstPicture: RgbImage8 | null = null;

    await forChunks(session, images, 1, async (x, i, [picture]) => {
      firstPicture ??= picture!;
      const where = `image ${i + 1}/${files.length}`;
      for (const method of methods) {
        progress.update(`${where}: ${method}`, true);
        const [r] = await mapsOf(session, x, method, undefined, settings, (done, total) => progress.update(`${where}: ${method} ${done}/${total}`));
        if (method === methods[0]) imageClasses.push(r!.class);
        const { deletion, insertion } = await deletionInsertion(model, x, 0, r!.class, r!.map, { steps: curveSteps });
        curves.get(method)!.deletion.push(deletion.auc);
        curves.get(method)!.insertion.push(insertion.auc);
        curves.get(method)!.completeness.push(r!.completeness);
        for (const c of [deletion, insertion]) c.fractions.forEach((fraction, k) => curvePoints.push({ method, kind: c.kind, fraction, probability: c.probs[k]! }));
      }
      for (const mode of modes) {
        // The same seed for every image: each image sees the same random weights at each step.
        const result = await randomizationTest(
          model,
          x,
          methods,
          async (method, classes) => {
            const maps = await mapsOf(session, x, method, classes, settings);
            return { method, classes: [...classes], predicted: [...classes], map: maps[0]!.map, shape: [1, x.shape[2]!, x.shape[3]!], scores: new Float32Array() };
          },
          {
            mode,
            seed,
            keepMaps: i === 0,
            ...(layerNames && { layers: layerNames }),
            onStep: (done, total) => progress.update(`${where}: ${mode} randomization, step ${done}/${total}`, true),
          },
        );
        const kept = randomization.get(mode) ?? { layers: result.layers, restored: true, scores: [] };
        kept.restored &&= result.restored;
        kept.scores.push(result.scores[0]!);
        if (result.maps) kept.maps = result.maps[0]!;
        randomization.set(mode, kept);
      }
    });
    progress.done();

    const outputs: { curves: string; randomization: Record<string, { chart: string; figure: string }> } = {
      curves: out.add('curves.svg', new TextEncoder().encode(await renderSvg(curvesChart(curvePoints, `Deletion and insertion (mean over ${files.length} image${files.length === 1 ? '' : 's'})`)))),
      randomization: {},
    };
    for (const [mode, r] of randomization) {
      const points: RandomizationPoint[] = r.scores.flatMap((scores) =>
        scores.flatMap((s) => METRICS.map(([key, metric]) => ({ method: s.method, layer: s.layer, metric, value: s[key] }))),
      );
      const chart = out.add(`randomization-${mode}.svg`, new TextEncoder().encode(await renderSvg(randomizationChart(points, r.layers, `Model randomization, ${mode}`))));
      const figure = out.add(
        `randomization-${mode}.png`,
        encodePng(randomizationFigure(firstPicture!, methods, r.layers, r.maps!, `${files[0]}: ${className(labels, imageClasses[0]!)}, ${mode} randomization`)),
      );
      outputs.randomization[mode] = { chart, figure };
    }
    const summary = {
      images: files.map((file, i) => ({ file, class: imageClasses[i]!, className: className(labels, imageClasses[i]!) })),
      curveSteps,
      methods: methods.map((method) => {
        const c = curves.get(method)!;
        return {
          method,
          deletionAuc: mean(c.deletion),
          insertionAuc: mean(c.insertion),
          images: files.map((file, i) => ({
            file,
            deletionAuc: c.deletion[i]!,
            insertionAuc: c.insertion[i]!,
            ...(c.completeness[i] && { completeness: c.completeness[i] }),
          })),
        };
      }),
      randomization: [...randomization].map(([mode, r]) => ({
        mode,
        layers: r.layers,
        restored: r.restored,
        scores: meanScores(r.scores),
        images: files.map((file, i) => ({ file, scores: r.scores[i]! })),
      })),
      outputs,
    };
    for (const r of summary.randomization) {
      if (!r.restored) throw new Error(`the trained weights were not restored after the ${r.mode} randomization test`);
    }
    out.commit();
    if (flag(values, 'json')) {
      console.log(JSON.stringify(summary, null, 2));
      return 0;
    }
    const width = Math.max(...methods.map((m) => m.length));
    const finals = summary.randomization.map((r) => ({ mode: r.mode, last: r.layers[r.layers.length - 1]!, scores: r.scores }));
    console.log(`${files.length} image${files.length === 1 ? '' : 's'}, ${curveSteps} curve steps; means over the images`);
    for (const f of finals) {
      const what = f.mode === 'cascading' ? `every layer from the top down to ${f.last} randomized` : `${f.last} alone randomized`;
      console.log(`${f.mode}: similarity to the trained model's map with ${what}`);
    }
    const column = (text: string, size: number): string => text.padStart(size);
    const header = ['method'.padEnd(width), 'deletion AUC ↓', 'insertion AUC ↑', ...finals.flatMap((f) => [column(`${f.mode} ρ|map|`, 18), column('ρ', 6), column('SSIM', 6)])];
    console.log(header.join('  '));
    for (const m of summary.methods) {
      const cells = [m.method.padEnd(width), column(m.deletionAuc.toFixed(4), 14), column(m.insertionAuc.toFixed(4), 15)];
      for (const f of finals) {
        const s = f.scores.find((x) => x.method === m.method && x.layer === f.last)!;
        cells.push(column(s.spearmanAbs.toFixed(3), 18), column(s.spearman.toFixed(3), 6), column(s.ssim.toFixed(3), 6));
      }
      console.log(cells.join('  '));
    }
    console.log(`wrote ${[outputs.curves, ...Object.values(outputs.randomization).flatMap((o) => [o.chart, o.figure])].join(', ')}`);
    return 0;
  } finally {
    progress.done();
    session.close();
  }
}

export const command: Command = {
  name: 'evaluate',
  summary: 'deletion/insertion curves and the randomization test of attribution methods',
  usage: USAGE,
  run,
};
