/**
 * Precision 'f16' (ModelOptions.precision; the tiled conv kernel with f16 weights, multiply-adds and accumulators,
 * shaders/precision_f16.wgsl) against float64: the kernel's forward and backward to the input on SqueezeNet's and
 * ResNeXt's shapes, then the real models — SqueezeNet 1.1 on the model zoo's test data and on the 25 ImageNet photos,
 * MobileNetV2 on its test data — scores and gradients to the pixels. Each bound sits between two facts: the error is
 * well above float32's (so the half path really ran: FORWARD_BOUND is 1e-5) and well below what would change what a
 * user sees (the top-1 class, the saliency map). The measured errors are printed; docs/performance.md quotes them.
 * Runs where the adapter offers shader-f16 (lavapipe does); elsewhere it checks that asking for f16 is one clear error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { relError } from '../src/graph/gradcheck.js';
import { Model, type Precision } from '../src/graph/model.js';
import { parseTensorProto } from '../src/graph/onnx/parse.js';
import { Relu } from '../src/graph/ops/relu.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { conv2dBackwardInput, conv2dBackwardInputRef, conv2dForward, conv2dRef, type Conv2dAttrsInput } from '../src/kernels/conv2d.js';
import { DEFAULT_TUNING } from '../src/kernels/conv2d-tiled.js';
import { host } from '../src/kernels/host.js';
import { argmaxRef } from '../src/kernels/reduce.js';
import { classScoreGradient } from '../src/techniques/gradient.js';
import { FORWARD_BOUND, expectPixelpropError, fromGpu, rand, toGpu, useGpu } from './helpers.js';
import { MODEL_PATH, sharedData } from './shared-data.js';

const gpu = useGpu();
const testDataDir = sharedData('testData', 'SqueezeNet 1.1 at f16 against the test data');
const photosDir = sharedData('photos', 'SqueezeNet 1.1 at f16 on the 25 ImageNet photos');
const mobilenetDir = sharedData('mobilenetv2', 'MobileNetV2 at f16 against its test data');

/** The bounds of each half precision: f16 sums round at 11 bits at every step, mixed rounds each product once. */
const BOUNDS: Record<'f16' | 'mixed', { kernel: number; scores: number; cosine: number; sameTop1: boolean }> = {
  f16: { kernel: 3e-2, scores: 5e-2, cosine: 0.95, sameTop1: false },
  mixed: { kernel: 2e-3, scores: 1e-2, cosine: 0.99, sameTop1: true },
};
const HALVES = ['f16', 'mixed'] as const;
/** the least error that shows a half path ran: 10× float32's bound */
const ABOVE_F32 = 10 * FORWARD_BOUND;

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
};
/** The top class of one row of scores (the project's float64 reference of argmax). */
const argmax = (v: ArrayLike<number>): number => argmaxRef(host([v.length], v))[0]!;

