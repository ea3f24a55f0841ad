/**
 * Softmax and LogSoftmax over one axis: y_j = exp(x_j) / Σ_k exp(x_k) (the max is subtracted first, which changes
 * nothing but overflow), and log of that. ONNX has two meanings of `axis`: up to opset 12 the input is flattened to
 * 2-D at `axis` (every axis from it on is one row: default 1), from opset 13 the function runs along that one axis
 * (default −1), wherever it is. Both become the [outer, cols, inner] view the kernels run on: flattened, [rows, cols, 1];
 * one axis, [dims before, the axis, dims after] — a softmax over the channels of NCHW reads its rows H·W apart.
 *
 * Backward (derivations in shaders/softmax.wgsl). Softmax: ∂y_j/∂x_i = y_j (δ_ij − y_i), so dx_i = y_i (dy_i − Σ_j dy_j y_j):
 * every input moves every output, through the shared normalization. LogSoftmax: ∂y_j/∂x_i = δ_ij − softmax(x)_i, so
 * dx_i = dy_i − exp(y_i) · Σ_j dy_j. Both read the forward's output y, not x.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import { sizeOf, type Shape, type Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import {
  logSoftmaxBackward,
  logSoftmaxBackwardRef,
  logSoftmaxForward,
  logSoftmaxRef,
  softmaxBackward,
  softmaxBackwardRef,
  softmaxForward,
  softmaxRef,
} from '../../kernels/softmax.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp, type AttrReader, type OpDefinition } from '../op.js';

export interface SoftmaxAttrs {
  axis: number;
  /** opset < 13: flatten every axis from `axis` on into the columns */
  flattenFrom: boolean;
}

/** The [outer, cols, inner] view the kernels run on: the softmax runs along cols, whose elements are inner apart. */
export function softmaxView(a: SoftmaxAttrs, x: Shape): [number, number, number] {
  const axis = a.axis < 0 ? a.axis + x.length : a.axis;
  check(axis >= 0 && axis < x.length, () => `axis ${a.axis} is out of range for ${fmtShape(x)}`);
  if (a.flattenFrom) return [sizeOf(x.slice(0, axis)), sizeOf(x.slice(axis)), 1];
  return [sizeOf(x.slice(0, axis)), x[axis]!, sizeOf(x.slice(axis + 1))];
}

const readAttrs = (r: AttrReader): SoftmaxAttrs => {
  const legacy = r.opset < 13;
  return { axis: r.int('axis', legacy ? 1 : -1), flattenFrom: legacy };
};

const view = (t: HostTensor, shape: Shape): HostTensor => ({ shape: [...shape], data: t.data });
const random = (shape: number[], seed: number, range = 3) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1), -range, range));

const SOFTMAX_FORWARD = 'y_j = exp(x_j) / Σ_k exp(x_k) over the axis (the max is subtracted first, which changes nothing but overflow).';

/** One of the pair: the kernels and references that differ, around what they share. */
function softmaxOp(
  name: 'Softmax' | 'LogSoftmax',
  kernels: { forward: (x: Tensor, name: string) => Tensor; backward: (dy: Tensor, y: Tensor) => Tensor },
  refs: { forward: (x: HostTensor) => HostTensor; backward: (dy: HostTensor, y: HostTensor) => HostTensor },
  doc: { forward: string; backward: string },
): OpDefinition<SoftmaxAttrs> {
  return {
    name,
    onnx: { types: [name], arity: [1, 1], attrs: readAttrs },
    shape: ([x], a) => (softmaxView(a, x!), [x!]),
    forward: ([x], a, ctx) => {
      const flat = x!.reshape(softmaxView(a, x!.shape));
      const y2 = kernels.forward(flat, ctx.name);
      flat.dispose();
      const y = y2.reshape(x!.shape, ctx.name);
      y2.dispose();
      return { outputs: [y], saved: ctx.recording ? { y } : {} };
    },
    backward: ({ dys: [dy], saved, attrs: a, inputShapes: [xShape] }) => {
      const v = softmaxView(a, xShape!);
      const [dy2, y2] = [dy!.reshape(v), saved.y!.reshape(v)];
      const dx2 = kernels.backward(dy2, y2);
      const dx = dx2.reshape(xShape!);
      for (const t of [dy2, y2, dx2]) t.dispose();
      return [dx];
    },
    reference: {
      forward: ([x], a) => [view(refs.forward(view(x!, softmaxView(a, x!.shape))), x!.shape)],
      backward: ([dy], [x], [y], a) => {
        const v = softmaxView(a, x!.shape);
        return [view(refs.backward(view(dy!, v), view(y!, v)), x!.shape)];
      },
    },
    doc: { ...doc, saves: 'y.' },
    describe: (a) => `axis ${a.axis}`,
    checks: [
      { name: `${name} [3,7]`, inputs: () => [random([3, 7], 81)], attrs: { axis: -1, flattenFrom: false } },
      { name: `${name} [2,1000], logits ±8`, inputs: () => [random([2, 1000], 83, 8)], attrs: { axis: -1, flattenFrom: false } },
      { name: `${name} [2,3,4] from axis 1 (opset < 13)`, inputs: () => [random([2, 3, 4], 82)], attrs: { axis: 1, flattenFrom: true } },
      { name: `${name} [2,5,3,4] over the channels, axis 1 (opset ≥ 13)`, inputs: () => [random([2, 5, 3, 4], 84)], attrs: { axis: 1, flattenFrom: false } },
      { name: `${name} [3,4,6] axis −2`, inputs: () => [random([3, 4, 6], 85)], attrs: { axis: -2, flattenFrom: false } },
      { name: `${name} [7,2,3] axis 0`, inputs: () => [random([7, 2, 3], 86)], attrs: { axis: 0, flattenFrom: false } },
    ],
  };
}

export const Softmax = defineOp(
  softmaxOp(
    'Softmax',
    { forward: softmaxForward, backward: softmaxBackward },
    { forward: softmaxRef, backward: softmaxBackwardRef },
    {
      forward: SOFTMAX_FORWARD,
      backward:
        '∂y_j/∂x_i = y_j (δ_ij − y_i), so dx_i = Σ_j dy_j y_j (δ_ij − y_i) = y_i (dy_i − Σ_j dy_j y_j): every input moves ' +
        'every output, through the shared normalization.',
    },
  ),
);

export const LogSoftmax = defineOp(
  softmaxOp(
    'LogSoftmax',
    { forward: logSoftmaxForward, backward: logSoftmaxBackward },
    { forward: logSoftmaxRef, backward: logSoftmaxBackwardRef },
    {
      forward: `y_j = log softmax(x)_j = x_j − log Σ_k exp(x_k). (${SOFTMAX_FORWARD})`,
      backward: '∂y_j/∂x_i = δ_ij − softmax(x)_i, so dx_i = dy_i − exp(y_i) · Σ_j dy_j.',
    },
  ),
);

/** Softmax over the last axis. */
export function softmax(x: Tensor, name = 'softmax'): Tensor {
  return apply1(Softmax, [x], { axis: -1, flattenFrom: false }, name);
}

/** LogSoftmax over the last axis. */
export function logSoftmax(x: Tensor, name = 'log_softmax'): Tensor {
  return apply1(LogSoftmax, [x], { axis: -1, flattenFrom: false }, name);
}
