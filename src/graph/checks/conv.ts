/**
 * Op checks of conv2d for `npm run gradcheck` and test/conv2d.test.ts: the GPU forward against conv2dRef, and the
 * gradients of x, w and b through the tape against centered finite differences of the reference.
 */
import { conv2d } from '../ops/conv.js';
import { conv2dRef, type Conv2dAttrsInput } from '../../kernels/conv2d.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { reluRef } from '../../kernels/relu.js';
import { Rng } from '../../util/rng.js';
import type { OpCheck } from '../opcheck.js';

function uniform(shape: number[], seed: number): HostTensor {
  return host(shape, new Rng(seed).uniforms(shape.reduce((a, b) => a * b, 1)));
}

function convCheck(name: string, xShape: number[], wShape: number[], attrs: Conv2dAttrsInput, relu = false, seed = 1): OpCheck {
  const inputs = [uniform(xShape, seed), uniform(wShape, seed + 1), uniform([wShape[0]!], seed + 2)];
  return {
    name,
    inputs,
    wrt: [0, 1, 2],
    reference: ([x, w, b]) => (relu ? reluRef(conv2dRef(x!, w!, b!, attrs)) : conv2dRef(x!, w!, b!, attrs)),
    run: ([x, w, b]) => conv2d(x!, w!, b!, attrs, { relu, name }),
    // With a fused ReLU the loss has kinks where an output crosses 0; a smaller step keeps the probes of these seeds
    // on one side of every kink (the op is linear elsewhere, so float64 differences stay exact to ~1e-11).
    ...(relu ? { h: 1e-5 } : {}),
  };
}

export const checks: OpCheck[] = [
  convCheck('conv2d 3×3 s1 p1', [2, 3, 6, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }),
  convCheck('conv2d 3×3 s2 p0', [1, 5, 9, 8], [3, 5, 3, 3], { strides: [2, 2] }),
  convCheck('conv2d 1×1', [2, 6, 4, 3], [5, 6, 1, 1], {}),
  convCheck('conv2d 3×3 s1 p1 + fused relu', [1, 4, 6, 6], [6, 4, 3, 3], { pads: [1, 1, 1, 1] }, true),
  convCheck('conv2d 2×3 pads [0,1,2,0] s[2,1] d[1,2]', [1, 3, 7, 8], [4, 3, 2, 3], { pads: [0, 1, 2, 0], strides: [2, 1], dilations: [1, 2] }),
  convCheck('conv2d 3×3 group 2', [1, 4, 5, 5], [6, 2, 3, 3], { pads: [1, 1, 1, 1], group: 2 }),
];
