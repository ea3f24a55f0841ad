/**
 * The autodiff tape: reverse-mode differentiation in one page.
 *
 * While a tape is recording, every op (src/graph/op.ts, `apply`) whose inputs include a tensor that requires a
 * gradient appends a node: the op, its attributes, its inputs and outputs, and what its backward will read (retained,
 * so the caller may dispose its own handles). `backward(root)` walks the nodes in reverse order of recording — a
 * topological order of the graph reversed, since an op can only consume tensors made before it — and applies the
 * chain rule through each node's op:
 *
 *     grad[input] += op.backward(grad[outputs])
 *
 * The "+=" is what makes a tensor read by two ops (SqueezeNet's squeeze output feeds an expand1x1 and an expand3x3
 * conv) receive the sum of both gradients. A node's saved tensors are released as soon as its backward has run, and
 * the gradient of an intermediate is released once the node that made it has consumed it, so backward frees memory
 * as it goes. Inputs that do not require a gradient (the weights, when we differentiate with respect to pixels) are
 * flagged to the op's backward, which then skips their kernels entirely.
 *
 * Two things travel with a gradient besides its values: which channels can be non-zero (a one-hot class gradient,
 * see BackwardContext.dyChannels), and, per run, replacement backward rules for some ops (guided backprop's ReLU).
 */
import { check, fmtShape } from '../gpu/errors.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { activationBackward, activationBackwardByRule, type BackwardRuleName } from '../kernels/activation.js';
import { add } from '../kernels/elementwise.js';
import type { AnyOp, BackwardContext } from './op.js';

export interface TapeNode {
  /** position in recording order */
  index: number;
  op: AnyOp;
  attrs: unknown;
  /** the value name the node was recorded under (a model's ONNX output name) */
  name: string;
  inputs: Tensor[];
  outputs: Tensor[];
  /** tensors the backward reads, retained until it has run */
  saved: Record<string, Tensor>;
  /** the shapes as recorded, for printing after tensors were freed */
  inputShapes: Shape[];
  outputShapes: Shape[];
  /** the rule the backward used for this node, when not the op's own gradient (set during backward) */
  rule?: string;
}

/** A backward rule that replaces an op's own for one run (modified-gradient methods: guided backprop, LRP). */
export type BackwardRule = (ctx: BackwardContext<never>, node: TapeNode) => (Tensor | null)[];

export interface BackwardOptions {
  /** the gradient of the root (default: 1 for a one-element root) */
  seed?: Tensor;
  /** the only indices along the seed's axis 1 that can be non-zero (a one-hot class gradient), or null */
  seedChannels?: readonly number[] | null;
  /** backward rules by op name that replace the ops' own for this run */
  rules?: ReadonlyMap<string, BackwardRule>;
  /** a modified rule for every activation's backward, alone or fused into a conv (guided backprop, deconvnet) */
  activationRule?: BackwardRuleName;
  /** called before each node's backward with the gradients it receives (the tape inspector measures them here) */
  beforeNode?: (node: TapeNode, outputGrads: readonly (Tensor | null)[]) => void;
  /** called after each node's backward with the gradients it produced */
  onNode?: (node: TapeNode, inputGrads: (Tensor | null)[]) => void;
}

let active: Tape | null = null;

/** The tape recording now, if any. Ops call this. */
export function recordingTape(): Tape | null {
  return active;
}

/** Runs `fn` with no tape recording: ops inside it record nothing and their outputs require no gradient. */
export function noGrad<T>(fn: () => T): T {
  const saved = active;
  active = null;
  try {
    return fn();
  } finally {
    active = saved;
  }
}

/** A gradient and the channels it can be non-zero in (null: any). */
interface Grad {
  value: Tensor;
  channels: readonly number[] | null;
}

export interface TapeOptions {
  /**
   * keep every node's inputs and outputs until its backward has run, as saved['input0'…] and saved['output0'…], for
   * backward rules that read more than the op's own backward does (LRP recomputes a layer's pre-activation)
   */
  retainValues?: boolean;
}

export class Tape {
  readonly nodes: TapeNode[] = [];
  private spent = false;

  constructor(private readonly options: TapeOptions = {}) {}

  /** Records while `fn` runs. Tapes do not nest: the inner one would steal the outer's nodes. */
  record<T>(fn: () => T): T {
    check(active === null, 'a tape is already recording');
    check(!this.spent, 'this tape was already used for a backward pass');
    active = this;
    try {
      return fn();
    } finally {
      active = null;
    }
  }

  /** Called by `apply`: appends a node, and marks the outputs as requiring a gradient. */
  add(op: AnyOp, attrs: unknown, name: string, inputs: readonly Tensor[], outputs: readonly Tensor[], saved: Record<string, Tensor>): void {
    for (const y of outputs) y.requiresGrad = true;
    const kept: Record<string, Tensor> = {};
    for (const [key, t] of Object.entries(saved)) kept[key] = t.retain();
    if (this.options.retainValues) {
      inputs.forEach((t, k) => (kept[`input${k}`] = t.retain()));
      outputs.forEach((t, k) => (kept[`output${k}`] = t.retain()));
    }
    this.nodes.push({
      index: this.nodes.length,
      op,
      attrs,
      name,
      inputs: [...inputs],
      outputs: [...outputs],
      saved: kept,
      inputShapes: inputs.map((t) => [...t.shape]),
      outputShapes: outputs.map((t) => [...t.shape]),
    });
  }

