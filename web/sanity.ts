/**
 * The model-randomization sanity check of J. Adebayo, J. Gilmer, M. Muelly, I. Goodfellow, M. Hardt, B. Kim,
 * "Sanity Checks for Saliency Maps", NeurIPS 2018 (arXiv:1810.03292), section 3.1 (runs in the worker): re-initialize
 * the network's weights layer by layer, from the top layer down (cascading: the layers above stay randomized), and
 * recompute the saliency map after each. A map that explains the *trained* network must change as its weights are
 * destroyed; a map that stays the same is showing the image (edges, contrast), not what the network learned.
 *
 * The layers, the re-initialization and the rank correlation are the library's (src/techniques/attribution/evaluate.ts,
 * which also runs the test over many methods and images for `pixelprop evaluate`): here, one method, step by step,
 * each map handed to the page as it is ready. The trained values are read back first and uploaded again at the end,
 * whatever happens.
 */
import type { Tensor } from '../src/gpu/tensor.js';
import type { Model } from '../src/graph/model.js';
import { layersOf, randomWeights, rankCorrelation } from '../src/techniques/attribution/evaluate.js';
import { saliency, type SaliencyMethod } from '../src/techniques/saliency.js';
import { Rng } from '../src/util/rng.js';
import type { SanityOutput, SanityStep } from './protocol.js';

/**
 * Runs the cascade on image x for class `classIndex` (the trained network's prediction), handing each map to `emit`
 * as it is ready; stops between layers when the signal is aborted. The trained weights are restored in every case,
 * and checked: the scores of x afterwards must equal, bit for bit, those before.
 */
export async function sanityCheck(
  model: Model,
  x: Tensor,
  classIndex: number,
  options: { seed: number; method: SaliencyMethod; signal: AbortSignal; emit: (step: SanityStep) => void },
): Promise<SanityOutput> {
  const layers = layersOf(model);
  const topDown = [...layers].reverse();
  const rng = new Rng(options.seed);
  const trainedScores = model.forward(x);
  const before = await trainedScores.read();
  trainedScores.dispose();
  const trained = new Map<string, Float32Array>();
  for (const layer of layers) for (const name of layer.weights) trained.set(name, await model.weights.get(name)!.read());
  const mapOf = async (): Promise<{ map: Float32Array; predicted: number }> => {
    const r = await saliency(model, x, [classIndex], { method: options.method });
    return { map: r.map, predicted: r.predicted[0]! };
  };
  let steps = 0;
  let stopped = false;
  try {
    const original = await mapOf();
    options.emit({ label: 'original', randomized: [], map: original.map, rankCorrelation: 1, predicted: original.predicted, of: layers.length + 1 });
    steps++;
    const randomized: string[] = [];
    for (const layer of topDown) {
      if (options.signal.aborted) {
        stopped = true;
        break;
      }
      for (const name of layer.weights) {
        const t = model.weights.get(name)!;
        t.upload(randomWeights(t.shape, rng));
      }
      randomized.push(layer.name);
      const { map, predicted } = await mapOf();
      options.emit({ label: layer.name, randomized: [...randomized], map, rankCorrelation: rankCorrelation(original.map, map), predicted, of: layers.length + 1 });
      steps++;
    }
  } finally {
    for (const [name, values] of trained) model.weights.get(name)!.upload(values);
  }
  const scores = model.forward(x);
  const after = await scores.read();
  scores.dispose();
  return { layers: topDown.map((l) => l.name), steps, stopped, restored: after.every((v, i) => Object.is(v, before[i])) };
}
