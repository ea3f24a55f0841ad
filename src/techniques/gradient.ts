/**
 * The one derivative every technique here is built on — the gradient of a class score with respect to the input
 * pixels,
 *
 *     g = ∂ s_y(x) / ∂x,        s = model(x) ∈ R^{N×K} (unnormalized scores), y = one class per image,
 *
 * computed by one forward pass recorded on a tape and one backward pass seeded with the one-hot matrix e_y: the
 * backward of the last op receives ∂(Σ_i s_{i,y_i})/∂s = e_y, and the chain rule carries it down to x. Images of a
 * batch do not interact, so the gradient of that sum with respect to image i is the gradient of its own score.
 *
 * And the scaffolding the techniques share, so that each reads like its equation: `onTape` (mark x as the leaf,
 * record, restore), the gradient at given or at predicted classes (optionally also at named layers, for Grad-CAM),
 * a regularizer added to the objective, gradients summed over many inputs made chunk by chunk (SmoothGrad's noisy
 * copies, Integrated Gradients' path), and the scores read back with their softmax.
 */
import { PixelpropError, check } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { Tape, type BackwardRule, type TapeOptions } from '../graph/tape.js';
import { host } from '../kernels/host.js';
import type { BackwardRuleName } from '../kernels/activation.js';
import { argmaxIndices } from '../kernels/reduce.js';
import { softmaxRef } from '../kernels/softmax.js';
import { SCORES_OVERFLOW, checkFinite } from '../util/finite.js';

/**
 * Runs `body` with x marked as a leaf that requires a gradient, on a fresh tape; afterwards x is as it was and the
 * tape's saved tensors are freed — also when `body` throws, or when the promise it returns rejects.
 */
export function onTape<T>(x: Tensor, body: (tape: Tape) => T, tapeOptions: TapeOptions = {}): T {
  const wasLeaf = x.requiresGrad;
  x.requiresGrad = true;
  const tape = new Tape(tapeOptions);
  const done = (): void => {
    x.requiresGrad = wasLeaf;
    tape.dispose();
  };
  let result: T;
  try {
    result = body(tape);
  } catch (e) {
    done();
    throw e;
  }
  if (result instanceof Promise) return result.finally(done) as T;
  done();
  return result;
}

// One-hot seeds are uploaded once per (model, classes) and reused: an optimization loop uploads nothing.
const seeds = new WeakMap<Model, Map<string, Tensor>>();

/** The seed e_y [N, K] for `classes` (cached; do not dispose). */
export function oneHotSeed(model: Model, classes: readonly number[]): Tensor {
  const k = model.numClasses;
  for (const c of classes) check(Number.isInteger(c) && c >= 0 && c < k, () => `class ${c} is out of range: the model has classes 0 to ${k - 1}`);
  let cache = seeds.get(model);
  if (!cache) seeds.set(model, (cache = new Map()));
  const key = classes.join(',');
  let seed = cache.get(key);
  if (!seed || seed.disposed) {
    const data = new Float32Array(classes.length * k);
    classes.forEach((c, i) => (data[i * k + c] = 1));
    // The seed has the scores' own shape: [N, K], or [N, K, 1, 1] for a model that ends at its pooled classifier.
    const trailingOnes = model.shapes.get(model.outputNames[0]!)!.length - 2;
    seed = Tensor.from(model.gpu, [classes.length, k, ...Array<number>(trailingOnes).fill(1)], data, `e_y`);
    cache.set(key, seed);
  }
  return seed;
}

/** The predicted class of each image: the argmax of its scores read as [N, K] (4 bytes per image read back). */
export async function predictedClasses(scores: Tensor): Promise<number[]> {
  const n = scores.shape[0]!;
  const rows = scores.shape.length === 2 ? scores : scores.reshape([n, scores.size / n]);
  try {
    return await argmaxIndices(rows);
  } finally {
    if (rows !== scores) rows.dispose();
  }
}

