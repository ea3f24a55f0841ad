/**
 * A TF.js network for ONNX CNNs built from the ops MobileNetV2 needs — Conv (dense, or depthwise: group = channels),
 * Clip, Relu, Add, GlobalAveragePool, Reshape/Flatten to [N, K] — written as a TF.js user writes a channels-last
 * model: tf.fused.conv2d / tf.fused.depthwiseConv2d with bias and, where a Conv's only consumer is a Clip(0, 6) or a
 * Relu, that activation fused ('relu6', 'relu'), as tf.layers' Conv2D/DepthwiseConv2D with an activation run them.
 * SqueezeNet 1.1 keeps its own hand-written network (tfjs.ts); this one walks the ONNX graph node by node, and refuses
 * (one line, naming the node) anything else.
 *
 * Padding: ONNX writes TF's "SAME" out as explicit pads (stride 2 on an even size: [0, 0, 1, 1]); where the pads
 * equal what 'same' would pad for this input size, 'same' is passed (what a TF.js user writes), else explicit pads.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { OnnxGraph, OnnxNode } from '../../src/graph/onnx/ir.js';
import type { Tf } from './tfjs.js';

export interface TfNetwork {
  /** NHWC [N, S, S, 3] → scores [N, K] */
  forward(x: TF.Tensor4D): TF.Tensor2D;
  dispose(): void;
}

type Pad4 = [number, number, number, number];

function ints(node: OnnxNode, name: string, fallback: number[]): number[] {
  const v = node.attrs[name];
  return Array.isArray(v) ? (v as number[]) : fallback;
}

/** TF's SAME padding of one axis: [begin, end] for input size `n`, kernel `k`, stride `s`. */
export function samePads(n: number, k: number, s: number): [number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max(0, (out - 1) * s + k - n);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The TF.js pad argument for ONNX pads [top, left, bottom, right] at input size h×w. */
export function tfPadding(h: number, w: number, kernel: number[], strides: number[], pads: Pad4): 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]] {
  const [t, l, b, r] = pads;
  if (t === 0 && l === 0 && b === 0 && r === 0) return 'valid';
  const [sh0, sh1] = samePads(h, kernel[0]!, strides[0]!);
  const [sw0, sw1] = samePads(w, kernel[1]!, strides[1]!);
  if (t === sh0 && b === sh1 && l === sw0 && r === sw1) return 'same';
  return [[0, 0], [t, b], [l, r], [0, 0]];
}

interface ConvStep {
  kind: 'conv';
  node: OnnxNode;
  depthwise: boolean;
  filter: TF.Tensor4D;
  bias: TF.Tensor1D | null;
  kernel: number[];
  strides: [number, number];
  pads: Pad4;
  activation: 'linear' | 'relu' | 'relu6';
  /** the value the step writes: the activation's output when one was fused */
  output: string;
}

type Step = ConvStep | { kind: 'other'; node: OnnxNode };

