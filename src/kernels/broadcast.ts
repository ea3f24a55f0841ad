/**
 * Broadcasting binary ops y = a ∘ b (Add, Sub, Mul, Div, Pow), their gradients, and reductions over axes
 * (shaders/broadcast.wgsl, with the strided index spaces of shaders/strides.wgsl and ./strides.ts).
 *
 *   binaryForward      y = a ∘ b over the broadcast shape; a vec4 path when the innermost axis allows it (equal shapes,
 *                      a per-channel scale of an SE block, a bias onto channels-last)
 *   binaryGradient     dy · ∂(a ∘ b)/∂a (or ∂b), summed over the axes that operand was broadcast along
 *   reduceSumTo        Σ of x over the axes where `shape` is 1, times a scale (ReduceSum, ReduceMean)
 *   broadcastTo        x repeated to a larger shape, times a scale (their backward)
 *   reduceMaxTo        max over axes, with the number of ties (ReduceMax), and reduceMaxBackward
 *
 * The float64 references beside them walk the same broadcasts with `forEachPosition`; the ops (src/graph/ops/add.ts,
 * …) supply f and its partial derivatives in float64.
 */
import { PixelpropError, check, fmtShape } from '../gpu/errors.js';
import { defineKernel, type BindingSpec } from '../gpu/kernel.js';
import { shaderSource } from '../gpu/shaders.js';
import { Tensor, sizeOf, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, sameDevice } from './common.js';
import { host, type HostTensor } from './host.js';
import {
  alignRank,
  broadcastShape,
  broadcastStrides,
  collapse,
  contiguousStrides,
  forEachPosition,
  reductionSpaces,
  rankConstants,
  stridesUniform,
  type IndexSpace,
} from './strides.js';

/** A binary op, by the NAME of `const BIN_NAME` in shaders/broadcast.wgsl. */
export type BinaryCode = 'ADD' | 'SUB' | 'MUL' | 'DIV' | 'POW';

const shader = ['common', 'strides', 'broadcast'];
const constants = { WG: ELEMENTWISE_WG };
const params = { n: 'u32', inner_size: 'u32', scale: 'f32' } as const;
/** A kernel of this family: its own bindings, and the strided layout every one of them reads. */
const kernel = <B extends Record<string, BindingSpec>>(entry: string, bindings: B) =>
  defineKernel({ shader, entry, constants, params, bindings: { ...bindings, walk: 'uniform' as const } });

const kernels = {
  forward: kernel('binary_forward', { a: 'read', b: 'read', out: 'read_write' }),
  forward4: kernel('binary_forward4', { a4: 'read', b4: 'read', out4: 'read_write' }),
  forward4SplatA: kernel('binary_forward4_splat_a', { a: 'read', b4: 'read', out4: 'read_write' }),
  forward4SplatB: kernel('binary_forward4_splat_b', { a4: 'read', b: 'read', out4: 'read_write' }),
  grad: kernel('binary_grad', { dy: 'read', a: 'read?', b: 'read?', out: 'read_write' }),
  grad4: kernel('binary_grad4', { dy4: 'read', a4: 'read?', b4: 'read?', out4: 'read_write' }),
  grad4SplatA: kernel('binary_grad4_splat_a', { dy4: 'read', a: 'read?', b4: 'read?', out4: 'read_write' }),
  grad4SplatB: kernel('binary_grad4_splat_b', { dy4: 'read', a4: 'read?', b: 'read?', out4: 'read_write' }),
  reduce: kernel('reduce_to_shape', { dy: 'read', a: 'read?', b: 'read?', out: 'read_write' }),
  reduce4: kernel('reduce_to_shape4', { dy4: 'read', out: 'read_write' }),
  reduce4VecB: kernel('reduce_to_shape4_vec_b', { dy4: 'read', a: 'read?', b4: 'read?', out: 'read_write' }),
  reduce4VecA: kernel('reduce_to_shape4_vec_a', { dy4: 'read', a4: 'read?', b: 'read?', out: 'read_write' }),
  broadcastTo: kernel('broadcast_to', { a: 'read', out: 'read_write' }),
  reduceMax: kernel('reduce_max', { x: 'read', out: 'read_write', count_out: 'read_write' }),
  reduceMaxBackward: kernel('reduce_max_backward', { x: 'read', y: 'read', dy: 'read', count: 'read', out: 'read_write' }),
};

