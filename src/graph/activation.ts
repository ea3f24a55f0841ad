/**
 * Activation functions as ops: y = f(z) element by element, dz = dy · f'(z).
 *
 * An activation is small enough to be a table row — its float64 f and f', whether f' is computed from z or from y,
 * its derivation — plus one case of the WGSL switch in shaders/activation.wgsl. `defineActivation` turns such a row
 * into a whole op (src/graph/op.ts): the element-wise GPU forward and backward, the float64 references, the gradient
 * checks, and what lets the model fuse it into the convolution before it as an epilogue (`Activation`, the op's
 * attributes, carries all of that).
 */
import type { Tensor } from '../gpu/tensor.js';
import { activationForward, IDENTITY, type ActivationFn, type BackwardRuleName } from '../kernels/activation.js';
import { host, type HostTensor } from '../kernels/host.js';
import { Rng } from '../util/rng.js';
import { apply1, defineOp, type AttrReader, type OpCheckCase, type OpDefinition, type OpDoc } from './op.js';

/** One activation function with its parameters bound: the attributes of an activation op, or a conv's epilogue. */
export interface Activation {
  /** the op's name, e.g. 'Relu' */
  readonly op: string;
  /** what the kernels need: the WGSL code, α, β, and whether f' reads z or y */
  readonly fn: ActivationFn;
  /** f(z) in float64 */
  f(z: number): number;
  /** f'(z) in float64, from z and y = f(z) */
  df(z: number, y: number): number;
  readonly doc: OpDoc;
  /** the parameters worth printing, e.g. "0…6" ('' when none) */
  readonly info: string;
  /**
   * In a gradient check only: the interval z is drawn from when it is not [−4, 4) — a function undefined or singular
   * somewhere (Sqrt, Log, Reciprocal). A check of the activation as a conv epilogue keeps the conv's outputs in it.
   */
  readonly checkRange?: readonly [number, number];
}

/** y = z (a convolution without an epilogue). */
export const NO_ACTIVATION: Activation = Object.freeze({
  op: 'Identity',
  fn: IDENTITY,
  f: (z: number) => z,
  df: () => 1,
  doc: { forward: 'y = z.', backward: 'dz = dy.', saves: 'nothing.' },
  info: '',
});

export function isActivation(a: Activation): boolean {
  return a.fn.code !== IDENTITY.code;
}

/** Whether two activations compute the same function (the same code and parameters). */
export function sameActivation(a: Activation, b: Activation): boolean {
  return a.fn.code === b.fn.code && a.fn.alpha === b.fn.alpha && a.fn.beta === b.fn.beta;
}

export interface ActivationSpec<P> {
  name: string;
  onnx?: {
    types: readonly string[];
    /** inputs read as parameters (Clip's min and max from opset 11) */
    attrInputs?: readonly number[];
    params(reader: AttrReader): P;
  };
  /** the NAME of `const ACT_NAME` in shaders/activation.wgsl */
  code: string;
  /** what f' is computed from: the output y (so that a fused conv, which stores only y, can differentiate) or z */
  gradFrom: 'y' | 'z';
  /** the kernel's ACT_ALPHA and ACT_BETA */
  kernelParams(p: P): { alpha: number; beta: number };
  f(z: number, p: P): number;
  df(z: number, y: number, p: P): number;
  doc(p: P): OpDoc;
  info?(p: P): string;
  /**
   * parameter sets to check, the points where f' jumps (check inputs keep away from them), and the interval inputs are
   * drawn from when not [−4, 4) (where f is undefined or singular elsewhere: Sqrt and Log below 0, 1/z at 0)
   */
  checks: readonly { params: P; kinks?: readonly number[]; range?: readonly [number, number] }[];
}

export interface ActivationOp<P> extends OpDefinition<Activation> {
  /** the activation with these parameters (the attributes of this op) */
  with(params: P): Activation;
  /** y = f(x) on the GPU, recorded on the tape */
  apply(x: Tensor, params: P, name?: string): Tensor;
}

/**
 * Inputs in [lo, hi) (default [−4, 4)) at least `gap` away from every kink, so that no centered difference of step
 * h < gap straddles one (where f' jumps, the finite difference would average the two sides).
 */
