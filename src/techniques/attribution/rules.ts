/**
 * Modified backward rules: methods that run the backward pass with some ops' rules replaced — per run, on the tape,
 * without touching the model (a rule is a property of an op's backward, so it reaches fused kernels too).
 *
 *   Guided backprop (J. Springenberg et al., "Striving for Simplicity: The All Convolutional Net", ICLR workshop
 *   2015): every rectifier passes max(dy · f′(z), 0) — its forward gate, and only positive signal.
 *   Deconvnet (M. Zeiler, R. Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014): every
 *   rectifier passes max(dy, 0) — the backward signal rectified, the forward gate ignored.
 *
 *   Layer-wise relevance propagation (S. Bach et al., "On Pixel-Wise Explanations for Non-Linear Classifier Decisions
 *   by Layer-Wise Relevance Propagation", PLOS ONE 2015; rules as in G. Montavon et al., "Layer-Wise Relevance
 *   Propagation: An Overview", 2019). Relevance R starts as the class score s_y at class y and flows down; a linear
 *   layer z_j = Σ_i x_i w_ij + b_j hands its output's relevance to its inputs in proportion to their contributions:
 *
 *     LRP-ε:   R_i = x_i Σ_j w_ij R_j / (z_j + ε·sign(z_j))        i.e. s = R / (z + ε·sign z), c = Wᵀs, R_x = x ⊙ c
 *     LRP-z⁺:  R_i = x_i Σ_j w⁺_ij R_j / Σ_i′ x_i′ w⁺_i′j          positive weights only, no bias (for x ≥ 0, after a
 *                                                                  rectifier); a layer whose input can be negative —
 *                                                                  the first (normalized pixels), or one after a
 *                                                                  linear bottleneck (nonNegativeValues) — keeps ε
 *
 *   Where relevance is not conserved: a bias b_j takes b_j / (z_j + ε) of R_j (the ε-rule's bias term), and ε itself
 *   absorbs some: Σ R_input = s_y − (what biases and ε took). The result reports Σ R against s_y. Rules per op:
 *   Conv and Gemm (and the fused ConvConcat, part by part) by the rule above; a rectifier passes R unchanged (R_z =
 *   R_y: relevance is not re-weighted by an activation); MaxPool routes R to each window's maximum (its own
 *   backward: winner takes all); AveragePool and GlobalAveragePool are linear with weights 1/d (ε-rule); Add splits R
 *   in proportion to its summands (ε-rule on z = a + b); Concat, Reshape and Identity move R as they move gradients.
 *   Any other op on the path is refused by name.
 */
import { PixelpropError, check } from '../../gpu/errors.js';
import { Tensor } from '../../gpu/tensor.js';
import type { Model } from '../../graph/model.js';
import type { Graph } from '../../graph/ir.js';
import type { Activation } from '../../graph/activation.js';
import type { ReferenceOpRule, ReferenceRule } from '../../graph/op.js';
import { Tape, type BackwardOptions, type BackwardRule, type TapeNode } from '../../graph/tape.js';
import { activationForward, type BackwardRuleName } from '../../kernels/activation.js';
import { concatBackward } from '../../kernels/concat.js';
import { conv2dBackwardInput, conv2dBackwardInputRef, conv2dForward, conv2dRef } from '../../kernels/conv2d.js';
import { gemm as gemmKernel, gemmBackward, gemmBackwardRef, gemmRef } from '../../kernels/gemm.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { globalAveragePoolBackward, globalAveragePoolBackwardRef } from '../../kernels/pool.js';
import { argmaxIndices } from '../../kernels/reduce.js';
import { add } from '../../kernels/elementwise.js';
import { stabilizedRatio, stabilizedRatioRef } from '../../kernels/attribution.js';
import { channelAbsMax, channelSum, multiply } from '../../kernels/technique.js';
import { concatBackwardRef } from '../../kernels/concat.js';
import type { ConvAttrs } from '../../graph/ops/conv.js';
import { conv2dAttrsFor } from '../../graph/ops/conv.js';
import type { ConvConcatAttrs } from '../../graph/ops/conv-concat.js';
import { averagePoolGradient, averagePoolGradientRef, type AveragePoolAttrs } from '../../graph/ops/average-pool.js';
import type { GemmAttrs } from '../../kernels/gemm.js';
import { Relu } from '../../graph/ops/relu.js';
import { oneHotSeed } from '../gradient.js';
import { checkImages, gradientAt, release, type AttributionResult } from './common.js';

