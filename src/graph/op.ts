/**
 * What an engine op is: one object that holds everything about it. Each op of src/graph/ops/ is one `defineOp` call
 * in a file of its own, registered by one line in src/graph/ops/index.ts; everything else reads that object —
 *
 *   the tape (src/graph/tape.ts)        runs `forward` and, backwards, `backward`, and prints `describe`
 *   the model (src/graph/model.ts)      maps ONNX nodes to ops through `onnx`, infers shapes with `shape`, and runs
 *                                       the float64 CPU path through `reference`
 *   gradcheck (src/graph/gradcheck.ts)  checks every registered op on its `checks`: GPU forward against the float64
 *                                       forward, GPU backward against it, float64 backward against centered finite
 *                                       differences
 *   the tape inspector and the docs     show `doc`, the derivation
 *
 * So a student finds an op's whole story — forward, backward, float64 reference, derivation — in one file, and adding
 * an op is one file, one registration line, and its shader (docs/adding-an-op.md walks through one).
 */
import { PixelpropError } from '../gpu/errors.js';
import type { Shape, Tensor } from '../gpu/tensor.js';
import type { ActivationFn, BackwardRuleName } from '../kernels/activation.js';
import type { ConvTuning } from '../kernels/conv2d-tiled.js';
import type { HostTensor } from '../kernels/host.js';
import type { Constant } from './ir.js';
import type { AttrValue, OnnxNode } from './onnx/ir.js';
import { recordingTape } from './tape.js';

/** How an op works, in words a student can follow. Notation: dy = ∂L/∂y arrives, dx = ∂L/∂x is returned. */
export interface OpDoc {
  /** what the forward computes */
  forward: string;
  /** how the backward turns dy into the inputs' gradients (the chain rule for this op) */
  backward: string;
  /** what the backward reads besides dy: what the tape keeps alive from the forward until then */
  saves: string;
}

/** What the forward of a recorded op knows beyond its inputs and attributes. */
export interface ForwardContext {
  /** the value's name (an ONNX output name inside a model), for tensors and error messages */
  name: string;
  /** per input: whether a backward may ask for its gradient (a tape is recording and it requires one) */
  needs: readonly boolean[];
  /** any of `needs`: the forward should save what its backward reads */
  recording: boolean;
}

export interface ForwardResult {
  outputs: Tensor[];
  /**
   * What the backward will read, by name. The tape retains each; a tensor here that is neither an input nor an output
   * (max pooling's argmax) is handed over to the tape, which disposes it after the backward. Save only what a needed
   * gradient reads: differentiating with respect to the pixels must not keep the weights' gradients' inputs alive.
   */
  saved?: { readonly [name: string]: Tensor | undefined };
}

export interface BackwardContext<A> {
  attrs: A;
  /** ∂L/∂output for each output, null where the loss does not depend on that output */
  dys: readonly (Tensor | null)[];
  /** what the forward saved */
  saved: Readonly<Record<string, Tensor>>;
  /** per input: whether its gradient is wanted (return null where not) */
  needs: readonly boolean[];
  inputShapes: readonly Shape[];
  outputShapes: readonly Shape[];
  /** per input: the index of the first input that is the same tensor (an op may read one tensor twice) */
  sameInput: readonly number[];
  /**
   * When not null, the only indices along axis 1 (channels, or classes of [N, K] scores) where dys[0] can be non-zero:
   * a one-hot class gradient starts with the class alone, and ops whose backward keeps zero channels zero
   * (`keepsChannels`) hand it on. Conv's backward then sums over those channels only — the classifier's backward for
   * one class reads 1 channel of 1000.
   */
  dyChannels: readonly number[] | null;
  /** the node's name, for the gradients' tensor names */
  name: string;
  /**
   * dz = the gradient through an activation (alone, or a conv's epilogue), from dy and what was saved: dy · f'(z)
   * normally, or a modified rule when the backward was asked for one (guided backprop, deconvnet). Ops with an
   * activation call this instead of the kernel, so that a rule reaches fused activations too.
   */
  activationGrad(dy: Tensor, saved: { z?: Tensor; y?: Tensor }, fn: ActivationFn, name: string): Tensor;
}

/** A reader of an ONNX node's attributes and constant inputs, each error naming the node and the attribute. */
export interface AttrReader {
  readonly node: OnnxNode;
  readonly opset: number;
  /** the model's declared batch size (null when symbolic): Reshape targets frozen at export follow the real batch */
  readonly declaredBatch: number | null;
  /** kernel switches for the ablation benchmark (Model options) */
  readonly tuning: ConvTuning | undefined;
  int(name: string, fallback: number): number;
  float(name: string, fallback: number): number;
  ints(name: string): number[] | undefined;
  string(name: string, fallback: string): string;
  has(name: string): boolean;
  /** input `index`'s values when it is a constant (an initializer or a Constant node), else undefined */
  constant(index: number): readonly number[] | undefined;
  /** the same with its ONNX dims (Gather's indices shape its output) */
  constantTensor(index: number): Constant | undefined;
  /** whether input `index` is a constant */
  isConstant(index: number): boolean;
  /** throws a PixelpropError naming the node */
  fail(message: string): never;
}