let codes: Map<string, number> | null = null;
/** The override constant OP for a binary op (or 'NONE': a plain sum), read from the shader's `const BIN_…`. */
function opCode(code: BinaryCode | 'NONE'): number {
  codes ??= new Map([...shaderSource('broadcast').matchAll(/const\s+BIN_(\w+)\s*:\s*u32\s*=\s*(\d+)u?\s*;/g)].map((m) => [m[1]!, Number(m[2])]));
  const n = codes.get(code);
  if (n === undefined) throw new PixelpropError(`binary op BIN_${code} is not defined in shaders/broadcast.wgsl`);
  return n;
}

/**
 * Invocations per workgroup of a reduction with `terms` terms per output: a power of two (the tree halves it) between
 * 32 and 256, enough to cover the terms once, so that summing 7 terms does not keep 256 invocations waiting.
 */
function reductionWorkgroup(terms: number): number {
  let wg = 32;
  while (wg < terms && wg < ELEMENTWISE_WG) wg *= 2;
  return wg;
}

/** How a vec4 entry point may walk `space`: 'vec' operands step by 1 along the innermost axis, 'splat' ones by 0. */
function vec4Plan(space: IndexSpace, operands: readonly number[]): ('vec' | 'splat')[] | null {
  const last = space.dims.length - 1;
  if (last < 0 || space.dims[last]! % 4 !== 0) return null;
  const kinds = operands.map((t) => (space.strides[t]![last] === 1 ? 'vec' : space.strides[t]![last] === 0 ? 'splat' : null));
  return kinds.every((k) => k !== null) ? (kinds as ('vec' | 'splat')[]) : null;
}

// ---- forward --------------------------------------------------------------------------------------------------------

/** The collapsed walk over the broadcast shape of a and b (tensor 0: a, 1: b). */
function binarySpace(aShape: Shape, bShape: Shape, what: string): { shape: number[]; space: IndexSpace } {
  const shape = broadcastShape(aShape, bShape, what);
  return { shape, space: collapse({ dims: shape, strides: [broadcastStrides(aShape, shape), broadcastStrides(bShape, shape)] }) };
}

/** y = a ∘ b with numpy broadcasting. */
export function binaryForward(code: BinaryCode, a: Tensor, b: Tensor, name = code.toLowerCase()): Tensor {
  const gpu = sameDevice([a, b], name);
  const { shape, space } = binarySpace(a.shape, b.shape, name);
  const y = Tensor.empty(gpu, shape, name);
  const walk = gpu.uniform(stridesUniform(space));
  const c = { OP: opCode(code), ...rankConstants(space) };
  const plan = vec4Plan(space, [0, 1]);
  if (plan) {
    const n = y.size / 4;
    const d = { params: { n, inner_size: 1, scale: 1 }, grid: { threads: n }, constants: c };
    if (plan[0] === 'vec' && plan[1] === 'vec') kernels.forward4.dispatch(gpu, { ...d, bind: { a4: a, b4: b, out4: y, walk } });
    else if (plan[0] === 'splat') kernels.forward4SplatA.dispatch(gpu, { ...d, bind: { a, b4: b, out4: y, walk } });
    else kernels.forward4SplatB.dispatch(gpu, { ...d, bind: { a4: a, b, out4: y, walk } });
  } else {
    kernels.forward.dispatch(gpu, { bind: { a, b, out: y, walk }, params: { n: y.size, inner_size: 1, scale: 1 }, grid: { threads: y.size }, constants: c });
  }
  return y;
}

// ---- backward -------------------------------------------------------------------------------------------------------

/**
 * The gradient of operand `wrt` (0: a, 1: b) of y = a ∘ b: dy · ∂(a ∘ b)/∂operand, summed over the axes the operand
 * was broadcast along, in the operand's shape. `a` and `b` are the operands' values where the derivative reads them
 * (null where it does not: Add and Sub read neither); their shapes are always given.
 */
