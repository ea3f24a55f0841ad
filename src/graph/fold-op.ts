/**
 * Ops that exist only while a model is built: the shape arithmetic of exported graphs (Shape, ConstantOfShape, Range,
 * …). PyTorch writes `x.view(x.size(0), -1)` as Shape → Gather → Unsqueeze → Concat → Reshape; every value of that
 * chain but the last is an integer that depends only on shapes, and the fold pass (src/graph/passes/fold-constants.ts)
 * computes it on the CPU. Such an op is still one definition in one file, registered like any other, but with
 * `fold` (how it computes) and `foldChecks` (inputs → expected output) in place of GPU kernels, a backward and
 * gradient checks: integers have no gradient, and these values never reach the GPU. A node the fold pass cannot
 * compute (an input computed on the GPU) is refused, naming it.
 */
import { PixelpropError, check, fmtShape } from '../gpu/errors.js';
import { sizeOf } from '../gpu/tensor.js';
import type { Constant } from './ir.js';
import { defineOp, type FoldCheckCase, type FoldInput, type OnnxMapping, type OpDefinition, type OpDoc } from './op.js';

export interface FoldOpDefinition<A> {
  name: string;
  onnx: OnnxMapping<A>;
  /** the outputs, or undefined when an input it needs is not known yet (the pass then refuses the node) */
  fold(inputs: readonly FoldInput[], attrs: A): Constant[] | undefined;
  /** what it computes; the backward and saves of an OpDoc are the same for every such op */
  doc: string;
  describe?(attrs: A): string;
  foldChecks: readonly FoldCheckCase<A>[];
}

export function defineFoldOp<A>(def: FoldOpDefinition<A>): OpDefinition<A> {
  const onlyWhileBuilding = (): never => {
    throw new PixelpropError(`${def.name} is shape arithmetic, computed only while a model is built`);
  };
  const doc: OpDoc = {
    forward: def.doc,
    backward: 'none: shape arithmetic is computed on integers while the model is built, and nothing differentiable depends on it.',
    saves: 'nothing (the op is gone from the graph the GPU runs).',
  };
  return defineOp<A>({
    name: def.name,
    onnx: def.onnx,
    shape: onlyWhileBuilding,
    forward: onlyWhileBuilding,
    backward: onlyWhileBuilding,
    reference: { forward: onlyWhileBuilding, backward: onlyWhileBuilding },
    doc,
    ...(def.describe && { describe: def.describe }),
    checks: [],
    fold: def.fold,
    foldOnly: true,
    foldChecks: def.foldChecks,
  });
}

/** An int64 constant. */
export function int64(dims: readonly number[], data: readonly number[]): Constant {
  check(sizeOf(dims) === data.length, () => `int64 constant ${fmtShape(dims)} given ${data.length} values`);
  return { dims: [...dims], type: 'int64', data: [...data] };
}

/** A float32 constant. */
export function float32(dims: readonly number[], data: ArrayLike<number>): Constant {
  check(sizeOf(dims) === data.length, () => `float32 constant ${fmtShape(dims)} given ${data.length} values`);
  return { dims: [...dims], type: 'float32', data: Float32Array.from(data) };
}

/** The input's constant, or undefined when it is computed. */
export const constantOf = (i: FoldInput | undefined): Constant | undefined => i?.constant;
