/**
 * The step-through backward debugger: one forward and one backward of a class score, recorded on the tape and kept,
 * so that a student can walk through it op by op — the forward ops in recording order, then the backward visiting them
 * in reverse — and look at every tensor each op read and wrote, and at the gradients it received and handed on.
 * The same library drives the page (web/debugger.ts, through the worker) and the tests.
 *
 * What is kept: the tape records with `retainValues`, and before the backward the debugger takes its own reference to
 * every node's inputs and outputs; the tape's beforeNode/onNode hooks hand it each node's incoming gradient dy = ∂s/∂y
 * and the gradients its backward produced. Nothing is read back until a step asks for it (`read`, `tiles`).
 *
 * The live gradient check of one element (`checkElement`) compares three numbers:
 * - gpu: the value the GPU computed, read back;
 * - float64: the same quantity from the model's float64 CPU path (Model.referenceClassScoreGradient) on the same input
 *   (the GPU's float32 image, widened): a value of the forward, or ∂s/∂v of the backward;
 * - finiteDifference (gradients only): a centered difference of the float64 class score s,
 *       (s(v + h·e_i) − s(v − h·e_i)) / 2h,   h = FD_STEP · max|v|,
 *   the nodes after the perturbation rerun in float64 (Model.referenceOutputFrom). What is perturbed:
 *   · for dy, the incoming gradient at an op's output y: element i of y itself, as every later op reads it — so the
 *     difference estimates ∂s/∂y_i, the total gradient at y;
 *   · for dx, an outgoing gradient at an input x: element i of x *as this op reads it* (every one of its reads of x, a
 *     ConvConcat reads the squeeze output twice), other ops reading x seeing it unperturbed — so the difference
 *     estimates this op's part of ∂s/∂x_i, which is what its backward returns; the tape sums the parts of all readers.
 *   The float64 value of a dx is likewise this op's part: its float64 backward (OpDefinition.reference.backward) on
 *   the float64 dy and values.
 *   The one-sided differences (s(v + h·e_i) − s(v))/h and (s(v) − s(v − h·e_i))/h come for free (s(v) is known):
 *   where they differ the score has a kink at v (a ReLU's zero, a tie in a max pool) and no derivative exists there.
 *
 * Errors are relative to the scale of the tensor, max|float64| over all its elements (the project's measure,
 * max|Δ|/max|ref|, at one element): an element near zero is not held to a relative error it cannot have.
 */
