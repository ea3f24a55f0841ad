/**
 * Class activation maps at any layer: where, in a layer's activations A [K, h, w], the evidence for class y lies,
 * weighted by the gradient G = ∂s_y/∂A — then resized (bilinear) to the input.
 *
 *   Grad-CAM   (R. Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
 *              Localization", ICCV 2017):            M = ReLU(Σ_k w_k A_k),  w_k = mean_ij G_k^ij
 *   Grad-CAM++ (A. Chattopadhay et al., WACV 2018):  M = ReLU(Σ_k w_k A_k),  w_k = Σ_ij α_k^ij ReLU(G_k^ij),
 *                                                    α = G² / (2G² + Σ_ab A_k^ab G³)
 *   LayerCAM   (P.-T. Jiang et al., IEEE TIP 2021):  M = ReLU(Σ_k ReLU(G_k) ⊙ A_k)       a weight per position
 *   HiResCAM   (R. Draelos, L. Carin, 2020):         M = ReLU(Σ_k G_k ⊙ A_k)             the gradient itself
 *   Guided Grad-CAM (Selvaraju et al.):              max_c | guided backprop ⊙ upsample(Grad-CAM) |
 *
 * The layer defaults to the last spatial activation before global pooling (layers.ts); any ONNX value name of the
 * model with spatial extent works (`pixelprop info` lists them). One forward and one backward per batch:
 * the layer's activation and gradient come from the same pass as the input's (model.forward's `keep`).
 */
import type { Tensor } from '../../gpu/tensor.js';
import type { Model } from '../../graph/model.js';
import { bilinearResize, camMap, type CamKind } from '../../kernels/cam.js';
import { scaleByMap } from '../../kernels/attribution.js';
import { channelAbsMax } from '../../kernels/technique.js';
import { checkImages, gradientAt, release, type AttributionResult } from './common.js';
import { resolveCamLayer } from './layers.js';

export type CamMethod = CamKind | 'guided-gradcam';
export const CAM_METHODS: readonly CamMethod[] = ['gradcam', 'gradcam++', 'layercam', 'hirescam', 'guided-gradcam'];

export interface CamOptions {
  /** an ONNX value name with spatial extent (default: the last one before global pooling) */
  layer?: string;
}

export async function classActivationMap(
  model: Model,
  x: Tensor,
  method: CamMethod,
  classes?: readonly number[],
  options: CamOptions = {},
): Promise<AttributionResult> {
  const [n, , h, w] = checkImages(x, method);
  const layer = resolveCamLayer(model, options.layer);
  const kind: CamKind = method === 'guided-gradcam' ? 'gradcam' : method;
  const g = await gradientAt(model, x, classes, { layers: [layer] });
  const { activation, grad } = g.layers.get(layer)!;
  const coarse = camMap(kind, activation, grad, `${method}.coarse`);
  const upsampled = bilinearResize(coarse, h, w, method);
  let shown = upsampled;
  let guided: Tensor | null = null;
  try {
    if (method === 'guided-gradcam') {
      // Guided backprop's gradient for the same classes, then multiplied by the upsampled Grad-CAM on every channel.
      const gb = await gradientAt(model, x, g.classes, { activationRule: 'guided' });
      guided = scaleByMap(gb.grad, upsampled, 'guided_gradcam');
      release(gb);
      shown = channelAbsMax(guided, 'guided_gradcam.map');
    }
    const [cn, ch, cw] = coarse.shape as [number, number, number];
    return {
      method,
      classes: g.classes,
      predicted: g.predicted,
      map: await shown.read(),
      shape: [n, h, w],
      ...(guided && { attributions: await guided.read() }),
      scores: await g.scores.read(),
      layer,
      coarse: { map: await coarse.read(), shape: [cn, ch, cw] },
    };
  } finally {
    for (const t of new Set([coarse, upsampled, shown, ...(guided ? [guided] : [])])) t.dispose();
    release(g);
  }
}
