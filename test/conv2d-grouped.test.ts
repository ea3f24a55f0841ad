/**
 * conv2d version 2 for grouped and depthwise convolutions against the float64 references, forward and backward to the
 * input: the depthwise stencil kernel (conv2d-depthwise.ts) at MobileNetV2's 17 depthwise shapes' kinds and odd ones
 * (channel multiplier, 5×5, dilation, a stride larger than the kernel so that a phase has no taps, 1-pixel-wide
 * images), and the tiled implicit GEMM with group offsets (conv2d-tiled.ts) at ResNeXt-50 32×4d's grouped shapes —
 * 4, 8, 16 and 32 channels per group, so tiles that hold several groups (packed weights) and tiles inside one group —
 * with and without subgroups. Then MobileNetV2 itself (../shared), against onnxruntime's recorded logits and its own
 * float64 CPU path's gradient.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevice, type Gpu } from '../src/gpu/device.js';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { parseTensorProto } from '../src/graph/onnx/parse.js';
import { Relu } from '../src/graph/ops/relu.js';
import {
  conv2dBackwardInput,
  conv2dBackwardInputRef,
  conv2dForward,
  conv2dGeometry,
  conv2dRef,
  type Conv2dAttrsInput,
} from '../src/kernels/conv2d.js';
import { depthwiseBackwardInputSupports, depthwiseForwardSupports } from '../src/kernels/conv2d-depthwise.js';
import { tiledBackwardInputSupports, tiledForwardSupports } from '../src/kernels/conv2d-tiled.js';
import { host } from '../src/kernels/host.js';
import { classScoreGradient } from '../src/techniques/gradient.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, fromGpu, rand, toGpu } from './helpers.js';

interface Case {
  name: string;
  x: number[];
  w: number[];
  attrs: Conv2dAttrsInput;
  bias?: boolean;
  relu?: boolean;
  /** the backward's rows (input channels) do not tile by 16: version 1 computes it */
  backwardOnV1?: boolean;
}

const dw = (c: number, hw: number, stride: number): Case => ({
  name: `MobileNetV2 depthwise ${c} ch 3×3 s${stride} on ${hw}²`,
  x: [1, c, hw, hw],
  w: [c, 1, 3, 3],
  // TF "SAME": stride 1 pads 1 all round; stride 2 pads only the bottom and right (as the shared file writes them)
  attrs: { group: c, strides: [stride, stride], pads: stride === 1 ? [1, 1, 1, 1] : [0, 0, 1, 1] },
  bias: true,
  relu: true,
});