export type RuleMethod = 'guided-backprop' | 'deconvnet' | 'lrp-epsilon' | 'lrp-zplus';
export const RULE_METHODS: readonly RuleMethod[] = ['guided-backprop', 'deconvnet', 'lrp-epsilon', 'lrp-zplus'];

export interface RuleOptions {
  /** LRP-ε's ε (default 0.01; in units of the pre-activations z) */
  epsilon?: number;
}

export const LRP_DEFAULTS = { epsilon: 0.01 } as const;

/** The ε the z⁺-rule adds to its (positive) denominators, only so that an all-zero window does not divide by 0. */
const ZPLUS_EPS = 1e-9;

export async function ruleAttribution(
  model: Model,
  x: Tensor,
  method: RuleMethod,
  classes?: readonly number[],
  options: RuleOptions = {},
): Promise<AttributionResult> {
  check(RULE_METHODS.includes(method), () => `unknown rule method '${method}' (methods: ${RULE_METHODS.join(', ')})`);
  const [n, , h, w] = checkImages(x, method);
  if (method === 'guided-backprop' || method === 'deconvnet') {
    const g = await gradientAt(model, x, classes, ruleBackward(model, method, x).backward);
    const map = channelAbsMax(g.grad, `${method}.map`);
    try {
      return {
        method,
        classes: g.classes,
        predicted: g.predicted,
        map: await map.read(),
        shape: [n, h, w],
        attributions: await g.grad.read(),
        scores: await g.scores.read(),
      };
    } finally {
      map.dispose();
      release(g);
    }
  }
  return lrp(model, x, method === 'lrp-zplus' ? 'zplus' : 'epsilon', classes, options);
}

/**
 * How a rule method's backward differs from the gradient's, for whoever runs the tape (the methods here, the tape
 * inspector): whether the tape must keep every node's values (LRP recomputes pre-activations), the rules to pass to
 * the backward, and whether the seed is s_y·e_y (LRP's relevance starts as the score) rather than e_y.
 */
export interface RuleBackward {
  retainValues: boolean;
  backward: Pick<BackwardOptions, 'rules' | 'activationRule'>;
  seedIsScore: boolean;
}

export function ruleBackward(model: Model, method: RuleMethod, image: Tensor, options: RuleOptions = {}): RuleBackward {
  check(RULE_METHODS.includes(method), () => `unknown rule method '${method}' (methods: ${RULE_METHODS.join(', ')})`);
  if (method === 'guided-backprop' || method === 'deconvnet') {
    const activationRule: BackwardRuleName = method === 'guided-backprop' ? 'guided' : 'deconvnet';
    return { retainValues: false, backward: { activationRule }, seedIsScore: false };
  }
  const eps = options.epsilon ?? LRP_DEFAULTS.epsilon;
  check(Number.isFinite(eps) && eps >= 0, () => `lrp: epsilon ${eps} must be a finite number ≥ 0`);
  const rules = lrpRules(method === 'lrp-zplus' ? 'zplus' : 'epsilon', eps, image, nonNegativeValues(model.graph));
  return { retainValues: true, backward: { rules }, seedIsScore: true };
}

