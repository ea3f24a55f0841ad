import { describe, expect, it } from 'vitest';
import {
  conv2dBackwardBias,
  conv2dBackwardBiasRef,
  conv2dBackwardInput,
  conv2dBackwardInputRef,
  conv2dBackwardWeight,
  conv2dBackwardWeightRef,
  conv2dForward,
  conv2dRef,
  conv2dShape,
  type Conv2dAttrsInput,
} from '../src/kernels/conv2d.js';
import { activationForward } from '../src/kernels/activation.js';
import { host, type HostTensor } from '../src/kernels/host.js';
import { conv2d as convOp, convAttrs } from '../src/graph/ops/conv.js';
import { Relu } from '../src/graph/ops/relu.js';
import { numericalGradient } from '../src/graph/gradcheck.js';
import { Tape } from '../src/graph/tape.js';
import { PixelpropError } from '../src/gpu/errors.js';
import { Tensor } from '../src/gpu/tensor.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, rand, toGpu, useGpu } from './helpers.js';

const gpu = useGpu();
const RELU = Relu.with({});

/** The Conv op with the kernels' attributes (explicit pads), optionally with a fused ReLU. */
function conv2d(x: Tensor, w: Tensor, b: Tensor | null, attrs: Conv2dAttrsInput = {}, options: { relu?: boolean } = {}): Tensor {
  return convOp(x, w, b, convAttrs({ ...(attrs as object), ...(options.relu && { activation: RELU }) } as Parameters<typeof convAttrs>[0]));
}

interface Case {
  name: string;
  x: number[];
  w: number[];
  attrs: Conv2dAttrsInput;
  bias: boolean;
}

// SqueezeNet 1.1's layer shapes at batch 1 (conv1, fire2's squeeze and 3×3 expand, conv10).
const CONV1: Case = { name: 'conv1 3→64 3×3 s2 on 224×224', x: [1, 3, 224, 224], w: [64, 3, 3, 3], attrs: { strides: [2, 2] }, bias: true };
const SQUEEZE: Case = { name: 'fire2 squeeze 64→16 1×1 on 55×55', x: [1, 64, 55, 55], w: [16, 64, 1, 1], attrs: {}, bias: true };
const EXPAND3: Case = {
  name: 'fire2 expand 16→64 3×3 p1 on 55×55',
  x: [1, 16, 55, 55],
  w: [64, 16, 3, 3],
  attrs: { pads: [1, 1, 1, 1] },
  bias: true,
};
const CONV10: Case = { name: 'conv10 512→1000 1×1 on 13×13', x: [1, 512, 13, 13], w: [1000, 512, 1, 1], attrs: {}, bias: true };
const SQUEEZENET = [CONV1, SQUEEZE, EXPAND3, CONV10];

