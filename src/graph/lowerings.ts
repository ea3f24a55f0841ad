/**
 * Lowerings: how each ONNX op becomes a Step of the model (src/graph/model.ts). A lowering reads and checks the node's
 * attributes once, and from that one reading builds the four faces of the step:
 *
 *   shape             the output shapes for given input shapes (run at load time for batch 1, and per batch)
 *   run               the engine ops on the GPU, recorded on the active tape
 *   reference         the same computation in float64 on the CPU, from the kernels' *Ref functions
 *   referenceBackward the chain rule through the step in float64, from the kernels' backward references
 *
 * Keeping the GPU and CPU faces side by side means an attribute is resolved in one place: the CPU path ("the
 * float64 model") cannot drift from what the GPU runs, so comparing the two checks the kernels, not two readings of
 * the file.
 */
import type { Gpu } from '../gpu/device.js';
import { PixelpropError, check, fmtShape } from '../gpu/errors.js';
import { sizeOf, type Shape, type Tensor } from '../gpu/tensor.js';
import { concatBackwardRef, concatLayout, concatRef } from '../kernels/concat.js';
import {
  conv2dBackwardBiasRef,
  conv2dBackwardInputRef,
  conv2dBackwardWeightRef,
  conv2dRef,
  conv2dShape,
  type Conv2dAttrsInput,
} from '../kernels/conv2d.js';
import { addRef } from '../kernels/elementwise.js';
import { gemmBackwardRef, gemmRef, gemmShape, matmulBackwardRef, matmulRef, matmulShape, type GemmAttrs } from '../kernels/gemm.js';
import { host, type HostTensor } from '../kernels/host.js';
import {
  averagePoolBackwardRef,
  averagePoolRef,
  globalAveragePoolBackwardRef,
  globalAveragePoolRef,
  maxPoolBackwardRef,
  maxPoolRef,
  poolGeometry,
  poolOutputShape,
  type AveragePoolAttributes,
} from '../kernels/pool.js';
import { reluBackwardRef, reluRef } from '../kernels/relu.js';
import { softmaxBackwardRef, softmaxRef } from '../kernels/softmax.js';
import type { AttrValue, OnnxNode } from './onnx/ir.js';
import { concat } from './ops/concat.js';
import { conv2d } from './ops/conv.js';
import { add } from './ops/elementwise.js';
import { gemm, matmul } from './ops/gemm.js';
import { averagePool, globalAveragePool, maxPool } from './ops/pool.js';
import { relu } from './ops/relu.js';
import { reshape } from './ops/shape.js';
import { softmax } from './ops/softmax.js';

/** The four faces of a lowered node (see the file comment). Inputs are in the node's order, omitted ones dropped. */
export interface StepFunctions {
  shape(inputs: Shape[]): Shape[];
  run(inputs: Tensor[]): Tensor[];
  reference(inputs: HostTensor[]): HostTensor[];
  /**
   * ∂L/∂input for each input where `needs` says so (null elsewhere), from ∂L/∂output (`dys`) and the forward's
   * inputs and outputs.
   */
  referenceBackward(dys: HostTensor[], inputs: HostTensor[], outputs: HostTensor[], needs: boolean[]): (HostTensor | null)[];
  /** Conv only: its attributes for given input and weight shapes (the model fuses Concats of convs with them) */
  convAttrs?(x: Shape, w: Shape): Conv2dAttrsInput;
}

/** Values known on the CPU at load time: int64 shapes (Reshape's target) and other constants the ops read as numbers. */
export type IntConstants = Map<string, { dims: number[]; data: number[] }>;

export interface LowerContext {
  node: OnnxNode;
  ints: IntConstants;
  opset: number;
  declaredBatch: number | null;
  fusedRelu: boolean;
  /** whether a value (by its name in the file) is a float constant: an initializer or a Constant node */
  isConstant(name: string): boolean;
  /** a [m, 1] column of ones on the GPU, owned and cached by the model (do not dispose) */
  ones(gpu: Gpu, m: number): Tensor;
}

export type Lowering = (ctx: LowerContext) => StepFunctions;

// ---------------------------------------------------------------------------------------------------------------
// Attribute readers: each names the node and attribute when a value has the wrong type.

