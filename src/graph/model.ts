/**
 * Model: a parsed ONNX graph (parse.ts) lowered to a list of engine ops that runs on the tape.
 *
 * Building does, once: upload every float initializer to the GPU; turn each node into a Step (its attributes
 * resolved and checked, a shape rule and a run function); fuse Conv → Relu pairs into one Conv+Relu kernel (SqueezeNet
 * has 26); alias Dropout and Identity away; and infer every shape for batch 1, so that a model whose attributes don't
 * fit its tensors fails at load time with the node named, before anything runs.
 *
 * Running: `forward(x)` first infers the shapes for x's batch (the batch comes from the input, whatever the file
 * declares) and checks each against the device's buffer limit, so an oversized batch is refused before anything is
 * allocated; then it runs the steps in order and disposes each intermediate after its last use. Ops record on the
 * active tape, if any: `tape.record(() => model.forward(x))` is all it takes to differentiate through the network.
 */
import type { Gpu } from '../gpu/device.js';
import { PixelpropError, check, fmtBytes, fmtShape } from '../gpu/errors.js';
import { Tensor, sizeOf, type Shape } from '../gpu/tensor.js';
import { conv2dShape } from '../kernels/conv2d.js';
import { concatLayout } from '../kernels/concat.js';
import { gemmShape, matmulShape, type GemmAttrs } from '../kernels/gemm.js';
import { poolGeometry, poolOutputShape, type AveragePoolAttributes } from '../kernels/pool.js';
import type { AttrValue, OnnxGraph, OnnxNode, OnnxTensor } from './onnx/ir.js';
import { parseOnnx, describeGraph, type ParseOptions } from './onnx/parse.js';
import { conv2d } from './ops/conv.js';
import { concat } from './ops/concat.js';
import { add } from './ops/elementwise.js';
import { gemm, matmul } from './ops/gemm.js';
import { averagePool, globalAveragePool, maxPool } from './ops/pool.js';
import { relu } from './ops/relu.js';
import { reshape } from './ops/shape.js';
import { softmax } from './ops/softmax.js';

/** One lowered node: how to compute its output shapes, and how to run it. */
interface Step {
  node: OnnxNode;
  /** the engine op, e.g. 'Conv+Relu' after fusion */
  op: string;
  inputs: string[];
  outputs: string[];
  shape(inputs: Shape[]): Shape[];
  run(inputs: Tensor[]): Tensor[];
}

/** Values known on the CPU at load time: int64 shapes (Reshape's target) and other constants the ops read as numbers. */
type IntConstants = Map<string, { dims: number[]; data: number[] }>;

// ---------------------------------------------------------------------------------------------------------------
// Attribute readers: each names the node and attribute when a value has the wrong type.

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

