/**
 * Float64 tensors on the CPU: what every kernel's reference implementation computes with.
 *
 * The references are written for clarity, as the loops of the definition, in float64 so that they are an order of
 * magnitude closer to the truth than any float32 GPU kernel: a GPU result is compared against them, and they are
 * compared against centered finite differences of themselves (see gradcheck.ts).
 */
import { check, fmtShape } from '../gpu/errors.js';
import { checkShape, sizeOf, type Shape } from '../gpu/tensor.js';

export interface HostTensor {
  shape: number[];
  data: Float64Array;
}

export function host(shape: Shape, data?: ArrayLike<number>): HostTensor {
  checkShape(shape, 'host tensor');
  const n = sizeOf(shape);
  if (data) check(data.length === n, () => `host tensor: ${data.length} values for shape ${fmtShape(shape)}`);
  return { shape: [...shape], data: data ? Float64Array.from(data) : new Float64Array(n) };
}

export function hostZerosLike(t: HostTensor): HostTensor {
  return host(t.shape);
}

/** NCHW dimensions of a 4-D tensor. */
export function nchw(t: { shape: Shape }, what: string): [number, number, number, number] {
  check(t.shape.length === 4, () => `${what}: expected an NCHW tensor, got shape ${fmtShape(t.shape)}`);
  return t.shape as unknown as [number, number, number, number];
}
