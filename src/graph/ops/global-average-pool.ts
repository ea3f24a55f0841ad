/**
 * GlobalAveragePool: y[n,c] = the mean of x[n,c,·,·] over the whole H×W plane, [N,C,H,W] → [N,C,1,1].
 *
 * Backward. Every element of a plane contributes 1/(H·W) of its mean: dx[n,c,h,w] = dy[n,c] / (H·W), the same value
 * over the plane. SqueezeNet's class scores are such means of conv10's maps, so the score of class y sends gradient
 * into channel y only — and the backward keeps that: channels of dy that are zero stay zero in dx.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { globalAveragePoolBackward, globalAveragePoolBackwardRef, globalAveragePoolForward, globalAveragePoolRef } from '../../kernels/pool.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export const GlobalAveragePool = defineOp<Record<string, never>>({
  name: 'GlobalAveragePool',
  onnx: { types: ['GlobalAveragePool'], arity: [1, 1], attrs: () => ({}) },
  shape: ([x]) => {
    check(x!.length === 4, () => `input ${fmtShape(x!)} is not NCHW`);
    return [[x![0]!, x![1]!, 1, 1]];
  },
  forward: ([x], _, ctx) => ({ outputs: [globalAveragePoolForward(x!, ctx.name)] }),
  backward: ({ dys: [dy], inputShapes: [xShape] }) => [globalAveragePoolBackward(dy!, xShape!)],
  keepsChannels: true,
  reference: {
    forward: ([x]) => [globalAveragePoolRef(x!)],
    backward: ([dy], [x]) => [globalAveragePoolBackwardRef(dy!, x!.shape)],
  },
  doc: {
    forward: 'y[n,c] = the mean of x[n,c,·,·] over the whole H×W plane.',
    backward:
      'Every element of a plane contributes 1/(H·W) of its mean: dx[n,c,h,w] = dy[n,c] / (H·W), the same value over the ' +
      'plane. SqueezeNet’s class scores are such means of conv10’s maps, so the score of class y sends gradient into ' +
      'channel y only.',
    saves: 'nothing but x’s shape.',
  },
  checks: [{ name: 'GlobalAveragePool [2,5,3,4]', inputs: () => [host([2, 5, 3, 4], new Rng(6).uniforms(120))], attrs: {} }],
});

export function globalAveragePool(x: Tensor, name = 'globalaveragepool'): Tensor {
  return apply1(GlobalAveragePool, [x], {}, name);
}
