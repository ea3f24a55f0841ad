import {
  conv2dBackwardBias,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  conv2dGeometry,
  resolveConv2dAttrs,
  type Conv2dAttrsInput,
  type Conv2dForwardOptions,
} from '../../kernels/conv2d.js';
import { conv2dBackwardInputTiled, conv2dForwardTiled, tiledBackwardInputSupports, tiledForwardSupports } from '../../kernels/conv2d-tiled.js';
import { concatBackward } from '../../kernels/concat.js';
import { reluBackward } from '../../kernels/relu.js';
import { check } from '../../gpu/errors.js';
import { Tensor, type Shape } from '../../gpu/tensor.js';
import { record } from '../tape.js';

/**
 * y = Conv(x, w, bias) (ONNX semantics, NCHW), with the following ReLU fused when `relu` is set.
 *
 * Backward: OP_DOCS.Conv and OP_DOCS['Conv+Relu'] (src/graph/op-docs.ts) explain it; the index-level derivations are
 * in shaders/conv2d.wgsl. Only what the requested gradients read is saved: differentiating with respect to the
 * pixels (the techniques) saves w — and y with a fused ReLU — and runs one conv kernel.
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

/** One convolution of a `convConcat`: its input, weights, bias and attributes. */
export interface ConvPart {
  x: Tensor;
  w: Tensor;
  bias: Tensor | null;
  attrs: Conv2dAttrsInput;
}

/** Whether `convConcat` can take these convolutions (conv2d v2 computes each; see src/kernels/conv2d-tiled.ts). */
export function convConcatSupports(parts: readonly { x: Shape; w: Shape; attrs: Conv2dAttrsInput }[]): boolean {
  return parts.every((p) => {
    const g = conv2dGeometry(p.x, p.w, p.attrs);
    return tiledForwardSupports(g) && tiledBackwardInputSupports(g);
  });
}

/**
 * y = Concat_channels(Conv(x_1, w_1, b_1), …, Conv(x_k, w_k, b_k)), each conv optionally ReLU'd — a Fire module's
 * expand layer — computed without the concatenation: each convolution writes its channels of y in place.
 *
 * Backward: OP_DOCS['Conv+Relu‖Concat'] and OP_DOCS['Conv‖Concat'] (src/graph/op-docs.ts). The tape receives an
 * input's accumulated gradient once. Weight and bias gradients, which the techniques never ask for, take the plain
 * route (slice dz, then src/kernels/conv2d.ts).
 */
export function convConcat(parts: readonly ConvPart[], relu: boolean, name = 'conv_concat'): Tensor {
  check(parts.length > 0, 'convConcat: no convolutions');
  const geometries = parts.map((p, k) => conv2dGeometry(p.x, p.w, resolveConv2dAttrs(p.attrs), p.bias, `convConcat '${name}' part ${k}`));
  const g0 = geometries[0]!;
  check(
    geometries.every((g) => g.batch === g0.batch && g.outH === g0.outH && g.outW === g0.outW),
    () => `convConcat '${name}': the convolutions' outputs differ in batch or size`,
  );
  check(convConcatSupports(parts.map((p) => ({ x: p.x.shape, w: p.w.shape, attrs: p.attrs }))), () => `convConcat '${name}': a part is not supported by conv2d v2`);
  const channels = geometries.reduce((a, g) => a + g.outChannels, 0);
  const offsets = geometries.map((_, k) => geometries.slice(0, k).reduce((a, g) => a + g.outChannels, 0));
  const y = Tensor.empty(parts[0]!.x.gpu, [g0.batch, channels, g0.outH, g0.outW], name);
  parts.forEach((p, k) => conv2dForwardTiled(geometries[k]!, p.x, p.w, p.bias, y, relu, { offset: offsets[k]!, channels }));

  const inputs = parts.flatMap((p) => (p.bias ? [p.x, p.w, p.bias] : [p.x, p.w]));
  const slot = (k: number): number => parts.slice(0, k).reduce((a, p) => a + (p.bias ? 3 : 2), 0);
  const saved = [...(relu ? [y] : []), ...parts.flatMap((p) => [...(p.x.requiresGrad ? [p.w] : []), ...(p.w.requiresGrad ? [p.x] : [])])];
  const info = `${parts.map((p) => `k${p.w.shape[2]}×${p.w.shape[3]}`).join(' ‖ ')}${relu ? ' +relu' : ''}`;
  return record(
    relu ? 'Conv+Relu‖Concat' : 'Conv‖Concat',
    inputs,
    y,
    saved,
    (dy, needs) => {
      const dz = relu ? reluBackward(dy, y) : dy;
      const grads: (Tensor | null)[] = new Array(inputs.length).fill(null);
      const dxOf = new Map<Tensor, Tensor>(); // one gradient tensor per distinct input, accumulated by the kernels
      try {
        parts.forEach((p, k) => {
          const g = geometries[k]!;
          const at = slot(k);
          if (needs[at]) {
            const dx = dxOf.get(p.x);
            if (dx) conv2dBackwardInputTiled(g, dz, p.w, dx, null, { offset: offsets[k]!, channels }, true);
            else {
              const fresh = Tensor.empty(p.x.gpu, p.x.shape, `grad(${p.x.name})`);
              conv2dBackwardInputTiled(g, dz, p.w, fresh, null, { offset: offsets[k]!, channels });
              dxOf.set(p.x, fresh);
              grads[at] = fresh;
            }
          }
          if (needs[at + 1] || (p.bias && needs[at + 2])) {
            const dzk = concatBackward(dz, geometries.map((gk) => [gk.batch, gk.outChannels, gk.outH, gk.outW]), 1, geometries.map((_, j) => j === k))[k]!;
            if (needs[at + 1]) grads[at + 1] = conv2dBackwardWeight(dzk, p.x, p.w.shape, p.attrs, `grad(${p.w.name})`);
            if (p.bias && needs[at + 2]) grads[at + 2] = conv2dBackwardBias(dzk, `grad(${p.bias.name})`);
            dzk.dispose();
          }
        });
      } finally {
        if (dz !== dy) dz.dispose();
      }
      return grads;
    },
    info,
  );
}
