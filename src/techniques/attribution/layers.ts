/**
 * Which layer a class activation map reads: the candidates (every activation with spatial extent, [N, K, h, w] with
 * h·w > 1, by its ONNX value name — fused or not), the default — the last spatial activation before global pooling,
 * the layer Grad-CAM's paper uses — and the lookup of a name a person gives, with suggestions when it is wrong.
 */
import { PixelpropError, fmtShape } from '../../gpu/errors.js';
import type { Shape } from '../../gpu/tensor.js';
import type { Model } from '../../graph/model.js';
import { closest } from '../../util/suggest.js';

export interface LayerInfo {
  /** the ONNX value name */
  name: string;
  /** its shape for batch 1 */
  shape: Shape;
  /** the op that computes it */
  op: string;
  /** computed inside a fused node (asking for it runs the unfused graph) */
  hidden: boolean;
}

/** Ops that average a map over all its positions: the global pooling a CAM's default layer feeds. */
const GLOBAL_POOLING = new Set(['GlobalAveragePool', 'GlobalMaxPool']);

/** Every activation with spatial extent, in computation order. */
export function camLayers(model: Model): LayerInfo[] {
  return model.values().filter((v) => v.shape.length === 4 && v.shape[2]! * v.shape[3]! > 1);
}

/**
 * The input of the last global pooling over a spatial map (SqueezeNet: conv10 after its ReLU; MobileNetV2: the last
 * 1×1 conv); failing that, the last spatial activation.
 */
export function defaultCamLayer(model: Model): string {
  const spatial = new Set(camLayers(model).map((l) => l.name));
  const pooled = model.graph.nodes.filter((n) => GLOBAL_POOLING.has(n.op.name) || (n.op.name === 'AveragePool' && n.outputs.some((o) => covers(model, n.inputs[0]!, o))));
  for (let i = pooled.length - 1; i >= 0; i--) {
    const input = pooled[i]!.inputs[0]!;
    if (spatial.has(input)) return input;
  }
  const layers = camLayers(model);
  if (layers.length === 0) throw new PixelpropError('the model has no activation with spatial extent [N,K,h,w]: class activation maps need one');
  return layers[layers.length - 1]!.name;
}

/** An AveragePool whose output is 1×1: a global pooling written as a window over the whole map (the zoo's 13×13). */
function covers(model: Model, input: string, output: string): boolean {
  const out = model.shapes.get(output);
  const inp = model.shapes.get(input);
  return !!out && !!inp && out.length === 4 && out[2] === 1 && out[3] === 1 && inp[2]! * inp[3]! > 1;
}

/** The layer named `name`, checked to be a spatial activation; the default when none is given. */
export function resolveCamLayer(model: Model, name: string | undefined): string {
  if (name === undefined) return defaultCamLayer(model);
  const all = model.values();
  const hit = all.find((v) => v.name === name);
  if (!hit) {
    const hints = closest(name, camLayers(model).map((l) => l.name));
    throw new PixelpropError(`the model has no layer '${name}'${hints.length ? `; closest: ${hints.join(', ')}` : ''} (pixelprop info lists the layers)`);
  }
  if (!(hit.shape.length === 4 && hit.shape[2]! * hit.shape[3]! > 1)) {
    throw new PixelpropError(`layer '${name}' ${fmtShape(hit.shape)} has no spatial extent: a class activation map needs an [N,K,h,w] activation with h·w > 1`);
  }
  return name;
}
