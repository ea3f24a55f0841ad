import { describe, expect, it } from 'vitest';
import { activationBackward, activationForward } from '../src/kernels/activation.js';
import { Relu } from '../src/graph/ops/relu.js';
import type { Tensor } from '../src/gpu/tensor.js';
import type { HostTensor } from '../src/kernels/host.js';
import { numericalGradient } from '../src/graph/gradcheck.js';
import { host } from '../src/kernels/host.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, fromGpu, rand, toGpu, useGpu } from './helpers.js';

const gpu = useGpu();
// The ReLU op's kernels and float64 references (src/graph/ops/relu.ts).
const RELU = Relu.with({});
const reluForward = (x: Tensor): Tensor => activationForward(x, RELU.fn);
const reluBackward = (dy: Tensor, y: Tensor): Tensor => activationBackward(dy, { y }, RELU.fn);
const reluRef = (x: HostTensor): HostTensor => Relu.reference.forward([x], RELU)[0]!;
const reluBackwardRef = (dy: HostTensor, y: HostTensor): HostTensor => Relu.reference.backward([dy], [y], [y], RELU, [true])[0]!;

describe('relu', () => {
  for (const shape of [[1, 64, 111, 111], [2, 3, 5, 7], [1, 1, 1, 1], [3, 13]]) {
    it(`forward and backward on the GPU match the float64 reference, shape [${shape}]`, async () => {
      const x = rand(shape, 1);
      const dy = rand(shape, 2);
      const xg = toGpu(gpu(), x);
      const y = reluForward(xg);
      expectClose((await fromGpu(y)).data, reluRef(x).data, FORWARD_BOUND, 'relu forward');
      const dyg = toGpu(gpu(), dy);
      const dx = reluBackward(dyg, y);
      expectClose((await fromGpu(dx)).data, reluBackwardRef(dy, reluRef(x)).data, BACKWARD_BOUND, 'relu backward');
      for (const t of [xg, y, dyg, dx]) t.dispose();
    });
  }

  it('reference backward matches centered finite differences away from the kink', () => {
    const x = rand([2, 3, 4, 4], 3);
    x.data = x.data.map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v)); // h = 1e-3 never crosses 0
    const r = rand([2, 3, 4, 4], 4).data;
    const numeric = numericalGradient(([t]) => reluRef(t!), [x], 0, r, 1e-3);
    expectClose(reluBackwardRef(host(x.shape, r), reluRef(x)).data, numeric, 1e-8, 'relu backward vs FD');
  });

  it('the gradient at exactly 0 is 0', async () => {
    const xg = toGpu(gpu(), host([4], [0, -0, 1, -1]));
    const y = reluForward(xg);
    const dx = reluBackward(toGpu(gpu(), host([4], [5, 5, 5, 5])), y);
    expect(Array.from(await dx.read())).toEqual([0, 0, 5, 0]);
  });
});
