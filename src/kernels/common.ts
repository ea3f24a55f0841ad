/**
 * What the kernel modules share: the one-line dispatch of an element-wise entry point, and shape checks.
 */
import { f32, u32, type Binding, type Gpu, type Param } from '../gpu/device.js';
import { check, fmtShape } from '../gpu/errors.js';
import { Tensor, type Shape } from '../gpu/tensor.js';

/** Invocations per workgroup of the 1-D kernels; every adapter allows 256 (the WebGPU default limit). */
export const WG = 256;

export function sameShape(a: { shape: Shape; name?: string }, b: { shape: Shape; name?: string }, what: string): void {
  check(
    a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]),
    () => `${what}: shapes differ, ${a.name ?? 'a'}${fmtShape(a.shape)} vs ${b.name ?? 'b'}${fmtShape(b.shape)}`,
  );
}

export function sameDevice(tensors: Tensor[], what: string): Gpu {
  const gpu = tensors[0]!.gpu;
  check(tensors.every((t) => t.gpu === gpu), `${what}: tensors live on different devices`);
  return gpu;
}

/**
 * Dispatches `entry` of shaders/`shader`.wgsl over `n` threads, one per element, with the uniform `params` at
 * @binding(0) and `tensors` at @binding(1), @binding(2), ... in order.
 */
export function runElementwise(
  gpu: Gpu,
  shader: string,
  entry: string,
  n: number,
  params: Param[],
  tensors: (Tensor | Binding | undefined)[],
): void {
  const bindings: (Binding | undefined)[] = [gpu.uniform(params)];
  for (const t of tensors) bindings.push(t instanceof Tensor ? t.binding : t);
  gpu.dispatch(`${shader}.${entry}`, gpu.pipeline(shader, entry, { WG }), bindings, gpu.grid(Math.ceil(n / WG)));
}

/**
 * runElementwise for kernels with a vec4 twin (`entry` + '4'): the twin when the size is a multiple of 4 (then each
 * invocation handles 4 elements and Params.n counts vec4s), the scalar kernel otherwise.
 */
export function runElementwise4(
  gpu: Gpu,
  shader: string,
  entry: string,
  n: number,
  extra: Param[],
  tensors: (Tensor | Binding | undefined)[],
): void {
  if (n % 4 === 0) runElementwise(gpu, shader, `${entry}4`, n / 4, [u32(n / 4), ...extra], tensors);
  else runElementwise(gpu, shader, entry, n, [u32(n), ...extra], tensors);
}

export { f32, u32 };
