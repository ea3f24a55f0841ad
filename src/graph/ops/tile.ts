/**
 * Tile: x repeated `repeats[d]` times along each axis d (numpy's tile; the repeats a constant int64 input). Along an
 * axis of size n, output position q reads x at q mod n — a pad in 'wrap' mode by (repeats − 1)·n after the end, which
 * is how it runs (src/kernels/layout.ts).
 *
 * Backward. Each x element is copied to every position q ≡ i (mod n), so dx_i = Σ dy_q over those q: the copies'
 * gradients folded back onto x, one repeated axis at a time.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { pad, padBackward, padBackwardRef, padRef, padShape, type PadSpec } from '../../kernels/layout.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export interface TileAttrs {
  repeats: readonly number[];
}

export function tileSpec(a: TileAttrs, x: Shape): PadSpec {
  check(a.repeats.length === x.length, () => `${a.repeats.length} repeats for ${fmtShape(x)} (one per axis)`);
  check(a.repeats.every((r) => Number.isInteger(r) && r >= 1), () => `repeats [${a.repeats.join(',')}] must be positive integers (pixelprop has no empty tensors)`);
  return { begin: x.map(() => 0), end: x.map((n, d) => (a.repeats[d]! - 1) * n), mode: 'wrap', value: 0 };
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Tile = defineOp<TileAttrs>({
  name: 'Tile',
  onnx: {
    types: ['Tile'],
    arity: [1, 1],
    attrInputs: [1],
    attrs: (r) => {
      const repeats = r.constant(1);
      if (!repeats) r.fail(`repeats '${r.node.inputs[1] ?? ''}' must be a constant (an initializer, a Constant, or computed from them)`);
      return { repeats: [...repeats!] };
    },
  },
  shape: ([x], a) => [padShape(x!, tileSpec(a, x!))],
  forward: ([x], a, ctx) => ({ outputs: [pad(x!, tileSpec(a, x!.shape), ctx.name)] }),
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => [padBackward(dy!, tileSpec(a, xShape!), xShape!, `grad(${name})`)],
  keepsChannels: (a) => a.repeats[0] === 1 && a.repeats[1] === 1,
  reference: {
    forward: ([x], a) => [padRef(x!, tileSpec(a, x!.shape))],
    backward: ([dy], [x], _, a) => [padBackwardRef(dy!, tileSpec(a, x!.shape), x!.shape)],
  },
  doc: {
    forward: 'y = x repeated repeats[d] times along each axis d: y[q] = x[q mod n] (numpy’s tile).',
    backward: 'Each x_i is copied to every q ≡ i (mod n), so dx_i = Σ dy_q over those q: the copies’ gradients folded back onto x.',
    saves: 'nothing but x’s shape.',
  },
  describe: (a) => `repeats [${a.repeats.join(',')}]`,
  checks: [
    { name: 'Tile [2,3,2] by [1,3,2]', inputs: () => [random([2, 3, 2], 281)], attrs: { repeats: [1, 3, 2] } },
    { name: 'Tile [1,2,1,3] by [2,1,4,1]', inputs: () => [random([1, 2, 1, 3], 282)], attrs: { repeats: [2, 1, 4, 1] } },
  ],
});

export function tile(x: Tensor, repeats: readonly number[], name = 'tile'): Tensor {
  return apply1(Tile, [x], { repeats }, name);
}
