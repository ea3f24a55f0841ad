/**
 * Model: an ONNX file built into the engine's graph by the passes of src/graph/passes/ (import, fold, alias, fuse,
 * shapes), its constants uploaded, run node by node on the tape.
 *
 * Running: `forward(x)` first infers the shapes for x's batch (the batch comes from the input, whatever the file
 * declares) and checks each against the device's buffer limit, so an oversized batch is refused before anything is
 * allocated; then it runs the nodes in order and disposes each intermediate after its last use. Ops record on the
 * active tape, if any: `tape.record(() => model.forward(x))` is all it takes to differentiate through the network.
 * `forward(x, { keep: [names] })` also returns the named activations (ONNX value names), for techniques that read a
 * layer (Grad-CAM) or differentiate with respect to one: a name that fusion hid inside a fused node (a conv's output
 * before its ReLU) is computed by the unfused graph, built once on first use from the same passes minus fusion.
 *
 * The CPU path: the same nodes also run in float64 on the CPU (`referenceForward`, `referenceClassScoreGradient`),
 * each through its op's reference, with the weights taken from the parsed file. It is slow (seconds per image) and
 * exists to check the GPU: the whole network's output and its gradient to the pixels, against a computation that
 * shares nothing with the GPU but the reading of the file.
 */
import type { Gpu } from '../gpu/device.js';
import { PixelpropError, check, fmtBytes, fmtShape } from '../gpu/errors.js';
import { Tensor, sizeOf, type Shape } from '../gpu/tensor.js';
import { CONV_PRECISIONS, DEFAULT_TUNING, type ConvPrecision as Precision, type ConvTuning } from '../kernels/conv2d-tiled.js';

export type { Precision };
import { addRef } from '../kernels/elementwise.js';
import { host, type HostTensor } from '../kernels/host.js';
import { loadShapes, describeGraph, type Graph, type GraphInput } from './ir.js';
import type { OnnxGraph } from './onnx/ir.js';
import { describeGraph as describeOnnxGraph, parseOnnx, type ParseOptions } from './onnx/parse.js';
import { closest } from '../util/suggest.js';
import { apply, type ReferenceRule } from './op.js';
import { buildGraph, constantShape, inferShapes, inNode, supportedOnnxOps, type PassOptions, type Stage } from './passes/index.js';
import { classCount } from './scores.js';

export interface ModelOptions extends ParseOptions {
  /** fold each BatchNormalization that follows a Conv alone into the conv's weights (default true) */
  foldBatchNorms?: boolean;
  /** fuse each Conv followed only by an activation into one kernel (default true) */
  fuseActivations?: boolean;
  /** compute a channel Concat of convolutions without the concatenation (default true) */
  fuseConcats?: boolean;
  /** kernel switches for the ablation benchmark (default: every optimization on) */
  tuning?: ConvTuning;
  /**
   * The arithmetic of the convolutions the tiled kernel runs (every ungrouped conv, and grouped ones with 4+ channels
   * per group: nearly all of a CNN's multiply-adds): 'f32' (default); 'f16' — f16 weights, products and sums; 'mixed' —
   * f16 weights and products summed in f32. The half ones need the adapter's `shader-f16`. Everything else, and every
   * tensor between ops, stays f32. docs/performance.md gives the error against float64 per model.
   */
  precision?: Precision;
  /**
   * values for graph inputs that are parameters rather than data (int64 shapes and indices, inputs read as
   * attributes; `parameterInputs` lists them): they become constants (`pixelprop run` binds them from the test data)
   */
  bind?: PassOptions['bind'];
}

export interface ReferenceScoreGradient {
  /** the float64 scores [N, K] */
  scores: HostTensor;
  /** ∂ s_{y_i} / ∂ x_i in float64, the shape of x */
  grad: HostTensor;
  /** for each layer asked for: its float64 activation and ∂L/∂activation */
  layers: Map<string, { activation: HostTensor; grad: HostTensor }>;
}

/** A graph ready to run: its nodes, after which node each value is read for the last time, its shapes at load. */
interface Plan {
  graph: Graph;
  lastUse: Map<string, number>;
  /** every value's shape at the declared input shapes (a symbolic batch taken as 1) */
  shapes: Map<string, Shape>;
}

function planOf(graph: Graph): Plan {
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.inputs.forEach((name) => lastUse.set(name, i)));
  return { graph, lastUse, shapes: inferShapes(graph, loadShapes(graph)) };
}

