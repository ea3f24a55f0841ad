/**
 * The tape inspector (web/inspect.ts, run in Node here on lavapipe) under a modified-gradient method: each recorded op
 * says which backward rule it used, and the backward it inspects is the method's own — its input "gradient" has the
 * norm of the attributions ruleAttribution computes (guided backprop) or of the LRP relevance.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { ruleAttribution, type RuleMethod } from '../src/techniques/attribution/rules.js';
import { inspectTape } from '../web/inspect.js';
import type { TapeRow } from '../web/protocol.js';
import { useGpu } from './helpers.js';
import { repoRoot } from './shared-data.js';
import { useModel } from './techniques-helpers.js';

const gpu = useGpu();
const model = useModel(gpu);
/** float32 sums of ~150k terms in two different orders (the norm kernel vs a host sum) */
const NORM_BOUND = 1e-4;

async function image(): Promise<Tensor> {
  const pixels = preprocess(await readImage(join(repoRoot, 'samples', 'chelsea.png')));
  return Tensor.from(gpu(), [1, 3, 224, 224], pixels, 'chelsea');
}

const l2 = (values: Float32Array): number => Math.sqrt(values.reduce((a, v) => a + v * v, 0));

/** An op whose forward includes a rectifier: a Relu, or a conv with its ReLU fused in. */
const rectifies = (row: TapeRow): boolean => row.op === 'Relu' || /\+relu/.test(row.info);

describe('tape inspector: which rule each op used', () => {
  it('the plain gradient: every op its own backward', async () => {
    const x = await image();
    try {
      const tape = await inspectTape(model(), x, 285);
      expect(tape.rules).toBe('gradient');
      expect(tape.rows.filter((r) => r.rule !== null)).toEqual([]);
    } finally {
      x.dispose();
    }
  });

  it.each(['guided-backprop', 'deconvnet'] as RuleMethod[])('%s: the rectifiers, fused or alone, use the rule; the others their own gradient; the gradient is the method\'s', async (method) => {
    const x = await image();
    try {
      const tape = await inspectTape(model(), x, 285, method);
      const rule = method === 'guided-backprop' ? 'guided' : 'deconvnet';
      const visited = tape.rows.filter((r) => r.backwardOrder !== null);
      expect(visited.filter(rectifies).length).toBeGreaterThanOrEqual(10); // conv1, 8 fire modules × 2, conv10
      for (const row of visited) expect(row.rule, `${row.op} ${row.name} (${row.info})`).toBe(rectifies(row) ? rule : null);
      const expected = await ruleAttribution(model(), x, method, [285]);
      const norm = l2(expected.attributions!);
      expect(Math.abs(tape.inputGradNorm - norm) / norm).toBeLessThanOrEqual(NORM_BOUND);
    } finally {
      x.dispose();
    }
  });

  it.each(['lrp-epsilon', 'lrp-zplus'] as RuleMethod[])('%s: the linear layers, pools and rectifiers name their rule; the first conv keeps ε; max pooling its own; the relevance is the method\'s', async (method) => {
    const x = await image();
    try {
      const tape = await inspectTape(model(), x, 285, method);
      const visited = tape.rows.filter((r) => r.backwardOrder !== null);
      const first = visited[0]!; // conv1, which reads the image
      expect(first.op).toBe('Conv');
      expect(first.rule).toBe(method === 'lrp-zplus' ? 'lrp-zplus: ε (the first layer: its input, the image, is signed)' : 'lrp-epsilon: ε');
      for (const row of visited.slice(1)) {
        if (row.op === 'MaxPool' || row.op === 'Concat' || row.op === 'Reshape' || row.op === 'Flatten') expect(row.rule, row.name).toBeNull();
        else if (row.op === 'Conv' || row.op === 'ConvConcat') expect(row.rule, row.name).toBe(method === 'lrp-zplus' ? 'lrp-zplus: z⁺ (positive weights, no bias)' : 'lrp-epsilon: ε');
        else if (row.op === 'GlobalAveragePool') expect(row.rule).toBe(`${method}: ε (a linear layer with weights 1/d)`);
        else expect(row.rule, `${row.op} ${row.name}`).toMatch(new RegExp(`^${method}: `));
      }
      // LRP starts from s_y: the seed's norm at the last op is the score, and the relevance at the image is the method's.
      const expected = await ruleAttribution(model(), x, method, [285]);
      const score = expected.scores[285]!;
      expect(Math.abs(visited.at(-1)!.outputGradNorm! - Math.abs(score)) / Math.abs(score)).toBeLessThanOrEqual(1e-6);
      const norm = l2(expected.attributions!);
      expect(Math.abs(tape.inputGradNorm - norm) / norm).toBeLessThanOrEqual(NORM_BOUND);
    } finally {
      x.dispose();
    }
  });
});
