/**
 * ReduceMax: y = max x over the given axes (ONNX ReduceMax; axes an input from opset 18 — src/graph/reduce.ts reads
 * both forms). The forward also counts, per output, the terms that reach the max (1 unless there are ties), which the
 * backward reads.
 *
 * Backward. y_o = x_m for the maximal term m: ∂y_o/∂x_j = 1 for it and 0 for the others, so dy_o goes to the maximum
 * alone (the gradient is a router, as for max pooling). Where several terms tie, max has no derivative; we share dy_o
 * evenly among them, dx_j = dy_o / (ties), as PyTorch's amax does — the one choice that keeps Σ_j dx_j = dy_o and
 * treats equal inputs alike. The checks' inputs are random (no ties) and use a small step, so that no finite
 * difference changes which term is the max.
 */
import { reduceMaxBackward, reduceMaxBackwardRef, reduceMaxTo, reduceMaxToRef } from '../../kernels/broadcast.js';
import { defineOp } from '../op.js';
import { describeReduce, reduceChecks, reduceKeepsChannels, reduceMapping, reduceShapes, view, type ReduceAttrs } from '../reduce.js';

export const ReduceMax = defineOp<ReduceAttrs>({
  name: 'ReduceMax',
  onnx: reduceMapping('ReduceMax', 18),
  shape: ([x], a) => [reduceShapes(a, x!).out],
  forward: ([x], a, ctx) => {
    const { kept, out } = reduceShapes(a, x!.shape);
    const { y, count } = reduceMaxTo(x!, kept, ctx.name);
    const shaped = y.reshape(out, ctx.name);
    y.dispose();
    if (!ctx.recording) count.dispose();
    return { outputs: [shaped], saved: ctx.recording ? { x: x!, y: shaped, count } : {} };
  },
  backward: ({ dys: [dy], saved, attrs, inputShapes: [xShape], name }) => {
    const kept = reduceShapes(attrs, xShape!).kept;
    const [dyKept, yKept, countKept] = [dy!, saved.y!, saved.count!].map((t) => t.reshape(kept));
    const dx = reduceMaxBackward(dyKept!, saved.x!, yKept!, countKept!, `grad(${name})`);
    for (const t of [dyKept, yKept, countKept]) t!.dispose();
    return [dx];
  },
  keepsChannels: reduceKeepsChannels,
  reference: {
    forward: ([x], a) => {
      const { kept, out } = reduceShapes(a, x!.shape);
      return [view(reduceMaxToRef(x!, kept).y, out)];
    },
    backward: ([dy], [x], [y], a) => {
      const kept = reduceShapes(a, x!.shape).kept;
      return [reduceMaxBackwardRef(view(dy!, kept), x!, view(y!, kept))];
    },
  },
  doc: {
    forward: 'y_o = max_j x_j over the terms j of each output o (the positions along the reduced axes).',
    backward:
      '∂y_o/∂x_j is 1 for the term that is the max and 0 for the others, so dy_o is routed to the maximum alone; terms ' +
      'that tie for the max share it evenly, dx_j = dy_o / (number of ties), as PyTorch’s amax.',
    saves: 'x, y, and the number of terms that reached each max.',
  },
  describe: describeReduce,
  checks: reduceChecks('ReduceMax', 1e-5),
});