const ODD: Case[] = [
  { name: 'non-square input and kernel', x: [2, 5, 9, 14], w: [7, 5, 2, 3], attrs: { pads: [1, 0, 1, 2] }, bias: true },
  { name: 'asymmetric pads [0,1,2,0]', x: [1, 3, 8, 7], w: [5, 3, 3, 3], attrs: { pads: [0, 1, 2, 0] }, bias: true },
  { name: 'dilation 2', x: [1, 4, 11, 10], w: [6, 4, 3, 3], attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] }, bias: true },
  { name: 'dilation [1,3], no bias', x: [1, 2, 7, 12], w: [3, 2, 3, 3], attrs: { dilations: [1, 3], pads: [0, 1, 1, 0] }, bias: false },
  { name: 'stride 3', x: [1, 3, 17, 16], w: [4, 3, 4, 3], attrs: { strides: [3, 3], pads: [1, 1, 0, 2] }, bias: true },
  { name: 'stride [3,2] with a stride larger than the kernel', x: [2, 3, 10, 11], w: [5, 3, 2, 1], attrs: { strides: [3, 2] }, bias: true },
  { name: '1×1 images, 1×1 kernel', x: [2, 5, 1, 1], w: [3, 5, 1, 1], attrs: {}, bias: true },
  { name: '1×1 image, 3×3 kernel, pad 1', x: [1, 6, 1, 1], w: [5, 6, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: 'channels not multiples of 4 (7→13)', x: [1, 7, 10, 9], w: [13, 7, 3, 3], attrs: {}, bias: false },
  { name: 'batch 3, stride [2,1], pad 1', x: [3, 6, 12, 10], w: [5, 6, 3, 3], attrs: { strides: [2, 1], pads: [1, 1, 1, 1] }, bias: true },
  { name: 'group 2', x: [2, 6, 9, 8], w: [4, 3, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, bias: true },
  { name: 'group 3, 2×2 kernel, stride 2', x: [1, 9, 8, 6], w: [6, 3, 2, 2], attrs: { group: 3, strides: [2, 2] }, bias: true },
  { name: 'depthwise 8 channels, stride 2', x: [1, 8, 10, 10], w: [8, 1, 3, 3], attrs: { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true },
  { name: 'depthwise with multiplier 2', x: [2, 4, 7, 9], w: [8, 1, 3, 3], attrs: { group: 4, pads: [1, 1, 1, 1] }, bias: false },
];

let seed = 100;
/** Random inputs of a case; every call draws new values, so no result can be left over from an earlier dispatch. */
function inputsOf(c: Case): { x: HostTensor; w: HostTensor; b: HostTensor | null } {
  const fanIn = c.w[1]! * c.w[2]! * c.w[3]!;
  const scale = Math.sqrt(3 / fanIn); // keeps outputs O(1) whatever the fan-in
  return { x: rand(c.x, seed++), w: rand(c.w, seed++, -scale, scale), b: c.bias ? rand([c.w[0]!], seed++) : null };
}

describe('conv2d shape rules', () => {
  it('follow ONNX: ⌊(H + pads − dilated kernel) / stride⌋ + 1', () => {
    expect(conv2dShape([1, 3, 224, 224], [64, 3, 3, 3], { strides: [2, 2] })).toEqual([1, 64, 111, 111]);
    expect(conv2dShape([1, 16, 55, 55], [64, 16, 3, 3], { pads: [1, 1, 1, 1] })).toEqual([1, 64, 55, 55]);
    expect(conv2dShape([1, 512, 13, 13], [1000, 512, 1, 1])).toEqual([1, 1000, 13, 13]);
    expect(conv2dShape([2, 4, 11, 10], [6, 4, 3, 3], { dilations: [2, 2] })).toEqual([2, 6, 7, 6]);
    expect(conv2dShape([1, 3, 8, 7], [5, 3, 3, 3], { pads: [0, 1, 2, 0] })).toEqual([1, 5, 8, 6]);
    expect(conv2dShape([1, 8, 10, 10], [8, 1, 3, 3], { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] })).toEqual([1, 8, 5, 5]);
    expect(conv2dShape({ shape: [1, 3, 5, 5] }, { shape: [2, 3, 5, 5] })).toEqual([1, 2, 1, 1]); // kernel = image
  });
});

describe('conv2d forward on the GPU matches the float64 reference', () => {
  for (const c of [...SQUEEZENET, ...ODD]) {
    it(c.name, async () => {
      const { x, w, b } = inputsOf(c);
      const [xg, wg] = [toGpu(gpu(), x, 'x'), toGpu(gpu(), w, 'w')];
      const bg = b && toGpu(gpu(), b, 'b');
      const y = conv2dForward(xg, wg, bg, c.attrs);
      expect(y.shape).toEqual(conv2dShape(c.x, c.w, c.attrs));
      expectClose(await y.read(), conv2dRef(x, w, b, c.attrs).data, FORWARD_BOUND, `${c.name} forward`);
      for (const t of [xg, wg, bg, y]) t?.dispose();
    });
  }

  it('a grid folded past 65535 workgroups covers every output, in both versions', async () => {
    // 1 × 1 × 4100 × 4100 outputs = 65 665 workgroups of 256, past the per-dimension limit. A 1×1 kernel makes
    // y = 0.5·x + 0.25, exact in float32 for these x (multiples of 1/512), so no reference is needed.
    const n = 4100;
    const x = new Float32Array(n * n);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 1024) / 512 - 1;
    const xg = Tensor.from(gpu(), [1, 1, n, n], x, 'x');
    const wg = Tensor.from(gpu(), [1, 1, 1, 1], [0.5], 'w');
    const bg = Tensor.from(gpu(), [1], [0.25], 'b');
    for (const version of [1, 2] as const) {
      const y = conv2dForward(xg, wg, bg, {}, { version });
      const yv = await y.read();
      let wrong = 0;
      for (let i = 0; i < yv.length; i++) if (yv[i] !== 0.5 * x[i]! + 0.25) wrong++;
      expect(wrong, `version ${version}`).toBe(0);
      y.dispose();
    }
    for (const t of [xg, wg, bg]) t.dispose();
  });
});

