/**
 * What the kernel modules share: shape checks, and the workgroup size of the one-invocation-per-element kernels.
 */
import type { Gpu } from '../gpu/device.js';
import { check, fmtShape } from '../gpu/errors.js';
import type { Shape, Tensor } from '../gpu/tensor.js';

/** Invocations per workgroup of the 1-D kernels (WG in shaders/common.wgsl); every adapter allows 256. */
export const ELEMENTWISE_WG = 256;

export function sameShape(a: { shape: Shape; name?: string }, b: { shape: Shape; name?: string }, what: string): void {
  check(
    a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]),
    () => `${what}: shapes differ, ${a.name ?? 'a'}${fmtShape(a.shape)} vs ${b.name ?? 'b'}${fmtShape(b.shape)}`,
  );
}

export function sameDevice(tensors: readonly Tensor[], what: string): Gpu {
  const gpu = tensors[0]!.gpu;
  check(tensors.every((t) => t.gpu === gpu), `${what}: tensors live on different devices`);
  return gpu;
}

export function checkFinite(v: number, what: string): void {
  check(typeof v === 'number' && Number.isFinite(v), () => `${what} ${v} is not a finite number`);
}