export function describe(node: OnnxNode): string {
  return `node '${node.name}' (${node.opType})`;
}

function intAttr(node: OnnxNode, name: string, fallback: number): number {
  const v = node.attrs[name];
  if (v === undefined) return fallback;
  check(typeof v === 'number' && Number.isInteger(v), () => `${describe(node)}: attribute ${name} must be an integer`);
  return v;
}

function floatAttr(node: OnnxNode, name: string, fallback: number): number {
  const v = node.attrs[name];
  if (v === undefined) return fallback;
  check(typeof v === 'number', () => `${describe(node)}: attribute ${name} must be a number`);
  return v;
}

function intsAttr(node: OnnxNode, name: string): number[] | undefined {
  const v: AttrValue | undefined = node.attrs[name];
  if (v === undefined) return undefined;
  check(Array.isArray(v) && v.every((x) => typeof x === 'number'), () => `${describe(node)}: attribute ${name} must be a list of integers`);
  return v as number[];
}

function stringAttr(node: OnnxNode, name: string, fallback: string): string {
  const v = node.attrs[name];
  if (v === undefined) return fallback;
  check(typeof v === 'string', () => `${describe(node)}: attribute ${name} must be a string`);
  return v;
}

/**
 * ONNX auto_pad for a 2-D window: NOTSET keeps `pads`; VALID means no padding; SAME_UPPER / SAME_LOWER pad so that
 * out = ceil(in / stride), the odd pixel at the end (UPPER) or the beginning (LOWER).
 */
function resolvePads(node: OnnxNode, inHW: [number, number], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): number[] {
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return intsAttr(node, 'pads') ?? [0, 0, 0, 0];
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  check(autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER', () => `${describe(node)}: auto_pad '${autoPad}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  const pads = [0, 0, 0, 0];
  for (const axis of [0, 1]) {
    const out = Math.ceil(inHW[axis]! / strides[axis]!);
    const total = Math.max(0, (out - 1) * strides[axis]! + (kernel[axis]! - 1) * dilations[axis]! + 1 - inHW[axis]!);
    const small = Math.floor(total / 2);
    pads[axis] = autoPad === 'SAME_UPPER' ? small : total - small;
    pads[axis + 2] = total - pads[axis]!;
  }
  return pads;
}

function twoD(node: OnnxNode, name: string, v: number[] | undefined, fallback: number[], length = 2): number[] {
  if (v === undefined) return fallback;
  check(v.length === length, () => `${describe(node)}: ${name} ${fmtShape(v)} must have ${length} values (only 2-D is supported)`);
  return v;
}

function convAttrs(node: OnnxNode, x: Shape, w: Shape) {
  const kernel = intsAttr(node, 'kernel_shape');
  if (kernel) {
    check(
      kernel.length === 2 && kernel[0] === w[2] && kernel[1] === w[3],
      () => `${describe(node)}: kernel_shape ${fmtShape(kernel)} does not match the weights ${fmtShape(w)}`,
    );
  }
  const strides = twoD(node, 'strides', intsAttr(node, 'strides'), [1, 1]);
  const dilations = twoD(node, 'dilations', intsAttr(node, 'dilations'), [1, 1]);
  const pads = twoD(node, 'pads', resolvePads(node, [x[2]!, x[3]!], [w[2]!, w[3]!], strides, dilations), [0, 0, 0, 0], 4);
  return {
    strides: strides as [number, number],
    dilations: dilations as [number, number],
    pads: pads as [number, number, number, number],
    group: intAttr(node, 'group', 1),
  };
}

function poolAttrs(node: OnnxNode, x: Shape): AveragePoolAttributes {
  const kernelShape = intsAttr(node, 'kernel_shape');
  check(kernelShape !== undefined, () => `${describe(node)}: kernel_shape is required`);
  check(kernelShape.length === 2, () => `${describe(node)}: kernel_shape ${fmtShape(kernelShape)} is not 2-D (only 2-D pooling is supported)`);
  check(intAttr(node, 'storage_order', 0) === 0, () => `${describe(node)}: storage_order 1 (column-major indices) is not supported`);
  const strides = twoD(node, 'strides', intsAttr(node, 'strides'), [1, 1]);
  const dilations = twoD(node, 'dilations', intsAttr(node, 'dilations'), [1, 1]);
  return {
    kernelShape,
    strides,
    dilations,
    pads: resolvePads(node, [x[2]!, x[3]!], kernelShape, strides, dilations),
    ceilMode: intAttr(node, 'ceil_mode', 0),
    countIncludePad: intAttr(node, 'count_include_pad', 0),
  };
}

/** Errors from shape rules name the node they happened in. */
export function inNode<T>(node: OnnxNode, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PixelpropError && !e.message.startsWith('node ')) throw new PixelpropError(`${describe(node)}: ${e.message}`);
    throw e;
  }
}