const DEPTHWISE: Case[] = [
  dw(32, 112, 1),
  dw(96, 112, 2),
  dw(144, 56, 1),
  dw(144, 56, 2),
  dw(192, 28, 2),
  dw(384, 14, 1),
  dw(576, 14, 2),
  dw(960, 7, 1),
  { name: 'odd: multiplier 2, batch 2, 7×9', x: [2, 4, 7, 9], w: [8, 1, 3, 3], attrs: { group: 4, pads: [1, 1, 1, 1] } },
  { name: 'odd: 5×5 s2 p2 (EfficientNet) on 15×13', x: [1, 6, 15, 13], w: [6, 1, 5, 5], attrs: { group: 6, strides: [2, 2], pads: [2, 2, 2, 2] }, bias: true },
  { name: 'odd: dilation 2 p2 (DeepLab) on 11×10', x: [1, 5, 11, 10], w: [5, 1, 3, 3], attrs: { group: 5, dilations: [2, 2], pads: [2, 2, 2, 2] }, bias: true },
  { name: 'odd: stride 3 > kernel 2, a phase without taps', x: [1, 3, 10, 11], w: [3, 1, 2, 2], attrs: { group: 3, strides: [3, 3] } },
  { name: 'odd: 3×1 kernel, strides [2,1], pads [1,0,0,0]', x: [2, 7, 9, 6], w: [7, 1, 3, 1], attrs: { group: 7, strides: [2, 1], pads: [1, 0, 0, 0] }, bias: true },
  { name: 'odd: 1-pixel-wide images, multiplier 3', x: [1, 2, 6, 1], w: [6, 1, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, relu: true, bias: true },
  { name: 'odd: 1×1 depthwise, stride 2', x: [1, 4, 5, 5], w: [4, 1, 1, 1], attrs: { group: 4, strides: [2, 2] }, bias: true },
];

const rx = (c: number, hw: number, stride: number): Case => ({
  name: `ResNeXt-50 grouped ${c} ch (${c / 32} per group) 3×3 s${stride} on ${hw}²`,
  x: [1, c, hw, hw],
  w: [c, c / 32, 3, 3],
  attrs: { group: 32, strides: [stride, stride], pads: [1, 1, 1, 1] },
  relu: true,
});

const GROUPED: Case[] = [
  rx(128, 56, 1),
  rx(256, 56, 2),
  rx(256, 28, 1),
  rx(512, 28, 2),
  rx(512, 14, 1),
  rx(1024, 14, 2),
  rx(1024, 7, 1),
  { name: 'odd: group 2, 2 outputs × 3 inputs per group, batch 2 (backward on v1)', x: [2, 6, 9, 8], w: [4, 3, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, bias: true, backwardOnV1: true },
  { name: 'odd: group 3 of 8 outputs (24: the last tile holds 1 group)', x: [1, 12, 7, 8], w: [24, 4, 3, 3], attrs: { group: 3, pads: [1, 1, 1, 1] }, bias: true },
  { name: 'odd: group 3 of 16 outputs × 5 inputs (backward on v1)', x: [1, 15, 6, 7], w: [48, 5, 3, 3], attrs: { group: 3, pads: [0, 1, 2, 1] }, backwardOnV1: true },
  { name: 'odd: group 3 of 16 outputs × 2 inputs', x: [1, 6, 6, 7], w: [48, 2, 3, 3], attrs: { group: 3, strides: [2, 1], pads: [0, 1, 2, 1] } },
  { name: 'odd: group 2, 4 outputs × 16 inputs per group (backward inside a group)', x: [1, 32, 8, 8], w: [8, 16, 3, 3], attrs: { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'odd: group 2, 32 outputs × 4 inputs per group (backward packed)', x: [2, 8, 5, 6], w: [64, 4, 3, 3], attrs: { group: 2, pads: [1, 0, 1, 0] }, bias: true },
  { name: 'odd: group 4 of 4×8, stride [2,3], asymmetric pads', x: [2, 32, 11, 13], w: [16, 8, 3, 2], attrs: { group: 4, strides: [2, 3], pads: [0, 1, 2, 0] }, bias: true },
];

let seed = 500;
async function check(gpu: Gpu, c: Case, kind: 'depthwise' | 'grouped'): Promise<{ forward: number; backward: number }> {
  const g = conv2dGeometry(c.x, c.w, c.attrs);
  if (kind === 'depthwise') {
    expect(depthwiseForwardSupports(g), 'the depthwise kernel takes the forward').toBe(true);
    expect(depthwiseBackwardInputSupports(g), 'and the backward').toBe(true);
  } else {
    expect(tiledForwardSupports(g), 'the tiled GEMM takes the forward').toBe(true);
    expect(tiledBackwardInputSupports(g), 'and the backward').toBe(!c.backwardOnV1);
  }
  const fanIn = c.w[1]! * c.w[2]! * c.w[3]!;
  const x = rand(c.x, seed++);
  const w = rand(c.w, seed++, -Math.sqrt(3 / fanIn), Math.sqrt(3 / fanIn));
  const b = c.bias ? rand([c.w[0]!], seed++) : null;
  const [xg, wg] = [toGpu(gpu, x, 'x'), toGpu(gpu, w, 'w')];
  const bg = b ? toGpu(gpu, b, 'b') : null;
  const y = conv2dForward(xg, wg, bg, c.attrs, { version: 2, ...(c.relu && { activation: Relu.with({}).fn }) });
  let ref = conv2dRef(x, w, b, c.attrs);
  if (c.relu) ref = host(ref.shape, ref.data.map((v) => Math.max(v, 0)));
  const forward = expectClose((await fromGpu(y)).data, ref.data, FORWARD_BOUND, `${c.name} forward`);
  const dy = rand(ref.shape, seed++);
  const dyg = toGpu(gpu, dy, 'dy');
  const dx = conv2dBackwardInput(dyg, wg, c.x, c.attrs, { name: 'dx', version: c.backwardOnV1 ? 1 : 2 });
  const backward = expectClose((await fromGpu(dx)).data, conv2dBackwardInputRef(dy, w, c.x, c.attrs).data, BACKWARD_BOUND, `${c.name} backward`);
  for (const t of [xg, wg, y, dyg, dx, ...(bg ? [bg] : [])]) t.dispose();
  return { forward, backward };
}

describe('depthwise conv2d v2 (stencil)', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await createDevice();
  });
  afterAll(() => gpu.destroy());
  for (const c of DEPTHWISE) {
    it(c.name, async () => {
      const e = await check(gpu, c, 'depthwise');
      console.log(`${c.name}: forward ${e.forward.toExponential(1)}, backward ${e.backward.toExponential(1)}`);
    });
  }

  it('a backward with both stride and dilation > 1 falls back to version 1, and is right', async () => {
    const c: Case = { name: 'stride 2 dilation 2', x: [1, 4, 11, 11], w: [4, 1, 3, 3], attrs: { group: 4, strides: [2, 2], dilations: [2, 2], pads: [2, 2, 2, 2] } };
    const g = conv2dGeometry(c.x, c.w, c.attrs);
    expect(depthwiseForwardSupports(g)).toBe(true);
    expect(depthwiseBackwardInputSupports(g)).toBe(false);
    const w = rand(c.w, 1);
    const dy = rand([1, 4, 6, 6], 2);
    const [wg, dyg] = [toGpu(gpu, w, 'w'), toGpu(gpu, dy, 'dy')];
    expect(() => conv2dBackwardInput(dyg, wg, c.x, c.attrs, { version: 2 })).toThrow('version 2 does not support');
    const dx = conv2dBackwardInput(dyg, wg, c.x, c.attrs);
    expectClose((await fromGpu(dx)).data, conv2dBackwardInputRef(dy, w, c.x, c.attrs).data, BACKWARD_BOUND, 'fallback');
    for (const t of [wg, dyg, dx]) t.dispose();
  });

  it('runs one dispatch forward, and one per stride phase backward', () => {
    const x = Tensor.zeros(gpu, [1, 16, 14, 14]);
    const w = Tensor.zeros(gpu, [16, 1, 3, 3]);
    const attrs = { group: 16, strides: [2, 2] as [number, number], pads: [0, 0, 1, 1] as [number, number, number, number] };
    let before = gpu.dispatchCount;
    const y = conv2dForward(x, w, null, attrs);
    expect(gpu.dispatchCount - before).toBe(1);
    before = gpu.dispatchCount;
    const dx = conv2dBackwardInput(y, w, x.shape, attrs);
    expect(gpu.dispatchCount - before).toBe(4);
    for (const t of [x, w, y, dx]) t.dispose();
  });
});

