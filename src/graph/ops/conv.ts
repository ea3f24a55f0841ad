import {
  conv2dBackwardBias,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  resolveConv2dAttrs,
  type Conv2dAttrsInput,
  type Conv2dForwardOptions,
} from '../../kernels/conv2d.js';
import { reluBackward } from '../../kernels/relu.js';
import { check } from '../../gpu/errors.js';
import type { Tensor } from '../../gpu/tensor.js';
import { record } from '../tape.js';

/**
 * y = Conv(x, w, bias) (ONNX semantics, NCHW), with the following ReLU fused when `relu` is set.
 *
 * Backward, from dy = ∂L/∂y: with a fused ReLU, y = relu(z) for the conv output z that was never stored, and the
 * chain rule goes through the ReLU first, dz = dy · [y > 0] (src/kernels/relu.ts reads y, and y > 0 ⇔ z > 0); then
 * the conv's three gradients follow from dz (derivations in shaders/conv2d.wgsl):
 *
 *   dx = conv_transpose(dz, w),   dw = correlate(dz, x),   db = Σ_{n,h,w} dz.
 *
 * Only the gradients the tape asks for are computed, and only what they read is saved: dx reads w, dw reads x, db
 * reads dz alone. Differentiating with respect to the pixels (the techniques) thus saves w — and y with a fused
 * ReLU — and runs one conv kernel; the weights' gradient costs nothing.
 */
export function conv2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  attrsIn: Conv2dAttrsInput = {},
  options: Conv2dForwardOptions = {},
): Tensor {
  const name = options.name ?? 'conv';
  const fusedRelu = options.relu ?? false;
  const attrs = resolveConv2dAttrs(attrsIn, `conv2d '${name}'`);
  const y = conv2dForward(x, w, bias, attrs, { relu: fusedRelu, name });

  // What the backward may be asked for is fixed now: an input that requires no gradient now gets none later.
  const mayNeedX = x.requiresGrad;
  const mayNeedW = w.requiresGrad;
  const saved = [...(fusedRelu ? [y] : []), ...(mayNeedX ? [w] : []), ...(mayNeedW ? [x] : [])];
  const inputs = bias ? [x, w, bias] : [x, w];
  const [kH, kW] = [w.shape[2], w.shape[3]];
  const info =
    `k${kH}×${kW} s${attrs.strides.join(',')} p${attrs.pads.join(',')}` +
    (attrs.dilations.some((d) => d !== 1) ? ` d${attrs.dilations.join(',')}` : '') +
    (attrs.group !== 1 ? ` g${attrs.group}` : '') +
    (fusedRelu ? ' +relu' : '');

  return record(
    fusedRelu ? 'Conv+Relu' : 'Conv',
    inputs,
    y,
    saved,
    (dy, needs) => {
      check(
        (!needs[0] || mayNeedX) && (!needs[1] || mayNeedW),
        () => `conv2d '${name}': an input started requiring a gradient after the op was recorded; set requiresGrad before the forward`,
      );
      const dz = fusedRelu ? reluBackward(dy, y) : dy; // the gradient at the conv's output, before its ReLU
      try {
        return [
          needs[0] ? conv2dBackwardInput(dz, w, x.shape, attrs, `grad(${x.name})`) : null,
          needs[1] ? conv2dBackwardWeight(dz, x, w.shape, attrs, `grad(${w.name})`) : null,
          ...(bias ? [needs[2] ? conv2dBackwardBias(dz, `grad(${bias.name})`) : null] : []),
        ];
      } finally {
        if (dz !== dy) dz.dispose(); // the kernels above have been encoded; the buffer is recycled only after them
      }
    },
    info,
  );
}
