/**
 * Class visualization on the real SqueezeNet: one iteration is the equation of classviz.ts, checked against the
 * float64 references of each step; the same seed gives the same bytes; the loop allocates nothing per iteration;
 * bad options are refused. Heavy (skipped only with PIXELPROP_QUICK=1): at the defaults (100 iterations), tarantula (76) and Yorkshire
 * terrier (187) end as the network's prediction.
 */
import { describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import { deprocess, NORMALIZED_MAX, NORMALIZED_MIN } from '../src/image/preprocess.js';
import { clampChannelsRef, scaleRef } from '../src/kernels/elementwise.js';
import { host, type HostTensor } from '../src/kernels/host.js';
import { gaussianBlurRef, rollRef } from '../src/kernels/image.js';
import { classVisualization, CLASS_VISUALIZATION_DEFAULTS as DEFAULTS } from '../src/techniques/classviz.js';
import { classScoreGradient } from '../src/techniques/gradient.js';
import { Rng } from '../src/util/rng.js';
import { FORWARD_BOUND, expectClose, toGpu, useGpu } from './helpers.js';
import { HEAVY, useModel } from './techniques-helpers.js';

const gpu = useGpu();
const model = useModel(gpu);

const TARANTULA = 76;
const YORKSHIRE_TERRIER = 187;
const SHAPE = [1, 3, 224, 224];

describe('class visualization (Simonyan et al. 2014, Yosinski et al. 2015)', () => {
  it('one iteration is roll, the step on s_y − λ‖I‖², roll back, decay, clamp and blur', async () => {
    const seed = 11;
    const decay = 0.01;
    const result = await classVisualization(model(), TARANTULA, { iterations: 1, seed, decay });
    // The same draws as the function: the start noise, then (ox, oy).
    const rng = new Rng(seed);
    const start = host(SHAPE, Float32Array.from(rng.normals(3 * 224 * 224, 1)));
    const ox = rng.int(-DEFAULTS.jitter, DEFAULTS.jitter);
    const oy = rng.int(-DEFAULTS.jitter, DEFAULTS.jitter);
    const jittered = rollRef(start, ox, oy);
    const xt = toGpu(gpu(), jittered);
    const { scores, grad } = classScoreGradient(model(), xt, [TARANTULA]);
    const g = await grad.read();
    let image: HostTensor = host(SHAPE, jittered.data.map((v, i) => v + DEFAULTS.lr * (g[i]! - 2 * DEFAULTS.l2 * v)));
    image = rollRef(image, -ox, -oy);
    image = scaleRef(image, 1 - decay);
    image = clampChannelsRef(image, NORMALIZED_MIN, NORMALIZED_MAX);
    image = gaussianBlurRef(image, DEFAULTS.blurSigma); // t = 0 is a blur step
    expectClose(result.chw, image.data, FORWARD_BOUND, 'one iteration vs its float64 composition');
    expect(result.snapshots.map((s) => s.iteration)).toEqual([1]);
    expect(Array.from(result.image.data)).toEqual(Array.from(deprocess(result.chw, 224, 224, { rescale: true }).data));
    for (const t of [xt, scores, grad]) t.dispose();
  });

  it('the same seed gives the same bytes, and no GPU buffer is created after the first iteration', async () => {
    const runs = [];
    const createdAfter: number[] = [];
    for (let run = 0; run < 2; run++) {
      const created: number[] = [];
      runs.push(
        await classVisualization(model(), YORKSHIRE_TERRIER, {
          iterations: 3,
          snapshotEvery: 2,
          seed: 3,
          onIteration: () => created.push(gpu().memory().created),
        }),
      );
      expect(new Set(created.slice(1)).size, `buffers created per iteration: ${created.join(', ')}`).toBe(1);
      createdAfter.push(gpu().memory().created);
    }
    expect(createdAfter[1], 'a second run reuses the first one\'s buffers').toBe(createdAfter[0]);
    const [a, b] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(Buffer.from(a.chw.buffer).equals(Buffer.from(b.chw.buffer))).toBe(true);
    expect(a.snapshots.map((s) => s.iteration)).toEqual([2, 3]);
    a.snapshots.forEach((s, i) => expect(Buffer.from(s.image.data).equals(Buffer.from(b.snapshots[i]!.image.data))).toBe(true));
    expect([a.startScore, a.finalScore, a.finalProb, a.argmax]).toEqual([b.startScore, b.finalScore, b.finalProb, b.argmax]);
    // Another seed, another start.
    const other = await classVisualization(model(), YORKSHIRE_TERRIER, { iterations: 1, seed: 4 });
    expect(other.startScore).not.toBe(a.startScore);
  });

  it('rejects bad options and classes before anything runs', async () => {
    const dispatches = gpu().dispatchCount;
    const cases: [Parameters<typeof classVisualization>[2], number, string][] = [
      [{}, 1000, 'class 1000 is out of range'],
      [{ iterations: 0 }, 76, 'iterations 0 must be a positive integer'],
      [{ lr: -1 }, 76, 'learning rate -1 must be a finite number > 0'],
      [{ blurSigma: 0 }, 76, 'sigma 0 must be a finite number > 0'],
      [{ blurEvery: 0 }, 76, 'blurEvery 0 must be a positive integer'],
      [{ decay: 1 }, 76, 'decay 1 must be in [0, 1)'],
      [{ jitter: -1 }, 76, 'jitter -1 must be an integer ≥ 0'],
      [{ l2: -1 }, 76, 'l2 -1 must be a finite number ≥ 0'],
    ];
    for (const [options, target, text] of cases) {
      const error = await classVisualization(model(), target, options).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(PixelpropError);
      expect((error as Error).message).toContain(text);
    }
    expect(gpu().dispatchCount).toBe(dispatches);
  });

  it.runIf(HEAVY)(
    'HEAVY: at the defaults, tarantula (76) and Yorkshire terrier (187) end as the predicted class',
    async () => {
      for (const target of [TARANTULA, YORKSHIRE_TERRIER]) {
        const r = await classVisualization(model(), target);
        console.log(
          `class ${target}: score ${r.startScore.toFixed(2)} → ${r.finalScore.toFixed(2)}, p = ${r.finalProb.toFixed(3)}, argmax ${r.argmax}`,
        );
        expect(r.snapshots.map((s) => s.iteration)).toEqual([25, 50, 75, 100]);
        expect(r.finalScore).toBeGreaterThan(r.startScore);
        expect(r.argmax).toBe(target);
      }
    },
    60 * 60_000,
  );
});
