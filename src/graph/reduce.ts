/**
 * Reductions over axes as table rows: ReduceSum, ReduceMean and ReduceMax (src/graph/ops/reduce-*.ts) share their
 * ONNX attributes, their shape rule, and their checks here; each op brings its kernels and its derivation.
 *
 * ONNX: `keepdims` (default 1) keeps each reduced axis as a 1; `axes` says which axes (negative ones count from the
 * end; none means all). `axes` is an attribute up to opset 12 for ReduceSum and up to opset 17 for the others, and an
 * optional input from then on (it must be a constant here), where `noop_with_empty_axes` = 1 makes an empty list mean
 * "reduce nothing". MNASNet's x.mean([2, 3]) is ReduceMean axes [2, 3] keepdims 0; a LayerNorm written out by hand
 * (ConvNeXt below opset 17) is ReduceMean over axis −1 with keepdims 1.
 *
 * A reduction of every axis without keepdims is a scalar in ONNX; here, as every scalar, a [1].
 */
import { check, fmtShape } from '../gpu/errors.js';
import type { Shape } from '../gpu/tensor.js';
import { host, type HostTensor } from '../kernels/host.js';
import { Rng } from '../util/rng.js';
import type { AttrReader, OnnxMapping, OpCheckCase } from './op.js';

export interface ReduceAttrs {
  /** the axes as written (negative ones from the end), or null for all */
  axes: readonly number[] | null;
  keepdims: boolean;
}

/** The ONNX mapping of a reduction: its type, and `axes` from the attribute or (newer opsets) the constant input 1. */
export function reduceMapping(type: string, axesInputFrom: number): OnnxMapping<ReduceAttrs> {
  return {
    types: [type],
    arity: [1, 1],
    attrInputs: [1],
    attrs: (r: AttrReader): ReduceAttrs => {
      const keepdims = r.int('keepdims', 1);
      if (keepdims !== 0 && keepdims !== 1) r.fail(`keepdims must be 0 or 1, not ${keepdims}`);
      let axes: readonly number[] | null;
      if (r.opset >= axesInputFrom) {
        if (r.has('axes')) r.fail(`from opset ${axesInputFrom} the axes are input 1, not an attribute`);
        const name = r.node.inputs[1];
        const given = name ? r.constant(1) : [];
        if (given === undefined) r.fail(`the axes input '${name}' must be a constant (an initializer or a Constant node)`);
        const noop = r.int('noop_with_empty_axes', 0) === 1;
        // An empty list reduces every axis, unless noop_with_empty_axes says it reduces none.
        axes = given!.length > 0 ? given! : noop ? [] : null;
      } else {
        axes = r.ints('axes') ?? null;
      }
      if (axes) for (const a of axes) if (!Number.isInteger(a)) r.fail(`axis ${a} is not an integer`);
      return { axes, keepdims: keepdims === 1 };
    },
  };
}

/** The reduced axes of a tensor of `rank`, each in [0, rank), sorted; an error for an out-of-range or repeated one. */
export function reducedAxes(a: ReduceAttrs, shape: Shape): number[] {
  const rank = shape.length;
  if (a.axes === null) return shape.map((_, k) => k);
  const axes = a.axes.map((ax) => {
    check(ax >= -rank && ax < rank, () => `axis ${ax} is out of range for ${fmtShape(shape)}`);
    return ax < 0 ? ax + rank : ax;
  });
  const written = a.axes;
  check(new Set(axes).size === axes.length, () => `axes [${written.join(',')}] name an axis twice`);
  return axes.sort((x, y) => x - y);
}

/** x's shape with the reduced axes set to 1 (the kernels' form) and the output's shape (without them unless keepdims). */
export function reduceShapes(a: ReduceAttrs, x: Shape): { kept: number[]; out: number[] } {
  const axes = new Set(reducedAxes(a, x));
  const kept = x.map((d, k) => (axes.has(k) ? 1 : d));
  const out = a.keepdims ? kept : x.filter((_, k) => !axes.has(k));
  return { kept, out: out.length ? out : [1] };
}

/** How many terms each output sums: the product of the reduced dims. */
export function termsPerOutput(a: ReduceAttrs, x: Shape): number {
  return reducedAxes(a, x).reduce((p, k) => p * x[k]!, 1);
}

/** Whether channel k of dy is channel k of dx: neither the batch axis nor the channel axis is reduced (or removed). */
export function reduceKeepsChannels(a: ReduceAttrs, [x]: readonly Shape[]): boolean {
  const axes = reducedAxes(a, x!);
  return x!.length >= 2 && !axes.includes(0) && !axes.includes(1);
}

/** A float64 tensor seen with another shape of the same size. */
export function view(t: HostTensor, shape: Shape): HostTensor {
  return { shape: [...shape], data: t.data };
}

/** The reductions every reduce op is checked on. `h` for ops with kinks (max). */
export function reduceChecks(op: string, h?: number): OpCheckCase<ReduceAttrs>[] {
  const cases: [number[], readonly number[] | null, boolean, string][] = [
    [[2, 3, 4, 5], [2, 3], true, 'spatial, keepdims'],
    [[2, 3, 4, 5], [2, 3], false, "spatial, as MNASNet's x.mean([2, 3])"],
    [[2, 4, 3, 6], [-1], true, 'last axis, as a written-out LayerNorm'],
    [[2, 3, 4, 5], [0, 2], true, 'two axes apart'],
    [[2, 3, 4, 5], [1], false, 'channels'],
    [[3, 5, 7], null, false, 'every axis, to a scalar'],
    [[1, 4, 20, 30], [2, 3], true, '600 terms per output'],
  ];
  return cases.map(([shape, axes, keepdims, what], k) => ({
    name: `${op} ${fmtShape(shape)} axes ${axes ? fmtShape(axes) : 'all'}${keepdims ? ' keepdims' : ''} (${what})`,
    inputs: () => [host(shape, new Rng(300 + k).uniforms(shape.reduce((p, d) => p * d, 1)))],
    attrs: { axes, keepdims },
    ...(h !== undefined && { h }),
  }));
}

export function describeReduce(a: ReduceAttrs): string {
  return `axes ${a.axes ? fmtShape(a.axes) : 'all'}${a.keepdims ? ' keepdims' : ''}`;
}