/** LRP on the GPU: the forward recorded keeping every node's values, the backward with the LRP rules, seeded with s_y·e_y. */
async function lrp(model: Model, x: Tensor, variant: 'epsilon' | 'zplus', classes: readonly number[] | undefined, options: RuleOptions): Promise<AttributionResult> {
  const [n, , h, w] = checkImages(x, `lrp-${variant}`);
  const { backward } = ruleBackward(model, `lrp-${variant}`, x, options);
  const wasLeaf = x.requiresGrad;
  x.requiresGrad = true;
  const tape = new Tape({ retainValues: true });
  let scores: Tensor | null = null;
  let seed: Tensor | null = null;
  let relevance: Tensor | null = null;
  let map: Tensor | null = null;
  try {
    scores = tape.record(() => model.forward(x));
    const predicted = await argmaxIndices(scores);
    const chosen = classes ? [...classes] : predicted;
    check(chosen.length === n, () => `${chosen.length} classes for ${n} images`);
    oneHotSeed(model, chosen);
    const values = await scores.read();
    const k = model.numClasses;
    const seedData = new Float32Array(n * k);
    chosen.forEach((c, i) => (seedData[i * k + c] = values[i * k + c]!)); // R_out = s_y at class y
    seed = Tensor.from(model.gpu, scores.shape, seedData, 'R_out');
    [relevance = null] = tape.backwardFrom([{ root: scores, seed, channels: [...new Set(chosen)].sort((a, b) => a - b) }], [x], backward);
    map = channelSum(relevance!, `lrp-${variant}.map`);
    const r = await relevance!.read();
    const per = r.length / n;
    const relevanceSum = Array.from({ length: n }, (_, i) => r.slice(i * per, (i + 1) * per).reduce((a, b) => a + b, 0));
    const scoreOf = chosen.map((c, i) => values[i * k + c]!);
    return {
      method: `lrp-${variant}`,
      classes: chosen,
      predicted,
      map: await map.read(),
      shape: [n, h, w],
      attributions: r,
      scores: values,
      completeness: {
        attributionSum: relevanceSum,
        scoreDelta: scoreOf,
        relError: relevanceSum.map((s, i) => Math.abs(s - scoreOf[i]!) / Math.max(Math.abs(scoreOf[i]!), 1e-12)),
      },
    };
  } finally {
    x.requiresGrad = wasLeaf;
    tape.dispose();
    for (const t of [scores, seed, relevance, map]) t?.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The LRP rules on the GPU, by op name (tape rules: they read the node's inputs and outputs, kept by the tape).

/** R_x = x ⊙ c for a relevance c per input element; c is consumed. */
function timesInput(x: Tensor, c: Tensor, name: string): Tensor {
  const r = multiply(x, c, name);
  c.dispose();
  return r;
}

/** The ε-rule (or z⁺) through one convolution: z recomputed without the activation, s = R/(z ± ε), c = convᵀ(s). */
function convRelevance(
  r: Tensor,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  attrs: ConvAttrs,
  zplus: boolean,
  eps: number,
  name: string,
): Tensor {
  const a = conv2dAttrsFor(attrs, x.shape, w.shape);
  const weights = zplus ? activationForward(w, Relu.with({}).fn, `${name}.w+`) : w;
  const z = conv2dForward(x, weights, zplus ? null : b, a, { name: `${name}.z` });
  const s = stabilizedRatio(r, z, zplus ? ZPLUS_EPS : eps, `${name}.s`);
  const c = conv2dBackwardInput(s, weights, x.shape, a, { name: `${name}.c` });
  for (const t of [z, s]) t.dispose();
  if (weights !== w) weights.dispose();
  return timesInput(x, c, `R(${name})`);
}

/**
 * The values of a graph that cannot be negative by construction — the inputs LRP-z⁺ is defined for (x ≥ 0): the
 * output of a rectifier (ReLU, ReLU6 = Clip from 0), alone or fused into a conv, and what pooling, concatenation or a
 * reshape make of such values only. The image is signed (normalized pixels), and so are MobileNetV2's linear
 * bottlenecks (a 1×1 conv with no activation) and their residual sums: a conv reading one keeps the ε-rule, where z⁺'s
 * denominator Σ x_i w⁺_ij could cancel to zero.
 */
export function nonNegativeValues(graph: Graph): Set<string> {
  const probes = [-1e6, -100, -6, -3, -1.5, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 3, 6, 100, 1e6];
  const rectifies = (a: Activation | undefined): boolean => !!a && typeof a.f === 'function' && probes.every((z) => a.f(z) >= 0);
  const passes = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Concat', 'Reshape', 'Flatten', 'Identity', 'Squeeze', 'Unsqueeze', 'Transpose']);
  const out = new Set<string>();
  for (const node of graph.nodes) {
    const attrs = node.attrs as (Activation & { activation?: Activation }) | undefined;
    const epilogue = attrs?.activation ?? (typeof attrs?.f === 'function' ? attrs : undefined);
    const data = node.op.name === 'Concat' ? node.inputs : node.inputs.slice(0, 1);
    if (rectifies(epilogue) || (passes.has(node.op.name) && data.length > 0 && data.every((v) => out.has(v)))) for (const v of node.outputs) out.add(v);
  }
  return out;
}

function lrpRules(variant: 'epsilon' | 'zplus', eps: number, image: Tensor, nonNegative: ReadonlySet<string>): Map<string, BackwardRule> {
  const input = (node: TapeNode, k: number): Tensor => node.saved[`input${k}`]!;
  const output = (node: TapeNode, k: number): Tensor => node.saved[`output${k}`]!;
  // z⁺ assumes non-negative inputs: a layer reading the image, or any other value that can be negative, keeps ε.
  const zplusFor = (node: TapeNode): boolean => variant === 'zplus' && node.inputs[0] !== image && nonNegative.has(node.inputs[0]!.name);
  const rules = new Map<string, BackwardRule>();
  /** `says`: the rule in a few words, recorded on the node for the tape inspector ("lrp-zplus: z⁺") */
  const named = (name: string, rule: BackwardRule, says: string | ((node: TapeNode) => string)): void => {
    const recorded: BackwardRule = (ctx, node) => {
      node.rule = `lrp-${variant}: ${typeof says === 'string' ? says : says(node)}`;
      return rule(ctx, node);
    };
    Object.defineProperty(recorded, 'name', { value: `lrp-${variant}` });
    rules.set(name, recorded);
  };
  const linearRule = (node: TapeNode): string =>
    zplusFor(node)
      ? 'z⁺ (positive weights, no bias)'
      : variant === 'epsilon'
        ? 'ε'
        : node.inputs[0] === image
          ? 'ε (the first layer: its input, the image, is signed)'
          : 'ε (its input can be negative: no rectifier before it)';
  named('Conv', (ctx, node) => {
    const [dy] = ctx.dys;
    const attrs = ctx.attrs as unknown as ConvAttrs;
    const b = node.inputs.length > 2 ? input(node, 2) : null;
    return [convRelevance(dy!, input(node, 0), input(node, 1), b, attrs, zplusFor(node), eps, node.name), null, ...(b ? [null] : [])];
  }, linearRule);
  named('ConvConcat', (ctx, node) => {
    const [dy] = ctx.dys;
    const attrs = ctx.attrs as unknown as ConvConcatAttrs;
    const shapes = ctx.outputShapes;
    // Each part's slice of R, its relevance through its conv; parts reading one tensor add up.
    let at = 0;
    const partShapes = attrs.parts.map((p) => {
      const xs = node.inputShapes[at]!;
      const ws = node.inputShapes[at + 1]!;
      at += p.hasBias ? 3 : 2;
      return [xs[0]!, ws[0]!, shapes[0]![2]!, shapes[0]![3]!];
    });
    const slices = concatBackward(dy!, partShapes, 1);
    const grads: (Tensor | null)[] = new Array<Tensor | null>(node.inputs.length).fill(null);
    at = 0;
    attrs.parts.forEach((p, k) => {
      const x = input(node, at);
      const r = convRelevance(slices[k]!, x, input(node, at + 1), p.hasBias ? input(node, at + 2) : null, p.conv, zplusFor(node), eps, `${node.name}.${k}`);
      slices[k]!.dispose();
      const first = ctx.sameInput[at]!;
      const sofar = grads[first];
      if (first !== at && sofar) {
        grads[first] = add(sofar, r, `R(${node.name})`);
        sofar.dispose();
        r.dispose();
      } else {
        grads[at] = r;
      }
      at += p.hasBias ? 3 : 2;
    });
    return grads;
  }, linearRule);
  named('Gemm', (ctx, node) => {
    const [dy] = ctx.dys;
    const attrs = ctx.attrs as unknown as GemmAttrs;
    const [a, b] = [input(node, 0), input(node, 1)];
    const c = node.inputs.length > 2 ? input(node, 2) : null;
    const z = gemmKernel(a, b, c, attrs, `${node.name}.z`);
    const s = stabilizedRatio(dy!, z, eps, `${node.name}.s`);
    const [da] = gemmBackward(s, a, b, c ? [...c.shape] : null, attrs, [true, false, false]);
    for (const t of [z, s]) t.dispose();
    return [timesInput(a, da!, `R(${node.name})`), null, ...(c ? [null] : [])];
  }, 'ε');
  const averageRule: BackwardRule = (ctx, node) => {
    const [dy] = ctx.dys;
    const x = input(node, 0);
    const s = stabilizedRatio(dy!, output(node, 0), eps, `${node.name}.s`);
    const c =
      node.op.name === 'GlobalAveragePool'
        ? globalAveragePoolBackward(s, x.shape)
        : averagePoolGradient(s, ctx.attrs as unknown as AveragePoolAttrs, x.shape);
    s.dispose();
    return [timesInput(x, c, `R(${node.name})`)];
  };
  named('AveragePool', averageRule, 'ε (a linear layer with weights 1/d)');
  named('GlobalAveragePool', averageRule, 'ε (a linear layer with weights 1/d)');
  named('Add', (ctx, node) => {
    const [dy] = ctx.dys;
    const [a, b] = [input(node, 0), input(node, 1)];
    if (a.shape.join() !== b.shape.join()) throw new PixelpropError(`lrp: no rule for a broadcasting Add ('${node.name}')`);
    const s = stabilizedRatio(dy!, output(node, 0), eps, `${node.name}.s`);
    const out = [multiply(a, s, `R(${node.name}.a)`), multiply(b, s, `R(${node.name}.b)`)];
    s.dispose();
    return out;
  }, 'ε (R split in proportion to the summands)');
  // Activations pass relevance unchanged; MaxPool (winner takes all), Concat, Reshape, Identity keep their own
  // backward. Every other op is refused.
  for (const op of ['Relu', 'Clip', 'LeakyRelu']) named(op, (ctx) => [ctx.dys[0]!.retain()], 'R passed unchanged');
  const own = new Set(['MaxPool', 'Concat', 'Reshape', 'Identity']);
  for (const op of ['Sigmoid', 'HardSigmoid', 'HardSwish', 'Silu', 'MatMul', 'Softmax', 'LogSoftmax']) {
    named(op, (_ctx, node) => {
      throw new PixelpropError(`lrp: no relevance rule for op ${node.op.name} ('${node.name}'); LRP supports ${[...rules.keys(), ...own].filter((o) => !['Sigmoid', 'HardSigmoid', 'HardSwish', 'Silu', 'MatMul', 'Softmax', 'LogSoftmax'].includes(o)).join(', ')}`);
    }, 'refused');
  }
  return rules;
}

// ---------------------------------------------------------------------------------------------------------------
// The same rules in float64, for the CPU path (Model.referenceClassScoreGradient with `rule`): the reference the GPU
// rules are checked against, written as the equations above.

const timesRef = (x: HostTensor, c: HostTensor): HostTensor => host(x.shape, x.data.map((v, i) => v * c.data[i]!));
const mapRef = (t: HostTensor, f: (v: number) => number): HostTensor => host(t.shape, t.data.map(f));

function convRelevanceRef(r: HostTensor, x: HostTensor, w: HostTensor, b: HostTensor | null, attrs: ConvAttrs, zplus: boolean, eps: number): HostTensor {
  const a = conv2dAttrsFor(attrs, x.shape, w.shape);
  const weights = zplus ? mapRef(w, (v) => Math.max(v, 0)) : w;
  const z = conv2dRef(x, weights, zplus ? null : b, a);
  const s = stabilizedRatioRef(r, z, zplus ? ZPLUS_EPS : eps);
  return timesRef(x, conv2dBackwardInputRef(s, weights, x.shape, a));
}

/** The float64 LRP rules; `imageName` is the model's input (the layer reading it keeps the ε-rule under z⁺). */
export function lrpReferenceRules(variant: 'epsilon' | 'zplus', eps: number, imageName: string, nonNegative: ReadonlySet<string>): ReferenceRule {
  const zplusFor = (node: { inputNames: readonly string[] }): boolean => variant === 'zplus' && node.inputNames[0] !== imageName && nonNegative.has(node.inputNames[0]!);
  const ops = new Map<string, ReferenceOpRule>();
  ops.set('Conv', ([dy], [x, w, b], _outputs, attrs: ConvAttrs, _needs, node) => [
    convRelevanceRef(dy!, x!, w!, b ?? null, attrs, zplusFor(node), eps),
    null,
    ...(b ? [null] : []),
  ]);
  ops.set('ConvConcat', ([dy], inputs, [y], attrs: ConvConcatAttrs, _needs, node) => {
    let at = 0;
    const partShapes = attrs.parts.map((p) => {
      const shape = [inputs[at]!.shape[0]!, inputs[at + 1]!.shape[0]!, y!.shape[2]!, y!.shape[3]!];
      at += p.hasBias ? 3 : 2;
      return shape;
    });
    const slices = concatBackwardRef(dy!, partShapes, 1);
    const grads: (HostTensor | null)[] = new Array<HostTensor | null>(inputs.length).fill(null);
    at = 0;
    attrs.parts.forEach((p, k) => {
      const r = convRelevanceRef(slices[k]!, inputs[at]!, inputs[at + 1]!, p.hasBias ? inputs[at + 2]! : null, p.conv, zplusFor(node), eps);
      // Parts that read one tensor (the squeeze output) add up, as the GPU rule does.
      const first = node.inputNames.indexOf(node.inputNames[at]!);
      const sofar = grads[first];
      if (first !== at && sofar) grads[first] = host(r.shape, r.data.map((v, i) => v + sofar.data[i]!));
      else grads[at] = r;
      at += p.hasBias ? 3 : 2;
    });
    return grads;
  });
  ops.set('Gemm', ([dy], [a, b, c], _outputs, attrs: GemmAttrs) => {
    const z = gemmRef(a!, b!, c ?? null, attrs);
    const s = stabilizedRatioRef(dy!, z, eps);
    const [da] = gemmBackwardRef(s, a!, b!, c ? c.shape : null, attrs);
    return [timesRef(a!, da), null, ...(c ? [null] : [])];
  });
  const average: ReferenceOpRule = ([dy], [x], [y], attrs: AveragePoolAttrs, _needs, node) => {
    const s = stabilizedRatioRef(dy!, y!, eps);
    const c =
      node.op === 'GlobalAveragePool'
        ? globalAveragePoolBackwardRef(s, x!.shape)
        : averagePoolGradientRef(s, attrs, x!.shape);
    return [timesRef(x!, c)];
  };
  ops.set('AveragePool', average);
  ops.set('GlobalAveragePool', average);
  ops.set('Add', ([dy], [a, b], [y]) => {
    const s = stabilizedRatioRef(dy!, y!, eps);
    return [timesRef(a!, s), timesRef(b!, s)];
  });
  for (const op of ['Relu', 'Clip', 'LeakyRelu']) ops.set(op, ([dy]) => [dy!]);
  return { ops };
}

/** The float64 reference of a rule method's input attribution (the CPU path; seconds per image). */
export function ruleAttributionRef(model: Model, x: HostTensor, method: RuleMethod, classes: readonly number[], options: RuleOptions = {}): HostTensor {
  if (method === 'guided-backprop' || method === 'deconvnet') {
    return model.referenceClassScoreGradient(x, classes, { rule: { activation: method === 'guided-backprop' ? 'guided' : 'deconvnet' } }).grad;
  }
  const rule = lrpReferenceRules(method === 'lrp-zplus' ? 'zplus' : 'epsilon', options.epsilon ?? LRP_DEFAULTS.epsilon, model.inputName, nonNegativeValues(model.graph));
  return model.referenceClassScoreGradient(x, classes, { rule, seed: 'score' }).grad;
}