export class Model {
  /** the float constants the nodes read, on the GPU, by value name */
  readonly weights = new Map<string, Tensor>();
  /** the inputs a run feeds, as declared (an image model has one: see `inputName`) */
  readonly inputs: readonly GraphInput[];
  readonly outputNames: readonly string[];
  /** the graph after each pass, for `pixelprop info --passes` */
  readonly stages: readonly Stage[];
  private readonly plan: Plan;
  private unfusedPlan: Plan | null = null;
  /** the arithmetic of the convolutions (see ModelOptions.precision) */
  readonly precision: Precision;
  private readonly options: ModelOptions;
  /** the float64 forms of the constants, made on the CPU path's first use */
  private readonly hostConstants = new Map<string, HostTensor>();
  private disposed = false;

  private constructor(
    readonly gpu: Gpu,
    readonly onnx: OnnxGraph,
    options: ModelOptions,
  ) {
    this.precision = options.precision ?? 'f32';
    check(CONV_PRECISIONS.includes(this.precision), () => `precision '${String(options.precision)}': use ${CONV_PRECISIONS.join(', ')}`);
    check(this.precision === 'f32' || gpu.hasF16, () => `precision ${this.precision} needs the adapter's shader-f16 feature, which ${gpu.adapterName} does not offer`);
    this.options = { ...options, tuning: { ...(options.tuning ?? DEFAULT_TUNING), precision: this.precision } };
    const { graph, stages } = buildGraph(onnx, this.options);
    this.stages = stages;
    this.plan = planOf(graph);
    this.inputs = graph.inputs;
    this.outputNames = graph.outputs;
    for (const name of this.outputNames) {
      check(!graph.aliases.has(name), () => `graph output '${name}' is a plain copy of '${graph.aliases.get(name)}'; not supported`);
      const c = graph.constants.get(name);
      check(
        c === undefined || c.type === 'float32',
        () => `graph output '${name}' is int64 shape arithmetic (computed while building the model: ${fmtShape(c!.dims)}); pixelprop's outputs are float32 tensors`,
      );
    }
    checkConstantSizes(graph, gpu);
    // Upload only after every check passed: a broken model costs no GPU memory. Constants no node reads (an IR 3
    // file's leftovers, a Reshape's folded shape) stay on the CPU; a graph output that folded to a constant goes up.
    this.upload(graph);
  }

  /** Uploads the constants the nodes of `graph` read (or its outputs are) that are not on the GPU yet. */
  private upload(graph: Graph): void {
    const read = new Set([...graph.nodes.flatMap((n) => n.inputs), ...graph.outputs]);
    for (const [name, c] of graph.constants) {
      if (!read.has(name) || this.weights.has(name)) continue;
      check(c.type === 'float32', () => `the int64 constant '${name}' is read as a tensor by a node; pixelprop computes in float32`);
      // in parts where larger than one buffer: only Gemm and MatMul read such a constant (checkConstantSizes)
      this.weights.set(name, Tensor.from(this.gpu, c.dims.length ? c.dims : [1], c.data as Float32Array, name, { inParts: true }));
    }
  }

  /** Parses, validates and uploads a model. Throws a one-line PixelpropError for any problem with the file. */
  static load(gpu: Gpu, bytes: Uint8Array, options: ModelOptions = {}): Model {
    const graph = parseOnnx(bytes, { supportedOps: supportedOnnxOps(), ...options });
    return new Model(gpu, graph, options);
  }

  /** The engine's graph after every pass. */
  get graph(): Graph {
    return this.plan.graph;
  }

  /** The shape of each value at the declared input shapes (for an image model, batch 1 unless the file says otherwise). */
  get shapes(): ReadonlyMap<string, Shape> {
    return this.plan.shapes;
  }

  /** The batch the shapes above are for: the (first) input's declared one, 1 where symbolic. */
  private get loadBatch(): number {
    const first = this.inputs[0];
    return first ? loadShapes(this.graph).get(first.name)![0]! : 1;
  }

  /** The image input: the model's only input (the techniques and `forward(x)` need exactly one). */
  private imageInput(): GraphInput {
    check(
      this.inputs.length === 1,
      () => `the model has ${this.inputs.length} inputs (${this.inputs.map((i) => i.name).join(', ') || 'none'}); this needs a model with one image input`,
    );
    return this.inputs[0]!;
  }

  /** The name of the model's only input. */
  get inputName(): string {
    return this.imageInput().name;
  }

