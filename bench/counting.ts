/**
 * What the benchmarks divide by: the work of a model and of each kernel, counted from shapes alone (no GPU, no timing),
 * so that a rate is a count over a measured time and the count can be checked by hand (test/bench-counting.test.ts).
 *
 * Model multiply-adds (MACs). The convolutions and matrix products of the model's graph, after constant folding and
 * before fusion (each node still one ONNX node, its output shape known at the batch asked for):
 *   Conv     N · C_out · H_out · W_out · (C_in / group) · k_h · k_w
 *   Gemm     M · N · K;  MatMul: (product of the batch dims) · M · N · K
 * Everything else (activations, pooling, additions, the bias) is left out: it is a few percent of a CNN's arithmetic
 * and none of it is a multiply-add. "forward+gradient" (classScoreGradient: the scores and their gradient with
 * respect to the input) counts each product twice: the backward to a product's input is the same number of
 * multiply-adds as its forward (the transposed product), and no weight gradient is computed. That is the dense
 * count; pixelprop's classifier backward for one class per image reads one channel of dy and does less.
 *
 * Kernel work, for the roofline. FLOPs: 2 per multiply-add; a comparison (max pooling) or an addition 1. Bytes: the
 * compulsory traffic in float32 — every tensor the kernel reads counted once, every tensor it writes once — which is
 * what a kernel with a perfect cache would move: arithmetic intensity = FLOPs / bytes is then a property of the
 * shapes, not of the implementation, and both versions of a kernel sit at the same x on the roofline. A kernel that
 * re-reads its input (v1 convolutions do, through the cache) moves more, which the roofline shows as distance below
 * the bandwidth roof.
 */
import { kernels, type Shape } from '../src/index.js';
import { inferShapes } from '../src/graph/passes/shapes.js';
import type { Stage } from '../src/graph/passes/index.js';

const { conv2d } = kernels;

export interface Work {
  /** floating-point operations (2 per multiply-add) */
  flops: number;
  /** bytes read + written, each tensor once, float32 */
  bytes: number;
}

export const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const F32 = 4;

export interface ConvAttrs {
  strides?: [number, number];
  pads?: [number, number, number, number];
  group?: number;
}

/** Multiply-adds of a convolution of x [N,C,H,W] with w [O, C/group, kh, kw]. */
export function convMacs(x: readonly number[], w: readonly number[], attrs: ConvAttrs): number {
  const y = conv2d.conv2dShape(x, w, attrs);
  return size(y) * w[1]! * w[2]! * w[3]!;
}

/** Forward with bias (and a fused activation, which reads nothing more): reads x, w, bias; writes y. */
export function convForwardWork(x: readonly number[], w: readonly number[], attrs: ConvAttrs): Work {
  const y = conv2d.conv2dShape(x, w, attrs);
  return { flops: 2 * convMacs(x, w, attrs), bytes: F32 * (size(x) + size(w) + w[0]! + size(y)) };
}

/**
 * Backward to the input: reads dy and w, writes dx. With `dyChannels` (the classifier's backward for one class per
 * image), only those channels of dy and of w take part.
 */
export function convBackwardInputWork(x: readonly number[], w: readonly number[], attrs: ConvAttrs, dyChannels?: number): Work {
  const y = conv2d.conv2dShape(x, w, attrs);
  const share = dyChannels === undefined ? 1 : dyChannels / w[0]!;
  return { flops: 2 * convMacs(x, w, attrs) * share, bytes: F32 * (size(y) * share + size(w) * share + size(x)) };
}

/** Max pooling forward: (k² − 1) comparisons per output; reads x, writes y. */
export function maxPoolForwardWork(x: readonly number[], y: readonly number[], kernel: readonly number[]): Work {
  return { flops: size(y) * (size(kernel) - 1), bytes: F32 * (size(x) + size(y)) };
}

/**
 * Max pooling backward: one addition per dy element into its window's winner; reads dy and either x (v1: finds the
 * winner again, which also reads y's window of x) or the saved argmax (v2, one u32 per output), writes dx.
 */
