/**
 * SpaceToDepth: DepthToSpace (mode DCR) undone — b×b blocks of pixels become b×b channels, x [N, C, H, W] to
 * [N, C·b², H/b, W/b]. Pixel (h·b + i, w·b + j) of channel c moves to channel (i·b + j)·C + c: x seen as
 * [N, C, H/b, b, W/b, b] with its axes reordered (0, 3, 5, 1, 2, 4).
 *
 * Backward. A one-to-one relabelling of the elements, so dx is dy moved back by the inverse transpose.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { inversePerm, viewTranspose, viewTransposeRef } from '../../kernels/layout.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export interface SpaceToDepthAttrs {
  blocksize: number;
}

/** x's 6-D view, the permutation, the permuted view's shape, and y's shape. */
export function spaceToDepthLayout(a: SpaceToDepthAttrs, x: Shape): { view: number[]; perm: number[]; moved: number[]; out: number[] } {
  check(x.length === 4, () => `SpaceToDepth needs an NCHW input, got ${fmtShape(x)}`);
  const [n, c, h, w] = x as [number, number, number, number];
  const b = a.blocksize;
  check(Number.isInteger(b) && b >= 1 && h % b === 0 && w % b === 0, () => `${h}×${w} pixels do not split into ${b}×${b} blocks`);
  const view = [n, c, h / b, b, w / b, b];
  const perm = [0, 3, 5, 1, 2, 4];
  return { view, perm, moved: perm.map((p) => view[p]!), out: [n, c * b * b, h / b, w / b] };
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const SpaceToDepth = defineOp<SpaceToDepthAttrs>({
  name: 'SpaceToDepth',
  onnx: {
    types: ['SpaceToDepth'],
    arity: [1, 1],
    attrs: (r) => {
      if (!r.has('blocksize')) r.fail('attribute blocksize is required');
      return { blocksize: r.int('blocksize', 1) };
    },
  },
  shape: ([x], a) => [spaceToDepthLayout(a, x!).out],
  forward: ([x], a, ctx) => {
    const l = spaceToDepthLayout(a, x!.shape);
    return { outputs: [viewTranspose(x!, l.view, l.perm, l.out, ctx.name)] };
  },
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => {
    const l = spaceToDepthLayout(a, xShape!);
    return [viewTranspose(dy!, l.moved, inversePerm(l.perm), xShape!, `grad(${name})`)];
  },
  reference: {
    forward: ([x], a) => {
      const l = spaceToDepthLayout(a, x!.shape);
      return [viewTransposeRef(x!, l.view, l.perm, l.out)];
    },
    backward: ([dy], [x], _, a) => {
      const l = spaceToDepthLayout(a, x!.shape);
      return [viewTransposeRef(dy!, l.moved, inversePerm(l.perm), x!.shape)];
    },
  },
  doc: (a) => ({
    forward: `y = blocks of ${a.blocksize}×${a.blocksize} pixels laid out as channels: a transpose of a 6-D view of x.`,
    backward: 'A one-to-one relabelling of the elements, so dx is dy moved back: the inverse transpose of the same view.',
    saves: 'nothing but x’s shape.',
  }),
  describe: (a) => `blocks ${a.blocksize}×${a.blocksize}`,
  checks: [{ name: 'SpaceToDepth [2,3,4,6] blocks 2', inputs: () => [random([2, 3, 4, 6], 311)], attrs: { blocksize: 2 } }],
});

export function spaceToDepth(x: Tensor, blocksize: number, name = 'space_to_depth'): Tensor {
  return apply1(SpaceToDepth, [x], { blocksize }, name);
}
