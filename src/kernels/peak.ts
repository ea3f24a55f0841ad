/**
 * The adapter's ceilings (shaders/peak.wgsl): peak fused multiply-add rate and streaming memory bandwidth, the two roofs
 * of a roofline. Each function encodes one dispatch and returns its output (dispose it) together with the work it
 * does, so that a benchmark (bench/ceiling.ts) divides by a measured time and nothing else.
 */
import { check } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Gpu } from '../gpu/device.js';
import { Tensor } from '../gpu/tensor.js';
import { ELEMENTWISE_WG } from './common.js';

const shader = ['common', 'peak'];
const constants = { WG: ELEMENTWISE_WG };
const params = { n: 'u32', iterations: 'u32', m: 'f32', c: 'f32' } as const;
const kernels = {
  fma: defineKernel({ shader, entry: 'fma_peak', constants, params, bindings: { dst: 'read_write' } }),
  read: defineKernel({ shader, entry: 'stream_read', constants, params, bindings: { src: 'read', dst: 'read_write' } }),
  copy: defineKernel({ shader, entry: 'stream_copy', constants, params, bindings: { src: 'read', dst: 'read_write' } }),
};

/** vec4 FMA chains per invocation in fma_peak (8 vec4 = 32 scalar multiply-adds per round). */
export const FMA_CHAINS = 8;
/** rounds of the chains per loop trip (FMA_TRIP in shaders/peak.wgsl, which says why there are several) */
export const FMA_TRIP = 4;

/** Multiply-adds fma_peak does: each of `invocations` runs `iterations` trips of FMA_TRIP rounds of FMA_CHAINS vec4 FMAs. */
export function fmaPeakMacs(invocations: number, iterations: number): number {
  return invocations * iterations * FMA_TRIP * FMA_CHAINS * 4;
}

/**
 * `iterations` · FMA_TRIP rounds of 8 independent vec4 FMA chains in each of `invocations` invocations; [invocations, 4]
 * out: the sum of the 8 chains (chain k of invocation i starts at (s, s + 0.1, s + 0.2, s + 0.3) + k with
 * s = (i mod 1024)·10⁻³ and takes a ← a·0.999 + 10⁻³ each round).
 */
export function fmaPeak(gpu: Gpu, invocations: number, iterations: number): { out: Tensor; macs: number } {
  check(Number.isInteger(invocations) && invocations > 0 && Number.isInteger(iterations) && iterations > 0, () => `fmaPeak: invocations ${invocations} and iterations ${iterations} must be positive integers`);
  const out = Tensor.empty(gpu, [invocations, 4], 'fma_peak');
  kernels.fma.dispatch(gpu, { bind: { dst: out }, params: { n: invocations, iterations, m: 0.999, c: 1e-3 }, grid: { threads: invocations } });
  return { out, macs: fmaPeakMacs(invocations, iterations) };
}

/** Reads all of `src` (a multiple of 32 floats), writes an eighth as much: bytes moved, both ways counted. */
export function streamRead(src: Tensor): { out: Tensor; bytes: number } {
  check(src.size % 32 === 0, () => `streamRead: ${src.size} elements is not a multiple of 32`);
  const n = src.size / 4;
  const out = Tensor.empty(src.gpu, [n / 8, 4], 'stream_read');
  kernels.read.dispatch(src.gpu, { bind: { src, dst: out }, params: { n, iterations: 0, m: 0, c: 0 }, grid: { threads: n / 8 } });
  return { out, bytes: 4 * (src.size + out.size) };
}

/** A copy of `src` (a multiple of 4 floats): bytes read plus bytes written. */
export function streamCopy(src: Tensor): { out: Tensor; bytes: number } {
  check(src.size % 4 === 0, () => `streamCopy: ${src.size} elements is not a multiple of 4`);
  const n = src.size / 4;
  const out = Tensor.empty(src.gpu, src.shape, 'stream_copy');
  kernels.copy.dispatch(src.gpu, { bind: { src, dst: out }, params: { n, iterations: 0, m: 0, c: 0 }, grid: { threads: n } });
  return { out, bytes: 8 * src.size };
}
