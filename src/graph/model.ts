/**
 * Model: a parsed ONNX graph (parse.ts) lowered to a list of engine ops that runs on the tape.
 *
 * Building does, once: turn each node into a Step (its attributes resolved and checked, see lowerings.ts); fuse
 * Conv → Relu pairs into one Conv+Relu kernel (SqueezeNet has 26); alias Dropout and Identity away; infer every shape
 * for batch 1, so that a model whose attributes don't fit its tensors fails at load time with the node named, before
 * anything runs; and only then upload the float constants the steps read to the GPU.
 *
 * Running: `forward(x)` first infers the shapes for x's batch (the batch comes from the input, whatever the file
 * declares) and checks each against the device's buffer limit, so an oversized batch is refused before anything is
 * allocated; then it runs the steps in order and disposes each intermediate after its last use. Ops record on the
 * active tape, if any: `tape.record(() => model.forward(x))` is all it takes to differentiate through the network.
 *
 * The CPU path: the same steps also run in float64 on the CPU (`referenceForward`, `referenceClassScoreGradient`),
 * each through its kernels' references, with the weights taken from the parsed file. It is slow (seconds per image)
 * and exists to check the GPU: the whole network's output and its gradient to the pixels, against a computation
 * that shares nothing with the GPU but the reading of the file.
 */
import type { Gpu } from '../gpu/device.js';
import { PixelpropError, check, fmtBytes, fmtShape } from '../gpu/errors.js';
import { Tensor, sizeOf, type Shape } from '../gpu/tensor.js';
import { addRef } from '../kernels/elementwise.js';
import { host, type HostTensor } from '../kernels/host.js';
import { LOWERINGS, checkInputCount, describe, identity, inNode, type IntConstants, type LowerContext, type StepFunctions } from './lowerings.js';
import { convConcat, convConcatSupports, type ConvPart } from './ops/conv.js';
import type { OnnxGraph, OnnxNode, OnnxTensor } from './onnx/ir.js';
import { parseOnnx, describeGraph, type ParseOptions } from './onnx/parse.js';
import { classCount } from './scores.js';

/** One lowered node: its values by name, and the four faces of lowerings.ts. */
interface Step extends StepFunctions {
  node: OnnxNode;
  /** the engine op, e.g. 'Conv+Relu' after fusion */
  op: string;
  inputs: string[];
  outputs: string[];
}

export interface ModelOptions extends ParseOptions {
  /** fuse each Conv followed only by a Relu into one Conv+Relu kernel (default true) */
  fuseRelu?: boolean;
  /**
   * compute a channel Concat of convolutions without the concatenation: each conv writes its slice of the output in
   * place (a Fire module's expand layer; default true)
   */
  fuseConcat?: boolean;
}

export interface ReferenceScoreGradient {
  /** the float64 scores [N, K] */
  scores: HostTensor;
  /** ∂ s_{y_i} / ∂ x_i in float64, the shape of x */
  grad: HostTensor;
}

/**
 * The step that computes `cat` = Concat(convs) with one convConcat op. Its CPU path composes the parts' references:
 * the convs, then the concat; backward in the reverse order.
 */
function concatOfConvsStep(cat: Step, convs: Step[], relu: boolean): Step {
  const counts = convs.map((p) => p.inputs.length);
  const split = <T,>(xs: T[]): T[][] => counts.map((n, k) => xs.slice(counts.slice(0, k).reduce((a, b) => a + b, 0), counts.slice(0, k).reduce((a, b) => a + b, 0) + n));
  const convOutputs = (ins: HostTensor[]): HostTensor[] => split(ins).map((part, k) => convs[k]!.reference(part)[0]!);
  return {
    node: cat.node,
    op: `${relu ? 'Conv+Relu' : 'Conv'}‖Concat`,
    inputs: convs.flatMap((p) => p.inputs),
    outputs: cat.outputs,
    shape: (ins) => cat.shape(split(ins).map((part, k) => convs[k]!.shape(part)[0]!)),
    run: (ins) => {
      const parts: ConvPart[] = split(ins).map(([x, w, b], k) => ({ x: x!, w: w!, bias: b ?? null, attrs: convs[k]!.convAttrs!(x!.shape, w!.shape) }));
      return [convConcat(parts, relu, cat.node.name)];
    },
    reference: (ins) => cat.reference(convOutputs(ins)),
    referenceBackward: (dys, ins, outs, needs) => {
      const partOutputs = convOutputs(ins);
      const dParts = cat.referenceBackward(dys, partOutputs, outs, partOutputs.map(() => true));
      const needParts = split(needs);
      return split(ins).flatMap((part, k) => convs[k]!.referenceBackward([dParts[k]!], part, [partOutputs[k]!], needParts[k]!));
    },
  };
}