export function binaryGradient(
  code: BinaryCode,
  wrt: 0 | 1,
  dy: Tensor,
  operands: { a: Tensor | null; b: Tensor | null; aShape: Shape; bShape: Shape },
  name = `${code.toLowerCase()}.d${wrt === 0 ? 'a' : 'b'}`,
): Tensor {
  const { a, b, aShape, bShape } = operands;
  const gpu = dy.gpu;
  const shape = broadcastShape(aShape, bShape, name);
  check(
    shape.length === dy.shape.length && shape.every((d, k) => d === dy.shape[k]),
    () => `${name}: gradient ${fmtShape(dy.shape)} does not match the result ${fmtShape(shape)}`,
  );
  const target = wrt === 0 ? aShape : bShape;
  const strides = [broadcastStrides(aShape, shape), broadcastStrides(bShape, shape), contiguousStrides(shape)];
  const c = { OP: opCode(code), WRT: wrt };
  const operandBind = { a: a ?? null, b: b ?? null };
  if (sizeOf(target) === dy.size) {
    // The operand has the result's shape: one term per element, no sum.
    if (code === 'ADD') return dy.retain();
    const space = collapse({ dims: shape, strides });
    const walk = gpu.uniform(stridesUniform(space));
    const out = Tensor.empty(gpu, target, name);
    const plan = vec4Plan(space, [0, 1]);
    const elementwise = { ...c, ...rankConstants(space) };
    if (plan) {
      const n = out.size / 4;
      const d = { params: { n, inner_size: 1, scale: 1 }, grid: { threads: n }, constants: elementwise };
      if (plan[0] === 'splat') kernels.grad4SplatA.dispatch(gpu, { ...d, bind: { dy4: dy, a: operandBind.a, b4: operandBind.b, out4: out, walk } });
      else if (plan[1] === 'splat') kernels.grad4SplatB.dispatch(gpu, { ...d, bind: { dy4: dy, a4: operandBind.a, b: operandBind.b, out4: out, walk } });
      else kernels.grad4.dispatch(gpu, { ...d, bind: { dy4: dy, a4: operandBind.a, b4: operandBind.b, out4: out, walk } });
    } else {
      kernels.grad.dispatch(gpu, { bind: { dy, ...operandBind, out, walk }, params: { n: out.size, inner_size: 1, scale: 1 }, grid: { threads: out.size }, constants: elementwise });
    }
    return out;
  }
  return reduce(dy, target, strides, 1, c, operandBind, { a: a !== null, b: b !== null }, name);
}

/**
 * Encodes reduce_to_shape: out (of `target`, aligned to dy's rank) = scale · Σ over the axes where target is 1 of
 * dy · ∂f/∂operand (of dy alone for OP NONE, Add and Sub). `reads` says which operands the derivative reads.
 */
function reduce(
  dy: Tensor,
  target: Shape,
  strides: number[][],
  scale: number,
  c: { OP: number; WRT: number },
  operands: { a: Tensor | null; b: Tensor | null },
  reads: { a: boolean; b: boolean },
  name: string,
): Tensor {
  const aligned = alignRank(target, dy.shape.length);
  const { outer, inner } = reductionSpaces(dy.shape, aligned, strides);
  const out = Tensor.empty(dy.gpu, target, name);
  const terms = sizeOf(inner.dims);
  const walk = dy.gpu.uniform(stridesUniform(outer, inner));
  const ranks = rankConstants(outer, inner);
  // 4 terms per load when dy walks the one inner axis contiguously, the reduced operand is constant along it, and the
  // other operand, if the derivative reads it, is contiguous too.
  const stride = (t: number): number | undefined => (inner.dims.length === 1 && inner.dims[0]! % 4 === 0 ? inner.strides[t]![0] : undefined);
  const other = c.WRT === 0 ? 1 : 0;
  const otherRead = other === 0 ? reads.a : reads.b;
  const vec4 = stride(2) === 1 && (!otherRead || stride(other) === 1) && stride(c.WRT) === 0;
  const dispatch = (n: number) => ({
    params: { n: out.size, inner_size: n, scale },
    grid: dy.gpu.grid(out.size),
    constants: { ...c, ...ranks, WG: reductionWorkgroup(n) },
  });
  if (vec4 && !reads.a && !reads.b) {
    kernels.reduce4.dispatch(dy.gpu, { bind: { dy4: dy, out, walk }, ...dispatch(terms / 4) });
  } else if (vec4 && c.WRT === 0) {
    kernels.reduce4VecB.dispatch(dy.gpu, { bind: { dy4: dy, a: operands.a, b4: operands.b, out, walk }, ...dispatch(terms / 4) });
  } else if (vec4) {
    kernels.reduce4VecA.dispatch(dy.gpu, { bind: { dy4: dy, a4: operands.a, b: operands.b, out, walk }, ...dispatch(terms / 4) });
  } else {
    kernels.reduce.dispatch(dy.gpu, { bind: { dy, ...operands, out, walk }, ...dispatch(terms) });
  }
  return out;
}

