/**
 * ReduceSum: y = Σ x over the given axes (ONNX ReduceSum; axes an input from opset 13 — src/graph/reduce.ts reads both
 * forms). On the GPU it is "reduce to shape" (shaders/broadcast.wgsl), the same kernel that sums a broadcast operand's
 * gradient: one workgroup per output, a tree over its terms.
 *
 * Backward. ∂y_o/∂x_j = 1 for every term j of the sum o, so dx_j = dy_o: the gradient is dy broadcast back over the
 * reduced axes.
 */
import { broadcastTo, broadcastToRef, reduceSumTo, reduceSumToRef } from '../../kernels/broadcast.js';
import { defineOp } from '../op.js';
import { describeReduce, reduceChecks, reduceKeepsChannels, reduceMapping, reduceShapes, view, type ReduceAttrs } from '../reduce.js';

export const ReduceSum = defineOp<ReduceAttrs>({
  name: 'ReduceSum',
  onnx: reduceMapping('ReduceSum', 13),
  shape: ([x], a) => [reduceShapes(a, x!).out],
  forward: ([x], a, ctx) => {
    const { kept, out } = reduceShapes(a, x!.shape);
    const y = reduceSumTo(x!, kept, 1, ctx.name);
    const shaped = y.reshape(out, ctx.name);
    y.dispose();
    return { outputs: [shaped] };
  },
  backward: ({ dys: [dy], attrs, inputShapes: [xShape], name }) => {
    const dyKept = dy!.reshape(reduceShapes(attrs, xShape!).kept);
    const dx = broadcastTo(dyKept, xShape!, 1, `grad(${name})`);
    dyKept.dispose();
    return [dx];
  },
  keepsChannels: reduceKeepsChannels,
  reference: {
    forward: ([x], a) => {
      const { kept, out } = reduceShapes(a, x!.shape);
      return [view(reduceSumToRef(x!, kept), out)];
    },
    backward: ([dy], [x], _, a) => [broadcastToRef(view(dy!, reduceShapes(a, x!.shape).kept), x!.shape)],
  },
  doc: {
    forward: 'y_o = Σ_j x_j over the terms j of each output o (the positions along the reduced axes).',
    backward: '∂y_o/∂x_j = 1 for each term of the sum, so dx_j = dy_o: dy spread back, unchanged, over the reduced axes.',
    saves: 'nothing but the shapes.',
  },
  describe: describeReduce,
  checks: reduceChecks('ReduceSum'),
});
