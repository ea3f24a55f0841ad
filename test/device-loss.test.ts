/**
 * A GPU device lost in the middle of a run (a driver reset, a GPU unplugged, the browser reclaiming it; simulated
 * here by destroying the WebGPU device under the library's feet): the run ends with one PixelpropError that says
 * the device was lost, whatever operation noticed it first, and a new device takes the model again.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDevice } from '../src/gpu/device.js';
import { PixelpropError } from '../src/gpu/errors.js';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { classVisualization } from '../src/techniques/classviz.js';
import { fool } from '../src/techniques/fool.js';
import { MODEL_PATH, repoRoot } from './shared-data.js';

const LOST = /^the GPU device was lost \(destroyed\)[^\n]*: pixelprop cannot go on with it; run again on a new device$/;

/** The error `run` rejects with. */
async function failure(run: Promise<unknown>): Promise<Error> {
  const outcome = await run.then(
    () => null,
    (e: Error) => e,
  );
  expect(outcome, 'the run should have failed').not.toBeNull();
  return outcome!;
}

describe('device loss', () => {
  it('mid class visualization: one line saying the device was lost; a new device runs the model again', async () => {
    const gpu = await createDevice();
    const model = Model.load(gpu, readFileSync(MODEL_PATH));
    const error = await failure(
      classVisualization(model, 76, {
        iterations: 5,
        onIteration: ({ iteration }) => {
          if (iteration === 2) gpu.device.destroy(); // behind the library's back, as a driver reset would be
        },
      }),
    );
    expect(error).toBeInstanceOf(PixelpropError);
    expect(error.message).toMatch(LOST);
    // Whatever comes next on that device says the same, instead of failing somewhere deeper.
    expect(() => model.forward(Tensor.zeros(gpu, [1, 3, 224, 224]))).toThrow(LOST);
    model.dispose();
    gpu.destroy();

    const fresh = await createDevice();
    const again = Model.load(fresh, readFileSync(MODEL_PATH));
    const result = await classVisualization(again, 76, { iterations: 1 });
    expect(result.iterations).toBe(1);
    again.dispose();
    fresh.destroy();
  });

  it('mid fooling, noticed while reading a buffer back', async () => {
    const gpu = await createDevice();
    const model = Model.load(gpu, readFileSync(MODEL_PATH));
    const x = Tensor.from(gpu, [1, 3, 224, 224], preprocess(await readImage(`${repoRoot}/samples/coffee.png`)), 'coffee');
    const error = await failure(
      fool(model, x, 6, {
        maxIters: 50,
        onIteration: ({ iteration }) => {
          if (iteration === 1) gpu.device.destroy();
        },
      }),
    );
    expect(error).toBeInstanceOf(PixelpropError);
    expect(error.message).toMatch(LOST);
    x.dispose();
    model.dispose();
    gpu.destroy();
  });
});
