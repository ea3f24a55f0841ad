/**
 * "Write the backward yourself" (src/teaching/exercises.ts), as the page uses it: per exercise, the reference solution
 * passes, the starting stub and a classic mistake fail with the largest error named, and a submission that does not
 * compile reports the error on its line. Then the student's kernel inside SqueezeNet's backward: the reference
 * solutions give the engine's saliency map, a mistake does not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { EXERCISE_BOUND, EXERCISE_IDS, LOOP_BUDGET, LOOP_BUDGET_MESSAGE, boundLoops, checkSubmission, compareSaliency, exercise } from '../src/teaching/exercises.js';
import { BROKEN, ENDLESS, MISTAKES } from './exercise-submissions.js';
import { FORWARD_BOUND, useGpu } from './helpers.js';
import { MODEL_PATH, repoRoot } from './shared-data.js';

/** How a check result formats a number (4 significant digits), to find it in the message. */
const shown = (v: number): string => ((Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4) || v === 0 ? String(Number(v.toPrecision(4))) : v.toExponential(3));

describe('exercises: checking a submitted backward', () => {
  const gpu = useGpu();

  describe.each(EXERCISE_IDS)('%s', (id) => {
    it('passes the reference solution, against the float64 backward and finite differences', async () => {
      const r = await checkSubmission(gpu(), id, exercise(id).solution);
      expect(r.compiled, r.message).toBe(true);
      expect(r.passed, r.message).toBe(true);
      expect(r.maxRelError!).toBeLessThanOrEqual(EXERCISE_BOUND);
      expect(r.fdAgreement!).toBeLessThanOrEqual(EXERCISE_BOUND);
      expect(r.firstMismatch).toBeNull();
      // the forward shown beside the editor is checked code too
      expect(r.forwardError!).toBeLessThanOrEqual(FORWARD_BOUND);
      expect(r.message).toMatch(/^correct: /);
    });

    it('fails the stub the student starts from', async () => {
      const r = await checkSubmission(gpu(), id, exercise(id).stub);
      expect(r.compiled, r.message).toBe(true);
      expect(r.passed).toBe(false);
    });

    it(`catches the classic mistake (${MISTAKES[id].what}), naming the largest error`, async () => {
      const r = await checkSubmission(gpu(), id, MISTAKES[id].source);
      expect(r.compiled, r.message).toBe(true);
      expect(r.passed).toBe(false);
      // O(1) wrong, not a rounding matter
      expect(r.maxRelError!).toBeGreaterThan(0.1);
      expect(r.fdAgreement!).toBeGreaterThan(0.1);
      const largest = r.largestError!;
      expect(Math.abs(largest.got - largest.expected)).toBeGreaterThan(0);
      expect(r.message).toContain(`largest error ${shown(r.maxRelError!)}`);
      expect(r.message).toContain(`at dx[${largest.position.join(',')}] (got ${shown(largest.got)}, expected ${shown(largest.expected)})`);
      // the first element that differs comes no later than the largest error, and is named too
      expect(r.firstMismatch!.index).toBeLessThanOrEqual(largest.index);
      expect(r.message).toContain(`first element that differs: dx[${r.firstMismatch!.position.join(',')}]`);
    });

    it('reports a compile error on its line', async () => {
      const r = await checkSubmission(gpu(), id, BROKEN[id].source);
      expect(r.compiled).toBe(false);
      expect(r.passed).toBe(false);
      expect(r.compileErrors.length).toBeGreaterThan(0);
      expect(r.compileErrors[0]!.line).toBe(BROKEN[id].line);
      expect(r.message).toMatch(new RegExp(`^does not compile: line ${BROKEN[id].line}:\\d+: `));
    });
  });

  it('says what each mistake did: the mask-less ReLU passes dy where y = 0, pooling without 1/(H·W) is H·W times too large', async () => {
    const relu = (await checkSubmission(gpu(), 'relu', MISTAKES.relu.source)).largestError!;
    expect(relu.expected).toBe(0);
    const gap = (await checkSubmission(gpu(), 'globalavgpool', MISTAKES.globalavgpool.source)).largestError!;
    expect(gap.got / gap.expected).toBeCloseTo(3 * 4, 4); // the check's planes are 3×4
  });

  it('refuses a kernel whose bindings are not the exercise’s, naming the binding', async () => {
    const renamed = exercise('relu').solution.replaceAll('dy', 'grad_y');
    const r = await checkSubmission(gpu(), 'relu', renamed);
    expect(r.compiled).toBe(false);
    expect(r.compileErrors[0]!.line).toBeNull();
    expect(r.message).toContain("binding 'dy' is not declared in the shader");
  });
});