import { check, fmtShape } from '../gpu/errors.js';
import type { Shape, Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { describeAttrs, docOf, type OpDoc } from '../graph/op.js';
import { Tape, type TapeNode } from '../graph/tape.js';
import { add } from '../kernels/elementwise.js';
import { host, type HostTensor } from '../kernels/host.js';
import { layersOf } from '../techniques/attribution/evaluate.js';
import { oneHotSeed } from '../techniques/gradient.js';
import { DEFAULT_MAX_TILES, channelTiles, elementPosition, type TileSet } from './tiles.js';

/** How many tensors' values stay read back (a step shows at most four, and the element check reads one). */
const RECENT_READS = 8;

/** The finite-difference step relative to the perturbed tensor's largest magnitude (see the file comment). */
export const FD_STEP = 1e-6;

/**
 * The roles of a step's tensors: the op's data inputs and outputs (the weights are not shown), the incoming gradient
 * dy at each output, and the outgoing gradient dx at each data input.
 */
export type TensorRole = 'input' | 'output' | 'dy' | 'dx';

export interface StepTensor {
  role: TensorRole;
  /** the input's or output's position in the op's list */
  slot: number;
  /** "squeezenet0_pool0_fwd", "∂s/∂squeezenet0_pool0_fwd" */
  name: string;
  shape: Shape;
}

export interface DebugStep {
  /** position in `steps` */
  index: number;
  direction: 'forward' | 'backward';
  /** the tape node (recording order) */
  node: number;
  /** the engine op, "ConvConcat" */
  op: string;
  /** its attributes in short, "k3×3 s1,1 p1,1 relu" */
  info: string;
  /** the ONNX value it computes, "squeezenet0_concat0" */
  name: string;
  /** the layer as a person names it: "conv1", "fire2/squeeze1x1", "fire2/expand1x1+expand3x3", "pool3" */
  layer: string;
  inputShapes: Shape[];
  outputShapes: Shape[];
  /** per input: the node that made it (null: the image, or a weight) */
  producers: (number | null)[];
  /** the derivation, from the op's definition */
  doc: OpDoc;
  /** forward: inputs and outputs; backward: those, then dy per output and dx per data input */
  tensors: StepTensor[];
}

export interface ElementCheck {
  role: TensorRole;
  slot: number;
  index: number;
  /** "[0, 12, 3, 40]" */
  position: string;
  gpu: number;
  float64: number;
  /** null for values of the forward (no derivative to estimate) */
  finiteDifference: number | null;
  /** the one-sided differences, forward and backward (null with finiteDifference) */
  oneSided: [number, number] | null;
  /** the step h of the differences */
  h: number | null;
  /** max|float64| of the whole tensor: the errors' denominator */
  scale: number;
  relErrors: { gpuVsFloat64: number; finiteDifferenceVsFloat64: number | null };
  /** what was perturbed, in words */
  perturbed: string | null;
}

/** The float64 run the checks compare with, made on the first check. */
interface Reference {
  /** every computed value of the model's graph, by name */
  values: Map<string, HostTensor>;
  /** ∂s/∂v for every value v */
  grads: Map<string, HostTensor>;
  score: number;
}

interface Kept {
  inputs: (Tensor | null)[];
  outputs: Tensor[];
  dys: (Tensor | null)[];
  dxs: (Tensor | null)[];
}

/** The ops' short names in layer names, as Caffe's SqueezeNet names them (pool1, pool10). */
const SHORT: Record<string, string> = { MaxPool: 'pool', AveragePool: 'pool', GlobalAveragePool: 'pool', Reshape: 'flatten', Flatten: 'flatten' };

/**
 * A name for each node of the model's graph that a person recognizes: the parametrized layers as
 * src/techniques/attribution/evaluate.ts numbers them (conv1, fire2 … fire9, conv10), a Fire module's convs by their
 * role and kernel (fire2/squeeze1x1, fire2/expand1x1+expand3x3 when fused with its concat), and the ops without
 * weights by their kind and the number of the layer before them (pool1 after conv1, pool10 after conv10).
 */
export function layerNames(model: Model): string[] {
  const layers = layersOf(model);
  const layerOf = new Map<string, { name: string; first: string }>();
  for (const l of layers) for (const w of l.weights) layerOf.set(w, { name: l.name, first: l.weights[0]! });
  const used = new Set<string>();
  let last = 0;
  return model.graph.nodes.map((node) => {
    const parts: string[] = [];
    let layer: string | undefined;
    for (const source of node.sources) {
      const w = source.inputs.slice(1).find((i) => layerOf.has(i));
      if (!w) continue;
      const l = layerOf.get(w)!;
      layer = l.name;
      if (l.name.startsWith('fire')) {
        const shape = model.weights.get(w)?.shape ?? [];
        const kernel = shape.length === 4 ? `${shape[2]}x${shape[3]}` : '';
        parts.push(`${w === l.first ? 'squeeze' : 'expand'}${kernel}`);
      }
    }
    let name: string;
    if (layer) {
      last = Number(/\d+$/.exec(layer)?.[0] ?? last);
      name = parts.length ? `${layer}/${parts.join('+')}` : layer;
    } else {
      name = `${SHORT[node.op.name] ?? node.op.name.toLowerCase()}${last}`;
    }
    let unique = name;
    for (let k = 2; used.has(unique); k++) unique = `${name}_${k}`;
    used.add(unique);
    return unique;
  });
}

function maxAbs(data: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]!));
  return m;
}

export class BackwardDebugger {
  readonly steps: DebugStep[];
  private readonly kept: Kept[];
  /** values read back, the most recently used last: a few only (a whole network's would be hundreds of MB) */
  private readonly recent = new Map<Tensor, Promise<Float32Array>>();
  /** tiles drawn, per tensor and tile count: a step shows tensors its neighbours showed (y of one op is x of the next,
   * and the backward shows the forward's tensors again), each read and drawn once */
  private readonly drawn = new Map<Tensor, Map<number, Promise<TileSet>>>();
  private reference: Reference | null = null;
  /** tape node → node of the model's graph */
  private readonly graphIndex: number[];
  private disposed = false;