describe('conv2d backward kernels on the GPU match their float64 references', () => {
  // conv1, squeeze and expand at their real shapes; conv10 with its real channels on a smaller image, since its
  // references (8.7·10⁷ terms each at 13×13) are the slow part of this file.
  const conv10Small: Case = { ...CONV10, name: 'conv10 512→1000 1×1 on 5×6', x: [1, 512, 5, 6] };
  for (const c of [CONV1, SQUEEZE, EXPAND3, conv10Small, ...ODD]) {
    it(c.name, async () => {
      const { x, w } = inputsOf(c);
      const yShape = conv2dShape(c.x, c.w, c.attrs);
      const dy = rand(yShape, seed++);
      const [xg, wg, dyg] = [toGpu(gpu(), x, 'x'), toGpu(gpu(), w, 'w'), toGpu(gpu(), dy, 'dy')];
      const dx = conv2dBackwardInput(dyg, wg, c.x, c.attrs);
      const dw = conv2dBackwardWeight(dyg, xg, c.w, c.attrs);
      const db = conv2dBackwardBias(dyg);
      expect([dx.shape, dw.shape, db.shape]).toEqual([c.x, c.w, [c.w[0]]]);
      expectClose(await dx.read(), conv2dBackwardInputRef(dy, w, c.x, c.attrs).data, BACKWARD_BOUND, `${c.name} dx`);
      expectClose(await dw.read(), conv2dBackwardWeightRef(dy, x, c.w, c.attrs).data, BACKWARD_BOUND, `${c.name} dw`);
      expectClose(await db.read(), conv2dBackwardBiasRef(dy).data, BACKWARD_BOUND, `${c.name} db`);
      for (const t of [xg, wg, dyg, dx, dw, db]) t.dispose();
    });
  }
});