describe('precision', () => {
  it('is refused in one line where the adapter has no shader-f16, and where it does not exist', () => {
    const bytes = readFileSync(MODEL_PATH);
    expectPixelpropError(() => Model.load(gpu(), bytes, { precision: 'f8' as Precision }), /^precision 'f8': use f32, f16, mixed$/);
    if (!gpu().hasF16) for (const p of HALVES) expectPixelpropError(() => Model.load(gpu(), bytes, { precision: p }), /needs the adapter's shader-f16 feature/);
  });
});

describe('the tiled convolution in half precision', () => {
  const cases: { name: string; x: number[]; w: number[]; attrs: Conv2dAttrsInput; relu?: boolean }[] = [
    { name: 'conv1 3→64 3×3 s2 on 111² (phase-packed backward)', x: [1, 3, 111, 111], w: [64, 3, 3, 3], attrs: { strides: [2, 2] }, relu: true },
    { name: 'fire9 expand3×3 64→256 p1 on 13², batch 2 (32-row tiles)', x: [2, 64, 13, 13], w: [256, 64, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
    { name: 'conv10 512→1000 1×1 on 13²', x: [1, 512, 13, 13], w: [1000, 512, 1, 1], attrs: {}, relu: true },
    { name: 'ResNeXt grouped 128→128, 32 groups of 4, 3×3 s2', x: [1, 128, 14, 14], w: [128, 4, 3, 3], attrs: { group: 32, strides: [2, 2], pads: [1, 1, 1, 1] } },
    { name: 'odd: 5→7 3×2 s[2,3] pads[0,1,2,0] on 9×11, batch 3', x: [3, 5, 9, 11], w: [7, 5, 3, 2], attrs: { strides: [2, 3], pads: [0, 1, 2, 0] } },
  ];
  for (const c of cases) {
    it(`forward and backward to the input, f16 and mixed: ${c.name}`, async ({ skip }) => {
      if (!gpu().hasF16) skip('the adapter offers no shader-f16');
      const x = rand(c.x, 1);
      const w = rand(c.w, 2, -0.5, 0.5);
      const xg = toGpu(gpu(), x, 'x');
      const wg = toGpu(gpu(), w, 'w');
      let ref = conv2dRef(x, w, null, c.attrs);
      if (c.relu) ref = host(ref.shape, ref.data.map((v) => Math.max(v, 0)));
      const dy = rand(ref.shape, 4);
      const dyg = toGpu(gpu(), dy, 'dy');
      const dxRef = conv2dBackwardInputRef(dy, w, c.x, c.attrs);
      const errors = new Map<string, number>();
      for (const precision of HALVES) {
        const tuning = { ...DEFAULT_TUNING, precision };
        const y = conv2dForward(xg, wg, null, c.attrs, { ...(c.relu && { activation: Relu.with({}).fn }), version: 2, tuning });
        const dx = conv2dBackwardInput(dyg, wg, c.x, c.attrs, { name: 'dx', version: 2, tuning });
        errors.set(`${precision} forward`, relError((await fromGpu(y)).data, ref.data));
        errors.set(`${precision} backward`, relError((await fromGpu(dx)).data, dxRef.data));
        y.dispose();
        dx.dispose();
      }
      console.log(`${c.name}: ${[...errors].map(([k, e]) => `${k} ${e.toExponential(2)}`).join(', ')}`);
      for (const [what, err] of errors) {
        expect(err, `${what}: above float32's error`).toBeGreaterThan(ABOVE_F32);
        expect(err, `${what}`).toBeLessThan(BOUNDS[what.startsWith('f16') ? 'f16' : 'mixed'].kernel);
      }
      for (const t of [xg, wg, dyg]) t.dispose();
    });
  }
});

/** One model at every precision, its float64 path the reference. */
function atEveryPrecision(path: () => string): (p: Precision) => Model {
  const models = new Map<Precision, Model>();
  beforeAll(() => {
    const bytes = readFileSync(path());
    models.set('f32', Model.load(gpu(), bytes));
    if (gpu().hasF16) for (const p of HALVES) models.set(p, Model.load(gpu(), bytes, { precision: p }));
  });
  afterAll(() => {
    for (const m of models.values()) m.dispose();
  });
  return (p) => models.get(p)!;
}

/**
 * Scores of one recorded input in each half precision against the recorded output, and the gradient of the top class
 * against the float64 path's. The gradient is compared by cosine: max-pooling and ReLU route it by which value is larger
 * or positive, and half-precision rounding flips a few of those choices, moving some gradient to a neighbouring pixel.
 */
async function checkModel(model: (p: Precision) => Model, dir: string, what: string): Promise<void> {
  const input = parseTensorProto(readFileSync(join(dir, 'input_0.pb')));
  const expected = parseTensorProto(readFileSync(join(dir, 'output_0.pb')));
  const top = argmax(expected.data as Float32Array);
  const reference = model('f32').referenceClassScoreGradient(host(input.dims, input.data as Float32Array), [top]);
  const x = Tensor.from(gpu(), input.dims, input.data as Float32Array, 'input');
  for (const precision of HALVES) {
    const { scores, grad } = classScoreGradient(model(precision), x, [top]);
    const s = await scores.read();
    const g = await grad.read();
    const scoreError = relError(s, expected.data as Float32Array);
    const gradCosine = cosine(g, reference.grad.data);
    console.log(
      `${what} at ${precision}: scores ${scoreError.toExponential(2)}, top-1 ${argmax(s)} (recorded ${top}), gradient ${relError(g, reference.grad.data).toExponential(2)}, cosine ${gradCosine.toFixed(5)}`,
    );
    const bounds = BOUNDS[precision];
    if (bounds.sameTop1) expect(argmax(s), `${what}: top-1 at ${precision}`).toBe(top);
    expect(scoreError, `${what} at ${precision}: above float32's error`).toBeGreaterThan(ABOVE_F32);
    expect(scoreError, `${what} at ${precision}: scores`).toBeLessThan(bounds.scores);
    expect(gradCosine, `${what} at ${precision}: gradient cosine`).toBeGreaterThan(bounds.cosine);
    scores.dispose();
    grad.dispose();
  }
  x.dispose();
}

describe.skipIf(testDataDir === null)('SqueezeNet 1.1 in half precision', () => {
  const model = atEveryPrecision(() => MODEL_PATH);
  it.for([0, 1, 2])('test_data_set_%i: scores and the gradient to the pixels close to float64', { timeout: 120_000 }, async (k, { skip }) => {
    if (!gpu().hasF16) skip('the adapter offers no shader-f16');
    await checkModel(model, join(testDataDir!, `test_data_set_${k}`), `SqueezeNet test_data_set_${k}`);
  });

  it.skipIf(photosDir === null)('the 25 photos: the top-1 class as at f32', { timeout: 300_000 }, async ({ skip }) => {
    if (!gpu().hasF16) skip('the adapter offers no shader-f16');
    const labels = JSON.parse(readFileSync(join(photosDir!, 'labels.json'), 'utf8')) as { file: string }[];
    const per = 3 * 224 * 224;
    const chw = new Float32Array(labels.length * per);
    for (const [i, l] of labels.entries()) chw.set(preprocess(await readImage(join(photosDir!, l.file)), { size: 224, resize: 224 }), i * per);
    const x = Tensor.from(gpu(), [labels.length, 3, 224, 224], chw, 'photos');
    const k = 1000;
    const top1 = async (p: Precision): Promise<Float32Array> => {
      const y = model(p).forward(x);
      const s = await y.read();
      y.dispose();
      return s;
    };
    const full = await top1('f32');
    for (const precision of HALVES) {
      const half = await top1(precision);
      const differ = labels.filter((_, i) => argmax(full.subarray(i * k, (i + 1) * k)) !== argmax(half.subarray(i * k, (i + 1) * k))).map((l) => l.file);
      console.log(`SqueezeNet on the 25 photos at ${precision}: top-1 differs from f32 on ${differ.length} (${differ.join(', ') || 'none'}); scores ${relError(half, full).toExponential(2)} from f32`);
      expect(differ, `${precision}: photos whose top-1 changed`).toEqual([]);
    }
    x.dispose();
  });
});

describe.skipIf(mobilenetDir === null)('MobileNetV2 in half precision', () => {
  const model = atEveryPrecision(() => join(mobilenetDir!, 'mobilenetv2-1.0-224.onnx'));
  it.for([0, 1])('test_data_set_%i: scores and the gradient to the pixels close to float64', { timeout: 300_000 }, async (k, { skip }) => {
    if (!gpu().hasF16) skip('the adapter offers no shader-f16');
    await checkModel(model, join(mobilenetDir!, 'test-data', `test_data_set_${k}`), `MobileNetV2 test_data_set_${k}`);
  });
});