  private constructor(
    readonly model: Model,
    readonly classIndex: number,
    private readonly image: Tensor,
    nodes: readonly TapeNode[],
    kept: Kept[],
    backwardOrder: readonly number[],
  ) {
    this.kept = kept;
    const graph = model.graph.nodes;
    this.graphIndex = nodes.map((n) => {
      const i = graph.findIndex((g) => g.outputs[0] === n.name);
      check(i >= 0, () => `tape node '${n.name}' is not a node of the model's graph`);
      return i;
    });
    const names = layerNames(model);
    const producer = new Map<Tensor, number>();
    for (const n of nodes) for (const y of n.outputs) producer.set(y, n.index);
    const stepOf = (n: TapeNode, direction: DebugStep['direction'], index: number): DebugStep => {
      const k = kept[n.index]!;
      const inputs: StepTensor[] = k.inputs.flatMap((t, s) => (t ? [{ role: 'input' as const, slot: s, name: t.name, shape: [...n.inputShapes[s]!] }] : []));
      const outputs: StepTensor[] = n.outputs.map((t, s) => ({ role: 'output' as const, slot: s, name: t.name, shape: [...n.outputShapes[s]!] }));
      const grads: StepTensor[] =
        direction === 'forward'
          ? []
          : [
              ...k.dys.flatMap((t, s) => (t ? [{ role: 'dy' as const, slot: s, name: `∂s/∂${n.outputs[s]!.name}`, shape: [...n.outputShapes[s]!] }] : [])),
              ...k.dxs.flatMap((t, s) => (t ? [{ role: 'dx' as const, slot: s, name: `∂s/∂${n.inputs[s]!.name} (this op's part)`, shape: [...n.inputShapes[s]!] }] : [])),
            ];
      return {
        index,
        direction,
        node: n.index,
        op: n.op.name,
        info: describeAttrs(n.op, n.attrs),
        name: n.name,
        layer: names[this.graphIndex[n.index]!]!,
        inputShapes: n.inputShapes.map((s) => [...s]),
        outputShapes: n.outputShapes.map((s) => [...s]),
        producers: n.inputs.map((t) => producer.get(t) ?? null),
        doc: docOf(n.op, n.attrs),
        tensors: [...inputs, ...outputs, ...grads],
      };
    };
    this.steps = [...nodes.map((n) => stepOf(n, 'forward', n.index)), ...backwardOrder.map((i, k) => stepOf(nodes[i]!, 'backward', nodes.length + k))];
  }

  /**
   * Records the forward of `x` [1, C, H, W] and the backward of the score of `classIndex`, keeping every tensor. The
   * caller keeps owning x (the debugger takes a reference, released by `dispose`).
   */
  static async record(model: Model, x: Tensor, classIndex: number): Promise<BackwardDebugger> {
    check(x.shape[0] === 1, () => `the debugger steps through one image; got a batch ${fmtShape(x.shape)}`);
    const seed = oneHotSeed(model, [classIndex]); // checks the class
    const tape = new Tape({ retainValues: true });
    const kept: Kept[] = [];
    const order: number[] = [];
    const wasLeaf = x.requiresGrad;
    x.requiresGrad = true;
    let scores: Tensor | null = null;
    let grad: Tensor | undefined;
    const release = (): void => {
      for (const k of kept) for (const t of [...k.inputs, ...k.outputs, ...k.dys, ...k.dxs]) t?.dispose();
    };
    try {
      scores = tape.record(() => model.forward(x));
      for (const n of tape.nodes) {
        // the data inputs (what requires a gradient: the image and what ops made), each tensor once
        const inputs = n.inputs.map((t, s) => (t.requiresGrad && n.inputs.indexOf(t) === s ? t.retain() : null));
        kept.push({ inputs, outputs: n.outputs.map((t) => t.retain()), dys: n.outputs.map(() => null), dxs: n.inputs.map(() => null) });
      }
      [grad] = tape.backward(scores, [x], {
        seed,
        seedChannels: [classIndex],
        beforeNode: (node, dys) => {
          kept[node.index]!.dys = dys.map((g) => g?.retain() ?? null);
        },
        onNode: (node, dxs) => {
          order.push(node.index);
          // An op reading one tensor twice may return its gradient at the first read (ConvConcat) or a part at each
          // read: the debugger shows the sum at the first read, as the float64 side of `checkElement` sums the parts.
          const k = kept[node.index]!;
          k.dxs = node.inputs.map((t, s) => {
            if (!k.inputs[s]) return null;
            const parts = dxs.filter((g, r): g is Tensor => g !== null && node.inputs[r] === t);
            if (parts.length === 0) return null;
            return parts.slice(1).reduce((sum, g) => {
              const next = add(sum, g, `∂s/∂${t.name}`);
              sum.dispose();
              return next;
            }, parts[0]!.retain());
          });
        },
      });
      return new BackwardDebugger(model, classIndex, x.retain(), tape.nodes, kept, order);
    } catch (e) {
      release();
      throw e;
    } finally {
      x.requiresGrad = wasLeaf;
      tape.dispose();
      scores?.dispose();
      grad?.dispose();
    }
  }