describe('conv2d backward references match centered finite differences', () => {
  const small: Case[] = [
    { name: '3×3 p1 batch 2', x: [2, 3, 5, 4], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
    {
      name: '2×3 stride [2,1] dilation [1,2] pads [0,1,2,0]',
      x: [1, 2, 7, 8],
      w: [3, 2, 2, 3],
      attrs: { strides: [2, 1], dilations: [1, 2], pads: [0, 1, 2, 0] },
      bias: true,
    },
    { name: 'group 2, stride 3', x: [2, 4, 7, 6], w: [6, 2, 2, 2], attrs: { group: 2, strides: [3, 3], pads: [1, 0, 0, 1] }, bias: true },
  ];
  for (const c of small) {
    it(c.name, () => {
      const { x, w, b } = inputsOf(c);
      const inputs = [x, w, b!];
      const r = rand(conv2dShape(c.x, c.w, c.attrs), seed++);
      const f = ([xx, ww, bb]: HostTensor[]): HostTensor => conv2dRef(xx!, ww!, bb!, c.attrs);
      const analytic = [
        conv2dBackwardInputRef(r, w, c.x, c.attrs),
        conv2dBackwardWeightRef(r, x, c.w, c.attrs),
        conv2dBackwardBiasRef(r),
      ];
      ['dx', 'dw', 'db'].forEach((what, i) => {
        // conv is linear in each input, so the differences are exact up to float64 rounding
        expectClose(analytic[i]!.data, numericalGradient(f, inputs, i, r.data, 1e-3), 1e-9, `${c.name} ${what} vs FD`);
      });
    });
  }
});

describe('conv2d with a fused ReLU', () => {
  it('gives exactly relu(conv(x)), forward and backward', async () => {
    const { x, w, b } = inputsOf(EXPAND3);
    const dyh = rand(conv2dShape(EXPAND3.x, EXPAND3.w, EXPAND3.attrs), seed++);
    const run = async (fused: boolean): Promise<Float32Array[]> => {
      const [xg, wg, bg] = [toGpu(gpu(), x, 'x'), toGpu(gpu(), w, 'w'), toGpu(gpu(), b!, 'b')];
      for (const t of [xg, wg, bg]) t.requiresGrad = true;
      const tape = new Tape();
      const y = tape.record(() => {
        if (fused) return conv2d(xg, wg, bg, EXPAND3.attrs, { relu: true });
        const z = conv2d(xg, wg, bg, EXPAND3.attrs);
        const out = Relu.apply(z, {});
        z.dispose();
        return out;
      });
      const yv = await y.read();
      const grads = tape.backward(y, [xg, wg, bg], { seed: toGpu(gpu(), dyh, 'dy') });
      const out = [yv, ...(await Promise.all(grads.map((g) => g.read())))];
      for (const t of [xg, wg, bg, y, ...grads]) t.dispose();
      return out;
    };
    const [fused, separate] = [await run(true), await run(false)];
    ['y', 'dx', 'dw', 'db'].forEach((what, i) => {
      expect(fused[i]!.every((v, j) => Object.is(v, separate[i]![j])), `${what} differs`).toBe(true);
    });
    expect(fused[0]!.some((v) => v === 0) && fused[0]!.some((v) => v > 0)).toBe(true); // the ReLU did something

    // and the forward kernel alone, against the relu kernel applied to the unfused output
    const [xg, wg, bg] = [toGpu(gpu(), x, 'x'), toGpu(gpu(), w, 'w'), toGpu(gpu(), b!, 'b')];
    const yFused = conv2dForward(xg, wg, bg, EXPAND3.attrs, { activation: RELU.fn });
    const z = conv2dForward(xg, wg, bg, EXPAND3.attrs);
    const ySeparate = activationForward(z, RELU.fn);
    const [a, bv] = [await yFused.read(), await ySeparate.read()];
    expect(a.every((v, j) => Object.is(v, bv[j]))).toBe(true);
    for (const t of [xg, wg, bg, yFused, z, ySeparate]) t.dispose();
  });
});

describe('conv2d computes and saves only the gradients asked for', () => {
  for (const fused of [false, true]) {
    it(`pixels only${fused ? ', fused ReLU' : ''}: saves w${fused ? ' and y' : ''}, one conv kernel, no weight gradient`, async () => {
      const { x, w, b } = inputsOf(EXPAND3);
      const [xg, wg, bg] = [toGpu(gpu(), x, 'x'), toGpu(gpu(), w, 'w'), toGpu(gpu(), b!, 'b')];
      xg.requiresGrad = true;
      const tape = new Tape();
      const y = tape.record(() => conv2d(xg, wg, bg, EXPAND3.attrs, { relu: fused }));
      expect(tape.nodes.length).toBe(1);
      expect(tape.nodes[0]!.saved).toEqual(fused ? { y, w: wg } : { w: wg });
      const seedT = toGpu(gpu(), rand(y.shape as number[], seed++), 'dy');
      let grads: (Tensor | null)[] = [];
      const before = gpu().dispatchCount;
      const [dx] = tape.backward(y, [xg], { seed: seedT, onNode: (_n, g) => (grads = g) });
      expect(gpu().dispatchCount - before).toBe(fused ? 2 : 1); // (relu backward +) the input gradient
      expect(grads[1]).toBeNull();
      expect(grads[2]).toBeNull();
      expect(dx!.shape).toEqual(EXPAND3.x);
      for (const t of [xg, wg, bg, y, dx!]) t.dispose();
    });
  }

  it('weights only: saves x, no input gradient', async () => {
    const c = ODD[0]!;
    const { x, w, b } = inputsOf(c);
    const [xg, wg, bg] = [toGpu(gpu(), x, 'x'), toGpu(gpu(), w, 'w'), toGpu(gpu(), b!, 'b')];
    wg.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => conv2d(xg, wg, bg, c.attrs));
    expect(tape.nodes[0]!.saved).toEqual({ x: xg });
    const before = gpu().dispatchCount;
    const [dw] = tape.backward(y, [wg], { seed: toGpu(gpu(), rand(y.shape as number[], seed++), 'dy') });
    expect(gpu().dispatchCount - before).toBe(1);
    expect(dw!.shape).toEqual(c.w);
    for (const t of [xg, wg, bg, y, dw!]) t.dispose();
  });
});