/** Reshape's target: 0 copies the input's dim (unless allowzero), −1 takes what is left. */
function reshapeTarget(ctx: LowerContext, x: Shape): number[] {
  const { node } = ctx;
  const spec = ctx.ints.get(node.inputs[1]!);
  check(spec !== undefined, () => `${describe(node)}: the target shape '${node.inputs[1]}' must be an initializer or a Constant`);
  const allowZero = intAttr(node, 'allowzero', 0) === 1;
  const target = spec.data.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
  check(target.filter((d) => d === -1).length <= 1, () => `${describe(node)}: shape ${fmtShape(spec.data)} has more than one -1`);
  // A shape frozen at export time with the declared batch — the zoo's [1, 1000], or PyTorch's x.view(1, -1) traced at
  // batch 1 — follows the batch actually given, so that the images of a batch stay apart: pixelprop runs a model
  // declared for batch B on any batch (model.ts), and a Reshape to [B, ...] is read as "per image". Strict ONNX would
  // merge a batch of 3 into one row [1, 3K] here; nothing downstream of a classifier's flatten means that.
  if (ctx.declaredBatch !== null && target[0] === ctx.declaredBatch && x[0] !== ctx.declaredBatch) {
    const perItem = sizeOf(x) / x[0]!;
    const fits = target.includes(-1) ? target.indexOf(-1) > 0 : sizeOf(target) === perItem * ctx.declaredBatch;
    if (fits) target[0] = x[0]!;
  }
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = sizeOf(x);
  const out = target.map((d) => (d === -1 ? total / known : d));
  check(
    out.every((d) => Number.isInteger(d) && d > 0) && sizeOf(out) === total,
    () => `${describe(node)}: cannot reshape ${fmtShape(x)} to ${fmtShape(spec.data)}`,
  );
  return out;
}

/** Softmax's coercion to [rows, cols]: opset < 13 flattens at `axis` (default 1); opset ≥ 13 is one axis (default −1). */
function softmaxRows(ctx: LowerContext, x: Shape): [number, number] {
  const rank = x.length;
  const legacy = ctx.opset < 13;
  let axis = intAttr(ctx.node, 'axis', legacy ? 1 : -1);
  if (axis < 0) axis += rank;
  check(axis >= 0 && axis < rank, () => `${describe(ctx.node)}: axis out of range for ${fmtShape(x)}`);
  check(legacy || axis === rank - 1, () => `${describe(ctx.node)}: Softmax over axis ${axis} of ${fmtShape(x)} is not supported (only the last axis)`);
  return [sizeOf(x.slice(0, axis)), sizeOf(x.slice(axis))];
}

function flattenShape(ctx: LowerContext, x: Shape): [number, number] {
  let axis = intAttr(ctx.node, 'axis', 1);
  if (axis < 0) axis += x.length;
  check(axis >= 0 && axis <= x.length, () => `${describe(ctx.node)}: axis out of range for ${fmtShape(x)}`);
  return [sizeOf(x.slice(0, axis)), sizeOf(x.slice(axis))];
}

function gemmAttrs(node: OnnxNode): GemmAttrs {
  return {
    alpha: floatAttr(node, 'alpha', 1),
    beta: floatAttr(node, 'beta', 1),
    transA: intAttr(node, 'transA', 0),
    transB: intAttr(node, 'transB', 0),
  };
}

/**
 * How Add combines its operands: 'same' for equal shapes, or `{ rows, cols }` when the second operand is a constant
 * whose shape (leading 1s aside) is a suffix of the first's — a bias [K] onto [N,K] — seen as a row [1, cols]
 * added to each of the `rows` rows of the first operand viewed as [rows, cols]. Any other broadcast is refused.
 */
