/**
 * MobileNetV2 (TF-slim, 1001 classes with background at 0, inputs p·2 − 1), the second real model, through the
 * registry and its description exactly as the command line opens it (resolveModel): its test data on the GPU and on the
 * float64 path, the 25 ImageNet photos (GPU top-5 = float64 top-5; top-1 17/25 and top-5 23/25 against labels.json,
 * whose ImageNet index c is this model's output c + 1), and — heavy — every photo fooled into ImageNet's stingray
 * (class 6, output 7) after the 8-bit save, and class visualizations of tarantula and Yorkshire terrier.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModel, type ResolvedModel } from '../src/cli/common.js';
import { Tensor } from '../src/gpu/tensor.js';
import { imagenetOutput } from '../src/graph/description.js';
import { parseSynset, type Labels } from '../src/graph/labels.js';
import { Model } from '../src/graph/model.js';
import { parseTensorProto } from '../src/graph/onnx/parse.js';
import { toFloat } from '../src/image/image.js';
import { readImage } from '../src/image/node-io.js';
import { inputRange, normalize, preprocess } from '../src/image/preprocess.js';
import { host } from '../src/kernels/host.js';
import { classVisualization } from '../src/techniques/classviz.js';
import { fool, type FoolResult } from '../src/techniques/fool.js';
import { FORWARD_BOUND, expectClose, useGpu } from './helpers.js';
import { sharedData } from './shared-data.js';
import { HEAVY, mean } from './techniques-helpers.js';

const gpu = useGpu();
const modelDir = sharedData('mobilenetv2', 'the MobileNetV2 tests');
const photoDir = sharedData('photos', 'MobileNetV2 on the 25 ImageNet photos');
type Label = { file: string; classIndex: number; synset: string; name: string };
const photoLabels: Label[] = photoDir ? JSON.parse(readFileSync(join(photoDir, 'labels.json'), 'utf8')) : [];

/** Measured by pixelprop on these photos; the model's README gives the same for onnxruntime. */
const EXPECTED_TOP1 = 17;
const EXPECTED_TOP5 = 23;
const STINGRAY = 6; // ImageNet's class index
const TARANTULA = 76;
const YORKSHIRE_TERRIER = 187;
/** The float64 path costs a few seconds per photo on two cores: it runs in groups. */
const GROUP = 5;

function topK(scores: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, k);
}

