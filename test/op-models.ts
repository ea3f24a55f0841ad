/**
 * Test plumbing for small ONNX models that exercise ops: build a model from nodes after a stem conv, load it, and hold
 * its GPU forward and class-score gradient to its float64 CPU path (the ops' references, node by node).
 */
import { expect } from 'vitest';
import type { Gpu } from '../src/gpu/device.js';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { buildModel, type NodeSpec, type TensorSpec } from '../src/graph/onnx/build-fixture.js';
import { classScoreGradient } from '../src/techniques/gradient.js';
import { Rng } from '../src/util/rng.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose } from './helpers.js';

export interface SmallModel {
  /** opset of the file (default 13) */
  opset?: number;
  /** input dims, batch 1 (default [1, 3, 8, 8]) */
  input?: number[];
  /** the nodes, reading 'x' (the image) and writing 'scores' [1, K] */
  nodes: NodeSpec[];
  initializers?: TensorSpec[];
  /** classes of the output (K) */
  classes: number;
}

export function smallModel(spec: SmallModel): Uint8Array {
  return buildModel({
    irVersion: 8,
    opset: spec.opset ?? 13,
    inputs: [{ name: 'x', dims: spec.input ?? [1, 3, 8, 8] }],
    outputs: [{ name: 'scores', dims: [1, spec.classes] }],
    initializers: spec.initializers ?? [],
    nodes: spec.nodes,
  });
}

/** A float32 initializer of seeded uniform values in [lo, hi). */
export function weights(name: string, dims: number[], seed: number, lo = -1, hi = 1): TensorSpec {
  return { name, dims, data: Float32Array.from(new Rng(seed).uniforms(dims.reduce((p, d) => p * d, 1), lo, hi)) };
}

/** A float32 constant (a scalar when dims is []). */
export function constant(name: string, dims: number[], values: number[]): TensorSpec {
  return { name, dims, data: Float32Array.from(values) };
}

/** An int64 constant (axes, shapes). */
export function ints(name: string, values: number[]): TensorSpec {
  return { name, dims: [values.length], type: 'int64', data: values };
}

/**
 * Loads the model and checks, at batch `batch`, that the GPU scores and ∂s_y/∂x match the CPU path (≤ 1e-5, ≤ 1e-4).
 * Returns the errors and the model's op names (after the passes) for the caller to assert on.
 */
export async function expectGpuMatchesCpuPath(
  gpu: Gpu,
  bytes: Uint8Array,
  options: { batch?: number; seed?: number; classes: number[] },
): Promise<{ forward: number; backward: number; ops: string[] }> {
  const model = Model.load(gpu, bytes);
  try {
    const shape = model.inputShape(options.batch ?? options.classes.length);
    const n = shape.reduce((p, d) => p * d, 1);
    const image = Float32Array.from(new Rng(options.seed ?? 10).uniforms(n));
    const x = Tensor.from(gpu, shape, image, 'x');
    const { scores, grad } = classScoreGradient(model, x, options.classes);
    const ref = model.referenceClassScoreGradient({ shape, data: Float64Array.from(image) }, options.classes);
    const forward = expectClose(await scores.read(), ref.scores.data, FORWARD_BOUND, 'scores: GPU vs CPU path');
    const backward = expectClose(await grad.read(), ref.grad.data, BACKWARD_BOUND, 'gradient: GPU vs CPU path');
    expect(ref.grad.data.some((v) => v !== 0), 'the gradient is not all zero').toBe(true);
    for (const t of [x, scores, grad]) t.dispose();
    return { forward, backward, ops: model.graph.nodes.map((node) => node.op.name) };
  } finally {
    model.dispose();
  }
}