function addLayout(ctx: LowerContext, a: Shape, b: Shape): 'same' | { rows: number; cols: number } {
  if (a.length === b.length && a.every((d, i) => d === b[i])) return 'same';
  const first = b.findIndex((d) => d !== 1);
  const core = first < 0 ? [] : b.slice(first);
  const suffix = b.length <= a.length && core.every((d, i) => d === a[a.length - core.length + i]);
  check(
    suffix && ctx.isConstant(ctx.node.inputs[1]!),
    () =>
      `${describe(ctx.node)}: Add of ${fmtShape(a)} and ${fmtShape(b)} is not supported (equal shapes, or a constant second ` +
      `operand whose shape is a suffix of the first's, such as a bias [K] onto [N,K])`,
  );
  const cols = sizeOf(core);
  return { rows: sizeOf(a) / cols, cols };
}

/** The same float64 values seen with another shape (a reshape costs no copy on the CPU either). */
function view(t: HostTensor, shape: Shape): HostTensor {
  return { shape: [...shape], data: t.data };
}

/** A column of m ones, for broadcasting as an outer product (see Add). */
function onesRef(m: number): HostTensor {
  return host([m, 1], new Float64Array(m).fill(1));
}

/** Keeps the gradients the caller asked for. */
function only(needs: boolean[], grads: (HostTensor | null)[]): (HostTensor | null)[] {
  return needs.map((need, i) => (need ? (grads[i] ?? null) : null));
}

const single = (s: Shape): Shape[] => [s];

/**
 * How many inputs each op takes (omitted optional inputs and Reshape's shape not counted), checked before lowering:
 * the faces above index their inputs by position, and a Conv without its weights must be refused with its name,
 * not fail somewhere inside a kernel.
 */
const INPUT_COUNTS: Record<string, readonly [number, number]> = {
  Conv: [2, 3],
  Relu: [1, 1],
  MaxPool: [1, 1],
  AveragePool: [1, 1],
  GlobalAveragePool: [1, 1],
  Concat: [1, Infinity],
  Reshape: [1, 1],
  Flatten: [1, 1],
  Gemm: [2, 3],
  MatMul: [2, 2],
  Add: [2, 2],
  Softmax: [1, 1],
};