export function buildOnnxCnn(tf: Tf, graph: OnnxGraph): TfNetwork {
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const scalar = (name: string | undefined, fallback: number): number => {
    if (!name) return fallback;
    const t = graph.initializers.get(name);
    if (!t || t.type !== 'float32' || t.data.length !== 1) throw new Error(`Clip bound '${name}' is not a float constant`);
    return t.data[0]!;
  };
  const fusedInto = new Set<OnnxNode>();
  const steps: Step[] = [];
  const tensors: TF.Tensor[] = [];
  for (const node of graph.nodes) {
    if (fusedInto.has(node)) continue;
    if (node.opType !== 'Conv') {
      if (!['Clip', 'Relu', 'Add', 'GlobalAveragePool', 'Reshape', 'Flatten'].includes(node.opType)) {
        throw new Error(`${node.name}: ${node.opType} is not among the ops this TF.js network builds`);
      }
      steps.push({ kind: 'other', node });
      continue;
    }
    const w = graph.initializers.get(node.inputs[1]!);
    const b = node.inputs[2] ? graph.initializers.get(node.inputs[2]) : undefined;
    if (!w || w.type !== 'float32') throw new Error(`${node.name}: weights are not a float constant`);
    if (b && b.type !== 'float32') throw new Error(`${node.name}: bias is not a float constant`);
    const [o, i, kh, kw] = w.dims as [number, number, number, number];
    const group = (node.attrs.group as number | undefined) ?? 1;
    const depthwise = group > 1;
    if (depthwise && !(i === 1 && o === group)) throw new Error(`${node.name}: grouped convolution (group ${group}) that is not depthwise`);
    let filter: TF.Tensor4D;
    if (depthwise) {
      // [C, 1, kh, kw] → [kh, kw, C, 1]
      const hwc = new Float32Array(w.data.length);
      for (let c = 0; c < o; c++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) hwc[(y * kw + x) * o + c] = w.data[(c * kh + y) * kw + x]!;
      filter = tf.tensor4d(hwc, [kh, kw, o, 1]);
    } else {
      // OIHW → HWIO
      const hwio = new Float32Array(w.data.length);
      for (let k = 0; k < o; k++)
        for (let c = 0; c < i; c++)
          for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) hwio[((y * kw + x) * i + c) * o + k] = w.data[((k * i + c) * kh + y) * kw + x]!;
      filter = tf.tensor4d(hwio, [kh, kw, i, o]);
    }
    const bias = b ? tf.tensor1d(b.data as Float32Array) : null;
    tensors.push(filter, ...(bias ? [bias] : []));
    // An activation that is the Conv's only consumer runs fused into it.
    const next = consumers.get(node.outputs[0]!) ?? [];
    let activation: ConvStep['activation'] = 'linear';
    let output = node.outputs[0]!;
    if (next.length === 1 && !graph.outputs.some((v) => v.name === output)) {
      const a = next[0]!;
      const relu6 = a.opType === 'Clip' && scalar(a.inputs[1], -Infinity) === 0 && scalar(a.inputs[2], Infinity) === 6;
      if (relu6 || a.opType === 'Relu') {
        activation = relu6 ? 'relu6' : 'relu';
        output = a.outputs[0]!;
        fusedInto.add(a);
      }
    }
    steps.push({
      kind: 'conv',
      node,
      depthwise,
      filter,
      bias,
      kernel: ints(node, 'kernel_shape', [kh, kw]),
      strides: ints(node, 'strides', [1, 1]) as [number, number],
      pads: ints(node, 'pads', [0, 0, 0, 0]) as Pad4,
      activation,
      output,
    });
  }
  const inputName = graph.inputs[0]!.name;
  const outputName = graph.outputs[0]!.name;

  return {
    forward(x) {
      const values = new Map<string, TF.Tensor>([[inputName, x]]);
      const get = (name: string): TF.Tensor => {
        const v = values.get(name);
        if (!v) throw new Error(`value '${name}' not computed`);
        return v;
      };
      for (const step of steps) {
        const n = step.node;
        if (step.kind === 'conv') {
          const input = get(n.inputs[0]!) as TF.Tensor4D;
          const pad = tfPadding(input.shape[1], input.shape[2], step.kernel, step.strides, step.pads);
          const common = { filter: step.filter, strides: step.strides, activation: step.activation, ...(step.bias ? { bias: step.bias } : {}) };
          let y: TF.Tensor4D;
          if (!step.depthwise) y = tf.fused.conv2d({ x: input, pad, ...common });
          else if (typeof pad === 'string') y = tf.fused.depthwiseConv2d({ x: input, pad, ...common });
          // tf.fused.depthwiseConv2d takes no explicit pads: pad the input, then 'valid'.
          else y = tf.fused.depthwiseConv2d({ x: tf.pad(input, pad), pad: 'valid', ...common });
          values.set(step.output, y);
          continue;
        }
        const a = get(n.inputs[0]!);
        let y: TF.Tensor;
        switch (n.opType) {
          case 'Clip': {
            const lo = n.inputs[1] ? graph.initializers.get(n.inputs[1])!.data[0]! : -Infinity;
            const hi = n.inputs[2] ? graph.initializers.get(n.inputs[2])!.data[0]! : Infinity;
            y = tf.clipByValue(a, lo as number, hi as number);
            break;
          }
          case 'Relu':
            y = tf.relu(a);
            break;
          case 'Add':
            y = tf.add(a, get(n.inputs[1]!));
            break;
          case 'GlobalAveragePool':
            y = tf.mean(a, [1, 2], true); // NHWC: [N, 1, 1, C]
            break;
          default: {
            // Reshape/Flatten to [N, K]: after the global pool the spatial axes are 1×1, so NHWC and NCHW agree.
            if (a.shape.length === 4 && (a.shape[1] !== 1 || a.shape[2] !== 1)) throw new Error(`${n.name}: ${n.opType} of a feature map larger than 1×1`);
            y = tf.reshape(a, [a.shape[0]!, -1]);
          }
        }
        values.set(n.outputs[0]!, y);
      }
      const out = get(outputName);
      return (out.shape.length === 4 ? tf.reshape(out, [out.shape[0]!, -1]) : out) as TF.Tensor2D;
    },
    dispose() {
      for (const t of tensors) t.dispose();
    },
  };
}
