/**
 * The autodiff tape: reverse-mode differentiation in one page.
 *
 * While a tape is recording, every op whose inputs include a tensor that requires a gradient appends a node: its
 * inputs, its output, the tensors its backward will read (retained, so the caller may dispose its own handles), and
 * a closure that maps the output's gradient dy to the inputs' gradients. `backward(root)` walks the nodes in reverse
 * order of recording — a topological order of the graph reversed, since an op can only consume tensors made
 * before it — and applies the chain rule:
 *
 *     grad[input] += node.backward(grad[node.output])
 *
 * The "+=" is what makes a tensor read by two ops (SqueezeNet's squeeze output feeds an expand1x1 and an expand3x3
 * conv) receive the sum of both gradients. A node's saved tensors are released as soon as its backward has run, and
 * the gradient of an intermediate is released once the node that made it has consumed it, so backward frees memory
 * as it goes. Inputs that do not require a gradient (the weights, when we differentiate with respect to pixels) are
 * flagged to the backward closure, which then skips their kernels entirely.
 */
import { add } from '../kernels/elementwise.js';
import { check, fmtShape } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';

export interface TapeNode {
  /** position in recording order */
  index: number;
  op: string;
  /** attributes worth printing, e.g. "k3 s2 p0" */
  info: string;
  inputs: Tensor[];
  output: Tensor;
  /** tensors the backward reads, retained until it has run */
  saved: Tensor[];
  /** dy → one gradient per input (null where `needs[i]` is false) */
  backward: (dy: Tensor, needs: boolean[]) => (Tensor | null)[];
  /** the shapes as recorded, for printing after tensors were freed */
  inputShapes: string[];
  outputShape: string;
}

export interface BackwardOptions {
  /** the gradient of the root (default: 1 for a one-element root) */
  seed?: Tensor;
  /** called after each node's backward with the gradients it produced (the tape inspector measures them here) */
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

export class Tape {
  readonly nodes: TapeNode[] = [];
  private spent = false;

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

  /** Called by ops: appends a node when any input requires a gradient, and marks the output as requiring one. */
  add(
    op: string,
    inputs: Tensor[],
    output: Tensor,
    saved: Tensor[],
    backward: TapeNode['backward'],
    info = '',
  ): void {
    if (!inputs.some((t) => t.requiresGrad)) return;
    output.requiresGrad = true;
    this.nodes.push({
      index: this.nodes.length,
      op,
      info,
      inputs,
      output,
      saved: saved.map((t) => t.retain()),
      backward,
      inputShapes: inputs.map((t) => `${t.name}${fmtShape(t.shape)}`),
      outputShape: `${output.name}${fmtShape(output.shape)}`,
    });
  }

  /**
   * Gradients of `root` with respect to each tensor of `wrt` (leaves such as the input image, or intermediates such
   * as a conv's output for Grad-CAM). The caller owns and disposes the returned tensors. A tensor of `wrt` that the
   * root does not depend on gets a zero gradient.
   */
  backward(root: Tensor, wrt: Tensor[], options: BackwardOptions = {}): Tensor[] {
    check(!this.spent, 'this tape was already used for a backward pass (record a new one)');
    this.spent = true;
    check(root.requiresGrad, () => `backward: '${root.name}' does not depend on any tensor that requires a gradient`);
    let seed = options.seed;
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
    const wanted = new Set(wrt);
    const grads = new Map<Tensor, Tensor>([[root, seed]]);
    const accumulate = (t: Tensor, g: Tensor): void => {
      const prev = grads.get(t);
      if (!prev) {
        grads.set(t, g);
        return;
      }
      grads.set(t, add(prev, g, `grad(${t.name})`));
      prev.dispose();
      g.dispose();
    };

    try {
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const node = this.nodes[i]!;
        const dy = grads.get(node.output);
        if (dy) {
          const needs = node.inputs.map((t) => t.requiresGrad);
          const dxs = node.backward(dy, needs);
          options.onNode?.(node, dxs);
          dxs.forEach((dx, k) => {
            if (dx && needs[k]) accumulate(node.inputs[k]!, dx);
            else dx?.dispose();
          });
          if (!wanted.has(node.output)) {
            grads.delete(node.output);
            dy.dispose();
          }
        }
        for (const t of node.saved) t.dispose();
        node.saved = [];
      }
    } catch (e) {
      for (const g of grads.values()) g.dispose();
      this.releaseSaved();
      throw e;
    }

    const out = wrt.map((t) => {
      const g = grads.get(t);
      if (g) {
        grads.delete(t);
        return g;
      }
      return Tensor.zeros(t.gpu, t.shape, `grad(${t.name})`);
    });
    for (const g of grads.values()) g.dispose(); // gradients of tensors not asked for and not consumed
    return out;
  }

  /** Releases what the nodes still hold (a tape recorded but never differentiated). */
  dispose(): void {
    this.releaseSaved();
    this.spent = true;
  }

  private releaseSaved(): void {
    for (const n of this.nodes) {
      for (const t of n.saved) t.dispose();
      n.saved = [];
    }
  }

  /** The tape as text, one op a line, in recording order: a teaching aid. */
  toString(): string {
    if (this.nodes.length === 0) return '(empty tape)';
    const w = String(this.nodes.length - 1).length;
    return this.nodes
      .map((n) => `#${String(n.index).padStart(w)} ${n.op}${n.info ? ` {${n.info}}` : ''}(${n.inputShapes.join(', ')}) → ${n.outputShape}`)
      .join('\n');
  }
}

/** Shorthand used by ops: record on the active tape, if there is one. */
export function record(
  op: string,
  inputs: Tensor[],
  output: Tensor,
  saved: Tensor[],
  backward: TapeNode['backward'],
  info = '',
): Tensor {
  active?.add(op, inputs, output, saved, backward, info);
  return output;
}

