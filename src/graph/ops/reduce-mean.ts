/**
 * ReduceMean: y = (1/n) Σ x over the given axes, n terms per output (ONNX ReduceMean; axes an input from opset 18 —
 * src/graph/reduce.ts reads both forms). MNASNet's global pooling (x.mean([2, 3])) and a written-out LayerNorm's mean
 * and variance (ConvNeXt below opset 17). On the GPU, ReduceSum's kernel with the factor 1/n.
 *
 * Backward. ∂y_o/∂x_j = 1/n for each of the n terms of the mean o, so dx_j = dy_o / n: dy spread evenly back over the
 * reduced positions.
 */
import { broadcastTo, broadcastToRef, reduceSumTo, reduceSumToRef } from '../../kernels/broadcast.js';
import { defineOp } from '../op.js';
import { describeReduce, reduceChecks, reduceKeepsChannels, reduceMapping, reduceShapes, termsPerOutput, view, type ReduceAttrs } from '../reduce.js';

export const ReduceMean = defineOp<ReduceAttrs>({
  name: 'ReduceMean',
  onnx: reduceMapping('ReduceMean', 18),
  shape: ([x], a) => [reduceShapes(a, x!).out],
  forward: ([x], a, ctx) => {
    const { kept, out } = reduceShapes(a, x!.shape);
    const y = reduceSumTo(x!, kept, 1 / termsPerOutput(a, x!.shape), ctx.name);
    const shaped = y.reshape(out, ctx.name);
    y.dispose();
    return { outputs: [shaped] };
  },
  backward: ({ dys: [dy], attrs, inputShapes: [xShape], name }) => {
    const dyKept = dy!.reshape(reduceShapes(attrs, xShape!).kept);
    const dx = broadcastTo(dyKept, xShape!, 1 / termsPerOutput(attrs, xShape!), `grad(${name})`);
    dyKept.dispose();
    return [dx];
  },
  keepsChannels: reduceKeepsChannels,
  reference: {
    forward: ([x], a) => {
      const { kept, out } = reduceShapes(a, x!.shape);
      return [view(reduceSumToRef(x!, kept, 1 / termsPerOutput(a, x!.shape)), out)];
    },
    backward: ([dy], [x], _, a) => [broadcastToRef(view(dy!, reduceShapes(a, x!.shape).kept), x!.shape, 1 / termsPerOutput(a, x!.shape))],
  },
  doc: {
    forward: 'y_o = (1/n) Σ_j x_j over the n terms j of each output o (the positions along the reduced axes).',
    backward: '∂y_o/∂x_j = 1/n for each of the n terms, so dx_j = dy_o / n: dy spread evenly back over the reduced positions.',
    saves: 'nothing but the shapes.',
  },
  describe: describeReduce,
  checks: reduceChecks('ReduceMean'),
});