describe.skipIf(modelDir === null)('MobileNetV2', () => {
  let resolved: ResolvedModel;
  let model: Model;
  let labels: Labels;
  beforeAll(async () => {
    resolved = await resolveModel({ model: 'mobilenetv2' }, true); // copies it into weights/ when missing
    model = Model.load(gpu(), readFileSync(resolved.model));
    labels = parseSynset(readFileSync(resolved.labels!, 'utf8'));
  });
  afterAll(() => model?.dispose());
  const size = 224;
  const prep = () => ({ size, resize: size, normalization: resolved.description.normalization });

  it('is described as it is: 1001 classes with background at 0, inputs p·2 − 1 in [−1, 1]', () => {
    const d = resolved.description;
    expect(model.numClasses).toBe(1001);
    expect(model.imageSize()).toBe(d.inputSize);
    expect(d.background).toBe(true);
    expect(labels.names).toHaveLength(1001);
    expect(labels.names[0]).toEqual(['background']);
    expect(labels.names[imagenetOutput(d, STINGRAY)]![0]).toBe('stingray');
    expect(d.normalization).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    expect(inputRange(d.normalization)).toEqual({ lo: [-1, -1, -1], hi: [1, 1, 1] });
    // The float32 normalization of every 8-bit level is the README's pixel/127.5 − 1, to the float32 rounding.
    const levels = { width: 256, height: 1, data: new Float32Array(3 * 256).map((_, i) => Math.floor(i / 3) / 255) };
    const x = normalize(levels, d.normalization);
    for (let v = 0; v < 256; v++) expect(Math.abs(x[v]! - (v / 127.5 - 1)), `level ${v}`).toBeLessThanOrEqual(2 ** -23);
  });

  it.each([0, 1])('matches test_data_set_%i on the GPU (≤ 1e-5)', async (k) => {
    const dir = join(modelDir!, 'test-data', `test_data_set_${k}`);
    const input = parseTensorProto(readFileSync(join(dir, 'input_0.pb')));
    const expected = parseTensorProto(readFileSync(join(dir, 'output_0.pb')));
    const x = Tensor.from(gpu(), input.dims, input.data as Float32Array, 'input');
    const y = model.forward(x);
    const err = expectClose(await y.read(), expected.data as Float32Array, FORWARD_BOUND, `GPU vs test_data_set_${k}`);
    x.dispose();
    y.dispose();
    console.log(`MobileNetV2 test_data_set_${k}: GPU max|Δ|/max|ref| = ${err.toExponential(2)}`);
  });

  it('the float64 path matches test_data_set_0 (≤ 1e-5)', () => {
    const dir = join(modelDir!, 'test-data', 'test_data_set_0');
    const input = parseTensorProto(readFileSync(join(dir, 'input_0.pb')));
    const expected = parseTensorProto(readFileSync(join(dir, 'output_0.pb')));
    const y = model.referenceForward(host(input.dims, input.data as Float32Array));
    const err = expectClose(y.data, expected.data as Float32Array, FORWARD_BOUND, 'float64 path vs test_data_set_0');
    console.log(`MobileNetV2 test_data_set_0: float64 path max|Δ|/max|ref| = ${err.toExponential(2)}`);
  });

  describe.skipIf(photoDir === null)('on the 25 ImageNet photos', () => {
    let chw: Float32Array;
    let gpuScores: Float32Array;
    const per = 3 * size * size;
    /** per photo: the float64 path's top 5 */
    const top5 = new Map<string, number[]>();
    beforeAll(async () => {
      chw = new Float32Array(photoLabels.length * per);
      for (const [i, l] of photoLabels.entries()) chw.set(preprocess(await readImage(join(photoDir!, l.file)), prep()), i * per);
      // All 25 in one forward pass.
      const x = Tensor.from(gpu(), [photoLabels.length, 3, size, size], chw, 'photos');
      const y = model.forward(x);
      gpuScores = await y.read();
      x.dispose();
      y.dispose();
    });

    it("labels.json's ImageNet class c is the model's class c + 1", () => {
      expect(photoLabels).toHaveLength(25);
      for (const l of photoLabels) expect(labels.names[imagenetOutput(resolved.description, l.classIndex)]!.join(', '), l.file).toBe(l.name);
    });

    const groups = Array.from({ length: Math.ceil(photoLabels.length / GROUP) }, (_, g) => photoLabels.slice(g * GROUP, (g + 1) * GROUP));
    it.each(groups.map((g, index) => [`${g[0]!.file} … ${g.at(-1)!.file}`, g, index] as const))(
      'photos %s: GPU top-5 = float64 top-5, same order',
      (_, group, index) => {
        const first = index * GROUP;
        const cpu = model.referenceForward(host([group.length, 3, size, size], chw.subarray(first * per, (first + group.length) * per))).data;
        const k = model.numClasses;
        group.forEach((l, i) => {
          const cpuScores = cpu.subarray(i * k, (i + 1) * k);
          const cpuTop = topK(cpuScores, 5);
          expect(topK(gpuScores.subarray((first + i) * k, (first + i + 1) * k), 5), l.file).toEqual(cpuTop);
          const gap = Math.min(...cpuTop.slice(1).map((c, j) => cpuScores[cpuTop[j]!]! - cpuScores[c]!));
          console.log(`${l.file}  label ${String(l.classIndex).padStart(3)} (+1)  top-5 ${cpuTop.join(',')}  smallest gap ${gap.toExponential(1)}`);
          top5.set(l.file, cpuTop);
        });
      },
      300_000,
    );

    it(`top-1 accuracy ${EXPECTED_TOP1}/25, top-5 accuracy ${EXPECTED_TOP5}/25`, () => {
      expect(top5.size, 'every group ran').toBe(photoLabels.length);
      const label = (l: Label) => imagenetOutput(resolved.description, l.classIndex);
      const top1Hits = photoLabels.filter((l) => top5.get(l.file)![0] === label(l)).length;
      const top5Hits = photoLabels.filter((l) => top5.get(l.file)!.includes(label(l))).length;
      console.log(`MobileNetV2 accuracy on the 25 photos: top-1 ${top1Hits}/25, top-5 ${top5Hits}/25`);
      expect(top1Hits).toBe(EXPECTED_TOP1);
      expect(top5Hits).toBe(EXPECTED_TOP5);
    });

    it.runIf(HEAVY)(
      "HEAVY: fools every photo into ImageNet's stingray (output 7), still so after the 8-bit save",
      async () => {
        const target = imagenetOutput(resolved.description, STINGRAY);
        const { normalization } = resolved.description;
        const rows: { file: string; r: FoolResult }[] = [];
        for (const [i, l] of photoLabels.entries()) {
          const x = Tensor.from(gpu(), [1, 3, size, size], chw.subarray(i * per, (i + 1) * per), l.file);
          rows.push({ file: l.file, r: await fool(model, x, target, { maxIters: 100, normalization }) });
          x.dispose();
        }
        for (const { file, r } of rows) {
          console.log(`${file}: ${r.fooled ? 'fooled' : 'NOT fooled'} in ${r.iterations} steps (${r.extraIterations} extra for 8 bits), p = ${r.targetProb.toFixed(3)}, Linf ${r.linf}, L2 ${r.l2.toFixed(1)}`);
        }
        const ok = rows.filter(({ r }) => r.fooled);
        console.log(
          `MobileNetV2 fooling to stingray: ${ok.length}/25; mean steps ${mean(ok.map(({ r }) => r.iterations)).toFixed(1)}, ` +
            `mean Linf ${mean(ok.map(({ r }) => r.linf)).toFixed(2)}, mean L2 ${mean(ok.map(({ r }) => r.l2)).toFixed(1)} (0-255 units)`,
        );
        expect(ok).toHaveLength(25);
        // The saved images, decoded again from their bytes with the model's own preprocessing, in one batch.
        const saved = new Float32Array(25 * per);
        rows.forEach(({ r }, i) => saved.set(normalize(toFloat(r.image), normalization), i * per));
        const x = Tensor.from(gpu(), [25, 3, size, size], saved, 'saved');
        const y = model.forward(x);
        const scores = await y.read();
        x.dispose();
        y.dispose();
        rows.forEach(({ file }, i) => expect(topK(scores.subarray(i * 1001, (i + 1) * 1001), 1)[0], file).toBe(target));
      },
      60 * 60_000,
    );
  });

  it.runIf(HEAVY)(
    'HEAVY: class visualizations of tarantula and Yorkshire terrier end predicted as that class (normalized steps, lr 2)',
    async () => {
      for (const imagenetClass of [TARANTULA, YORKSHIRE_TERRIER]) {
        const target = imagenetOutput(resolved.description, imagenetClass);
        // The defaults' raw step (lr 25 · g) is SqueezeNet's: on MobileNetV2 it reached p = 0.04 for the tarantula
        // (argmax sea cucumber) and lr 250 did worse; steps of fixed length 2 (in its [−1, 1] units) reach p = 1.0.
        const r = await classVisualization(model, target, { normalizedStep: true, lr: 2, normalization: resolved.description.normalization });
        console.log(`MobileNetV2 class ${target} (${labels.names[target]![0]}): score ${r.startScore.toFixed(2)} → ${r.finalScore.toFixed(2)}, p = ${r.finalProb.toFixed(3)}, argmax ${r.argmax}`);
        expect(r.finalScore).toBeGreaterThan(r.startScore);
        expect(r.argmax).toBe(target);
      }
    },
    60 * 60_000,
  );
});
