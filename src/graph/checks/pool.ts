/**
 * Gradient checks of the pooling ops for `npm run gradcheck` (small shapes, a fraction of a second each).
 *
 * Max pooling is piecewise linear: its finite differences are exact as long as no probe x_i ± h changes which element
 * of a window is the largest. The max-pool checks therefore use inputs whose values are all distinct and at least
 * 2/n apart (`separatedValues`; ≥ 1/128 at these sizes), and h = 1e-4.
 */
import type { OpCheck } from '../opcheck.js';
import { averagePool, globalAveragePool, maxPool } from '../ops/pool.js';
import { averagePoolRef, globalAveragePoolRef, maxPoolRef, type AveragePoolAttributes, type PoolAttributes } from '../../kernels/pool.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { sizeOf } from '../../gpu/tensor.js';
import { Rng } from '../../util/rng.js';

/**
 * n distinct values k·step, k = −n/2 … n/2 − 1, shuffled; step is the power of two ≥ 2/n, so they lie in [−2, 2), are
 * at least 2/n apart, and are exact in float32 (no two can round to equal values on the GPU).
 */
export function separatedValues(shape: number[], seed: number): HostTensor {
  const n = sizeOf(shape);
  const rng = new Rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const step = 2 ** Math.ceil(Math.log2(2 / n)); // a power of two, so every value is exact in float32
  return host(shape, order.map((k) => (k - n / 2) * step));
}

function randomInput(shape: number[], seed: number): HostTensor {
  return host(shape, new Rng(seed).uniforms(sizeOf(shape)));
}

function maxPoolCheck(name: string, shape: number[], attrs: PoolAttributes, seed: number): OpCheck {
  return {
    name,
    inputs: [separatedValues(shape, seed)],
    wrt: [0],
    reference: ([x]) => maxPoolRef(x!, attrs),
    run: ([x]) => maxPool(x!, attrs),
    h: 1e-4,
  };
}

function averagePoolCheck(name: string, shape: number[], attrs: AveragePoolAttributes, seed: number): OpCheck {
  return {
    name,
    inputs: [randomInput(shape, seed)],
    wrt: [0],
    reference: ([x]) => averagePoolRef(x!, attrs),
    run: ([x]) => averagePool(x!, attrs),
  };
}

export const checks: OpCheck[] = [
  maxPoolCheck('MaxPool 3x3 s2 ceil [2,3,7,6]', [2, 3, 7, 6], { kernelShape: [3, 3], strides: [2, 2], ceilMode: 1 }, 1),
  maxPoolCheck('MaxPool 3x3 s2 pads 0,0,1,1 [1,5,7,7]', [1, 5, 7, 7], { kernelShape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }, 2),
  maxPoolCheck('MaxPool 2x3 s1x2 pads 1,1,0,1 dil 2x1 [1,2,6,5]', [1, 2, 6, 5], { kernelShape: [2, 3], strides: [1, 2], pads: [1, 1, 0, 1], dilations: [2, 1] }, 3),
  averagePoolCheck('AveragePool 3x3 s2 pads 1 ceil [2,3,6,6]', [2, 3, 6, 6], { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: 1 }, 4),
  averagePoolCheck(
    'AveragePool 3x2 s2x1 pads 1,0,1,1 ceil count_include_pad [1,3,6,5]',
    [1, 3, 6, 5],
    { kernelShape: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1], ceilMode: 1, countIncludePad: 1 },
    5,
  ),
  {
    name: 'GlobalAveragePool [2,5,3,4]',
    inputs: [randomInput([2, 5, 3, 4], 6)],
    wrt: [0],
    reference: ([x]) => globalAveragePoolRef(x!),
    run: ([x]) => globalAveragePool(x!),
  },
];