  /**
   * Gradients of `root` with respect to each tensor of `wrt` (leaves such as the input image, or intermediates such
   * as a conv's output for Grad-CAM). The caller owns and disposes the returned tensors. A tensor of `wrt` that the
   * root does not depend on gets a zero gradient.
   */
  backward(root: Tensor, wrt: readonly Tensor[], options: BackwardOptions = {}): Tensor[] {
    const { seed, seedChannels, ...rest } = options;
    return this.backwardFrom([{ root, ...(seed && { seed }), channels: seedChannels ?? null }], wrt, rest);
  }

  /**
   * The gradients of a sum of roots, L = Σ_k ⟨seed_k, root_k⟩, with respect to each tensor of `wrt`: several
   * objectives at once (a class score and a regularizer), one backward pass.
   */
  backwardFrom(
    roots: readonly { root: Tensor; seed?: Tensor; channels?: readonly number[] | null }[],
    wrt: readonly Tensor[],
    options: Omit<BackwardOptions, 'seed' | 'seedChannels'> = {},
  ): Tensor[] {
    check(!this.spent, 'this tape was already used for a backward pass (record a new one)');
    this.spent = true;
    const grads = new Map<Tensor, Grad>();
    for (const { root, seed: given, channels } of roots) {
      check(root.requiresGrad, () => `backward: '${root.name}' does not depend on any tensor that requires a gradient`);
      let seed = given;
      if (seed) {
        check(
          seed.shape.length === root.shape.length && seed.shape.every((d, i) => d === root.shape[i]),
          () => `backward: seed ${fmtShape(seed!.shape)} does not match root '${root.name}' ${fmtShape(root.shape)}`,
        );
        seed.retain();
      } else {
        check(root.size === 1, () => `backward: root '${root.name}' ${fmtShape(root.shape)} is not a scalar; pass a seed gradient`);
        seed = Tensor.from(root.gpu, root.shape, [1], 'seed');
      }
      check(!grads.has(root), () => `backward: '${root.name}' is given twice as a root`);
      grads.set(root, { value: seed, channels: channels ?? null });
    }
    const wanted = new Set(wrt);
    const accumulate = (t: Tensor, g: Grad): void => {
      const prev = grads.get(t);
      if (!prev) {
        grads.set(t, g);
        return;
      }
      // A sum can be non-zero wherever either term is: it keeps no channel list.
      grads.set(t, { value: add(prev.value, g.value, `grad(${t.name})`), channels: null });
      prev.value.dispose();
      g.value.dispose();
    };

    try {
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const node = this.nodes[i]!;
        const dys = node.outputs.map((y) => grads.get(y) ?? null);
        if (dys.some((g) => g !== null)) {
          const needs = node.inputs.map((t) => t.requiresGrad);
          const ctx: BackwardContext<unknown> = {
            attrs: node.attrs,
            dys: dys.map((g) => g?.value ?? null),
            saved: node.saved,
            needs,
            inputShapes: node.inputShapes,
            outputShapes: node.outputShapes,
            sameInput: node.inputs.map((t) => node.inputs.indexOf(t)),
            dyChannels: dys.length === 1 ? (dys[0]?.channels ?? null) : null,
            name: node.name,
            activationGrad: (dy, saved, fn, name) => {
              if (!options.activationRule) return activationBackward(dy, saved, fn, name);
              node.rule = options.activationRule;
              return activationBackwardByRule(dy, saved, fn, options.activationRule, name);
            },
          };
          options.beforeNode?.(node, ctx.dys);
          const rule = options.rules?.get(node.op.name);
          if (rule) node.rule = rule.name || 'rule';
          const dxs = rule ? rule(ctx as BackwardContext<never>, node) : node.op.backward(ctx);
          options.onNode?.(node, dxs);
          const keeps = typeof node.op.keepsChannels === 'function' ? node.op.keepsChannels(node.attrs, node.inputShapes, node.outputShapes) : !!node.op.keepsChannels;
          const channels = keeps ? ctx.dyChannels : null;
          dxs.forEach((dx, k) => {
            if (dx && needs[k]) accumulate(node.inputs[k]!, { value: dx, channels });
            else dx?.dispose();
          });
          node.outputs.forEach((y, k) => {
            const g = dys[k];
            if (g && !wanted.has(y)) {
              grads.delete(y);
              g.value.dispose();
            }
          });
        }
        this.release(node);
      }
    } catch (e) {
      for (const g of grads.values()) g.value.dispose();
      this.releaseSaved();
      throw e;
    }

    const out = wrt.map((t) => {
      const g = grads.get(t);
      if (g) {
        grads.delete(t);
        return g.value;
      }
      return Tensor.zeros(t.gpu, t.shape, `grad(${t.name})`);
    });
    for (const g of grads.values()) g.value.dispose(); // gradients of tensors not asked for and not consumed
    return out;
  }

  /** Releases what the nodes still hold (a tape recorded but never differentiated). */
  dispose(): void {
    this.releaseSaved();
    this.spent = true;
  }

  private release(node: TapeNode): void {
    for (const t of Object.values(node.saved)) t.dispose();
    node.saved = {};
  }

  private releaseSaved(): void {
    for (const n of this.nodes) this.release(n);
  }

  /** The tape as text, one op a line, in recording order: a teaching aid. */
  toString(): string {
    if (this.nodes.length === 0) return '(empty tape)';
    const w = String(this.nodes.length - 1).length;
    const shapes = (ts: Tensor[], ss: Shape[]): string => ts.map((t, k) => `${t.name}${fmtShape(ss[k]!)}`).join(', ');
    return this.nodes
      .map((n) => {
        const info = n.op.describe?.(n.attrs) ?? '';
        return `#${String(n.index).padStart(w)} ${n.op.name}${info ? ` {${info}}` : ''}(${shapes(n.inputs, n.inputShapes)}) → ${shapes(n.outputs, n.outputShapes)}`;
      })
      .join('\n');
  }
}
