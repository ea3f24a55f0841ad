/**
 * The TF.js peer (other models than SqueezeNet 1.1: tfjs-graph.ts): SqueezeNet 1.1 written with tf ops the way a TF.js user writes a channels-last model, from the same
 * ONNX weights pixelprop loads, on the webgpu backend (WebGPU, the same Dawn/browser GPU object pixelprop uses) or the
 * wasm backend (CPU, one thread).
 *
 * Layout. TF.js convolutions, pooling and images are channels-last (NHWC; the wasm backend has no NCHW convolution),
 * so the ONNX weights [O, I, kh, kw] become [kh, kw, I, O] and the NCHW benchmark image becomes NHWC — on the CPU,
 * once, outside any timing. The gradient comes back NHWC and is turned to NCHW for the correctness gate.
 *
 * Layers, each matched to the ONNX node it stands for (the gate checks the result against pixelprop):
 * - Conv + Relu → tf.fused.conv2d with bias and activation 'relu' (what tf.layers' Conv2D runs), padding 'valid' for
 *   pads 0, 'same' for stride-1 kernels 2p+1 with pads p (the 3×3 expand convolutions), explicit pads otherwise;
 * - MaxPool 3×3/2 with ONNX pads [0,0,1,1] (begin h, begin w, end h, end w) → tf.maxPool 'valid' after padding the
 *   end with −∞, but only where a window reaches the pad: for SqueezeNet's sizes (111, 55, 27) the last window
 *   ends exactly at the last row (2·(out−1)+3 = in), so the pad changes nothing and is not materialized (a copy
 *   of the whole activation that ONNX's semantics do not need); `maxPoolOnnx` pads whenever it would matter;
 * - Concat on channels → tf.concat(axis 3); Dropout → identity (inference); GlobalAveragePool + Reshape → tf.mean
 *   over H and W, which is already [N, 1000].
 *
 * "forward+backward" is tf.grad of Σ_i s_{i, y_i} (the scores times the one-hot matrix of the classes, summed) with
 * respect to the input: one forward recorded on TF.js' tape and one backward to the pixels, as pixelprop's
 * classScoreGradient. TF.js also computes the gradients of the intermediate activations but not of the weights
 * (tf.grad differentiates with respect to x only).
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { OnnxGraph, OnnxNode } from '../../src/graph/onnx/ir.js';
import {
  benchmarkClasses,
  benchmarkInput,
  nchwToNhwc,
  nhwcToNchw,
  wallClock,
  type PreparedRuntime,
  type Runtime,
} from './common.js';
import { buildOnnxCnn } from './tfjs-graph.js';

export type Tf = typeof TF;

/** SqueezeNet 1.1's node sequence (ONNX model zoo export): the network below is written for exactly this graph. */
const SQUEEZENET_1_1_OPS = [
  'Conv Relu MaxPool',
  ...['fire2', 'fire3'].map(() => 'Conv Relu Conv Relu Conv Relu Concat'),
  'MaxPool',
  ...['fire4', 'fire5'].map(() => 'Conv Relu Conv Relu Conv Relu Concat'),
  'MaxPool',
  ...['fire6', 'fire7', 'fire8', 'fire9'].map(() => 'Conv Relu Conv Relu Conv Relu Concat'),
  'Dropout Conv Relu GlobalAveragePool Reshape',
].join(' ');

interface ConvLayer {
  filter: TF.Tensor4D;
  bias: TF.Tensor1D;
  strides: [number, number];
  pad: 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
}

interface PoolLayer {
  kernel: [number, number];
  strides: [number, number];
  /** ONNX order: begin h, begin w, end h, end w */
  pads: [number, number, number, number];
}

function ints(node: OnnxNode, name: string, fallback: number[]): number[] {
  const v = node.attrs[name];
  return Array.isArray(v) ? (v as number[]) : fallback;
}