  /** Tape nodes recorded (the forward's steps; the backward's are those it visited). */
  get nodeCount(): number {
    return this.kept.length;
  }

  private step(index: number): DebugStep {
    const s = this.steps[index];
    check(s !== undefined, () => `step ${index} does not exist (0 to ${this.steps.length - 1})`);
    return s;
  }

  private tensor(step: DebugStep, role: TensorRole, slot: number): Tensor {
    check(!this.disposed, 'the debugger was disposed');
    check(
      step.tensors.some((t) => t.role === role && t.slot === slot),
      () => `step ${step.index} (${step.layer}, ${step.direction}) shows no ${role} ${slot} (it shows ${step.tensors.map((t) => `${t.role} ${t.slot}`).join(', ')})`,
    );
    const k = this.kept[step.node]!;
    const list = role === 'input' ? k.inputs : role === 'output' ? k.outputs : role === 'dy' ? k.dys : k.dxs;
    return list[slot]!;
  }

  /** A tensor of a step, read back from the GPU (the last few stay read). */
  read(stepIndex: number, role: TensorRole, slot: number): Promise<Float32Array> {
    const t = this.tensor(this.step(stepIndex), role, slot);
    let p = this.recent.get(t);
    if (p) this.recent.delete(t);
    else p = t.read();
    this.recent.set(t, p);
    if (this.recent.size > RECENT_READS) this.recent.delete(this.recent.keys().next().value!);
    return p;
  }

  /** A tensor of a step as channel tiles (src/teaching/tiles.ts), drawn once per tensor and `maxTiles`. */
  tiles(stepIndex: number, role: TensorRole, slot: number, options: { maxTiles?: number } = {}): Promise<TileSet> {
    const step = this.step(stepIndex);
    const t = this.tensor(step, role, slot);
    const shape = role === 'input' || role === 'dx' ? step.inputShapes[slot]! : step.outputShapes[slot]!;
    let byCount = this.drawn.get(t);
    if (!byCount) this.drawn.set(t, (byCount = new Map()));
    const count = options.maxTiles ?? DEFAULT_MAX_TILES;
    let p = byCount.get(count);
    if (!p) byCount.set(count, (p = this.read(stepIndex, role, slot).then((values) => channelTiles(values, shape, { maxTiles: count }))));
    return p;
  }

  /** The float64 forward and backward of the same image and class (seconds on a CPU), once. */
  private async float64(): Promise<Reference> {
    if (this.reference) return this.reference;
    const x = host(this.image.shape, await this.image.read());
    const graph = this.model.graph;
    const names = [this.model.inputName, ...graph.nodes.flatMap((n) => n.outputs)];
    const r = this.model.referenceClassScoreGradient(x, [this.classIndex], { layers: names });
    const values = new Map<string, HostTensor>();
    const grads = new Map<string, HostTensor>();
    for (const [name, { activation, grad }] of r.layers) {
      values.set(name, activation);
      grads.set(name, grad);
    }
    this.reference = { values, grads, score: r.scores.data[this.classIndex]! };
    return this.reference;
  }