describe('exercises: a kernel that never finishes', () => {
  const gpu = useGpu();

  it('stops an endless loop at the loop budget and says so; the next submission runs as usual', async () => {
    // without the bound this call never returns (the test times out): the dispatch spins on the device for ever
    const r = await checkSubmission(gpu(), 'relu', ENDLESS.relu);
    expect(r.compiled, r.message).toBe(true);
    expect(r.passed).toBe(false);
    expect(r.loopBudgetExceeded).toBe(true);
    expect(r.message).toBe(LOOP_BUDGET_MESSAGE);
    expect(r.message).toContain(`more than ${LOOP_BUDGET} loop iterations`);
    const next = await checkSubmission(gpu(), 'relu', exercise('relu').solution);
    expect(next.passed, next.message).toBe(true);
    expect(next.loopBudgetExceeded).toBe(false);
  });

  it('bounds every loop, nested ones and those in helper functions, keeping the student’s line numbers', () => {
    for (const id of EXERCISE_IDS) {
      const source = exercise(id).solution;
      const bounded = boundLoops(source, 9);
      const loops = source.replace(/\/\/[^\n]*/g, '').match(/\b(?:loop|while|for)\b/g)?.length ?? 0;
      expect(bounded.split('pixelprop_loop_steps += 1u').length - 1, id).toBe(loops);
      // the guards go on the body's line: every line of the source keeps its number
      const lines = source.split('\n');
      bounded.split('\n').slice(0, lines.length).forEach((line, i) => expect(line.startsWith(lines[i]!.replace(/\{.*$/, '')), `${id} line ${i + 1}`).toBe(true));
      expect(bounded).toContain('@group(0) @binding(9) var<storage, read_write> pixelprop_overrun: array<f32>;');
    }
    // a loop keyword in a comment is not a loop
    expect(boundLoops('// for ever\nfn f() {}', 3)).not.toContain('pixelprop_loop_steps += 1u');
  });
});

describe('exercises: the student’s kernel in SqueezeNet’s backward', () => {
  const gpu = useGpu();
  /**
   * Two GPU backward passes that differ only in one op's kernels; float32 sums in another order. The maps are
   * max_c |g|: a bound of the project's backward bound, 1e-4 of the map's maximum.
   */
  const MAP_BOUND = 1e-4;

  it('gives the engine’s saliency map with each reference solution, and another with a mistake', async () => {
    // each op a node of its own, so that the rule reaches the ReLUs (SqueezeNet fuses them into its convolutions)
    const model = Model.load(gpu(), readFileSync(MODEL_PATH), { fuseActivations: false, fuseConcats: false });
    const x = Tensor.from(gpu(), [1, 3, 224, 224], preprocess(await readImage(join(repoRoot, 'samples', 'chelsea.png'))), 'chelsea');
    try {
      const counts: Record<string, number> = {};
      const keptBecause: Record<string, string[]> = {};
      for (const id of EXERCISE_IDS) {
        const c = await compareSaliency(model, x, id, exercise(id).solution);
        expect(c.mapError, `${id}: student vs engine map`).toBeLessThanOrEqual(MAP_BOUND);
        expect(c.engineMap.length).toBe(224 * 224);
        counts[id] = c.substituted;
        keptBecause[id] = [...new Set(c.kept.map((k) => k.why))];
      }
      // SqueezeNet 1.1: 26 convolutions (conv1 and 8 expand3×3 are 3×3, 8 squeezes, 8 expand1×1 and conv10 are 1×1),
      // each followed by a ReLU; 3 max pools; 1 global average pool. Each conv exercise leaves the other size's
      // convolutions to the engine.
      expect(counts).toEqual({ relu: 26, maxpool: 3, conv1x1: 17, conv3x3: 9, globalavgpool: 1 });
      expect(keptBecause).toEqual({ relu: [], maxpool: [], conv1x1: ['a 3×3 kernel'], conv3x3: ['a 1×1 kernel'], globalavgpool: [] });
      const wrong = await compareSaliency(model, x, 'relu', MISTAKES.relu.source);
      expect(wrong.mapError).toBeGreaterThan(0.1);
    } finally {
      x.dispose();
      model.dispose();
    }
  });
});