/** The classes a one-hot seed can be non-zero in: the classifier's backward then reads only these channels. */
function channelsOf(classes: readonly number[]): number[] {
  return [...new Set(classes)].sort((a, b) => a - b);
}

export interface ScoreGradient {
  /** the scores [N, K] of the forward pass */
  scores: Tensor;
  /** ∂L/∂x_i, the shape of x, with L = Σ_i s_{i,y_i} (+ the regularizer, when given) */
  grad: Tensor;
  /** for each layer asked for: its activation A and ∂L/∂A (the caller disposes them) */
  layers: Map<string, { activation: Tensor; grad: Tensor }>;
}

export interface GradientOptions {
  /** what the model sees of x, built on the tape (the class visualization's jitter, roll(x)); default x itself */
  view?: (x: Tensor) => Tensor;
  /** ONNX value names of activations to return with their gradients (Grad-CAM's layer) */
  layers?: readonly string[];
  /** a term added to the objective, built on the tape from x (the class visualization's −λ‖x‖²); a scalar */
  regularizer?: (x: Tensor) => Tensor;
  /** backward rules that replace the ops' own for this gradient (LRP's) */
  rules?: ReadonlyMap<string, BackwardRule>;
  /** a modified rule for every activation, alone or fused (guided backprop, deconvnet) */
  activationRule?: BackwardRuleName;
  /** how the tape records (rules that read every node's input, as a student's max-pooling backward does, retain values) */
  tape?: TapeOptions;
}

/** The forward of a gradient, recorded: the scores, the kept layers, the regularizer's value. */
interface Recorded {
  scores: Tensor;
  kept: Map<string, Tensor>;
  extra: Tensor | null;
}

function recordForward(model: Model, x: Tensor, tape: Tape, options: GradientOptions): Recorded {
  const { output: scores, kept } = tape.record(() => {
    const seen = options.view ? options.view(x) : x;
    try {
      return model.forward(seen, { keep: options.layers ?? [] });
    } finally {
      if (seen !== x) seen.dispose(); // encoded: the tape holds what its backward needs
    }
  });
  if (!scores.requiresGrad) {
    scores.dispose();
    for (const t of kept.values()) t.dispose();
    throw new PixelpropError('the model output does not depend on its input');
  }
  let extra: Tensor | null = null;
  try {
    extra = options.regularizer ? tape.record(() => options.regularizer!(x)) : null;
  } catch (e) {
    release({ scores, kept, extra: null });
    throw e;
  }
  return { scores, kept, extra };
}

function release(r: Recorded): void {
  r.scores.dispose();
  for (const t of r.kept.values()) t.dispose();
  r.extra?.dispose();
}

/** The backward of a recorded forward, seeded with e_y for `classes` (and 1 for the regularizer). */
function backwardFor(model: Model, x: Tensor, tape: Tape, r: Recorded, classes: readonly number[], options: GradientOptions): ScoreGradient {
  try {
    const layers = options.layers ?? [];
    const roots = [{ root: r.scores, seed: oneHotSeed(model, classes), channels: channelsOf(classes) }, ...(r.extra ? [{ root: r.extra }] : [])];
    const activations = layers.map((name) => r.kept.get(name)!);
    const [grad, ...layerGrads] = tape.backwardFrom(roots, [x, ...activations], {
      ...(options.rules && { rules: options.rules }),
      ...(options.activationRule && { activationRule: options.activationRule }),
    });
    r.extra?.dispose();
    return { scores: r.scores, grad: grad!, layers: new Map(layers.map((name, k) => [name, { activation: activations[k]!, grad: layerGrads[k]! }])) };
  } catch (e) {
    release(r); // the caller never receives them
    throw e;
  }
}

/**
 * Scores and ∂s_y/∂x for a batch x [N,3,H,W] and one class per image. The caller disposes the results (scores, grad,
 * and each layer's activation and gradient). It encodes the work and reads nothing back.
 */
