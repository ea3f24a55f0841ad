import {
  averagePoolBackward,
  averagePoolForward,
  globalAveragePoolBackward,
  globalAveragePoolForward,
  maxPoolBackwardFromArgmax,
  maxPoolForward,
  resolvePoolAttributes,
  type AveragePoolAttributes,
  type PoolAttributes,
  type ResolvedPoolAttributes,
} from '../../kernels/pool.js';
import type { Tensor } from '../../gpu/tensor.js';
import { record, recordingTape } from '../tape.js';

/** What the tape prints for a pooling node, in conv's style: "k3×3 s2,2 p0,0,1,1 ceil". */
function poolInfo(a: ResolvedPoolAttributes): string {
  const parts = [`k${a.kernelShape.join('×')}`, `s${a.strides.join(',')}`, `p${a.pads.join(',')}`];
  if (a.dilations.some((d) => d !== 1)) parts.push(`d${a.dilations.join(',')}`);
  if (a.ceilMode) parts.push('ceil');
  if (a.countIncludePad) parts.push('incl-pad');
  return parts.join(' ');
}

/**
 * MaxPool. Backward: OP_DOCS.MaxPool (src/graph/op-docs.ts); kernels in src/kernels/pool.ts, shaders/pool.wgsl. When
 * a backward will follow, the forward also writes each window's argmax, and the backward scatters dy through it.
 */
export function maxPool(x: Tensor, attrs: PoolAttributes, name = 'maxpool'): Tensor {
  const a = resolvePoolAttributes('MaxPool', attrs); // a snapshot: the caller may change attrs before backward
  const differentiating = recordingTape() !== null && x.requiresGrad;
  const y = maxPoolForward(x, a, name, differentiating);
  const argmax = y.argmax;
  if (!argmax) return y;
  delete y.argmax;
  const xShape = x.shape;
  record('MaxPool', [x], y, [argmax], (dy, needs) => [needs[0] ? maxPoolBackwardFromArgmax(dy, argmax, xShape, a) : null], poolInfo(a));
  argmax.dispose(); // the tape holds it now
  return y;
}

/** AveragePool. Backward: OP_DOCS.AveragePool (src/graph/op-docs.ts). */
export function averagePool(x: Tensor, attrs: AveragePoolAttributes, name = 'averagepool'): Tensor {
  const a = resolvePoolAttributes('AveragePool', attrs);
  const y = averagePoolForward(x, a, name);
  const xShape = x.shape;
  return record('AveragePool', [x], y, [], (dy, needs) => [needs[0] ? averagePoolBackward(dy, xShape, a) : null], poolInfo(a));
}

/** GlobalAveragePool, [N,C,H,W] → [N,C,1,1]. Backward: OP_DOCS.GlobalAveragePool (src/graph/op-docs.ts). */
export function globalAveragePool(x: Tensor, name = 'globalaveragepool'): Tensor {
  const y = globalAveragePoolForward(x, name);
  const xShape = x.shape;
  return record('GlobalAveragePool', [x], y, [], (dy, needs) => [needs[0] ? globalAveragePoolBackward(dy, xShape) : null]);
}
