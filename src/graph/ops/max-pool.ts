/**
 * MaxPool: y = the largest x in each window (ONNX semantics: strides, pads or auto_pad, dilations, ceil_mode).
 *
 * Backward. Within a window, y equals one input — its largest (the first in row-major order at a tie) — so ∂y/∂x is 1
 * for that input and 0 for the others: each dy goes, whole, to the position its window's maximum came from, and a
 * position that is the maximum of several overlapping windows (SqueezeNet's 3×3 stride-2 pools overlap) sums their dy.
 * When a backward will follow, the forward also writes each window's argmax; the backward scatters dy through it
 * (kernels in src/kernels/pool.ts, shaders/pool.wgsl).
 */
import type { Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { maxPoolBackwardFromArgmax, maxPoolBackwardRef, maxPoolForward, maxPoolRef, poolGeometry, poolOutputShape, type PoolAttributes } from '../../kernels/pool.js';
import { sizeOf, type Shape } from '../../gpu/tensor.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp, type AttrReader } from '../op.js';
import { describeWindow, explicitWindow, readKernelShape, readWindow, resolvePads, type WindowAttrs } from './window.js';

export interface PoolAttrs {
  kernelShape: readonly [number, number];
  window: WindowAttrs;
  ceilMode: boolean;
}

/** The kernels' attributes for an input of shape x (auto_pad resolved). */
export function poolAttributesFor(a: PoolAttrs, x: Shape): PoolAttributes {
  return {
    kernelShape: a.kernelShape,
    strides: a.window.strides,
    dilations: a.window.dilations,
    pads: resolvePads(a.window, [x[2] ?? 1, x[3] ?? 1], a.kernelShape),
    ceilMode: a.ceilMode,
  };
}

export function readPoolAttrs(r: AttrReader): PoolAttrs {
  const kernelShape = readKernelShape(r);
  if (!kernelShape) r.fail('kernel_shape is required');
  if (r.int('storage_order', 0) !== 0) r.fail('storage_order 1 (column-major indices) is not supported');
  return { kernelShape: kernelShape!, window: readWindow(r), ceilMode: r.int('ceil_mode', 0) === 1 };
}

export function describePool(a: PoolAttrs): string {
  return [`k${a.kernelShape.join('×')}`, describeWindow(a.window), a.ceilMode ? 'ceil' : ''].filter(Boolean).join(' ');
}

/** Pool attributes built by hand (tests, techniques). */
export function poolAttrs(a: { kernelShape: readonly number[]; strides?: number[]; pads?: number[]; dilations?: number[]; ceilMode?: boolean }): PoolAttrs {
  return { kernelShape: a.kernelShape as [number, number], window: explicitWindow(a), ceilMode: a.ceilMode ?? false };
}

/**
 * n distinct values k·step, k = −n/2 … n/2 − 1, shuffled; step is the power of two ≥ 2/n, so they lie in [−2, 2), are
 * at least 2/n apart, and are exact in float32. Max pooling is piecewise linear: its finite differences are exact as
 * long as no probe x ± h changes which element of a window is the largest, which these values and h = 1e-4 ensure.
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

export const MaxPool = defineOp<PoolAttrs>({
  name: 'MaxPool',
  onnx: {
    types: ['MaxPool'],
    arity: [1, 1],
    attrs: (r) => {
      if (r.node.outputs[1]) r.fail('the Indices output of MaxPool is not supported');
      return readPoolAttrs(r);
    },
  },
  shape: ([x], a) => [poolOutputShape(poolGeometry('MaxPool', x!, poolAttributesFor(a, x!)))],
  forward: ([x], a, ctx) => {
    const { y, argmax } = maxPoolForward(x!, poolAttributesFor(a, x!.shape), ctx.name, ctx.recording);
    return { outputs: [y], saved: argmax ? { argmax } : {} };
  },
  backward: ({ dys: [dy], saved, attrs: a, inputShapes: [xShape] }) => [maxPoolBackwardFromArgmax(dy!, saved.argmax!, xShape!, poolAttributesFor(a, xShape!))],
  reference: {
    forward: ([x], a) => [maxPoolRef(x!, poolAttributesFor(a, x!.shape))],
    backward: ([dy], [x], _, a) => [maxPoolBackwardRef(dy!, x!, poolAttributesFor(a, x!.shape))],
  },
  doc: {
    forward: 'y = the largest x in each k×k window (stride s).',
    backward:
      'Within a window, y equals one input — its largest (the first in row-major order at a tie) — so ∂y/∂x is 1 for that ' +
      'input and 0 for the others: each dy goes, whole, to the position its window’s maximum came from, and a position that ' +
      'is the maximum of several overlapping windows (SqueezeNet’s 3×3 stride-2 pools overlap) sums their dy.',
    saves: 'the argmax of each window, written by the forward (not x).',
  },
  describe: describePool,
  checks: [
    { name: 'MaxPool 3×3 s2 ceil [2,3,7,6]', inputs: () => [separatedValues([2, 3, 7, 6], 1)], attrs: poolAttrs({ kernelShape: [3, 3], strides: [2, 2], ceilMode: true }), h: 1e-4 },
    { name: 'MaxPool 3×3 s2 pads 0,0,1,1 [1,5,7,7]', inputs: () => [separatedValues([1, 5, 7, 7], 2)], attrs: poolAttrs({ kernelShape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }), h: 1e-4 },
    {
      name: 'MaxPool 2×3 s1,2 pads 1,1,0,1 d2,1 [1,2,6,5]',
      inputs: () => [separatedValues([1, 2, 6, 5], 3)],
      attrs: poolAttrs({ kernelShape: [2, 3], strides: [1, 2], pads: [1, 1, 0, 1], dilations: [2, 1] }),
      h: 1e-4,
    },
    {
      name: 'MaxPool SqueezeNet pool3 [1,8,27,27] pads 0,0,1,1',
      inputs: () => [separatedValues([1, 8, 27, 27], 70)],
      attrs: poolAttrs({ kernelShape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }),
      h: 1e-4,
      samples: 80,
    },
  ],
});

export function maxPool(x: Tensor, attrs: PoolAttrs, name = 'maxpool'): Tensor {
  return apply1(MaxPool, [x], attrs, name);
}