  /** The only input's declared shape, batch included (symbolic dims as strings). */
  get declaredInput(): readonly (number | string)[] {
    return this.imageInput().dims;
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

  /** The nodes as text: what the passes made of the file, with batch-1 shapes. */
  describeSteps(): string {
    return describeGraph(this.graph, this.shapes);
  }

  /** The graph after each pass, as text. */
  describePasses(): string {
    return this.stages
      .map((s) => {
        let shapes: Map<string, Shape> | undefined;
        try {
          shapes = s.pass === 'import' ? undefined : inferShapes(s.graph, loadShapes(s.graph));
        } catch {
          shapes = undefined;
        }
        return `after ${s.pass} (${s.graph.nodes.length} nodes):\n${describeGraph(s.graph, shapes)
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n')}`;
      })
      .join('\n\n');
  }

  summary(): string {
    return describeOnnxGraph(this.onnx);
  }

  /**
   * Every value a technique can ask for by name (the input, each node's outputs, and the values fusion hid), in
   * computation order, with its batch-1 shape.
   */
  values(): { name: string; shape: Shape; op: string; hidden: boolean }[] {
    const plan = this.unfused();
    const hidden = this.graph.hidden;
    return plan.graph.nodes.flatMap((n) =>
      n.outputs.map((name) => ({ name, shape: plan.shapes.get(name)!, op: n.op.name, hidden: hidden.has(name) })),
    );
  }

  /** Refuses a batch whose activations would not fit the device, naming the first value too big, before allocating. */
  checkBatch(batch: number, plan: Plan = this.plan): Map<string, Shape> {
    check(Number.isInteger(batch) && batch >= 1, `batch ${batch} must be a positive integer`);
    return this.checkFits(batch === this.loadBatch ? plan.shapes : inferShapes(plan.graph, this.inputShape(batch)), batch);
  }

  /** Refuses shapes of which one would not fit a storage binding of the device, naming it (per item of a batch when given). */
  private checkFits(shapes: Map<string, Shape>, batch?: number): Map<string, Shape> {
    const limit = this.gpu.bindingLimit;
    let largest = 0;
    for (const s of shapes.values()) largest = Math.max(largest, sizeOf(s) * 4);
    if (largest > limit) {
      const [name, shape] = [...shapes].find(([, s]) => sizeOf(s) * 4 === largest)!;
      const needs = `'${name}' ${fmtShape(shape)} needs ${fmtBytes(largest)}, the limit per storage binding is ${fmtBytes(limit)}`;
      if (batch === undefined) throw new PixelpropError(`these inputs are too large for this device: ${needs}`);
      throw new PixelpropError(`batch ${batch} is too large for this device: ${needs} (largest batch: ${Math.floor(limit / (largest / batch))})`);
    }
    return shapes;
  }

  /** The largest batch whose every activation fits one buffer of this device (what `checkBatch` would accept). */
  maxBatch(): number {
    const limit = this.gpu.bindingLimit;
    let perItem = 0;
    for (const s of this.shapes.values()) perItem = Math.max(perItem, (sizeOf(s) * 4) / this.loadBatch);
    return Math.max(0, Math.floor(limit / perItem));
  }

  /** Any first dimension (the batch), the declared sizes after it. */
  private checkInput(shape: Shape, input: GraphInput = this.imageInput()): void {
    check(!this.disposed, 'the model was disposed');
    const want = input.dims.length ? input.dims : [1]; // a scalar is held as [1]
    check(
      shape.length === want.length && shape.every((d, i) => i === 0 || d === want[i]),
      () => `input ${fmtShape(shape)} does not fit the model's input '${input.name}' ${fmtShape(want as number[])}`,
    );
  }

  /** The graph built without fusion (once, on first use): every ONNX value is stored there. */
  private unfused(): Plan {
    if (this.graph.hidden.size === 0) return this.plan;
    this.unfusedPlan ??= planOf(buildGraph(this.onnx, { ...this.options, fuseActivations: false, fuseConcats: false, foldBatchNorms: false }).graph);
    return this.unfusedPlan;
  }

  /** Runs the network on x [N, C, H, W] and returns the first output (the caller disposes it). */
  forward(x: Tensor): Tensor;
  /** …and also the named activations (the caller disposes them too). */
  forward(x: Tensor, options: { keep: readonly string[] }): { output: Tensor; kept: Map<string, Tensor> };
  forward(x: Tensor, options?: { keep: readonly string[] }): Tensor | { output: Tensor; kept: Map<string, Tensor> } {
    const keep = options?.keep ?? [];
    const outs = this.run(new Map([[this.inputName, x]]), keep);
    const output = outs.get(this.outputNames[0]!)!;
    const kept = new Map<string, Tensor>();
    for (const name of keep) kept.set(name, name === this.outputNames[0] ? output.retain() : outs.get(name)!);
    for (const [name, t] of outs) if (name !== this.outputNames[0] && !keep.includes(name)) t.dispose();
    return options ? { output, kept } : output;
  }

  /**
   * Runs the network and returns every graph output by name: on x for a model with one input, else on every input
   * given by name (each with any first dimension and its declared sizes after it).
   */
  forwardAll(inputs: Tensor | ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>): Map<string, Tensor> {
    if (inputs instanceof Tensor) return this.run(new Map([[this.inputName, inputs]]), []);
    const given = inputs instanceof Map ? (inputs as ReadonlyMap<string, Tensor>) : new Map(Object.entries(inputs));
    for (const name of given.keys()) {
      check(
        this.inputs.some((i) => i.name === name),
        () => `the model has no input named '${name}' (inputs: ${this.inputs.map((i) => i.name).join(', ') || 'none'})`,
      );
    }
    return this.run(given, []);
  }

  /** The graph outputs and the `keep` values by name. */
  private run(given: ReadonlyMap<string, Tensor>, keep: readonly string[]): Map<string, Tensor> {
    const hidden = keep.filter((name) => this.graph.hidden.has(name));
    const plan = hidden.length > 0 ? this.unfused() : this.plan;
    const inputNames = this.inputs.map((i) => i.name);
    const known = new Set([...plan.graph.nodes.flatMap((n) => n.outputs), ...inputNames]);
    for (const name of keep) {
      const resolved = plan.graph.aliases.get(name) ?? name;
      if (!known.has(resolved)) throw new PixelpropError(`the model has no value named '${name}'${closestHint(name, [...known])}`);
    }
    for (const input of this.inputs) {
      const x = given.get(input.name);
      if (!x) throw new PixelpropError(`no value given for the model's input '${input.name}'`);
      this.checkInput(x.shape, input);
    }
    if (this.inputs.length === 1) this.checkBatch(given.get(inputNames[0]!)!.shape[0]!, plan);
    else this.checkFits(inferShapes(plan.graph, new Map(inputNames.map((name) => [name, given.get(name)!.shape]))));
    if (plan !== this.plan) this.upload(plan.graph); // the weights a folded BatchNormalization replaced, on first use
    const values = new Map<string, Tensor>(inputNames.map((name) => [name, given.get(name)!]));
    const keepSet = new Set([...inputNames, ...this.outputNames, ...keep.map((k) => plan.graph.aliases.get(k) ?? k)]);
    try {
      plan.graph.nodes.forEach((node, i) => {
        const ins = node.inputs.map((name) => values.get(name) ?? this.weights.get(name)!);
        // No node-name prefix here: shapes were checked before anything ran (checkBatch), so what can fail now is the
        // device (lost, out of memory), which is not the node's fault.
        const outs = apply(node.op, ins, node.attrs, node.outputs[0]);
        node.outputs.forEach((name, k) => values.set(name, outs[k]!));
        for (const name of new Set(node.inputs)) {
          if (plan.lastUse.get(name) === i && !keepSet.has(name) && values.has(name)) {
            values.get(name)!.dispose();
            values.delete(name);
          }
        }
      });
    } catch (e) {
      for (const [name, t] of values) if (!given.has(name)) t.dispose();
      throw e;
    }
    for (const name of inputNames) values.delete(name);
    const result = new Map<string, Tensor>();
    // A graph output that folded to a constant is a new reference to its uploaded weight; one that is an input, to it.
    for (const name of this.outputNames) result.set(name, values.get(name) ?? given.get(name)?.retain() ?? this.weights.get(name)!.retain());
    for (const name of keep) {
      if (result.has(name)) continue;
      const resolved = plan.graph.aliases.get(name) ?? name;
      result.set(name, given.get(resolved)?.retain() ?? values.get(resolved)!.retain());
    }
    for (const [name, t] of values) if (!this.outputNames.includes(name)) t.dispose();
    return result;
  }

  // -------------------------------------------------------------------------------------------------------------
  // The CPU path: the same nodes in float64.

  private hostConstant(name: string): HostTensor {
    let t = this.hostConstants.get(name);
    if (!t) {
      const c = this.graph.constants.get(name)!;
      t = host(constantShape(this.graph, name)!, c.data);
      this.hostConstants.set(name, t);
    }
    return t;
  }

  /**
   * Runs every node's float64 reference on x. With `keepAll` every value stays (the backward reads them); without,
   * each intermediate is dropped after its last use, as on the GPU.
   */
  private referenceValues(x: HostTensor, keepAll: boolean, plan: Plan = this.plan): Map<string, HostTensor> {
    this.checkInput(x.shape, this.imageInput());
    const { graph, lastUse } = plan;
    const values = new Map<string, HostTensor>([[this.inputName, x]]);
    const keep = new Set([this.inputName, ...this.outputNames]);
    graph.nodes.forEach((node, i) => {
      const ins = node.inputs.map((name) => values.get(name) ?? this.hostConstant(name));
      const outs = inNode(node, () => node.op.reference.forward(ins, node.attrs));
      node.outputs.forEach((name, k) => values.set(name, outs[k]!));
      if (keepAll) return;
      for (const name of node.inputs) if (lastUse.get(name) === i && !keep.has(name)) values.delete(name);
    });
    return values;
  }

  /** The first output for x [N, C, H, W] in float64 on the CPU (the CPU path; seconds per image). */
  referenceForward(x: HostTensor): HostTensor {
    return this.referenceValues(x, false).get(this.outputNames[0]!)!;
  }

  /**
   * Scores and ∂s_y/∂x in float64 on the CPU: the reference of `classScoreGradient` (src/techniques/gradient.ts). One
   * forward keeping every value, then the nodes in reverse, each handing ∂L/∂output to its op's reference backward,
   * seeded with the one-hot e_y at the output: L = Σ_i s_{i,y_i}. A value read by several nodes (a Fire module's
   * squeeze output feeds both expand branches) sums the gradients it receives — the multivariate chain rule.
   */
  referenceClassScoreGradient(
    x: HostTensor,
    classes: readonly number[],
    options: {
      layers?: readonly string[];
      rule?: ReferenceRule;
      /** the seed at class y: 1 (the gradient of s_y), or s_y itself (LRP's starting relevance) */
      seed?: 'one-hot' | 'score';
    } = {},
  ): ReferenceScoreGradient {
    const k = this.numClasses;
    check(classes.length === x.shape[0], () => `${classes.length} classes for a batch of ${x.shape[0]} images`);
    for (const c of classes) check(Number.isInteger(c) && c >= 0 && c < k, () => `class ${c} is out of range: the model has classes 0 to ${k - 1}`);
    const layers = options.layers ?? [];
    // A layer fusion hid is a value of the unfused graph only: the CPU path then runs that graph.
    const plan = layers.some((name) => this.graph.hidden.has(name)) ? this.unfused() : this.plan;
    const values = this.referenceValues(x, true, plan);
    const resolve = (name: string): string => plan.graph.aliases.get(name) ?? name;
    for (const name of layers) check(values.has(resolve(name)), () => `the model has no value named '${name}'`);
    const scores = values.get(this.outputNames[0]!)!;
    const seed = host(scores.shape);
    classes.forEach((c, i) => (seed.data[i * k + c] = options.seed === 'score' ? scores.data[i * k + c]! : 1));
    const { graph } = plan;
    const dependsOnInput = new Set([this.inputName]);
    for (const n of graph.nodes) if (n.inputs.some((name) => dependsOnInput.has(name))) n.outputs.forEach((o) => dependsOnInput.add(o));

    const grads = new Map<string, HostTensor>([[this.outputNames[0]!, seed]]);
    for (let i = graph.nodes.length - 1; i >= 0; i--) {
      const node = graph.nodes[i]!;
      const dys = node.outputs.map((name) => grads.get(name));
      if (dys.every((g) => g === undefined)) continue; // the loss does not depend on this node
      const outputs = node.outputs.map((name) => values.get(name)!);
      const filled = dys.map((g, j) => g ?? host(outputs[j]!.shape)); // an unused output contributes zero
      const inputs = node.inputs.map((name) => values.get(name) ?? this.hostConstant(name));
      const needs = node.inputs.map((name) => dependsOnInput.has(name));
      const opRule = options.rule?.ops?.get(node.op.name);
      const dxs = inNode(node, () =>
        opRule
          ? opRule(filled, inputs, outputs, node.attrs as never, needs, { name: node.name, op: node.op.name, inputNames: node.inputs })
          : node.op.reference.backward(filled, inputs, outputs, node.attrs, needs, options.rule),
      );
      node.inputs.forEach((name, j) => {
        const g = dxs[j];
        if (!g || !needs[j]) return;
        const sofar = grads.get(name);
        grads.set(name, sofar ? addRef(sofar, g) : g);
      });
    }
    const grad = grads.get(this.inputName);
    if (!grad) throw new PixelpropError('the model output does not depend on its input');
    const layerGrads = new Map(
      layers.map((name) => {
        const activation = values.get(resolve(name))!;
        return [name, { activation, grad: grads.get(resolve(name)) ?? host(activation.shape) }];
      }),
    );
    return { scores, grad: { shape: [...x.shape], data: grad.data }, layers: layerGrads };
  }

  /**
   * The float64 inputs of node `index` of `graph` (the graph `forward` runs and the tape records): computed values from
   * `values` (by name, e.g. the layers of `referenceClassScoreGradient`), constants from the file.
   */
  referenceNodeInputs(index: number, values: ReadonlyMap<string, HostTensor>): HostTensor[] {
    const node = this.graph.nodes[index];
    check(node !== undefined, () => `the model has no node ${index} (it has ${this.graph.nodes.length})`);
    return node.inputs.map((name) => {
      const v = values.get(this.graph.aliases.get(name) ?? name) ?? (this.graph.constants.has(name) ? this.hostConstant(name) : undefined);
      check(v !== undefined, () => `no float64 value for '${name}', input of node '${node.name}'`);
      return v;
    });
  }

  /**
   * The first output in float64 when the nodes of `graph` from `start` on run again on `values` (every value the
   * nodes before `start` computed, by name), optionally with some inputs of one node replaced for that node alone.
   * A finite difference at an intermediate perturbs it this way: replace a value in `values` and start after the node
   * that makes it (every reader sees the change), or replace a node's inputs (only that node sees it). `values` is
   * left as it was.
   */
  referenceOutputFrom(
    values: ReadonlyMap<string, HostTensor>,
    start: number,
    replace?: { node: number; inputs: ReadonlyMap<number, HostTensor> },
  ): HostTensor {
    const nodes = this.graph.nodes;
    check(Number.isInteger(start) && start >= 0 && start <= nodes.length, () => `start ${start} is not a node index of the model (0 to ${nodes.length})`);
    const run = new Map(values);
    for (let i = start; i < nodes.length; i++) {
      const node = nodes[i]!;
      const ins = this.referenceNodeInputs(i, run).map((t, k) => (replace?.node === i ? (replace.inputs.get(k) ?? t) : t));
      const outs = inNode(node, () => node.op.reference.forward(ins, node.attrs));
      node.outputs.forEach((name, k) => run.set(name, outs[k]!));
    }
    const out = run.get(this.outputNames[0]!);
    check(out !== undefined, () => `no float64 value for the output '${this.outputNames[0]}'`);
    return out;
  }

  // -------------------------------------------------------------------------------------------------------------

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.weights.values()) t.dispose();
    this.weights.clear();
    this.hostConstants.clear();
  }
}