  /**
   * The live gradient check of element `index` (flat, row-major) of a step's tensor: GPU, float64 and, for a gradient,
   * a centered finite difference (see the file comment for what is perturbed).
   */
  async checkElement(stepIndex: number, role: TensorRole, slot: number, index: number): Promise<ElementCheck> {
    const step = this.step(stepIndex);
    const shape = role === 'input' || role === 'dx' ? step.inputShapes[slot]! : step.outputShapes[slot]!;
    const size = shape.reduce((a, b) => a * b, 1);
    check(Number.isInteger(index) && index >= 0 && index < size, () => `element ${index} is outside the tensor ${fmtShape(shape)}`);
    const gpuValues = await this.read(stepIndex, role, slot);
    const ref = await this.float64();
    const g = this.graphIndex[step.node]!;
    const node = this.model.graph.nodes[g]!;
    const inputs = this.model.referenceNodeInputs(g, ref.values);
    const valueName = role === 'input' || role === 'dx' ? node.inputs[slot]! : node.outputs[slot]!;
    /** the reads of the input `slot` by this node (one tensor may be read twice) */
    const reads = node.inputs.flatMap((name, k) => (name === valueName ? [k] : []));

    let reference: HostTensor;
    if (role === 'input') reference = inputs[slot]!;
    else if (role === 'output') reference = ref.values.get(valueName)!;
    else if (role === 'dy') reference = ref.grads.get(valueName)!;
    else reference = this.dxReference(g, inputs, ref, reads);

    const base = { role, slot, index, position: elementPosition(shape, index), gpu: gpuValues[index]!, float64: reference.data[index]! };
    const scale = maxAbs(reference.data);
    const rel = (a: number): number => (a === base.float64 ? 0 : Math.abs(a - base.float64) / scale);
    if (role === 'input' || role === 'output') {
      return { ...base, finiteDifference: null, oneSided: null, h: null, scale, relErrors: { gpuVsFloat64: rel(base.gpu), finiteDifferenceVsFloat64: null }, perturbed: null };
    }

    const v = role === 'dy' ? ref.values.get(valueName)! : inputs[slot]!;
    const h = FD_STEP * (maxAbs(v.data) || 1);
    const shifted = (delta: number): HostTensor => {
      const data = Float64Array.from(v.data);
      data[index] = data[index]! + delta;
      return { shape: [...v.shape], data };
    };
    const scoreWith = (delta: number): number => {
      const out =
        role === 'dy'
          ? this.model.referenceOutputFrom(new Map(ref.values).set(valueName, shifted(delta)), g + 1)
          : this.model.referenceOutputFrom(ref.values, g, { node: g, inputs: new Map(reads.map((k) => [k, shifted(delta)])) });
      return out.data[this.classIndex]!;
    };
    const plus = scoreWith(h);
    const minus = scoreWith(-h);
    const finiteDifference = (plus - minus) / (2 * h);
    const perturbed =
      role === 'dy'
        ? `${valueName}${base.position} ± ${h.toPrecision(3)}, as every later op reads it`
        : `${valueName}${base.position} ± ${h.toPrecision(3)} as ${step.layer} reads it${reads.length > 1 ? ` (all ${reads.length} of its reads)` : ''}; other readers see it unchanged`;
    return {
      ...base,
      finiteDifference,
      oneSided: [(plus - ref.score) / h, (ref.score - minus) / h],
      h,
      scale,
      relErrors: { gpuVsFloat64: rel(base.gpu), finiteDifferenceVsFloat64: rel(finiteDifference) },
      perturbed,
    };
  }

  /** This node's part of ∂s/∂(its input), float64: its op's float64 backward, summed over its reads of the input. */
  private dxReference(g: number, inputs: HostTensor[], ref: Reference, reads: readonly number[]): HostTensor {
    const node = this.model.graph.nodes[g]!;
    const outputs = node.outputs.map((name) => ref.values.get(name)!);
    const dys = node.outputs.map((name, k) => ref.grads.get(name) ?? host(outputs[k]!.shape));
    const needs = node.inputs.map((_, k) => reads.includes(k));
    const dxs = node.op.reference.backward(dys, inputs, outputs, node.attrs, needs);
    const sum = host(inputs[reads[0]!]!.shape);
    for (const k of reads) dxs[k]?.data.forEach((d, i) => (sum.data[i] = sum.data[i]! + d));
    return sum;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const k of this.kept) for (const t of [...k.inputs, ...k.outputs, ...k.dys, ...k.dxs]) t?.dispose();
    this.image.dispose();
    this.recent.clear();
    this.drawn.clear();
    this.reference = null;
  }
}