export function checkInputCount(node: OnnxNode, count: number): void {
  const [min, max] = INPUT_COUNTS[node.opType] ?? [0, Infinity];
  const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} or ${max}`;
  check(count >= min && count <= max, () => `${describe(node)}: has ${count} input(s), the op takes ${want}`);
}

export const LOWERINGS: Record<string, Lowering> = {
  Conv: (ctx) => {
    const attrsOf = (x: Shape, w: Shape) => convAttrs(ctx.node, x, w);
    return {
      convAttrs: attrsOf,
      shape: ([x, w, b]) => single(conv2dShape(x!, w!, attrsOf(x!, w!), b ?? null)),
      run: ([x, w, b]) => [conv2d(x!, w!, b ?? null, attrsOf(x!.shape, w!.shape), { relu: ctx.fusedRelu, name: ctx.node.name })],
      reference: ([x, w, b]) => {
        const z = conv2dRef(x!, w!, b ?? null, attrsOf(x!.shape, w!.shape));
        return [ctx.fusedRelu ? reluRef(z) : z];
      },
      // With a fused ReLU, y = relu(z) and the chain rule passes the ReLU first: dz = dy · [y > 0]. Then the conv's
      // gradients of src/kernels/conv2d.ts: dx = conv_transpose(dz, w), dw = correlate(dz, x), db = Σ dz.
      referenceBackward: ([dy], [x, w, b], [y], needs) => {
        const attrs = attrsOf(x!.shape, w!.shape);
        const dz = ctx.fusedRelu ? reluBackwardRef(dy!, y!) : dy!;
        return [
          needs[0] ? conv2dBackwardInputRef(dz, w!, x!.shape, attrs) : null,
          needs[1] ? conv2dBackwardWeightRef(dz, x!, w!.shape, attrs) : null,
          ...(b ? [needs[2] ? conv2dBackwardBiasRef(dz) : null] : []),
        ];
      },
    };
  },
  Relu: (ctx) => ({
    shape: ([x]) => single(x!),
    run: ([x]) => [relu(x!, ctx.node.name)],
    reference: ([x]) => [reluRef(x!)],
    referenceBackward: ([dy], _, [y], needs) => only(needs, [reluBackwardRef(dy!, y!)]),
  }),
  MaxPool: (ctx) => {
    check(!ctx.node.outputs[1], () => `${describe(ctx.node)}: the Indices output of MaxPool is not supported`);
    return {
      shape: ([x]) => single(poolOutputShape(poolGeometry('MaxPool', x!, poolAttrs(ctx.node, x!)))),
      run: ([x]) => [maxPool(x!, poolAttrs(ctx.node, x!.shape), ctx.node.name)],
      reference: ([x]) => [maxPoolRef(x!, poolAttrs(ctx.node, x!.shape))],
      referenceBackward: ([dy], [x], _, needs) => only(needs, [maxPoolBackwardRef(dy!, x!, poolAttrs(ctx.node, x!.shape))]),
    };
  },
  AveragePool: (ctx) => ({
    shape: ([x]) => single(poolOutputShape(poolGeometry('AveragePool', x!, poolAttrs(ctx.node, x!)))),
    run: ([x]) => [averagePool(x!, poolAttrs(ctx.node, x!.shape), ctx.node.name)],
    reference: ([x]) => [averagePoolRef(x!, poolAttrs(ctx.node, x!.shape))],
    referenceBackward: ([dy], [x], _, needs) => only(needs, [averagePoolBackwardRef(dy!, x!.shape, poolAttrs(ctx.node, x!.shape))]),
  }),
  GlobalAveragePool: (ctx) => ({
    shape: ([x]) => {
      check(x!.length === 4, () => `${describe(ctx.node)}: input ${fmtShape(x!)} is not NCHW`);
      return single([x![0]!, x![1]!, 1, 1]);
    },
    run: ([x]) => [globalAveragePool(x!, ctx.node.name)],
    reference: ([x]) => [globalAveragePoolRef(x!)],
    referenceBackward: ([dy], [x], _, needs) => only(needs, [globalAveragePoolBackwardRef(dy!, x!.shape)]),
  }),
  Concat: (ctx) => {
    const axis = ctx.node.attrs.axis;
    check(typeof axis === 'number', () => `${describe(ctx.node)}: attribute axis is required`);
    return {
      shape: (xs) => single(concatLayout(xs, axis).shape),
      run: (xs) => [concat(xs, axis, ctx.node.name)],
      reference: (xs) => [concatRef(xs, axis)],
      referenceBackward: ([dy], xs, _, needs) =>
        only(
          needs,
          concatBackwardRef(
            dy!,
            xs.map((x) => x.shape),
            axis,
          ),
        ),
    };
  },
  Reshape: (ctx) => ({
    shape: ([x]) => single(reshapeTarget(ctx, x!)),
    run: ([x]) => [reshape(x!, reshapeTarget(ctx, x!.shape), ctx.node.name)],
    reference: ([x]) => [view(x!, reshapeTarget(ctx, x!.shape))],
    referenceBackward: ([dy], [x], _, needs) => only(needs, [view(dy!, x!.shape)]),
  }),
  Flatten: (ctx) => ({
    shape: ([x]) => single(flattenShape(ctx, x!)),
    run: ([x]) => [reshape(x!, flattenShape(ctx, x!.shape), ctx.node.name)],
    reference: ([x]) => [view(x!, flattenShape(ctx, x!.shape))],
    referenceBackward: ([dy], [x], _, needs) => only(needs, [view(dy!, x!.shape)]),
  }),
  Gemm: (ctx) => ({
    shape: ([a, b, c]) => {
      const s = gemmShape(a!, b!, c ?? null, gemmAttrs(ctx.node));
      return single([s.m, s.n]);
    },
    run: ([a, b, c]) => [gemm(a!, b!, c ?? null, gemmAttrs(ctx.node), ctx.node.name)],
    reference: ([a, b, c]) => [gemmRef(a!, b!, c ?? null, gemmAttrs(ctx.node))],
    referenceBackward: ([dy], [a, b, c], _, needs) => only(needs, gemmBackwardRef(dy!, a!, b!, c?.shape ?? null, gemmAttrs(ctx.node))),
  }),
  MatMul: (ctx) => ({
    shape: ([a, b]) => single(matmulShape(a!, b!).out),
    run: ([a, b]) => [matmul(a!, b!, ctx.node.name)],
    reference: ([a, b]) => [matmulRef(a!, b!)],
    referenceBackward: ([dy], [a, b], _, needs) => only(needs, matmulBackwardRef(dy!, a!, b!)),
  }),
  // A broadcast bias is an outer product with a column of ones: a + 1·bᵀ = Gemm(A = 1 [rows,1], B = b [1,cols],
  // C = a [rows,cols]). The Gemm kernel then does the broadcast and its backward gives both gradients — dC = dY
  // for a, and dB = 1ᵀ·dY, the column sums of dY, for b (each b_j was added to every row) — with no kernel of its
  // own. The products 1·b_j are exact, so the result is the float32 sum a + b itself.
  Add: (ctx) => ({
    shape: ([a, b]) => (addLayout(ctx, a!, b!), single(a!)),
    run: ([a, b]) => {
      const layout = addLayout(ctx, a!.shape, b!.shape);
      if (layout === 'same') return [add(a!, b!, ctx.node.name)];
      const a2 = reshape(a!, [layout.rows, layout.cols], `${ctx.node.name}.a`);
      const b2 = reshape(b!, [1, layout.cols], `${ctx.node.name}.b`);
      const y2 = gemm(ctx.ones(a!.gpu, layout.rows), b2, a2, {}, `${ctx.node.name}.2d`);
      const y = reshape(y2, a!.shape, ctx.node.name);
      for (const t of [a2, b2, y2]) t.dispose();
      return [y];
    },
    reference: ([a, b]) => {
      const layout = addLayout(ctx, a!.shape, b!.shape);
      if (layout === 'same') return [addRef(a!, b!)];
      const y2 = gemmRef(onesRef(layout.rows), view(b!, [1, layout.cols]), view(a!, [layout.rows, layout.cols]));
      return [view(y2, a!.shape)];
    },
    referenceBackward: ([dy], [a, b], _, needs) => {
      const layout = addLayout(ctx, a!.shape, b!.shape);
      if (layout === 'same') return only(needs, [dy!, dy!]); // ∂(a+b)/∂a = ∂(a+b)/∂b = 1
      const [rows, cols] = [layout.rows, layout.cols];
      const [, db, da] = gemmBackwardRef(view(dy!, [rows, cols]), onesRef(rows), view(b!, [1, cols]), [rows, cols]);
      return only(needs, [view(da!, a!.shape), view(db, b!.shape)]);
    },
  }),
  // Softmax runs on the [rows, cols] view of its input (softmaxRows), and its output is seen back in x's shape.
  Softmax: (ctx) => ({
    shape: ([x]) => (softmaxRows(ctx, x!), single(x!)),
    run: ([x]) => {
      const flat = reshape(x!, softmaxRows(ctx, x!.shape), `${ctx.node.name}.2d`);
      const y = softmax(flat, ctx.node.name);
      flat.dispose();
      const out = reshape(y, x!.shape, ctx.node.name);
      y.dispose();
      return [out];
    },
    reference: ([x]) => [view(softmaxRef(view(x!, softmaxRows(ctx, x!.shape))), x!.shape)],
    referenceBackward: ([dy], [x], [y], needs) => {
      const rows = softmaxRows(ctx, x!.shape);
      return only(needs, [view(softmaxBackwardRef(view(dy!, rows), view(y!, rows)), x!.shape)]);
    },
  }),
};

/**
 * Identity and Dropout (the identity at inference) when they produce a graph output and cannot be aliased away: a
 * view of the input under the output's name, recorded on the tape so that gradients pass through it.
 */
export function identity(node: OnnxNode): StepFunctions {
  return {
    shape: (s) => s,
    run: ([x]) => [reshape(x!, x!.shape, node.outputs[0]!)],
    reference: ([x]) => [x!],
    referenceBackward: ([dy], _, __, needs) => only(needs, [dy!]),
  };
}