/**
 * Refuses, naming the node, before anything is uploaded: a constant larger than one storage binding read by an op input
 * that does not take it in windows (OpDefinition.windowedInputs), and one larger than a buffer that cannot be stored in
 * parts (a matrix is split between its rows: one row must fit a buffer).
 */
function checkConstantSizes(graph: Graph, gpu: Gpu): void {
  for (const node of graph.nodes) {
    node.inputs.forEach((name, k) => {
      const c = graph.constants.get(name);
      if (!c) return;
      const bytes = c.data.length * 4;
      const what = () => `node '${node.name}' (${node.sources[0]!.opType}): constant '${name}' ${fmtShape(c.dims)} needs ${fmtBytes(bytes)}`;
      check(
        bytes <= gpu.bindingLimit || (node.op.windowedInputs ?? []).includes(k),
        () => `${what()}, more than one storage binding of this device (${fmtBytes(gpu.bindingLimit)}); ${node.op.name} reads it whole (only Gemm and MatMul read larger operands, in windows)`,
      );
      check(
        bytes <= gpu.bufferLimit || (c.dims.length >= 2 && bytes / c.dims[0]! <= gpu.bufferLimit),
        () => `${what()}, more than one buffer of this device holds (${fmtBytes(gpu.bufferLimit)}), and one row of it does not fit one either`,
      );
    });
  }
}

/** ", did you mean 'a', 'b'?" for the names nearest to `name`, or ''. */
function closestHint(name: string, names: readonly string[]): string {
  const best = closest(name, names);
  return best.length ? `; did you mean ${best.map((b) => `'${b}'`).join(', ')}?` : '';
}