export function valuesAwayFrom(kinks: readonly number[], n: number, seed: number, range: readonly [number, number] = [-4, 4], gap = 0.05): number[] {
  const rng = new Rng(seed);
  const [lo, hi] = range;
  return Array.from({ length: n }, () => {
    let v = 0;
    do v = lo + (hi - lo) * rng.uniform();
    while (kinks.some((k) => Math.abs(v - k) < gap));
    return v;
  });
}

export function defineActivation<P>(spec: ActivationSpec<P>): ActivationOp<P> {
  const make = (p: P): Activation => {
    const { alpha, beta } = spec.kernelParams(p);
    return Object.freeze({
      op: spec.name,
      fn: Object.freeze({ code: spec.code, alpha, beta, gradFromZ: spec.gradFrom === 'z' }),
      f: (z: number) => spec.f(z, p),
      df: (z: number, y: number) => spec.df(z, y, p),
      doc: spec.doc(p),
      info: spec.info?.(p) ?? '',
    });
  };
  const map = (x: HostTensor, g: (v: number, i: number) => number): HostTensor => host(x.shape, x.data.map(g));
  const checks: OpCheckCase<Activation>[] = spec.checks.map((c, k) => ({
    name: `${spec.name}${spec.info?.(c.params) ? ` ${spec.info(c.params)}` : ''} [2,3,5,4]${c.range ? ` on [${c.range.join(', ')})` : ''}`,
    inputs: () => [host([2, 3, 5, 4], valuesAwayFrom(c.kinks ?? [], 120, 11 + k, c.range))],
    attrs: c.range ? Object.freeze({ ...make(c.params), checkRange: c.range }) : make(c.params),
    h: 1e-3,
  }));
  const op = defineOp<Activation>({
    name: spec.name,
    ...(spec.onnx && {
      onnx: {
        types: spec.onnx.types,
        arity: [1, 1],
        ...(spec.onnx.attrInputs && { attrInputs: spec.onnx.attrInputs }),
        attrs: (r) => make(spec.onnx!.params(r)),
      },
    }),
    shape: ([x]) => [x!],
    forward: ([x], a, ctx) => {
      const y = activationForward(x!, a.fn, ctx.name);
      // The backward reads z (the input) or y (the output), never both.
      return { outputs: [y], saved: ctx.recording ? (a.fn.gradFromZ ? { z: x! } : { y }) : {} };
    },
    backward: ({ dys: [dy], saved, attrs, name, activationGrad }) => [activationGrad(dy!, saved, attrs.fn, `grad(${name})`)],
    // dz = dy · f'(z): where dy is zero, so is dz.
    keepsChannels: true,
    reference: {
      forward: ([x], a) => [map(x!, (z) => a.f(z))],
      backward: ([dy], [x], [y], a, _needs, rule) => [activationDzRef(dy!, x!, y!, a, rule?.activation)],
    },
    doc: (a) => a.doc,
    describe: (a) => a.info,
    epilogue: true,
    checks,
  });
  return Object.assign(op, {
    with: make,
    apply: (x: Tensor, params: P, name?: string) => apply1(op, [x], make(params), name),
  });
}

/**
 * dz of an activation in float64 — dy · f'(z), or the modified rule's (guided backprop: max(dy·f'(z), 0); deconvnet:
 * max(dy, 0)) — the reference of the kernels in shaders/activation_ops.wgsl, for every op that has an activation.
 */
export function activationDzRef(dy: HostTensor, z: HostTensor, y: HostTensor, a: Activation, rule?: BackwardRuleName): HostTensor {
  if (rule === 'deconvnet') return host(dy.shape, dy.data.map((g) => Math.max(g, 0)));
  const dz = host(dy.shape, dy.data.map((g, i) => g * a.df(z.data[i]!, y.data[i]!)));
  return rule === 'guided' ? host(dz.shape, dz.data.map((g) => Math.max(g, 0))) : dz;
}

/** The doc of an activation's backward: dz = dy · f'(z), with f' said in words. */
export function activationBackwardDoc(derivative: string): string {
  return `The function acts on each element alone, so ∂y_j/∂z_i is zero unless i = j, and the chain rule is a product: dz = dy · f'(z), where ${derivative}`;
}
