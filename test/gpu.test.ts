/**
 * The device and tensor layer: what createDevice records, tensors' shape and size checks (refused before anything is
 * allocated), ownership errors named by tensor, the buffer pool's reuse, and WebGPU's asynchronous errors surfacing as
 * one-line PixelpropErrors.
 */
import { describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import { Tensor } from '../src/gpu/tensor.js';
import { add } from '../src/kernels/elementwise.js';
import { useGpu } from './helpers.js';

const gpu = useGpu();

function errorOf(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('createDevice', () => {
  it('records the adapter and the optional features it asked for', () => {
    const g = gpu();
    expect(g.adapterName.length).toBeGreaterThan(0);
    expect(g.adapter.software).toBe(true); // lavapipe in CI
    expect(g.hasTimestamps).toBe(g.device.features.has('timestamp-query'));
    expect(g.hasF16).toBe(g.device.features.has('shader-f16'));
    expect(g.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });
});

describe('tensors', () => {
  it('upload and read back exactly, and a reshape shares the buffer', async () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
    const t = Tensor.from(gpu(), [2, 3, 4], data, 'x');
    expect(Array.from(await t.read())).toEqual(Array.from(data));
    const v = t.reshape([6, 4], 'view');
    expect(v.buffer).toBe(t.buffer);
    t.dispose();
    expect(Array.from(await v.read())).toEqual(Array.from(data)); // the view keeps the buffer alive
    v.dispose();
  });

  it('refuses bad shapes and mismatched data with one line naming the tensor', () => {
    for (const shape of [[], [0, 3], [2, -1], [1.5]]) {
      const e = errorOf(() => Tensor.empty(gpu(), shape, 'bad'));
      expect(e).toBeInstanceOf(PixelpropError);
      expect(e.message).toMatch(/^tensor 'bad': shape .* must be a non-empty list of positive integers$/);
    }
    expect(errorOf(() => Tensor.from(gpu(), [2, 2], [1, 2, 3], 'short')).message).toBe("tensor 'short': 3 values do not fill shape [2,2] (4)");
    expect(errorOf(() => Tensor.empty(gpu(), [4]).reshape([3])).message).toMatch(/cannot reshape/);
  });

  it('refuses a tensor larger than the device allows before allocating, naming its size and the limit', () => {
    const before = gpu().memory();
    const e = errorOf(() => Tensor.empty(gpu(), [64, 1024, 1024, 1024], 'activations'));
    expect(e).toBeInstanceOf(PixelpropError);
    expect(e.message).toMatch(/^tensor 'activations' \[64,1024,1024,1024\] needs 256\.00 GiB, more than this device allows in one buffer \(\d/);
    expect(gpu().memory()).toEqual(before);
  });

  it('names a tensor used after dispose or disposed twice', () => {
    const t = Tensor.zeros(gpu(), [3], 'pixels');
    t.dispose();
    expect(errorOf(() => t.buffer).message).toBe("tensor 'pixels' [3] was used after dispose");
    expect(errorOf(() => t.dispose()).message).toBe("tensor 'pixels' [3] was disposed twice");
    expect(errorOf(() => t.retain()).message).toMatch(/used after dispose/);
  });

  it('reuses released buffers: a loop that frees what it allocates creates none after its first iteration', () => {
    const created: number[] = [];
    for (let i = 0; i < 5; i++) {
      const a = Tensor.empty(gpu(), [1, 64, 55, 55], 'a');
      const b = Tensor.empty(gpu(), [1, 16, 55, 55], 'b');
      a.dispose();
      b.dispose();
      created.push(gpu().memory().created);
    }
    expect(new Set(created.slice(1)).size).toBe(1);
    expect(created[4]).toBe(created[0]);
  });
});

describe('WebGPU errors', () => {
  it('a validation error of the device surfaces as a one-line PixelpropError at the next submit', async () => {
    const g = gpu();
    const t = Tensor.zeros(g, [4], 'x');
    const u = Tensor.zeros(g, [4], 'y');
    // A 1 MiB copy between two 16-byte tensors runs past both buffers' ends; WebGPU reports it asynchronously, as an
    // uncaptured error, and the engine turns it into an exception at the next sync.
    g.copy(t.buffer, u.buffer, 1 << 20);
    let e: unknown = null;
    try {
      await g.sync();
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(PixelpropError);
    expect((e as Error).message).toMatch(/^WebGPU error: /);
    expect((e as Error).message.includes('\n')).toBe(false);
    expect((e as Error).message).toMatch(/Buffer "x"/); // the pool relabels reused buffers with their tensor's name
    g.checkHealth(); // reported once, then cleared
    t.dispose();
    u.dispose();
  });
});

describe('profiling', () => {
  it('a read-back in the middle of a profiled run (a flush at any dispatch count) keeps every dispatch timed', async () => {
    const g = gpu();
    if (!g.hasTimestamps) return void console.log('profiling: this adapter has no timestamp-query; nothing to check');
    const a = Tensor.from(g, [64], new Float32Array(64).fill(1), 'a');
    const sums: Tensor[] = [];
    g.startProfiling();
    // 5 dispatches, a read (a flush that resolves pairs 0–4), then 20 more: the second resolve starts at pair 5,
    // whose byte offset (80) is not a multiple of 256, which resolveQuerySet refuses.
    for (let i = 0; i < 5; i++) sums.push(add(sums.at(-1) ?? a, a, `s${i}`));
    expect((await sums.at(-1)!.read())[0]).toBe(6);
    for (let i = 5; i < 25; i++) sums.push(add(sums.at(-1)!, a, `s${i}`));
    expect((await sums.at(-1)!.read())[0]).toBe(26);
    const times = await g.stopProfiling();
    expect(times).toHaveLength(sums.length);
    for (const t of times) expect(t.ms).toBeGreaterThanOrEqual(0);
    for (const t of [a, ...sums]) t.dispose();
  });
});
