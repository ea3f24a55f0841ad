/**
 * SqueezeNet 1.1 on 25 ImageNet validation photos (../shared/images/imagenet_val_25, labels.json): the GPU's top-5
 * classes equal the CPU path's (src/graph/model.ts, the same network in float64) on every photo — same classes, same
 * order — and the top-1 / top-5 accuracy against the labels is what this network is known to give on them.
 *
 * The CPU path costs about 3 s per photo on a 2-core machine, so the photos go in groups of five, one test each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { parseSynset } from '../src/graph/labels.js';
import { Model } from '../src/graph/model.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { host } from '../src/kernels/host.js';
import { useGpu } from './helpers.js';
import { MODEL_PATH, SYNSET_PATH, sharedData } from './shared-data.js';

const gpu = useGpu();
const photoDir = sharedData('photos', 'the accuracy on the 25 ImageNet photos');
type Label = { file: string; classIndex: number; synset: string; name: string };
const labels: Label[] = photoDir ? JSON.parse(readFileSync(join(photoDir, 'labels.json'), 'utf8')) : [];

const GROUP = 5;
const SIZE = 224;
/** Measured on this model and these photos (the issue expected about 12 and 18). */
const EXPECTED_TOP1 = 12;
const EXPECTED_TOP5 = 18;

/** The k highest scores' classes, highest first. */
function topK(scores: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, k);
}

describe.skipIf(photoDir === null)('25 ImageNet photos', () => {
  let model: Model;
  /** per photo: the CPU path's top 5 */
  const top5 = new Map<string, number[]>();
  beforeAll(() => {
    model = Model.load(gpu(), readFileSync(MODEL_PATH));
  });
  afterAll(() => model?.dispose());

  it('labels.json agrees with synset.txt', () => {
    expect(labels).toHaveLength(25);
    const synset = parseSynset(readFileSync(SYNSET_PATH, 'utf8'));
    for (const l of labels) expect(synset.ids[l.classIndex], l.file).toBe(l.synset);
  });

  const groups = Array.from({ length: Math.ceil(labels.length / GROUP) }, (_, g) => labels.slice(g * GROUP, (g + 1) * GROUP));
  it.each(groups.map((g) => [`${g[0]!.file} … ${g.at(-1)!.file}`, g] as const))(
    'photos %s: GPU top-5 = CPU path top-5, same order',
    async (_, group) => {
      const per = 3 * SIZE * SIZE;
      const chw = new Float32Array(group.length * per);
      for (const [i, l] of group.entries()) chw.set(preprocess(await readImage(join(photoDir!, l.file)), { size: SIZE }), i * per);
      const x = Tensor.from(gpu(), [group.length, 3, SIZE, SIZE], chw, 'photos');
      const y = model.forward(x);
      const onGpu = await y.read();
      x.dispose();
      y.dispose();
      const cpu = model.referenceForward(host([group.length, 3, SIZE, SIZE], chw)).data;
      const k = model.numClasses;
      group.forEach((l, i) => {
        const gpuScores = onGpu.subarray(i * k, (i + 1) * k);
        const cpuScores = cpu.subarray(i * k, (i + 1) * k);
        const cpuTop = topK(cpuScores, 5);
        expect(topK(gpuScores, 5), l.file).toEqual(cpuTop);
        // How close the ranking came to changing: the smallest gap between consecutive top-5 scores.
        const gap = Math.min(...cpuTop.slice(1).map((c, j) => cpuScores[cpuTop[j]!]! - cpuScores[c]!));
        console.log(`${l.file}  label ${String(l.classIndex).padStart(3)}  top-5 ${cpuTop.join(',')}  smallest gap ${gap.toExponential(1)}`);
        top5.set(l.file, cpuTop);
      });
    },
    300_000,
  );

  it(`top-1 accuracy ${EXPECTED_TOP1}/25, top-5 accuracy ${EXPECTED_TOP5}/25`, () => {
    expect(top5.size, 'every group ran').toBe(labels.length);
    const top1Hits = labels.filter((l) => top5.get(l.file)![0] === l.classIndex).length;
    const top5Hits = labels.filter((l) => top5.get(l.file)!.includes(l.classIndex)).length;
    console.log(`accuracy on the 25 photos: top-1 ${top1Hits}/25, top-5 ${top5Hits}/25`);
    expect(top1Hits).toBe(EXPECTED_TOP1);
    expect(top5Hits).toBe(EXPECTED_TOP5);
  });
});
