/**
 * DepthToSpace: blocks of b×b channels become b×b blocks of pixels — x [N, C, H, W] to [N, C/b², H·b, W·b] (the
 * upsampling of sub-pixel convolution). A transpose of a 6-D view of x: in mode DCR (the default), channel
 * (i·b + j)·C/b² + c moves to pixel (h·b + i, w·b + j) of channel c, which is x seen as [N, b, b, C/b², H, W] with
 * its axes reordered (0, 3, 4, 1, 5, 2); in mode CRD, channel c·b² + i·b + j, x seen as [N, C/b², b, b, H, W]
 * reordered (0, 1, 4, 2, 5, 3).
 *
 * Backward. A transpose is a one-to-one relabelling of the elements (∂y_o/∂x_i = 1 for the one o that reads i), so
 * dx is dy moved back: dy seen as the permuted 6-D view, transposed by the inverse permutation.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { inversePerm, viewTranspose, viewTransposeRef } from '../../kernels/layout.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export interface DepthToSpaceAttrs {
  blocksize: number;
  mode: 'DCR' | 'CRD';
}

/** x's 6-D view, the permutation, the permuted view's shape, and y's shape. */
export function depthToSpaceLayout(a: DepthToSpaceAttrs, x: Shape): { view: number[]; perm: number[]; moved: number[]; out: number[] } {
  check(x.length === 4, () => `DepthToSpace needs an NCHW input, got ${fmtShape(x)}`);
  const [n, c, h, w] = x as [number, number, number, number];
  const b = a.blocksize;
  check(Number.isInteger(b) && b >= 1 && c % (b * b) === 0, () => `${c} channels do not split into ${b}×${b} blocks`);
  const k = c / (b * b);
  const view = a.mode === 'DCR' ? [n, b, b, k, h, w] : [n, k, b, b, h, w];
  const perm = a.mode === 'DCR' ? [0, 3, 4, 1, 5, 2] : [0, 1, 4, 2, 5, 3];
  return { view, perm, moved: perm.map((p) => view[p]!), out: [n, k, h * b, w * b] };
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const DepthToSpace = defineOp<DepthToSpaceAttrs>({
  name: 'DepthToSpace',
  onnx: {
    types: ['DepthToSpace'],
    arity: [1, 1],
    attrs: (r) => {
      if (!r.has('blocksize')) r.fail('attribute blocksize is required');
      const mode = r.string('mode', 'DCR');
      if (mode !== 'DCR' && mode !== 'CRD') r.fail(`mode '${mode}' is not DCR or CRD`);
      return { blocksize: r.int('blocksize', 1), mode: mode as 'DCR' | 'CRD' };
    },
  },
  shape: ([x], a) => [depthToSpaceLayout(a, x!).out],
  forward: ([x], a, ctx) => {
    const l = depthToSpaceLayout(a, x!.shape);
    return { outputs: [viewTranspose(x!, l.view, l.perm, l.out, ctx.name)] };
  },
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => {
    const l = depthToSpaceLayout(a, xShape!);
    return [viewTranspose(dy!, l.moved, inversePerm(l.perm), xShape!, `grad(${name})`)];
  },
  reference: {
    forward: ([x], a) => {
      const l = depthToSpaceLayout(a, x!.shape);
      return [viewTransposeRef(x!, l.view, l.perm, l.out)];
    },
    backward: ([dy], [x], _, a) => {
      const l = depthToSpaceLayout(a, x!.shape);
      return [viewTransposeRef(dy!, l.moved, inversePerm(l.perm), x!.shape)];
    },
  },
  doc: (a) => ({
    forward: `y = blocks of ${a.blocksize}×${a.blocksize} channels laid out as blocks of pixels (${a.mode}): a transpose of a 6-D view of x.`,
    backward: 'A one-to-one relabelling of the elements, so dx is dy moved back: the inverse transpose of the same view.',
    saves: 'nothing but x’s shape.',
  }),
  describe: (a) => `blocks ${a.blocksize}×${a.blocksize} ${a.mode}`,
  checks: [
    { name: 'DepthToSpace [2,8,2,3] blocks 2 DCR', inputs: () => [random([2, 8, 2, 3], 301)], attrs: { blocksize: 2, mode: 'DCR' } },
    { name: 'DepthToSpace [1,18,2,2] blocks 3 CRD', inputs: () => [random([1, 18, 2, 2], 302)], attrs: { blocksize: 3, mode: 'CRD' } },
  ],
});

export function depthToSpace(x: Tensor, attrs: DepthToSpaceAttrs, name = 'depth_to_space'): Tensor {
  return apply1(DepthToSpace, [x], attrs, name);
}