/** The TF.js padding argument equal to ONNX `pads` for a convolution. */
function convPadding(kernel: number[], strides: number[], pads: number[]): ConvLayer['pad'] {
  const [t, l, b, r] = pads as [number, number, number, number];
  if (t === 0 && l === 0 && b === 0 && r === 0) return 'valid';
  const sameAtStride1 = strides[0] === 1 && strides[1] === 1 && t === b && l === r && kernel[0] === 2 * t + 1 && kernel[1] === 2 * l + 1;
  if (sameAtStride1) return 'same';
  return [[0, 0], [t, b], [l, r], [0, 0]];
}

/**
 * ONNX MaxPool (floor output size, pads never win) in TF.js: out = ⌊(in + begin + end − k)/s⌋ + 1, computed by a
 * 'valid' pool over the input padded with −∞ — with only as much end padding as the last window actually reaches.
 */
export function maxPoolOnnx(tf: Tf, x: TF.Tensor4D, p: PoolLayer): TF.Tensor4D {
  const [, h, w] = x.shape;
  const need = (size: number, k: number, s: number, begin: number, end: number): number => {
    const out = Math.floor((size + begin + end - k) / s) + 1;
    return Math.max(0, (out - 1) * s + k - size - begin); // end rows the last window reads beyond the input
  };
  const endH = need(h, p.kernel[0], p.strides[0], p.pads[0], p.pads[2]);
  const endW = need(w, p.kernel[1], p.strides[1], p.pads[1], p.pads[3]);
  const padded =
    p.pads[0] || p.pads[1] || endH || endW
      ? tf.pad(x, [[0, 0], [p.pads[0], endH], [p.pads[1], endW], [0, 0]], -Infinity)
      : x;
  return tf.maxPool(padded, p.kernel, p.strides, 'valid');
}

export interface TfSqueezeNet {
  /** NHWC [N, 224, 224, 3] → scores [N, 1000] */
  forward(x: TF.Tensor4D): TF.Tensor2D;
  dispose(): void;
}

/** Builds the network's weights as tf tensors on the current backend. */
/** Whether the graph is the SqueezeNet 1.1 this file's network is written for. */
export function isSqueezeNet11(graph: OnnxGraph): boolean {
  return graph.nodes.map((n) => n.opType).join(' ') === SQUEEZENET_1_1_OPS;
}

export function buildSqueezeNet(tf: Tf, graph: OnnxGraph): TfSqueezeNet {
  const ops = graph.nodes.map((n) => n.opType).join(' ');
  if (ops !== SQUEEZENET_1_1_OPS) throw new Error(`the ONNX graph is not SqueezeNet 1.1 as exported by the ONNX model zoo (ops: ${ops.slice(0, 120)}…)`);
  const convs: ConvLayer[] = [];
  const pools: PoolLayer[] = [];
  for (const node of graph.nodes) {
    if (node.opType === 'Conv') {
      const w = graph.initializers.get(node.inputs[1]!);
      const b = graph.initializers.get(node.inputs[2]!);
      if (!w || w.type !== 'float32' || !b || b.type !== 'float32') throw new Error(`${node.name}: weights or bias missing`);
      if ((node.attrs.group ?? 1) !== 1) throw new Error(`${node.name}: grouped convolution`);
      const [o, i, kh, kw] = w.dims as [number, number, number, number];
      // OIHW → HWIO: filter[y][x][c][k] = w[k][c][y][x]
      const hwio = new Float32Array(w.data.length);
      for (let k = 0; k < o; k++)
        for (let c = 0; c < i; c++)
          for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) hwio[((y * kw + x) * i + c) * o + k] = w.data[((k * i + c) * kh + y) * kw + x]!;
      const kernel = ints(node, 'kernel_shape', [kh, kw]);
      const strides = ints(node, 'strides', [1, 1]) as [number, number];
      convs.push({
        filter: tf.tensor4d(hwio, [kh, kw, i, o]),
        bias: tf.tensor1d(b.data),
        strides,
        pad: convPadding(kernel, strides, ints(node, 'pads', [0, 0, 0, 0])),
      });
    } else if (node.opType === 'MaxPool') {
      pools.push({
        kernel: ints(node, 'kernel_shape', [1, 1]) as [number, number],
        strides: ints(node, 'strides', [1, 1]) as [number, number],
        pads: ints(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number],
      });
    }
  }

  const conv = (x: TF.Tensor4D, i: number): TF.Tensor4D => {
    const c = convs[i]!;
    return tf.fused.conv2d({ x, filter: c.filter, bias: c.bias, strides: c.strides, pad: c.pad, activation: 'relu' });
  };
  // Fire module: a 1×1 squeeze, then 1×1 and 3×3 expands side by side, concatenated on channels.
  const fire = (x: TF.Tensor4D, i: number): TF.Tensor4D => {
    const s = conv(x, i);
    return tf.concat([conv(s, i + 1), conv(s, i + 2)], 3);
  };
  const pool = (x: TF.Tensor4D, i: number): TF.Tensor4D => maxPoolOnnx(tf, x, pools[i]!);

  return {
    forward(x) {
      let h = pool(conv(x, 0), 0);
      h = fire(fire(h, 1), 4);
      h = pool(h, 1);
      h = fire(fire(h, 7), 10);
      h = pool(h, 2);
      h = fire(fire(fire(fire(h, 13), 16), 19), 22);
      return tf.mean(conv(h, 25), [1, 2]) as TF.Tensor2D; // dropout is the identity at inference
    },
    dispose() {
      for (const c of convs) {
        c.filter.dispose();
        c.bias.dispose();
      }
    },
  };
}