describe('conv2d rejects bad input with a PixelpropError naming it, before dispatching or allocating', () => {
  const bad: { what: string; x: number[]; w: number[]; b?: number[]; attrs?: Conv2dAttrsInput; message: RegExp }[] = [
    { what: 'a 3-D input', x: [3, 8, 8], w: [4, 3, 3, 3], message: /input \[3,8,8\] must be 4-D/ },
    { what: 'a 2-D weight', x: [1, 3, 8, 8], w: [4, 27], message: /weights \[4,27\] must be 4-D/ },
    { what: 'channel mismatch', x: [1, 3, 8, 8], w: [4, 2, 3, 3], message: /channel mismatch, the input has 3 channels.*expect 2/ },
    { what: 'bias length', x: [1, 3, 8, 8], w: [4, 3, 3, 3], b: [5], message: /bias \[5\] does not match the 4 output channels/ },
    { what: 'a 2-D bias', x: [1, 3, 8, 8], w: [4, 3, 3, 3], b: [1, 4], message: /bias \[1,4\] does not match/ },
    { what: 'zero stride', x: [1, 3, 8, 8], w: [4, 3, 3, 3], attrs: { strides: [0, 1] }, message: /strides \[0,1\] must be two positive integers/ },
    { what: 'negative stride', x: [1, 3, 8, 8], w: [4, 3, 3, 3], attrs: { strides: [1, -2] }, message: /strides \[1,-2\]/ },
    { what: 'zero dilation', x: [1, 3, 8, 8], w: [4, 3, 3, 3], attrs: { dilations: [1, 0] }, message: /dilations \[1,0\] must be two positive/ },
    {
      what: 'negative pad',
      x: [1, 3, 8, 8],
      w: [4, 3, 3, 3],
      attrs: { pads: [0, -1, 0, 0] },
      message: /pads \[0,-1,0,0\] must be four non-negative integers/,
    },
    {
      what: 'pads of the wrong length',
      x: [1, 3, 8, 8],
      w: [4, 3, 3, 3],
      attrs: { pads: [1, 1] as unknown as [number, number, number, number] },
      message: /pads \[1,1\] must be four/,
    },
    { what: 'kernel larger than the padded input', x: [1, 3, 2, 8], w: [4, 3, 3, 3], message: /spans 3×3, larger than the padded input 2×8.*no output/ },
    {
      what: 'dilated kernel larger than the input',
      x: [1, 3, 4, 4],
      w: [4, 3, 3, 3],
      attrs: { dilations: [2, 2] },
      message: /spans 5×5, larger than the padded input 4×4/,
    },
    { what: 'group not dividing the input channels', x: [1, 6, 8, 8], w: [4, 3, 3, 3], attrs: { group: 4 }, message: /group 4 does not divide the input's 6 channels/ },
    { what: 'group not dividing the output channels', x: [1, 6, 8, 8], w: [5, 2, 3, 3], attrs: { group: 3 }, message: /group 3 does not divide the 5 output channels/ },
    { what: 'group 0', x: [1, 3, 8, 8], w: [4, 3, 3, 3], attrs: { group: 0 }, message: /group 0 must be a positive integer/ },
  ];
  for (const t of bad) {
    it(t.what, () => {
      const g = gpu();
      const x = Tensor.zeros(g, t.x, 'x');
      const w = Tensor.zeros(g, t.w, 'w');
      const b = t.b ? Tensor.zeros(g, t.b, 'b') : null;
      const [dispatches, buffers] = [g.dispatchCount, g.memory().inUseBuffers];
      for (const call of [() => conv2dForward(x, w, b, t.attrs), () => conv2d(x, w, b, t.attrs), () => conv2dShape(x, w, t.attrs, b)]) {
        expect(call).toThrow(PixelpropError);
        expect(call).toThrow(t.message);
      }
      expect(() => conv2dRef(host(t.x), host(t.w), t.b ? host(t.b) : null, t.attrs)).toThrow(t.message);
      expect([g.dispatchCount, g.memory().inUseBuffers]).toEqual([dispatches, buffers]);
      for (const u of [x, w, b]) u?.dispose();
    });
  }

  it('a gradient of the wrong shape, and backward to a shape that does not fit the weights', () => {
    const g = gpu();
    const w = Tensor.zeros(g, [4, 3, 3, 3], 'w');
    const x = Tensor.zeros(g, [1, 3, 8, 8], 'x');
    const dy = Tensor.zeros(g, [1, 4, 5, 6], 'dy'); // the output is [1,4,6,6]
    const [dispatches, buffers] = [g.dispatchCount, g.memory().inUseBuffers];
    expect(() => conv2dBackwardInput(dy, w, [1, 3, 8, 8])).toThrow(/dy \[1,4,5,6\] does not match the convolution's output shape \[1,4,6,6\]/);
    expect(() => conv2dBackwardWeight(dy, x, [4, 3, 3, 3])).toThrow(/dy \[1,4,5,6\] does not match/);
    expect(() => conv2dBackwardInput(dy, w, [1, 5, 8, 8])).toThrow(/channel mismatch/);
    const flat = w.reshape([4, 27]);
    expect(() => conv2dBackwardBias(flat)).toThrow(/dy \[4,27\] must be 4-D/);
    flat.dispose();
    expect(() => conv2dBackwardInputRef(host([1, 4, 5, 6]), host([4, 3, 3, 3]), [1, 3, 8, 8])).toThrow(PixelpropError);
    expect([g.dispatchCount, g.memory().inUseBuffers]).toEqual([dispatches, buffers]);
    for (const t of [w, x, dy]) t.dispose();
  });
});