for (const subgroups of [true, false]) {
  describe(`grouped conv2d v2 (tiled GEMM with group offsets) ${subgroups ? 'with' : 'without'} subgroups`, () => {
    let gpu: Gpu;
    beforeAll(async () => {
      gpu = await createDevice({ noSubgroups: !subgroups });
    });
    afterAll(() => gpu.destroy());
    for (const c of subgroups ? GROUPED : GROUPED.filter((c) => c.name.startsWith('odd') || c.x[1] === 128 || c.x[1] === 1024)) {
      it(c.name, async () => {
        const e = await check(gpu, c, 'grouped');
        console.log(`${c.name}${subgroups ? '' : ' (no subgroups)'}: forward ${e.forward.toExponential(1)}, backward ${e.backward.toExponential(1)}`);
      });
    }

    it('groups that neither divide nor are multiples of 16 fall back to version 1, and are right', async () => {
      const c = { x: [1, 6, 6, 6], w: [9, 2, 3, 3], attrs: { group: 3, pads: [1, 1, 1, 1] } as Conv2dAttrsInput }; // 3 outputs × 2 inputs per group
      expect(tiledForwardSupports(conv2dGeometry(c.x, c.w, c.attrs))).toBe(false);
      const [x, w] = [rand(c.x, 3), rand(c.w, 4)];
      const [xg, wg] = [toGpu(gpu, x, 'x'), toGpu(gpu, w, 'w')];
      expect(() => conv2dForward(xg, wg, null, c.attrs, { version: 2 })).toThrow('version 2 does not support');
      const y = conv2dForward(xg, wg, null, c.attrs);
      expectClose((await fromGpu(y)).data, conv2dRef(x, w, null, c.attrs).data, FORWARD_BOUND, 'fallback');
      for (const t of [xg, wg, y]) t.dispose();
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// MobileNetV2 (17 depthwise convolutions) from ../shared, when present.

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mobilenetDir = join(repoRoot, '..', 'shared', 'weights', 'mobilenetv2');
const hasMobilenet = existsSync(join(mobilenetDir, 'mobilenetv2-1.0-224.onnx'));

describe.skipIf(!hasMobilenet)(`MobileNetV2 1.0/224${hasMobilenet ? '' : ' (skipped: ../shared/weights/mobilenetv2 not found)'}`, () => {
  let gpu: Gpu;
  let model: Model;
  beforeAll(async () => {
    gpu = await createDevice();
    model = Model.load(gpu, new Uint8Array(readFileSync(join(mobilenetDir, 'mobilenetv2-1.0-224.onnx'))));
  });
  afterAll(() => {
    model?.dispose();
    gpu?.destroy();
  });
  const tensor = (set: number, name: string) => parseTensorProto(new Uint8Array(readFileSync(join(mobilenetDir, 'test-data', `test_data_set_${set}`, `${name}.pb`))));

  it('runs its 17 depthwise convolutions on the stencil kernel', () => {
    const depthwise = model.graph.nodes.filter((n) => n.op.name === 'Conv' && (n.attrs as { group: number }).group > 1);
    expect(depthwise).toHaveLength(17);
    for (const n of depthwise) {
      const g = conv2dGeometry(model.shapes.get(n.inputs[0]!)!, model.shapes.get(n.inputs[1]!) ?? model.weights.get(n.inputs[1]!)!.shape, {
        group: (n.attrs as { group: number }).group,
        strides: (n.attrs as { window: { strides: [number, number] } }).window.strides,
        pads: (n.attrs as { window: { pads: [number, number, number, number] } }).window.pads,
      });
      expect(depthwiseForwardSupports(g) && depthwiseBackwardInputSupports(g), n.name).toBe(true);
    }
  });

  for (const set of [0, 1]) {
    it(`test_data_set_${set}: logits as onnxruntime recorded them`, async () => {
      const input = tensor(set, 'input_0');
      const expected = tensor(set, 'output_0');
      const x = Tensor.from(gpu, input.dims, input.data as Float32Array, 'x');
      const y = model.forward(x);
      const err = expectClose(await y.read(), expected.data as Float32Array, FORWARD_BOUND, 'logits vs onnxruntime');
      console.log(`MobileNetV2 test_data_set_${set}: logits vs onnxruntime ${err.toExponential(2)}`);
      x.dispose();
      y.dispose();
    });
  }

  it('the gradient of a class score to the pixels, against the float64 CPU path', async () => {
    const input = tensor(0, 'input_0');
    const x = Tensor.from(gpu, input.dims, input.data as Float32Array, 'x');
    const { scores, grad } = classScoreGradient(model, x, [281]);
    const ref = model.referenceClassScoreGradient(host(input.dims, input.data), [281]);
    const fwd = expectClose(await scores.read(), ref.scores.data, FORWARD_BOUND, 'scores vs CPU path');
    const bwd = expectClose(await grad.read(), ref.grad.data, BACKWARD_BOUND, 'gradient vs CPU path');
    console.log(`MobileNetV2 gradient: scores ${fwd.toExponential(2)}, gradient ${bwd.toExponential(2)} vs the float64 CPU path`);
    for (const t of [x, scores, grad]) t.dispose();
  });
});