// ---- reductions over axes -------------------------------------------------------------------------------------------

/** `shape` is x's shape with 1 along the reduced axes (keepdims form, the same rank as x). */
function checkReduction(x: Shape, shape: Shape, what: string): void {
  check(
    shape.length === x.length && shape.every((d, k) => d === x[k] || d === 1),
    () => `${what}: ${fmtShape(shape)} is not ${fmtShape(x)} with some axes reduced to 1`,
  );
}

/** scale · Σ of x over the axes where `shape` (x's rank, keepdims) is 1: ReduceSum (scale 1), ReduceMean (1/count). */
export function reduceSumTo(x: Tensor, shape: Shape, scale = 1, name = 'reduce_sum'): Tensor {
  checkReduction(x.shape, shape, name);
  // Tensor 2 is the one summed (the gradient slot of the binary ops' reduction, whose term is dy itself with OP NONE).
  const unused = x.shape.map(() => 0);
  return reduce(x, shape, [unused, unused, contiguousStrides(x.shape)], scale, { OP: opCode('NONE'), WRT: 0 }, { a: null, b: null }, { a: false, b: false }, name);
}

/** scale · x repeated to `shape` (x's shape broadcasts to it): the backward of reduceSumTo. */
export function broadcastTo(x: Tensor, shape: Shape, scale = 1, name = 'broadcast'): Tensor {
  const space = collapse({ dims: [...shape], strides: [broadcastStrides(x.shape, shape)] });
  const out = Tensor.empty(x.gpu, shape, name);
  kernels.broadcastTo.dispatch(x.gpu, {
    bind: { a: x, out, walk: x.gpu.uniform(stridesUniform(space)) },
    params: { n: out.size, inner_size: 1, scale },
    grid: { threads: out.size },
    constants: rankConstants(space),
  });
  return out;
}

/** max of x over the axes where `shape` (keepdims) is 1, and per output how many terms reached it. */
export function reduceMaxTo(x: Tensor, shape: Shape, name = 'reduce_max'): { y: Tensor; count: Tensor } {
  checkReduction(x.shape, shape, name);
  const { outer, inner } = reductionSpaces(x.shape, shape, [contiguousStrides(x.shape)]);
  const y = Tensor.empty(x.gpu, shape, name);
  const count = Tensor.empty(x.gpu, shape, `${name}.count`);
  const terms = sizeOf(inner.dims);
  kernels.reduceMax.dispatch(x.gpu, {
    bind: { x, out: y, count_out: count, walk: x.gpu.uniform(stridesUniform(outer, inner)) },
    params: { n: y.size, inner_size: terms, scale: 1 },
    grid: x.gpu.grid(y.size),
    constants: { ...rankConstants(outer, inner), WG: reductionWorkgroup(terms) },
  });
  return { y, count };
}