export class Model {
  /** the float initializers and Constants the steps read, on the GPU, by value name */
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
  /** the float32 constants as parsed: the CPU path's weights (the GPU holds copies) */
  private readonly constants = new Map<string, OnnxTensor>();
  /** their float64 forms, made on the CPU path's first use */
  private readonly hostConstants = new Map<string, HostTensor>();
  /** the values that depend on the input: where the backward must go */
  private readonly dependsOnInput: Set<string>;
  /** columns of ones by length, for broadcasting Adds (see lowerings.ts) */
  private readonly onesColumns = new Map<number, Tensor>();
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
    const floats = this.constants;
    for (const [name, t] of graph.initializers) (t.type === 'int64' ? ints.set(name, { dims: t.dims, data: t.data }) : floats.set(name, t));

    // Consumers of each value, to decide fusion and liveness.
    const consumers = new Map<string, OnnxNode[]>();
    for (const n of graph.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    const isOutput = new Set(this.outputNames);
    const fusedAway = new Set<OnnxNode>();
    const declaredBatch = typeof input.dims[0] === 'number' ? input.dims[0] : null;
    const resolve = (name: string): string => this.alias.get(name) ?? name;

    for (const node of graph.nodes) {
      if (fusedAway.has(node)) continue;
      if (node.opType === 'Constant') {
        const value = node.attrs.value as OnnxTensor;
        if (value.type === 'int64') ints.set(node.outputs[0]!, { dims: value.dims, data: value.data });
        else floats.set(node.outputs[0]!, { ...value, name: node.outputs[0]! });
        continue;
      }
      if (node.opType === 'Identity' || node.opType === 'Dropout') {
        check(!node.outputs[1] || !consumers.has(node.outputs[1]!), () => `${describe(node)}: the dropout mask output is not supported`);
        if (isOutput.has(node.outputs[0]!)) {
          this.steps.push({ node, op: 'Identity', inputs: [resolve(node.inputs[0]!)], outputs: [node.outputs[0]!], ...identity(node) });
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
      const ctx: LowerContext = {
        node,
        ints,
        opset: graph.opset,
        declaredBatch,
        fusedRelu,
        isConstant: (name) => floats.has(resolve(name)),
        ones: (gpu, m) => this.ones(gpu, m),
      };
      const inputs = node.inputs.filter((name, k) => !(node.opType === 'Reshape' && k === 1) && name !== '').map(resolve);
      checkInputCount(node, inputs.length);
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
    // [issue 10, found by scripts/fuzz.ts] Fusion infers shapes, so it comes after the check above: a MaxPool reading
    // an int64 constant was a TypeError there instead of this one line.
    if (options.fuseConcat ?? true) this.fuseConcatsOfConvs(isOutput, input.dims);
    this.steps.forEach((s, i) => s.inputs.forEach((name) => this.lastUse.set(name, i)));
    this.dependsOnInput = new Set([this.inputName]);
    for (const s of this.steps) if (s.inputs.some((name) => this.dependsOnInput.has(name))) s.outputs.forEach((o) => this.dependsOnInput.add(o));
    // Constants no step reads (an IR 3 file's leftovers, a Reshape's folded shape) need neither the GPU nor the CPU path.
    for (const name of floats.keys()) if (!this.steps.some((s) => s.inputs.includes(name))) floats.delete(name);

    // Shapes for batch 1 — before any upload, so a broken model costs no GPU memory.
    const batch1 = input.dims.map((d, i) => (i === 0 ? 1 : d));
    check(
      batch1.length > 0 && batch1.every((d) => typeof d === 'number' && d > 0),
      () => `input '${input.name}' has dims ${fmtShape(input.dims as number[])}: pixelprop needs fixed sizes after the batch`,
    );
    this.shapes = this.inferShapes(batch1 as number[]);

    for (const [name, t] of floats) this.weights.set(name, Tensor.from(gpu, t.dims.length ? t.dims : [1], t.data as Float32Array, name));
  }

  /**
   * Replaces each channel Concat whose inputs are all convolutions read by nothing else with one ConvConcat step
   * (src/graph/ops/conv.ts, `convConcat`): the convs write their slices of the concat's output in place. The steps
   * keep their shape rules and float64 references, composed, so the CPU path is unchanged.
   */
  private fuseConcatsOfConvs(isOutput: Set<string>, inputDims: (number | string)[]): void {
    if (!inputDims.slice(1).every((d) => typeof d === 'number')) return;
    const shapes = this.inferShapes(inputDims.map((d, i) => (i === 0 ? 1 : d)) as number[]);
    const producer = new Map<string, Step>();
    const uses = new Map<string, number>();
    for (const s of this.steps) {
      s.outputs.forEach((o) => producer.set(o, s));
      s.inputs.forEach((i) => uses.set(i, (uses.get(i) ?? 0) + 1));
    }
    const shapeOf = (name: string): Shape => shapes.get(name) ?? this.constantShape(name)!;
    const fusedParts = new Set<Step>();
    const replacement = new Map<Step, Step>();
    for (const cat of this.steps) {
      if (cat.op !== 'Concat') continue;
      const out = shapeOf(cat.outputs[0]!);
      const axis = cat.node.attrs.axis as number;
      if (out.length !== 4 || (axis !== 1 && axis !== -3)) continue;
      const parts = cat.inputs.map((v) => producer.get(v));
      const op = parts[0]?.op;
      const fusable = parts.every(
        (p, k) =>
          p !== undefined &&
          (p.op === 'Conv' || p.op === 'Conv+Relu') &&
          p.op === op &&
          p.convAttrs !== undefined &&
          p.outputs.length === 1 &&
          uses.get(cat.inputs[k]!) === 1 &&
          !isOutput.has(cat.inputs[k]!) &&
          p.inputs.slice(1).every((name) => this.constants.has(name)) &&
          !fusedParts.has(p),
      );
      if (!fusable || new Set(parts).size !== parts.length) continue;
      const convs = parts as Step[];
      const geometry = convs.map((p) => ({ x: shapeOf(p.inputs[0]!), w: shapeOf(p.inputs[1]!) }));
      if (!convConcatSupports(geometry.map((g, k) => ({ ...g, attrs: convs[k]!.convAttrs!(g.x, g.w) })))) continue;
      convs.forEach((p) => fusedParts.add(p));
      replacement.set(cat, concatOfConvsStep(cat, convs, op === 'Conv+Relu'));
    }
    if (replacement.size === 0) return;
    const steps = this.steps.filter((s) => !fusedParts.has(s)).map((s) => replacement.get(s) ?? s);
    this.steps.length = 0;
    this.steps.push(...steps);
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

  /** The side S of the model's square RGB input [N, 3, S, S] (224 for SqueezeNet); an error for other inputs. */
  imageSize(): number {
    const s = this.inputShape(1);
    check(s.length === 4 && s[1] === 3 && s[2] === s[3], () => `the model's input [${s.join(',')}] is not a square RGB image [N,3,S,S]`);
    return s[2]!;
  }

  /** Number of classes: K of the first output read as [N, K] (src/graph/scores.ts: [N, K, 1, 1] too). */
  get numClasses(): number {
    return classCount(this.outputNames[0]!, this.shapes.get(this.outputNames[0]!)!);
  }

  /** The steps as text: what the builder made of the file (after fusion), with batch-1 shapes. */
  describeSteps(): string {
    const opWidth = Math.max(...this.steps.map((s) => s.op.length));
    const nameWidth = Math.max(...this.steps.map((s) => s.node.name.length));
    return this.steps
      .map((s) => `${s.op.padEnd(opWidth)}  ${s.node.name.padEnd(nameWidth)}  → ${s.outputs.map((o) => fmtShape(this.shapes.get(o)!)).join(' ')}`)
      .join('\n');
  }

  summary(): string {
    return describeGraph(this.graph);
  }

  /** A constant's shape ([] — a scalar — is held as [1], as on the GPU). */
  private constantShape(name: string): Shape | undefined {
    const t = this.constants.get(name);
    return t ? (t.dims.length ? t.dims : [1]) : undefined;
  }

  private inferShapes(inputShape: number[]): Map<string, Shape> {
    const shapes = new Map<string, Shape>([[this.inputName, inputShape]]);
    for (const step of this.steps) {
      const ins = step.inputs.map((name) => shapes.get(name) ?? this.constantShape(name)!);
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

  /** The largest batch whose every activation fits one buffer of this device (what `checkBatch` would accept). */
  maxBatch(): number {
    const limit = Math.min(this.gpu.limits.maxStorageBufferBindingSize, this.gpu.limits.maxBufferSize);
    let perItem = 0;
    for (const s of this.shapes.values()) perItem = Math.max(perItem, sizeOf(s) * 4);
    return Math.max(0, Math.floor(limit / perItem));
  }

  private checkInput(shape: Shape): void {
    check(!this.disposed, 'the model was disposed');
    const want = this.inputShape(shape[0]);
    check(
      shape.length === want.length && shape.every((d, i) => i === 0 || d === want[i]),
      () => `input ${fmtShape(shape)} does not fit the model's input '${this.inputName}' ${fmtShape(this.declaredInput as number[])}`,
    );
  }

  /** Runs the network on x [N, C, H, W] and returns the first output (the caller disposes it). */
  forward(x: Tensor): Tensor {
    const outs = this.forwardAll(x);
    for (const [k, t] of outs) if (k !== this.outputNames[0]) t.dispose();
    return outs.get(this.outputNames[0]!)!;
  }

  /** Runs the network and returns every graph output by name. */
  forwardAll(x: Tensor): Map<string, Tensor> {
    this.checkInput(x.shape);
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

  // -------------------------------------------------------------------------------------------------------------
  // The CPU path: the same steps in float64.

  private hostConstant(name: string): HostTensor {
    let t = this.hostConstants.get(name);
    if (!t) {
      t = host(this.constantShape(name)!, this.constants.get(name)!.data as Float32Array);
      this.hostConstants.set(name, t);
    }
    return t;
  }

  /**
   * Runs every step's float64 reference on x. With `keepAll` every value stays (the backward reads them); without,
   * each intermediate is dropped after its last use, as on the GPU.
   */
  private referenceValues(x: HostTensor, keepAll: boolean): Map<string, HostTensor> {
    this.checkInput(x.shape);
    const values = new Map<string, HostTensor>([[this.inputName, x]]);
    const keep = new Set([this.inputName, ...this.outputNames]);
    this.steps.forEach((step, i) => {
      const ins = step.inputs.map((name) => values.get(name) ?? this.hostConstant(name));
      const outs = inNode(step.node, () => step.reference(ins));
      step.outputs.forEach((name, k) => values.set(name, outs[k]!));
      if (keepAll) return;
      for (const name of step.inputs) if (this.lastUse.get(name) === i && !keep.has(name)) values.delete(name);
    });
    return values;
  }

  /** The first output for x [N, C, H, W] in float64 on the CPU (the CPU path; seconds per image). */
  referenceForward(x: HostTensor): HostTensor {
    return this.referenceValues(x, false).get(this.outputNames[0]!)!;
  }

  /**
   * Scores and ∂s_y/∂x in float64 on the CPU: the reference of `classScoreGradient` (src/techniques/gradient.ts). One
   * forward keeping every value, then the steps in reverse, each handing ∂L/∂output to its referenceBackward, seeded
   * with the one-hot e_y at the output: L = Σ_i s_{i,y_i}. A value read by several steps (a Fire module's squeeze
   * output feeds both expand branches) sums the gradients it receives — the multivariate chain rule.
   */
  referenceClassScoreGradient(x: HostTensor, classes: readonly number[]): ReferenceScoreGradient {
    const k = this.numClasses;
    check(classes.length === x.shape[0], () => `${classes.length} classes for a batch of ${x.shape[0]} images`);
    for (const c of classes) check(Number.isInteger(c) && c >= 0 && c < k, () => `class ${c} is out of range: the model has classes 0 to ${k - 1}`);
    const values = this.referenceValues(x, true);
    const scores = values.get(this.outputNames[0]!)!;
    const seed = host(scores.shape);
    classes.forEach((c, i) => (seed.data[i * k + c] = 1));

    const grads = new Map<string, HostTensor>([[this.outputNames[0]!, seed]]);
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const step = this.steps[i]!;
      const dys = step.outputs.map((name) => grads.get(name));
      if (dys.every((g) => g === undefined)) continue; // the loss does not depend on this step
      const outputs = step.outputs.map((name) => values.get(name)!);
      const filled = dys.map((g, j) => g ?? host(outputs[j]!.shape)); // an unused output contributes zero
      const inputs = step.inputs.map((name) => values.get(name) ?? this.hostConstant(name));
      const needs = step.inputs.map((name) => this.dependsOnInput.has(name));
      const dxs = inNode(step.node, () => step.referenceBackward(filled, inputs, outputs, needs));
      step.inputs.forEach((name, j) => {
        const g = dxs[j];
        if (!g) return;
        const sofar = grads.get(name);
        grads.set(name, sofar ? addRef(sofar, g) : g);
      });
    }
    const grad = grads.get(this.inputName);
    if (!grad) throw new PixelpropError('the model output does not depend on its input');
    return { scores, grad: { shape: [...x.shape], data: grad.data } };
  }

  // -------------------------------------------------------------------------------------------------------------

  /** A [m, 1] column of ones (for broadcasting Adds), uploaded once per length and kept with the weights. */
  private ones(gpu: Gpu, m: number): Tensor {
    let t = this.onesColumns.get(m);
    if (!t) {
      t = Tensor.from(gpu, [m, 1], new Float32Array(m).fill(1), `ones[${m}]`);
      this.onesColumns.set(m, t);
    }
    return t;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.weights.values(), ...this.onesColumns.values()]) t.dispose();
    this.weights.clear();
    this.onesColumns.clear();
    this.hostConstants.clear();
  }
}
