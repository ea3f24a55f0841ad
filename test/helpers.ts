/**
 * Shared test plumbing: one WebGPU device per test file, float64 host tensors in and out of the GPU, and the error
 * bounds of the project (forward ≤ 1e-5, backward ≤ 1e-4, as max|Δ| / max|ref|).
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { createDevice, type Gpu } from '../src/gpu/device.js';
import { Tensor } from '../src/gpu/tensor.js';
import { host, type HostTensor } from '../src/kernels/host.js';
import { relError } from '../src/graph/gradcheck.js';
import { PixelpropError } from '../src/gpu/errors.js';
import { Rng } from '../src/util/rng.js';

export const FORWARD_BOUND = 1e-5;
export const BACKWARD_BOUND = 1e-4;

/** A device for the whole file; `useGpu()` must be called at the top level of the file. */
export function useGpu(): () => Gpu {
  let gpu: Gpu | undefined;
  beforeAll(async () => {
    gpu = await createDevice();
  });
  afterAll(() => {
    gpu?.destroy();
  });
  return () => {
    if (!gpu) throw new Error('device not created yet');
    return gpu;
  };
}

export function toGpu(gpu: Gpu, t: HostTensor, name = 'x'): Tensor {
  return Tensor.from(gpu, t.shape, Float32Array.from(t.data), name);
}

export async function fromGpu(t: Tensor): Promise<HostTensor> {
  return host(t.shape, await t.read());
}

/** Values uniform in [lo, hi), rounded to float32 so that GPU and reference see the same inputs. */
export function rand(shape: number[], seed: number, lo = -1, hi = 1): HostTensor {
  const t = host(shape, new Rng(seed).uniforms(shape.reduce((a, b) => a * b, 1), lo, hi));
  t.data = Float64Array.from(Float32Array.from(t.data));
  return t;
}

/** Asserts max|actual − ref| / max|ref| ≤ bound, with a message that says what and by how much. */
export function expectClose(actual: ArrayLike<number>, ref: ArrayLike<number>, bound: number, what: string): number {
  const err = relError(actual, ref);
  expect(err, `${what}: relative error ${err.toExponential(2)} > ${bound}`).toBeLessThanOrEqual(bound);
  return err;
}

/** Asserts that `fn` throws a PixelpropError containing `text` and encodes or allocates nothing first. */
export function expectRejected(g: Gpu, fn: () => unknown, text: string): void {
  const dispatches = g.dispatchCount;
  const inUse = g.memory().inUseBuffers;
  expect(fn).toThrow(PixelpropError);
  expect(fn).toThrow(text);
  expect(g.dispatchCount).toBe(dispatches);
  expect(g.memory().inUseBuffers).toBe(inUse);
}

/** Asserts that `fn` throws a one-line PixelpropError whose message matches `message`. */
export function expectPixelpropError(fn: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected a PixelpropError matching ${message}`).toBeInstanceOf(PixelpropError);
  const text = (thrown as Error).message;
  expect(text).toMatch(message);
  expect(text.includes('\n'), 'one line').toBe(false);
}