export interface OnnxMapping<A> {
  /** the ONNX op types this engine op implements */
  types: readonly string[];
  /** [min, max] inputs the op takes (inputs read as attributes, and omitted optional ones, not counted) */
  arity: readonly [number, number];
  /** inputs that are attributes in disguise (Reshape's shape, Clip's bounds from opset 11): read at load time */
  attrInputs?: readonly number[];
  /** reads and checks the node's attributes, once, at load time */
  attrs(reader: AttrReader): A;
}

/** A gradient check of the op (run by `pixelprop gradcheck` and the tests). Inputs are rounded to float32. */
export interface OpCheckCase<A> {
  name: string;
  inputs: () => HostTensor[];
  attrs: A;
  /** inputs whose gradients are checked (default: all) */
  wrt?: readonly number[];
  /** finite-difference step (default 1e-3; piecewise-linear ops whose kinks a probe might cross want smaller) */
  h?: number;
  /** entries probed per input (default 40) */
  samples?: number;
}

export interface OpDefinition<A> {
  /** the name the tape prints and the registry's key */
  readonly name: string;
  /** how ONNX nodes become this op (absent for the techniques' own ops, e.g. Roll) */
  readonly onnx?: OnnxMapping<A>;
  /** the output shapes for given input shapes (throws a PixelpropError on a mismatch) */
  shape(inputs: readonly Shape[], attrs: A): Shape[];
  /** the GPU forward: encodes the kernels and returns the outputs (and what to save) */
  forward(inputs: readonly Tensor[], attrs: A, ctx: ForwardContext): ForwardResult;
  /** the GPU backward: the gradient of each input (null where not needed) */
  backward(ctx: BackwardContext<A>): (Tensor | null)[];
  /** the same two in float64 on the CPU: the truth the GPU is held to */
  readonly reference: {
    forward(inputs: readonly HostTensor[], attrs: A): HostTensor[];
    backward(
      dys: readonly HostTensor[],
      inputs: readonly HostTensor[],
      outputs: readonly HostTensor[],
      attrs: A,
      needs: readonly boolean[],
      /** a modified rule for activations (the reference of BackwardContext.activationGrad's rules) */
      rule?: ReferenceRule,
    ): (HostTensor | null)[];
  };
  /** the derivation (a function of the attributes for ops whose story depends on them, e.g. a fused activation) */
  readonly doc: OpDoc | ((attrs: A) => OpDoc);
  /** the attributes worth printing, e.g. "k3×3 s2,2" */
  describe?(attrs: A): string;
  /** an activation (its attributes are an `Activation`, src/graph/activation.ts): the fusion pass may make it a conv's epilogue */
  readonly epilogue?: boolean;
  /**
   * Inputs that may be larger than one storage binding of the device, because the op reads them in windows (Gemm's
   * and MatMul's operands: VGG16's 392 MiB classifier weight). The model refuses, at load time, a larger constant read
   * by any other input.
   */
  readonly windowedInputs?: readonly number[];
  /**
   * Inputs that may be int64 constants standing for numbers, not shapes: Pow's exponent (ONNX types it T1, any numeric
   * type beside a float base, and the result has the base's type). When the node runs on the GPU such a constant is
   * read as float32 — exact up to 2^24 in magnitude, and refused beyond (src/graph/passes/fold-constants.ts).
   */
  readonly int64AsFloat?: readonly number[];
  /** whether the backward keeps zero channels of dy zero in the input's gradient (see BackwardContext.dyChannels) */
  keepsChannels?: boolean | ((attrs: A, inputShapes: readonly Shape[], outputShapes: readonly Shape[]) => boolean);
  /** gradient checks; every registered op has at least one (but a `foldOnly` op, which has `foldChecks`) */
  readonly checks: readonly OpCheckCase<A>[];
  /**
   * Folding the float64 reference cannot do (src/graph/passes/fold-constants.ts): an output type other than the
   * inputs' (Cast, ConstantOfShape), or an output read from the inputs' static shapes alone (Shape folds even when its
   * input is computed). Given each input's ONNX dims and, where it is one, its constant; returns the outputs, or
   * undefined when the node cannot be computed while the model is built.
   */
  fold?(inputs: readonly FoldInput[], attrs: A): Constant[] | undefined;
  /**
   * Shape arithmetic that exists only while a model is built (Shape, Range, ConstantOfShape, …): the fold pass computes
   * it, and refuses the node, naming it, when it cannot. No GPU forward or backward, so no gradient checks: its
   * `foldChecks` (inputs → expected output) are run instead.
   */
  readonly foldOnly?: boolean;
  readonly foldChecks?: readonly FoldCheckCase<A>[];
}

