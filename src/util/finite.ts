/**
 * Non-finite numbers are refused where they enter, never computed with. WGSL lets an implementation assume that no
 * value is NaN or infinite (its floating-point rules leave their results undefined), and some do: a NaN weight came
 * out of lavapipe as scores of 0 and probabilities of 0.25. So weights are checked when a model is parsed, inputs
 * before they are uploaded, and scores when they are read back.
 */
import { PixelpropError } from '../gpu/errors.js';

/** The index of the first value that is NaN or ±Infinity, or −1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v − v is 0 for every finite v and NaN for NaN and ±Infinity: one comparison per value.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** What a non-finite score read back from the GPU means, when the weights and the input were checked finite. */
export const SCORES_OVERFLOW = '; the weights and the input are finite, so the computation overflowed float32';

/** Throws "`what` holds NaN at index i`why`" when `data` holds a value that is not finite. */
export function checkFinite(data: ArrayLike<number>, what: string, why = ''): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw new PixelpropError(`${what} holds ${data[i]} at index ${i}${why}`);
}
