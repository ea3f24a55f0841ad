/**
 * Pad: x with `begin[d]` positions added before each axis d and `end[d]` after (a negative amount removes that
 * many), filled by one of three rules (ONNX's `mode`):
 *
 *     constant   a constant (`value`, default 0)
 *     reflect    the mirror image of x without its border: [a b c d], 2 each side → [c b | a b c d | c b]
 *     edge       the border repeated:                      [a b c d], 2 each side → [a a | a b c d | d d]
 *     wrap       x repeated (opset 19):                    [a b c d], 2 each side → [c d | a b c d | a b]
 *
 * The pads are an attribute before opset 11 and a constant input from 11 on ([x1_begin, x2_begin, …, x1_end, …]),
 * the constant an attribute, then an optional input; opset 18's `axes` input names the padded axes.
 *
 * Backward. Every y element is a copy of one x element or the constant, so dx_i = Σ dy_o over the outputs o that copied
 * x_i. Constant: each x_i is copied once, to o = i + begin, so dx is dy with the pads cut away (a pad by −begin, −end).
 * Reflect, edge and wrap copy elements several times: dx_i adds up the dy of the middle position and of every pad
 * position that mirrored or repeated x_i — the padding folded back onto x (derived index by index in
 * shaders/layout.wgsl, above pad_fold).
 */
import { check } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { pad as padKernel, padBackward, padBackwardRef, padRef, padShape, type PadMode, type PadSpec } from '../../kernels/layout.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp, type AttrReader } from '../op.js';

export interface PadAttrs {
  mode: PadMode;
  /** ONNX's pads: the begins of the listed axes, then their ends */
  pads: readonly number[];
  /** the padded axes (null: all, in order) */
  axes: readonly number[] | null;
  value: number;
}

const MODES: readonly string[] = ['constant', 'reflect', 'edge', 'wrap'];

/** Begin and end per axis of an input of shape x. */
export function padSpec(a: PadAttrs, x: Shape): PadSpec {
  const axes = (a.axes ?? x.map((_, d) => d)).map((d) => {
    check(Number.isInteger(d) && d >= -x.length && d < x.length, () => `axis ${d} is out of range for rank ${x.length}`);
    return d < 0 ? d + x.length : d;
  });
  check(new Set(axes).size === axes.length, () => `axes [${axes.join(',')}] repeat an axis`);
  check(a.pads.length === 2 * axes.length, () => `${a.pads.length} pads for ${axes.length} axes (need ${2 * axes.length}: the begins, then the ends)`);
  check(a.pads.every((p) => Number.isInteger(p)), () => `pads [${a.pads.join(',')}] must be integers`);
  const begin = x.map(() => 0);
  const end = x.map(() => 0);
  axes.forEach((d, j) => {
    begin[d] = a.pads[j]!;
    end[d] = a.pads[axes.length + j]!;
  });
  return { begin, end, mode: a.mode, value: a.value };
}

function readPadAttrs(r: AttrReader): PadAttrs {
  const mode = r.string('mode', 'constant');
  if (!MODES.includes(mode)) r.fail(`mode '${mode}' is not supported (supported: ${MODES.join(', ')})`);
  if (r.opset < 11) {
    const pads = r.ints('pads');
    if (!pads) r.fail('attribute pads is required');
    return { mode: mode as PadMode, pads: pads!, axes: null, value: r.float('value', 0) };
  }
  const input = (k: number, what: string): number[] | null => {
    if (!r.node.inputs[k]) return null;
    const v = r.constant(k);
    if (v === undefined) r.fail(`${what} '${r.node.inputs[k]}' must be a constant (an initializer, a Constant, or computed from them)`);
    return [...v!];
  };
  const pads = input(1, 'pads');
  if (!pads) r.fail('input pads is required');
  const value = input(2, 'constant_value');
  if (value && value.length !== 1) r.fail(`constant_value must be one number, has ${value.length}`);
  return { mode: mode as PadMode, pads: pads!, axes: input(3, 'axes'), value: value?.[0] ?? 0 };
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Pad = defineOp<PadAttrs>({
  name: 'Pad',
  onnx: { types: ['Pad'], arity: [1, 1], attrInputs: [1, 2, 3], attrs: readPadAttrs },
  shape: ([x], a) => [padShape(x!, padSpec(a, x!))],
  forward: ([x], a, ctx) => ({ outputs: [padKernel(x!, padSpec(a, x!.shape), ctx.name)] }),
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => [padBackward(dy!, padSpec(a, xShape!), xShape!, `grad(${name})`)],
  // Padding only the spatial axes keeps each channel's gradient in its channel.
  keepsChannels: (a, [x]) => {
    const s = padSpec(a, x!);
    return s.begin[0] === 0 && s.end[0] === 0 && s.begin[1] === 0 && s.end[1] === 0;
  },
  reference: {
    forward: ([x], a) => [padRef(x!, padSpec(a, x!.shape))],
    backward: ([dy], [x], _, a) => [padBackwardRef(dy!, padSpec(a, x!.shape), x!.shape)],
  },
  doc: (a) => ({
    forward: {
      constant: `y = x with pads of the constant ${a.value} around it (a negative pad crops).`,
      reflect: 'y = x with pads that mirror it without repeating the border: [a b c d] → [c b | a b c d | c b].',
      edge: 'y = x with pads that repeat its border: [a b c d] → [a a | a b c d | d d].',
      wrap: 'y = x with pads that repeat x: [a b c d] → [c d | a b c d | a b].',
    }[a.mode],
    backward:
      a.mode === 'constant'
        ? 'Each x element is copied once, to its position shifted by the pads; the pads are constants. So dx is dy with the pads cut away.'
        : 'Each y element copies one x element, and some are copied several times, so dx_i = Σ dy_o over every o ' +
          'that copied x_i: the padding folded back onto x, one padded axis at a time.',
    saves: 'nothing but x’s shape.',
  }),
  describe: (a) => `${a.mode} [${a.pads.join(',')}]${a.axes ? ` axes [${a.axes.join(',')}]` : ''}${a.mode === 'constant' && a.value !== 0 ? ` value ${a.value}` : ''}`,
  checks: [
    { name: 'Pad constant 0.5 [2,3,4,5] H 1,2 W 2,0', inputs: () => [random([2, 3, 4, 5], 231)], attrs: { mode: 'constant', pads: [0, 0, 1, 2, 0, 0, 2, 0], axes: null, value: 0.5 } },
    { name: 'Pad constant [3,6] negative pads (crop) −1,2 / 1,−3', inputs: () => [random([3, 6], 232)], attrs: { mode: 'constant', pads: [-1, 2, 1, -3], axes: null, value: 0 } },
    { name: 'Pad reflect [1,2,5,4] H 2,4 W 3,1', inputs: () => [random([1, 2, 5, 4], 233)], attrs: { mode: 'reflect', pads: [0, 0, 2, 3, 0, 0, 4, 1], axes: null, value: 0 } },
    { name: 'Pad edge [2,2,3,4] axes 2,3: 3,1 / 2,2', inputs: () => [random([2, 2, 3, 4], 234)], attrs: { mode: 'edge', pads: [3, 1, 2, 2], axes: [2, -1], value: 0 } },
    { name: 'Pad wrap [2,3,4] axis 1: 4,2 / axis 2: 1,6 (more than once round)', inputs: () => [random([2, 3, 4], 235)], attrs: { mode: 'wrap', pads: [4, 1, 2, 6], axes: [1, 2], value: 0 } },
  ],
});

export function pad(x: Tensor, attrs: PadAttrs, name = 'pad'): Tensor {
  return apply1(Pad, [x], attrs, name);
}
