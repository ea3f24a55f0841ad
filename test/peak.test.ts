/**
 * The adapter's ceilings (src/kernels/peak.ts) against float64: a ceiling kernel that computed something else than it
 * claims (a chain the compiler dropped, a round counted twice) would make every roofline and every "% of the FMA peak"
 * wrong, so its output is checked like any other kernel's, and its multiply-add count against the rounds it runs.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { FMA_CHAINS, FMA_TRIP, fmaPeak, fmaPeakMacs, streamCopy, streamRead } from '../src/kernels/peak.js';
import { useGpu } from './helpers.js';

const gpu = useGpu();

/** fma_peak's output for invocation i, in float64: 8 chains a ← a·m + c over `rounds` rounds, summed pairwise. */
function fmaPeakReference(i: number, rounds: number, m: number, c: number): number[] {
  const s = (i & 1023) * 1e-3;
  return [0, 0.1, 0.2, 0.3].map((lane) => {
    const chains = Array.from({ length: FMA_CHAINS }, (_, k) => {
      let a = s + lane + k;
      for (let r = 0; r < rounds; r++) a = a * m + c;
      return a;
    });
    const [a0, a1, a2, a3, a4, a5, a6, a7] = chains as [number, number, number, number, number, number, number, number];
    return a0 + a1 + (a2 + a3) + (a4 + a5 + (a6 + a7));
  });
}

describe('ceiling kernels', () => {
  it('fma_peak runs iterations · FMA_TRIP rounds of 8 vec4 chains: its output is the float64 recurrence', async () => {
    const invocations = 1100; // past 1024, where the start value wraps
    const iterations = 3;
    const { out, macs } = fmaPeak(gpu(), invocations, iterations);
    const got = await out.read();
    out.dispose();
    expect(macs).toBe(fmaPeakMacs(invocations, iterations));
    expect(macs).toBe(invocations * iterations * FMA_TRIP * FMA_CHAINS * 4);
    let worst = 0;
    for (const i of [0, 1, 7, 511, 1023, 1024, 1099]) {
      const want = fmaPeakReference(i, iterations * FMA_TRIP, 0.999, 1e-3);
      for (let l = 0; l < 4; l++) worst = Math.max(worst, Math.abs(got[4 * i + l]! - want[l]!) / Math.abs(want[l]!));
    }
    // One round fewer or more per trip moves the sum by ~1e-3 relative; float32 rounding over 12 rounds is ~1e-6.
    expect(worst).toBeLessThan(1e-5);
    const fewer = fmaPeakReference(5, iterations * FMA_TRIP - 1, 0.999, 1e-3)[0]!;
    expect(Math.abs(got[20]! - fewer) / fewer).toBeGreaterThan(1e-4);
  });

  it('stream_read sums 8 elements a grid apart, stream_copy copies, and both count the bytes they move', async () => {
    const n = 4096;
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7));
    const src = Tensor.from(gpu(), [n], data, 'stream source');
    const read = streamRead(src);
    const copy = streamCopy(src);
    const [sums, copied] = await Promise.all([read.out.read(), copy.out.read()]);
    expect(read.bytes).toBe(4 * (n + n / 8));
    expect(copy.bytes).toBe(8 * n);
    expect(Array.from(copied)).toEqual(Array.from(data));
    const vec4s = n / 4;
    const stride = vec4s / 8;
    for (let i = 0; i < stride; i++) {
      for (let l = 0; l < 4; l++) {
        let want = 0;
        for (let k = 0; k < 8; k++) want += data[4 * (i + k * stride) + l]!;
        expect(Math.abs(sums[4 * i + l]! - want)).toBeLessThan(1e-5);
      }
    }
    for (const t of [src, read.out, copy.out]) t.dispose();
  });
});