/** dx = dy / count where x reached the max y of its window, else 0 (ties share the gradient evenly). */
export function reduceMaxBackward(dy: Tensor, x: Tensor, y: Tensor, count: Tensor, name = 'reduce_max.dx'): Tensor {
  checkReduction(x.shape, y.shape, name);
  const space = collapse({ dims: [...x.shape], strides: [broadcastStrides(y.shape, x.shape)] });
  const dx = Tensor.empty(x.gpu, x.shape, name);
  kernels.reduceMaxBackward.dispatch(x.gpu, {
    bind: { x, y, dy, count, out: dx, walk: x.gpu.uniform(stridesUniform(space)) },
    params: { n: dx.size, inner_size: 1, scale: 1 },
    grid: { threads: dx.size },
    constants: rankConstants(space),
  });
  return dx;
}

// ---- float64 references ---------------------------------------------------------------------------------------------

/** y = f(a, b) over the broadcast shape, in float64. */
export function binaryRef(a: HostTensor, b: HostTensor, f: (a: number, b: number) => number): HostTensor {
  const shape = broadcastShape(a.shape, b.shape, 'binary reference');
  const y = host(shape);
  forEachPosition({ dims: shape, strides: [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)] }, (i, [oa, ob]) => {
    y.data[i] = f(a.data[oa!]!, b.data[ob!]!);
  });
  return y;
}

/**
 * The gradient of operand `wrt` in float64, as the definition says: every position i of the result adds
 * dy_i · ∂f/∂operand(a, b) to the element of the operand it read.
 */
export function binaryGradientRef(
  dy: HostTensor,
  a: HostTensor,
  b: HostTensor,
  wrt: 0 | 1,
  partial: (a: number, b: number) => number,
): HostTensor {
  const shape = broadcastShape(a.shape, b.shape, 'binary gradient reference');
  const grad = host(wrt === 0 ? a.shape : b.shape);
  forEachPosition({ dims: shape, strides: [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)] }, (i, [oa, ob]) => {
    grad.data[wrt === 0 ? oa! : ob!]! += dy.data[i]! * partial(a.data[oa!]!, b.data[ob!]!);
  });
  return grad;
}

/** scale · Σ of x over the axes where `shape` (keepdims) is 1. */
export function reduceSumToRef(x: HostTensor, shape: Shape, scale = 1): HostTensor {
  checkReduction(x.shape, shape, 'reduce sum reference');
  const out = host(shape);
  forEachPosition({ dims: x.shape, strides: [broadcastStrides(shape, x.shape)] }, (i, [o]) => (out.data[o!]! += x.data[i]!));
  for (let o = 0; o < out.data.length; o++) out.data[o]! *= scale;
  return out;
}

/** scale · x repeated to `shape`. */
export function broadcastToRef(x: HostTensor, shape: Shape, scale = 1): HostTensor {
  const out = host(shape);
  forEachPosition({ dims: [...shape], strides: [broadcastStrides(x.shape, shape)] }, (i, [o]) => (out.data[i] = scale * x.data[o!]!));
  return out;
}

/** max of x over the axes where `shape` (keepdims) is 1, with the count of ties. */
export function reduceMaxToRef(x: HostTensor, shape: Shape): { y: HostTensor; count: HostTensor } {
  checkReduction(x.shape, shape, 'reduce max reference');
  const y = host(shape, new Float64Array(sizeOf(shape)).fill(-Infinity));
  const count = host(shape);
  const space = { dims: [...x.shape], strides: [broadcastStrides(shape, x.shape)] };
  forEachPosition(space, (i, [o]) => (y.data[o!] = Math.max(y.data[o!]!, x.data[i]!)));
  forEachPosition(space, (i, [o]) => (count.data[o!]! += x.data[i] === y.data[o!] ? 1 : 0));
  return { y, count };
}

/** dx_j = dy_o / (ties of o) where x_j is the max y_o of its window, else 0. */
export function reduceMaxBackwardRef(dy: HostTensor, x: HostTensor, y: HostTensor): HostTensor {
  const { count } = reduceMaxToRef(x, y.shape);
  const dx = host(x.shape);
  forEachPosition({ dims: [...x.shape], strides: [broadcastStrides(y.shape, x.shape)] }, (i, [o]) => {
    dx.data[i] = x.data[i] === y.data[o!] ? dy.data[o!]! / count.data[o!]! : 0;
  });
  return dx;
}