export function maxPoolBackwardWork(x: readonly number[], y: readonly number[], from: 'input' | 'argmax'): Work {
  return { flops: size(y), bytes: F32 * (size(y) + (from === 'input' ? size(x) : size(y)) + size(x)) };
}

/** Global average pool: one addition per input element; reads x, writes [N, C, 1, 1]. */
export function globalAveragePoolWork(x: readonly number[]): Work {
  return { flops: size(x), bytes: F32 * (size(x) + x[0]! * x[1]!) };
}

/** ReLU backward from y: one comparison per element; reads dy and y, writes dx. */
export function reluBackwardWork(x: readonly number[]): Work {
  return { flops: size(x), bytes: 3 * F32 * size(x) };
}

/** Sum of squares (l2 norm): a multiply-add per element; reads x, writes one number. */
export function l2NormWork(x: readonly number[]): Work {
  return { flops: 2 * size(x), bytes: F32 * (size(x) + 1) };
}

/** Pure data movement (concat, roll, copies): no arithmetic, `elements` read and as many written. */
export function movementWork(elements: number): Work {
  return { flops: 0, bytes: 2 * F32 * elements };
}

/**
 * A kernel whose arithmetic is not counted (softmax's exponentials, a blur whose taps depend on σ): its bytes only, as
 * movementWork; it gets a GB/s but no place on the roofline.
 */
export function bytesOnlyWork(elements: number): Work {
  return movementWork(elements);
}

/** FLOPs per byte; 0 for a kernel without arithmetic (it has no place on a log-log roofline). */
export function intensity(w: Work): number {
  return w.bytes > 0 ? w.flops / w.bytes : 0;
}

export interface ModelMacs {
  /** multiply-adds of one forward at this batch */
  forward: number;
  /** forward + backward to the input (classScoreGradient): twice the products' multiply-adds */
  forwardGradient: number;
  /** the products counted, with their share: for documentation and the tests */
  layers: { name: string; op: string; macs: number }[];
}

/**
 * Multiply-adds of a model (its passes' stages: Model.stages) for the input shape `input` ([batch, ...]), from its
 * graph after constant folding, before fusion merged nodes: every Conv, Gemm and MatMul, counted from its weight's and
 * output's shapes. No GPU: the shapes are inferred on the CPU.
 */
export function modelMacs(stages: readonly Stage[], input: Shape): ModelMacs {
  const stage = stages.find((s) => s.pass === 'fold');
  if (!stage) throw new Error(`the model has no 'fold' stage (passes: ${stages.map((s) => s.pass).join(', ')})`);
  const g = stage.graph;
  const shapes = inferShapes(g, input);
  const shapeOf = (name: string): Shape => {
    const s = shapes.get(name) ?? g.constants.get(name)?.dims;
    if (!s) throw new Error(`no shape for '${name}'`);
    return s;
  };
  const layers: ModelMacs['layers'] = [];
  for (const node of g.nodes) {
    const onnx = node.sources[0]!;
    let macs: number | null = null;
    if (onnx.opType === 'Conv') {
      const w = shapeOf(node.inputs[1]!);
      macs = size(shapeOf(node.outputs[0]!)) * size(w.slice(1));
    } else if (onnx.opType === 'Gemm') {
      const transA = onnx.attrs.transA === 1;
      const a = shapeOf(node.inputs[0]!);
      const y = shapeOf(node.outputs[0]!);
      macs = size(y) * (transA ? a[0]! : a[1]!);
    } else if (onnx.opType === 'MatMul') {
      const a = shapeOf(node.inputs[0]!);
      macs = size(shapeOf(node.outputs[0]!)) * a[a.length - 1]!;
    }
    if (macs !== null) layers.push({ name: node.name, op: onnx.opType, macs });
  }
  const forward = layers.reduce((a, l) => a + l.macs, 0);
  return { forward, forwardGradient: 2 * forward, layers };
}