/**
 * A TF.js runtime on `backend`. Tensors live on the backend that was active when they were made (and would be
 * copied if used under another), so every run first makes this runtime's backend the active one, before the clock.
 */
export async function tfjsRuntime(tf: Tf, backend: 'webgpu' | 'wasm', graph: OnnxGraph, name: string, adapter: string): Promise<Runtime> {
  const activate = async (): Promise<void> => {
    if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) throw new Error(`TF.js backend '${backend}' failed to initialize`);
  };
  await activate();
  await tf.ready();
  // SqueezeNet 1.1 as written above; other CNNs (MobileNetV2) through the graph-walking network of tfjs-graph.ts.
  const net = isSqueezeNet11(graph) ? buildSqueezeNet(tf, graph) : buildOnnxCnn(tf, graph);
  return {
    name,
    adapter,
    async prepare(batch: number): Promise<PreparedRuntime> {
      await activate();
      const x = tf.tensor4d(nchwToNhwc(benchmarkInput(batch), batch, 3, 224, 224), [batch, 224, 224, 3]);
      // The number of classes from one forward (untimed): 1000 for SqueezeNet, 1001 for MobileNetV2 (with background).
      const classCount = tf.tidy(() => net.forward(x).shape[1]);
      const oneHot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(benchmarkClasses(batch), 'int32'), classCount), 'float32')) as TF.Tensor2D;
      // ∂(Σ_i s_{i,y_i})/∂x: the class scores picked out by the one-hot matrix, summed, differentiated for x.
      const gradient = tf.grad((input: TF.Tensor) => tf.sum(tf.mul(net.forward(input as TF.Tensor4D), oneHot)));
      const forward = (): TF.Tensor2D => tf.tidy(() => net.forward(x));
      return {
        async scores() {
          await activate();
          const y = forward();
          const data = (await y.data()) as Float32Array;
          y.dispose();
          return data;
        },
        async inputGradient() {
          await activate();
          const g = gradient(x);
          const data = (await g.data()) as Float32Array;
          g.dispose();
          return nhwcToNchw(data, batch, 3, 224, 224);
        },
        timed: {
          forward: () =>
            wallClock(
              async () => {
                const y = forward();
                await y.data();
                return y;
              },
              (y) => y.dispose(),
              activate,
            ),
          'forward+backward': () =>
            wallClock(
              async () => {
                const g = gradient(x);
                await g.data();
                return g;
              },
              (g) => g.dispose(),
              activate,
            ),
        },
        dispose() {
          x.dispose();
          oneHot.dispose();
        },
      };
    },
  };
}