export function classScoreGradient(model: Model, x: Tensor, classes: readonly number[], options: GradientOptions = {}): ScoreGradient {
  check(classes.length === x.shape[0], () => `${classes.length} classes for a batch of ${x.shape[0]} images`);
  oneHotSeed(model, classes); // checks each class is in range, before any pass runs
  return onTape(x, (tape) => backwardFor(model, x, tape, recordForward(model, x, tape, options), classes, options), options.tape);
}

/**
 * The scores of x and ∂s_y/∂x for the classes the network predicts for x. The predicted class is known only after the
 * forward pass, so the forward is recorded, its argmax read back (4 bytes per image), and the backward seeded with
 * it: still one forward and one backward.
 */
export async function predictedClassGradient(model: Model, x: Tensor, options: GradientOptions = {}): Promise<ScoreGradient & { classes: number[] }> {
  return onTape(x, async (tape) => {
    const r = recordForward(model, x, tape, options);
    let classes: number[];
    try {
      classes = await predictedClasses(r.scores);
    } catch (e) {
      release(r);
      throw e;
    }
    return { ...backwardFor(model, x, tape, r, classes, options), classes };
  }, options.tape);
}

/**
 * Gradients at many inputs, made `batch` at a time so that memory stays that of one chunk: SmoothGrad's noisy copies,
 * Integrated Gradients' points along a path. For each chunk, `make(start, count)` builds its inputs [count, C, H, W]
 * and `consume` receives ∂s_y/∂x of each (y = `classOf`) and the scores, before they are freed; one submit per chunk.
 * Checked after each chunk, an aborted signal ends the run: the result says how many inputs were done.
 */
export async function gradientsOverInputs(
  model: Model,
  spec: {
    total: number;
    batch: number;
    classOf: number;
    make: (start: number, count: number) => Tensor;
    consume: (grad: Tensor, scores: Tensor, start: number, count: number) => void;
    signal?: AbortSignal | undefined;
    onProgress?: ((done: number) => void) | undefined;
  },
): Promise<{ done: number; stopped: boolean }> {
  let done = 0;
  while (done < spec.total) {
    const count = Math.min(spec.batch, spec.total - done);
    const inputs = spec.make(done, count);
    try {
      const { scores, grad } = classScoreGradient(model, inputs, new Array<number>(count).fill(spec.classOf));
      spec.consume(grad, scores, done, count);
      scores.dispose();
      grad.dispose();
    } finally {
      inputs.dispose();
    }
    // Waiting for the chunk's GPU work (not only submitting it) makes the progress count finished copies; the
    // zero-delay timer then yields to the event loop's tasks, so that a stop request that arrived meanwhile (the page's
    // message to a worker) is handled before the next chunk, not after all of them. (The page's e2e run stopped
    // SmoothGrad with the sync alone only in Node, not in Chromium's worker.)
    await model.gpu.sync();
    await new Promise((resolve) => setTimeout(resolve, 0));
    done += count;
    spec.onProgress?.(done);
    if (spec.signal?.aborted && done < spec.total) return { done, stopped: true };
  }
  return { done, stopped: false };
}

/** What the network says about one image: its scores, their softmax in float64, and the top class. */
export interface Verdict {
  scores: Float32Array;
  probs: Float64Array;
  argmax: number;
}

/** The verdict on the first image of a [1, K] (or [N, K]) score tensor, read back. */
export async function verdictOf(scores: Tensor): Promise<Verdict> {
  const k = scores.size / scores.shape[0]!; // [N, K], or [N, K, 1, 1]
  const values = (await scores.read()).slice(0, k);
  checkFinite(values, 'the score tensor read back from the GPU', SCORES_OVERFLOW);
  const probs = softmaxRef(host([1, k], values)).data;
  return { scores: values, probs, argmax: probs.indexOf(Math.max(...probs)) };
}

/** One forward of x [1, C, H, W] and its verdict. */
export async function classify(model: Model, x: Tensor): Promise<Verdict> {
  const scores = model.forward(x);
  try {
    return await verdictOf(scores);
  } finally {
    scores.dispose();
  }
}