/**
 * An input as the fold pass sees it: its ONNX dims ([] for a scalar; absent when not static, e.g. after a symbolic
 * image size) and, when it is a constant, its value.
 */
export interface FoldInput {
  dims?: readonly number[];
  constant?: Constant;
}

/** A check of a fold-only op: these inputs and attributes must fold to `expected`. */
export interface FoldCheckCase<A> {
  name: string;
  inputs: readonly FoldInput[];
  attrs: A;
  expected: Constant;
}

/** A float64 backward rule that replaces an op's own (the reference of a tape rule, e.g. LRP's). */
export type ReferenceOpRule = (
  dys: readonly HostTensor[],
  inputs: readonly HostTensor[],
  outputs: readonly HostTensor[],
  attrs: never,
  needs: readonly boolean[],
  node: { name: string; op: string; inputNames: readonly string[] },
) => (HostTensor | null)[];

/** What the float64 backward is asked to do differently (the modified-gradient methods). */
export interface ReferenceRule {
  /** a rule for every activation (guided backprop, deconvnet) */
  activation?: BackwardRuleName;
  /** rules by op name that replace the ops' own float64 backward (LRP) */
  ops?: ReadonlyMap<string, ReferenceOpRule>;
}

/** An op of any attribute type, as registries and the tape hold them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOp = OpDefinition<any>;

export function defineOp<A>(def: OpDefinition<A>): OpDefinition<A> {
  return def;
}

export function docOf<A>(op: OpDefinition<A>, attrs: A): OpDoc {
  return typeof op.doc === 'function' ? op.doc(attrs) : op.doc;
}

export function describeAttrs<A>(op: OpDefinition<A>, attrs: A): string {
  return op.describe?.(attrs) ?? '';
}

/**
 * Runs `op` on the GPU, recording it on the active tape when an input requires a gradient. The outputs are the
 * caller's (dispose them); what the forward saved for the backward belongs to the tape.
 */
export function apply<A>(op: OpDefinition<A>, inputs: readonly Tensor[], attrs: A, name: string = op.name.toLowerCase()): Tensor[] {
  const tape = recordingTape();
  const needs = inputs.map((t) => tape !== null && t.requiresGrad);
  const recording = needs.some(Boolean);
  const result = op.forward(inputs, attrs, { name, needs, recording });
  const outputs = result.outputs;
  const saved: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(result.saved ?? {})) if (t) saved[key] = t;
  if (recording) {
    tape!.add(op, attrs, name, inputs, outputs, saved);
  }
  // Tensors the forward made for the backward alone: the tape holds its own reference now (or there is no backward).
  for (const t of Object.values(saved)) if (!inputs.includes(t) && !outputs.includes(t)) t.dispose();
  return outputs;
}

/** `apply` for an op with one output. */
export function apply1<A>(op: OpDefinition<A>, inputs: readonly Tensor[], attrs: A, name?: string): Tensor {
  const outputs = apply(op, inputs, attrs, name);
  if (outputs.length !== 1) throw new PixelpropError(`${op.name}: expected one output, got ${outputs.length}`);
  return outputs[0]!;
}

// ---------------------------------------------------------------------------------------------------------------
// Attribute readers for `OnnxMapping.attrs`.

export function describeNode(node: OnnxNode): string {
  return `node '${node.name}' (${node.opType})`;
}

/** The reader of one node's attributes; `constantOf` returns an input's values when it is a constant. */
export function attrReader(
  node: OnnxNode,
  context: { opset: number; declaredBatch: number | null; tuning?: ConvTuning | undefined; constantOf(name: string): Constant | undefined },
): AttrReader {
  const fail = (message: string): never => {
    throw new PixelpropError(`${describeNode(node)}: ${message}`);
  };
  const get = (name: string): AttrValue | undefined => node.attrs[name];
  return {
    node,
    opset: context.opset,
    declaredBatch: context.declaredBatch,
    tuning: context.tuning,
    fail,
    has: (name) => get(name) !== undefined,
    int(name, fallback) {
      const v = get(name);
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isInteger(v)) fail(`attribute ${name} must be an integer`);
      return v as number;
    },
    float(name, fallback) {
      const v = get(name);
      if (v === undefined) return fallback;
      if (typeof v !== 'number') fail(`attribute ${name} must be a number`);
      return v as number;
    },
    ints(name) {
      const v = get(name);
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) fail(`attribute ${name} must be a list of integers`);
      return v as number[];
    },
    string(name, fallback) {
      const v = get(name);
      if (v === undefined) return fallback;
      if (typeof v !== 'string') fail(`attribute ${name} must be a string`);
      return v as string;
    },
    constant(index) {
      const name = node.inputs[index];
      const c = name ? context.constantOf(name) : undefined;
      return c ? Array.from(c.data) : undefined;
    },
    constantTensor(index) {
      const name = node.inputs[index];
      return name ? context.constantOf(name) : undefined;
    },
    isConstant(index) {
      const name = node.inputs[index];
      return !!name && context.constantOf(name) !== undefined;
    },
  };
}
