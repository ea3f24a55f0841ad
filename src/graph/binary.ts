/**
 * Broadcasting binary ops as table rows: y = f(a, b) element by element over the broadcast shape of a and b (numpy's
 * rule, ONNX's "multidirectional broadcasting": shapes aligned from the right, each axis equal or 1). Add, Sub, Mul,
 * Div and Pow are each one `defineBinary` call (src/graph/ops/add.ts, …): the kernel's op code, f and its two partial
 * derivatives in float64, what each gradient reads, the derivation, the checks. This module makes the rest of the op:
 *
 *   shape     the broadcast shape, or an error naming both shapes and the axis that does not fit
 *   forward   shaders/broadcast.wgsl's binary_forward (vec4 where the innermost axis allows it)
 *   backward  for each operand whose gradient is wanted: dy · ∂f/∂operand, summed over the axes it was broadcast along
 *             — an operand read at many positions receives the sum of its contributions (the multivariate chain rule)
 *   reference the same in float64 (src/kernels/broadcast.ts, binaryRef and binaryGradientRef)
 *   checks    the same broadcast patterns for every op: equal shapes, an SE block's [N,C,1,1] against [N,C,H,W] both
 *             ways, a scalar, a bias onto channels-last, both operands broadcast, an odd size, rank 6
 */
import type { Tensor, Shape } from '../gpu/tensor.js';
import { binaryForward, binaryGradient, binaryGradientRef, binaryRef, type BinaryCode } from '../kernels/broadcast.js';
import { host, type HostTensor } from '../kernels/host.js';
import { broadcastShape } from '../kernels/strides.js';
import { Rng } from '../util/rng.js';
import { apply1, defineOp, type OpCheckCase, type OpDefinition, type OpDoc } from './op.js';

/** A binary op has no attributes (opset 7 on; the legacy `broadcast`/`axis` attributes are refused at load). */
export type BinaryAttrs = Record<string, never>;

/** How the checks draw one operand: values uniform in [lo, hi), times a random sign when `signed`. */
export interface OperandRange {
  lo: number;
  hi: number;
  signed?: boolean;
}

export interface BinarySpec {
  name: string;
  /** the NAME of `const BIN_NAME` in shaders/broadcast.wgsl */
  code: BinaryCode;
  f(a: number, b: number): number;
  /** ∂f/∂a and ∂f/∂b */
  da(a: number, b: number): number;
  db(a: number, b: number): number;
  /** the operands each gradient reads (what the forward saves when that gradient may be asked for) */
  reads: { a: readonly ('a' | 'b')[]; b: readonly ('a' | 'b')[] };
  doc: OpDoc;
  /** where the checks draw a and b from (default: [−1, 1) for both) */
  ranges?: { a?: OperandRange; b?: OperandRange };
  /** checks of this op beyond the shared broadcast patterns */
  extraChecks?: readonly OpCheckCase<BinaryAttrs>[];
  /** operands that may be int64 constants standing for numbers (OpDefinition.int64AsFloat) */
  int64AsFloat?: readonly number[];
}

export interface BinaryOp extends OpDefinition<BinaryAttrs> {
  /** y = a ∘ b on the GPU, recorded on the tape */
  apply(a: Tensor, b: Tensor, name?: string): Tensor;
}

/** The broadcast patterns every binary op is checked on: [name, a's shape, b's shape]. */
const PATTERNS: readonly [string, number[], number[]][] = [
  ['equal shapes', [2, 3, 4, 5], [2, 3, 4, 5]],
  ['equal shapes, odd size', [3, 5, 7], [3, 5, 7]],
  ['SE scale [N,C,1,1] ∘ [N,C,H,W]', [2, 3, 1, 1], [2, 3, 4, 4]],
  ['[N,C,H,W] ∘ SE scale [N,C,1,1]', [2, 3, 4, 4], [2, 3, 1, 1]],
  ['scalar constant [1]', [2, 3, 5, 4], [1]],
  ['bias [C] onto channels-last [N,H,W,C]', [2, 3, 2, 8], [8]],
  ['[C,1,1] onto [N,C,H,W], odd sizes', [3, 1, 1], [2, 3, 5, 3]],
  ['both broadcast [2,1,5] ∘ [3,1]', [2, 1, 5], [3, 1]],
  ['rank 6', [2, 1, 3, 1, 2, 2], [1, 2, 1, 3, 1, 2]],
];

