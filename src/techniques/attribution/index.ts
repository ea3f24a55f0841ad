/**
 * Every attribution method, by name: one entry each, with its family and what its map means. `attribute(model, x,
 * method, options)` runs any of them; the CLI (`pixelprop attribute`), the evaluation and the page read this table.
 */
import { PixelpropError } from '../../gpu/errors.js';
import type { Tensor } from '../../gpu/tensor.js';
import type { Model } from '../../graph/model.js';
import { closest } from '../../util/suggest.js';
import { SEED_RANGE, type NumberRange } from '../ranges.js';
import { saliency } from '../saliency.js';
import { CAM_METHODS, classActivationMap, type CamMethod, type CamOptions } from './cam.js';
import type { AttributionResult } from './common.js';
import { occlusion, type OcclusionOptions } from './occlusion.js';
import { PATH_METHODS, pathAttribution, type PathMethod, type PathOptions } from './paths.js';
import { RULE_METHODS, ruleAttribution, type RuleMethod, type RuleOptions } from './rules.js';

export type AttributionOptions = CamOptions & PathOptions & RuleOptions & OcclusionOptions & { samples?: number };

export interface MethodInfo {
  name: string;
  family: 'gradient' | 'cam' | 'path' | 'rule' | 'occlusion';
  /** what the map's values are (see AttributionResult.map) */
  map: 'max_c |g|' | 'Σ_c a' | 'CAM ≥ 0';
  title: string;
}

const gradientMethods = ['vanilla', 'smoothgrad', 'gradxinput'] as const;

export const METHODS: readonly MethodInfo[] = [
  { name: 'vanilla', family: 'gradient', map: 'max_c |g|', title: 'gradient (Simonyan et al. 2014)' },
  { name: 'smoothgrad', family: 'gradient', map: 'max_c |g|', title: 'SmoothGrad (Smilkov et al. 2017)' },
  { name: 'gradxinput', family: 'gradient', map: 'max_c |g|', title: 'gradient × input (Shrikumar et al. 2016)' },
  { name: 'guided-backprop', family: 'rule', map: 'max_c |g|', title: 'guided backprop (Springenberg et al. 2015)' },
  { name: 'deconvnet', family: 'rule', map: 'max_c |g|', title: 'deconvnet (Zeiler & Fergus 2014)' },
  { name: 'lrp-epsilon', family: 'rule', map: 'Σ_c a', title: 'LRP-ε (Bach et al. 2015)' },
  { name: 'lrp-zplus', family: 'rule', map: 'Σ_c a', title: 'LRP-z⁺ (Montavon et al. 2017)' },
  { name: 'gradcam', family: 'cam', map: 'CAM ≥ 0', title: 'Grad-CAM (Selvaraju et al. 2017)' },
  { name: 'gradcam++', family: 'cam', map: 'CAM ≥ 0', title: 'Grad-CAM++ (Chattopadhay et al. 2018)' },
  { name: 'layercam', family: 'cam', map: 'CAM ≥ 0', title: 'LayerCAM (Jiang et al. 2021)' },
  { name: 'hirescam', family: 'cam', map: 'CAM ≥ 0', title: 'HiResCAM (Draelos & Carin 2020)' },
  { name: 'guided-gradcam', family: 'cam', map: 'max_c |g|', title: 'Guided Grad-CAM (Selvaraju et al. 2017)' },
  { name: 'integrated-gradients', family: 'path', map: 'Σ_c a', title: 'Integrated Gradients (Sundararajan et al. 2017)' },
  { name: 'expected-gradients', family: 'path', map: 'Σ_c a', title: 'Expected Gradients / GradientSHAP (Erion et al. 2021)' },
  { name: 'smoothgrad-squared', family: 'path', map: 'max_c |g|', title: 'SmoothGrad² (Hooker et al. 2019)' },
  { name: 'vargrad', family: 'path', map: 'max_c |g|', title: 'VarGrad (Adebayo et al. 2018)' },
  { name: 'occlusion', family: 'occlusion', map: 'Σ_c a', title: 'occlusion (Zeiler & Fergus 2014)' },
];

export const METHOD_NAMES: readonly string[] = METHODS.map((m) => m.name);

/**
 * The range of each numeric setting a person gives (src/techniques/ranges.ts): steps are Integrated Gradients' path
 * points, samples the random draws of the other path methods and SmoothGrad; noise is σ as a fraction of the image's
 * value range (10 is already pure noise); patch and stride are occlusion's, in pixels (the patch also at most the
 * image's side, checked by the method).
 */
export const ATTRIBUTION_RANGES = {
  steps: { min: 1, max: 100_000, integer: true },
  samples: { min: 1, max: 10_000, integer: true },
  noise: { min: 0, max: 10 },
  seed: SEED_RANGE,
  patch: { min: 1, max: 4096, integer: true },
  stride: { min: 1, max: 4096, integer: true },
} as const satisfies Record<string, NumberRange>;

/** The method named `name`, or a one-line error with the closest names. */
export function methodNamed(name: string): MethodInfo {
  const m = METHODS.find((x) => x.name === name);
  if (!m) throw new PixelpropError(`unknown attribution method '${name}'; closest: ${closest(name, METHOD_NAMES).join(', ')} (all: ${METHOD_NAMES.join(', ')})`);
  return m;
}

/** Runs `method` on images x [N,3,H,W] for `classes` (default: the predicted ones). */
export async function attribute(
  model: Model,
  x: Tensor,
  method: string,
  classes?: readonly number[],
  options: AttributionOptions = {},
): Promise<AttributionResult> {
  const info = methodNamed(method);
  switch (info.family) {
    case 'cam':
      return classActivationMap(model, x, method as CamMethod, classes, options);
    case 'path':
      return pathAttribution(model, x, method as PathMethod, classes, options);
    case 'rule':
      return ruleAttribution(model, x, method as RuleMethod, classes, options);
    case 'occlusion':
      return occlusion(model, x, classes, options);
    case 'gradient': {
      const r = await saliency(model, x, classes, {
        method: method as (typeof gradientMethods)[number],
        ...(options.samples !== undefined && { samples: options.samples }),
        ...(options.noise !== undefined && { noise: options.noise }),
        ...(options.seed !== undefined && { seed: options.seed }),
        ...(options.signal && { signal: options.signal }),
      });
      return { method, classes: r.classes, predicted: r.predicted, map: r.map, shape: r.shape, attributions: r.grad, scores: r.scores };
    }
  }
}

export { CAM_METHODS, PATH_METHODS, RULE_METHODS };
export type { AttributionResult } from './common.js';
export { camLayers, defaultCamLayer, resolveCamLayer, type LayerInfo } from './layers.js';