function describe(node: OnnxNode): string {
  return `node '${node.name}' (${node.opType})`;
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

// ---------------------------------------------------------------------------------------------------------------
// Lowerings: ONNX op → Step. `weights` lets a step check a static input exists; `ints` holds CPU constants.

interface LowerContext {
  node: OnnxNode;
  ints: IntConstants;
  opset: number;
  declaredBatch: number | null;
  fusedRelu: boolean;
}

type Lowering = (ctx: LowerContext) => Pick<Step, 'shape' | 'run'>;

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
function inNode<T>(node: OnnxNode, fn: () => T): T {
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
  // A shape frozen at export time with the declared batch (the zoo's [1, 1000]) follows the batch actually given.
  if (ctx.declaredBatch !== null && target[0] === ctx.declaredBatch && x[0] !== ctx.declaredBatch && !target.includes(-1)) {
    if (sizeOf(target) * x[0]! === sizeOf(x) * ctx.declaredBatch) target[0] = x[0]!;
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

const single = (s: Shape): Shape[] => [s];

const LOWERINGS: Record<string, Lowering> = {
  Conv: (ctx) => ({
    shape: ([x, w, b]) => single(conv2dShape(x!, w!, convAttrs(ctx.node, x!, w!), b ?? null)),
    run: ([x, w, b], ) => [conv2d(x!, w!, b ?? null, convAttrs(ctx.node, x!.shape, w!.shape), { relu: ctx.fusedRelu, name: ctx.node.name })],
  }),
  Relu: (ctx) => ({ shape: ([x]) => single(x!), run: ([x]) => [relu(x!, ctx.node.name)] }),
  MaxPool: (ctx) => {
    check(!ctx.node.outputs[1], () => `${describe(ctx.node)}: the Indices output of MaxPool is not supported`);
    return {
      shape: ([x]) => single(poolOutputShape(poolGeometry('MaxPool', x!, poolAttrs(ctx.node, x!)))),
      run: ([x]) => [maxPool(x!, poolAttrs(ctx.node, x!.shape), ctx.node.name)],
    };
  },
  AveragePool: (ctx) => ({
    shape: ([x]) => single(poolOutputShape(poolGeometry('AveragePool', x!, poolAttrs(ctx.node, x!)))),
    run: ([x]) => [averagePool(x!, poolAttrs(ctx.node, x!.shape), ctx.node.name)],
  }),
  GlobalAveragePool: (ctx) => ({
    shape: ([x]) => {
      check(x!.length === 4, () => `${describe(ctx.node)}: input ${fmtShape(x!)} is not NCHW`);
      return single([x![0]!, x![1]!, 1, 1]);
    },
    run: ([x]) => [globalAveragePool(x!, ctx.node.name)],
  }),
  Concat: (ctx) => {
    const axis = ctx.node.attrs.axis;
    check(typeof axis === 'number', () => `${describe(ctx.node)}: attribute axis is required`);
    return { shape: (xs) => single(concatLayout(xs, axis).shape), run: (xs) => [concat(xs, axis, ctx.node.name)] };
  },
  Reshape: (ctx) => ({
    shape: ([x]) => single(reshapeTarget(ctx, x!)),
    run: ([x]) => [reshape(x!, reshapeTarget(ctx, x!.shape), ctx.node.name)],
  }),
  Flatten: (ctx) => ({
    shape: ([x]) => single(flattenShape(ctx, x!)),
    run: ([x]) => [reshape(x!, flattenShape(ctx, x!.shape), ctx.node.name)],
  }),
  Gemm: (ctx) => ({
    shape: ([a, b, c]) => {
      const s = gemmShape(a!, b!, c ?? null, gemmAttrs(ctx.node));
      return single([s.m, s.n]);
    },
    run: ([a, b, c]) => [gemm(a!, b!, c ?? null, gemmAttrs(ctx.node), ctx.node.name)],
  }),
  MatMul: (ctx) => ({ shape: ([a, b]) => single(matmulShape(a!, b!).out), run: ([a, b]) => [matmul(a!, b!, ctx.node.name)] }),
  Add: (ctx) => ({
    shape: ([a, b]) => {
      check(
        a!.length === b!.length && a!.every((d, i) => d === b![i]),
        () => `${describe(ctx.node)}: Add of ${fmtShape(a!)} and ${fmtShape(b!)} needs broadcasting, which is not supported (equal shapes only)`,
      );
      return single(a!);
    },
    run: ([a, b]) => [add(a!, b!, ctx.node.name)],
  }),
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
  }),
};

// ---------------------------------------------------------------------------------------------------------------

export interface ModelOptions extends ParseOptions {
  /** fuse each Conv followed only by a Relu into one Conv+Relu kernel (default true) */
  fuseRelu?: boolean;
}

export class Model {
  /** the float initializers and Constants, on the GPU, by value name */
  readonly weights = new Map<string, Tensor>();
  readonly inputName: string;
  readonly outputNames: string[];
  /** the input's declared shape, batch included (symbolic dims as strings) */
  readonly declaredInput: (number | string)[];
  /** the shape of each value for batch 1 */
  readonly shapes: Map<string, Shape>;
  private readonly steps: Step[] = [];
  private readonly alias = new Map<string, string>();
  private readonly lastUse = new Map<string, number>();
  private disposed = false;

  private constructor(
    readonly gpu: Gpu,
    readonly graph: OnnxGraph,
    options: ModelOptions,
  ) {
    check(graph.inputs.length === 1, () => `the model has ${graph.inputs.length} inputs (${graph.inputs.map((i) => i.name).join(', ')}); pixelprop runs models with one image input`);
    const input = graph.inputs[0]!;
    this.inputName = input.name;
    this.declaredInput = input.dims;
    this.outputNames = graph.outputs.map((o) => o.name);
    const ints: IntConstants = new Map();
    const floats = new Map<string, OnnxTensor>();
    for (const [name, t] of graph.initializers) (t.type === 'int64' ? ints.set(name, { dims: t.dims, data: t.data }) : floats.set(name, t));

    // Consumers of each value, to decide fusion and liveness.
    const consumers = new Map<string, OnnxNode[]>();
    for (const n of graph.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    const isOutput = new Set(this.outputNames);
    const fusedAway = new Set<OnnxNode>();
    const declaredBatch = typeof input.dims[0] === 'number' ? input.dims[0] : null;

    for (const node of graph.nodes) {
      if (fusedAway.has(node)) continue;
      const resolve = (name: string): string => this.alias.get(name) ?? name;
      if (node.opType === 'Constant') {
        const value = node.attrs.value as OnnxTensor;
        if (value.type === 'int64') ints.set(node.outputs[0]!, { dims: value.dims, data: value.data });
        else floats.set(node.outputs[0]!, { ...value, name: node.outputs[0]! });
        continue;
      }
      if (node.opType === 'Identity' || node.opType === 'Dropout') {
        check(!node.outputs[1] || !consumers.has(node.outputs[1]!), () => `${describe(node)}: the dropout mask output is not supported`);
        if (isOutput.has(node.outputs[0]!)) {
          this.steps.push({ node, op: 'Identity', inputs: [resolve(node.inputs[0]!)], outputs: [node.outputs[0]!], shape: (s) => s, run: ([x]) => [x!.reshape(x!.shape, node.outputs[0]!)] });
        } else {
          this.alias.set(node.outputs[0]!, resolve(node.inputs[0]!));
          if (ints.has(resolve(node.inputs[0]!))) ints.set(node.outputs[0]!, ints.get(resolve(node.inputs[0]!))!);
        }
        continue;
      }
      let outputs = node.outputs.filter(Boolean);
      let fusedRelu = false;
      if (node.opType === 'Conv' && (options.fuseRelu ?? true)) {
        const users = consumers.get(node.outputs[0]!) ?? [];
        if (users.length === 1 && users[0]!.opType === 'Relu' && !isOutput.has(node.outputs[0]!)) {
          fusedRelu = true;
          fusedAway.add(users[0]!);
          outputs = [users[0]!.outputs[0]!];
        }
      }
      const lower = LOWERINGS[node.opType];
      if (!lower) throw new PixelpropError(`${describe(node)}: op not supported (supported: ${Object.keys(LOWERINGS).join(', ')}, Dropout, Identity, Constant)`);
      const ctx: LowerContext = { node, ints, opset: graph.opset, declaredBatch, fusedRelu };
      const inputs = node.inputs.filter((name, k) => !(node.opType === 'Reshape' && k === 1) && name !== '').map(resolve);
      this.steps.push({ node, op: fusedRelu ? 'Conv+Relu' : node.opType, inputs, outputs, ...lower(ctx) });
    }
    for (const name of this.outputNames) this.alias.has(name) && check(false, () => `graph output '${name}' is a plain copy of '${this.alias.get(name)}'; not supported`);

    // Static inputs must be constants on the GPU.
    const produced = new Set([this.inputName, ...this.steps.flatMap((s) => s.outputs)]);
    for (const step of this.steps) {
      for (const name of step.inputs) {
        check(produced.has(name) || floats.has(name), () => `${describe(step.node)}: input '${name}' is neither computed nor a float constant`);
      }
    }
    this.steps.forEach((s, i) => s.inputs.forEach((name) => this.lastUse.set(name, i)));

    // Shapes for batch 1 — before any upload, so a broken model costs no GPU memory.
    const batch1 = input.dims.map((d, i) => (i === 0 ? 1 : d));
    check(
      batch1.length > 0 && batch1.every((d) => typeof d === 'number' && d > 0),
      () => `input '${input.name}' has dims ${fmtShape(input.dims as number[])}: pixelprop needs fixed sizes after the batch`,
    );
    this.shapes = this.inferShapes(batch1 as number[], floats);

    for (const [name, t] of floats) {
      if (!this.steps.some((s) => s.inputs.includes(name))) continue; // unused initializers stay on the CPU
      this.weights.set(name, Tensor.from(gpu, t.dims.length ? t.dims : [1], t.data as Float32Array, name));
    }
  }

  /** Parses, validates and uploads a model. Throws a one-line PixelpropError for any problem with the file. */
  static load(gpu: Gpu, bytes: Uint8Array, options: ModelOptions = {}): Model {
    const graph = parseOnnx(bytes, options);
    return new Model(gpu, graph, options);
  }

  /** The input shape for a batch of n. */
  inputShape(batch = 1): number[] {
    return [batch, ...(this.declaredInput.slice(1) as number[])];
  }

  /** Number of classes (the last dim of the first output). */
  get numClasses(): number {
    const s = this.shapes.get(this.outputNames[0]!)!;
    return s[s.length - 1]!;
  }

  /** The steps as text: what the builder made of the file (after fusion), with batch-1 shapes. */
  describeSteps(): string {
    return this.steps.map((s) => `${s.op.padEnd(18)} ${s.node.name}  → ${s.outputs.map((o) => fmtShape(this.shapes.get(o)!)).join(' ')}`).join('\n');
  }

  summary(): string {
    return describeGraph(this.graph);
  }

  private inferShapes(inputShape: number[], floats?: Map<string, OnnxTensor>): Map<string, Shape> {
    const shapes = new Map<string, Shape>([[this.inputName, inputShape]]);
    const weightShape = (name: string): Shape | undefined => {
      const w = this.weights.get(name);
      if (w) return w.shape;
      const f = floats?.get(name);
      return f ? (f.dims.length ? f.dims : [1]) : undefined;
    };
    for (const step of this.steps) {
      const ins = step.inputs.map((name) => shapes.get(name) ?? weightShape(name)!);
      const outs = inNode(step.node, () => step.shape(ins));
      step.outputs.forEach((name, k) => shapes.set(name, outs[k]!));
    }
    return shapes;
  }

  /** Refuses a batch whose activations would not fit the device, naming the first value too big, before allocating. */
  checkBatch(batch: number): Map<string, Shape> {
    check(Number.isInteger(batch) && batch >= 1, `batch ${batch} must be a positive integer`);
    const shapes = batch === 1 ? this.shapes : this.inferShapes(this.inputShape(batch));
    const limit = Math.min(this.gpu.limits.maxStorageBufferBindingSize, this.gpu.limits.maxBufferSize);
    let largest = 0;
    for (const s of shapes.values()) largest = Math.max(largest, sizeOf(s) * 4);
    if (largest > limit) {
      const [name, shape] = [...shapes].find(([, s]) => sizeOf(s) * 4 === largest)!;
      const perItem = largest / batch;
      throw new PixelpropError(
        `batch ${batch} is too large for this device: '${name}' ${fmtShape(shape)} needs ${fmtBytes(largest)}, ` +
          `the limit per buffer is ${fmtBytes(limit)} (largest batch: ${Math.floor(limit / perItem)})`,
      );
    }
    return shapes;
  }

  /** Runs the network on x [N, C, H, W] and returns the first output (the caller disposes it). */
  forward(x: Tensor): Tensor {
    const outs = this.forwardAll(x);
    for (const [k, t] of outs) if (k !== this.outputNames[0]) t.dispose();
    return outs.get(this.outputNames[0]!)!;
  }

  /** Runs the network and returns every graph output by name. */
  forwardAll(x: Tensor): Map<string, Tensor> {
    check(!this.disposed, 'the model was disposed');
    const want = this.inputShape(x.shape[0]);
    check(
      x.shape.length === want.length && x.shape.every((d, i) => i === 0 || d === want[i]),
      () => `input ${fmtShape(x.shape)} does not fit the model's input '${this.inputName}' ${fmtShape(this.declaredInput as number[])}`,
    );
    this.checkBatch(x.shape[0]!);
    const values = new Map<string, Tensor>([[this.inputName, x]]);
    const keep = new Set([this.inputName, ...this.outputNames]);
    try {
      this.steps.forEach((step, i) => {
        const ins = step.inputs.map((name) => values.get(name) ?? this.weights.get(name)!);
        const outs = step.run(ins);
        step.outputs.forEach((name, k) => values.set(name, outs[k]!));
        for (const name of new Set(step.inputs)) {
          if (this.lastUse.get(name) === i && !keep.has(name) && values.has(name)) {
            values.get(name)!.dispose();
            values.delete(name);
          }
        }
      });
    } catch (e) {
      for (const [name, t] of values) if (name !== this.inputName) t.dispose();
      throw e;
    }
    values.delete(this.inputName);
    return values;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.weights.values()) t.dispose();
    this.weights.clear();
  }
}