/** Values for a check: uniform in the range, signs random where asked, rounded to float32 later by the check. */
export function operand(shape: number[], seed: number, range: OperandRange = { lo: -1, hi: 1 }): HostTensor {
  const rng = new Rng(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  return host(
    shape,
    Array.from({ length: n }, () => {
      const v = range.lo + (range.hi - range.lo) * rng.uniform();
      return range.signed && rng.uniform() < 0.5 ? -v : v;
    }),
  );
}

export function defineBinary(spec: BinarySpec): BinaryOp {
  const code = spec.code;
  const shared: OpCheckCase<BinaryAttrs>[] = PATTERNS.map(([what, aShape, bShape], k) => ({
    name: `${spec.name} ${fmt(aShape)} ∘ ${fmt(bShape)} (${what})`,
    inputs: () => [operand(aShape, 100 + 2 * k, spec.ranges?.a), operand(bShape, 101 + 2 * k, spec.ranges?.b)],
    attrs: {},
  }));
  const op = defineOp<BinaryAttrs>({
    name: spec.name,
    onnx: {
      types: [spec.name],
      arity: [2, 2],
      attrs: (r) => {
        // Before opset 7 the second operand could be aligned at an `axis` (not from the right); nobody exports that now.
        if (r.has('axis')) r.fail('the legacy axis attribute (opset < 7) is not supported; re-export at opset ≥ 7');
        return {};
      },
    },
    // No prefix: the model's shape pass names the node ('node … (Mul): shapes … do not broadcast …').
    shape: ([a, b]) => [broadcastShape(a!, b!)],
    forward: ([a, b], _, ctx) => {
      const y = binaryForward(code, a!, b!, ctx.name);
      // Save only what a wanted gradient reads: with respect to the pixels, a constant operand's gradient is not asked.
      const reads = new Set([...(ctx.needs[0] ? spec.reads.a : []), ...(ctx.needs[1] ? spec.reads.b : [])]);
      return { outputs: [y], saved: { a: reads.has('a') ? a : undefined, b: reads.has('b') ? b : undefined } };
    },
    backward: ({ dys: [dy], saved, needs, inputShapes: [aShape, bShape], name }) => {
      const operands = { a: saved.a ?? null, b: saved.b ?? null, aShape: aShape!, bShape: bShape! };
      return [
        needs[0] ? binaryGradient(code, 0, dy!, operands, `grad(${name}.a)`) : null,
        needs[1] ? binaryGradient(code, 1, dy!, operands, `grad(${name}.b)`) : null,
      ];
    },
    ...(spec.int64AsFloat && { int64AsFloat: spec.int64AsFloat }),
    // dy · ∂f/∂operand is zero where dy is; the channel list carries over to an operand that has the result's axis 1.
    keepsChannels: (_, inputs, [y]) => y!.length >= 2 && inputs.every((s) => s.length === y!.length && s[1] === y![1]),
    reference: {
      forward: ([a, b]) => [binaryRef(a!, b!, spec.f)],
      backward: ([dy], [a, b], _, __, needs) => [
        needs[0] ? binaryGradientRef(dy!, a!, b!, 0, spec.da) : null,
        needs[1] ? binaryGradientRef(dy!, a!, b!, 1, spec.db) : null,
      ],
    },
    doc: spec.doc,
    checks: [...shared, ...(spec.extraChecks ?? [])],
  });
  return Object.assign(op, { apply: (a: Tensor, b: Tensor, name?: string) => apply1(op, [a, b], {}, name) });
}

/** The backward doc of a broadcasting op: the local derivatives, then the sum over broadcast axes. */
export function binaryBackwardDoc(partials: string): string {
  return (
    `y_i = f(a_i, b_i) at each position i of the broadcast shape, so dy_i reaches the operands through the local ` +
    `derivatives ${partials}: da_i = dy_i · ∂f/∂a, db_i = dy_i · ∂f/∂b. An operand that was broadcast (its size 1 ` +
    `along an axis where the result's is d) was read at every position of that axis, and the chain rule adds up the ` +
    `contributions of every use: its gradient is that product summed over the broadcast axes ("reduce to shape", the ` +
    `adjoint of broadcasting).`
  );
}

function fmt(shape: Shape): string {
  return `[${shape.join(',')}]`;
}
