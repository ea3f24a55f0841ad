/**
 * Strided index spaces (shaders/strides.wgsl): numpy/ONNX broadcasting as strides, and the uniform that hands them to
 * a kernel.
 *
 * Broadcasting: shapes are aligned from the right (missing leading dims count as 1), and along each axis the sizes must
 * be equal or one of them 1; the result takes the larger. An operand of size 1 along an axis is read at index 0 for
 * every position of that axis — its stride there is 0. So every broadcast read is `Σ_k c_k · stride[k]` over the
 * coordinates c of the result, with the operand's own row-major strides on its real axes and 0 on the others.
 *
 * Before a kernel sees them the shapes are collapsed: axes of size 1 dropped, and neighbouring axes merged wherever
 * every tensor steps through them contiguously (stride[k] = stride[k+1] · dims[k+1]). Two equal shapes become one
 * axis, and an SE block's scale [N,C,1,1] times its features [N,C,H,W] becomes [N·C, H·W] with the scale's strides
 * [1, 0]: a kernel decodes one or two coordinates instead of four.
 */
import type { Param } from '../gpu/device.js';
import { check, fmtShape } from '../gpu/errors.js';
import { sizeOf, type Shape } from '../gpu/tensor.js';

/** The largest rank of a broadcast (the WGSL arrays hold 8; ONNX models stay well below 6). */
export const MAX_RANK = 6;
/** Dims per index space in the WGSL struct (array<vec4u, 2>). */
const SLOTS = 8;
/** Tensors whose strides the WGSL struct holds. */
const TENSORS = 3;

/** A row-major walk over `dims`, with each tensor's stride along each dim (strides[t][k]; 0 where t is broadcast). */
export interface IndexSpace {
  dims: number[];
  strides: number[][];
}

/** The result shape of broadcasting a and b (ONNX's multidirectional broadcasting, numpy's rule); errors start with `what`. */
export function broadcastShape(a: Shape, b: Shape, what?: string): number[] {
  const prefix = what ? `${what}: ` : '';
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a[k - rank + a.length] ?? 1;
    const db = b[k - rank + b.length] ?? 1;
    check(
      da === db || da === 1 || db === 1,
      () => `${prefix}shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast (axis ${k - rank} has ${da} and ${db}; sizes must be equal or 1)`,
    );
    out.push(Math.max(da, db));
  }
  check(rank <= MAX_RANK, () => `${prefix}rank ${rank} (${fmtShape(out)}) is more than the ${MAX_RANK} supported`);
  return out;
}

/** Row-major strides of a tensor of `shape`. */
export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let k = shape.length - 2; k >= 0; k--) s[k] = s[k + 1]! * shape[k + 1]!;
  return s;
}

/** The strides with which a tensor of `shape` is read over `dims` (right-aligned; 0 along the axes it is broadcast on). */
export function broadcastStrides(shape: Shape, dims: Shape): number[] {
  const own = contiguousStrides(shape);
  const offset = dims.length - shape.length;
  check(offset >= 0, () => `${fmtShape(shape)} has more axes than ${fmtShape(dims)}`);
  return dims.map((d, k) => {
    const s = shape[k - offset] ?? 1;
    check(s === d || s === 1, () => `${fmtShape(shape)} does not broadcast to ${fmtShape(dims)}`);
    return s === 1 ? 0 : own[k - offset]!;
  });
}

/** `space` with axes of size 1 dropped and neighbours that every tensor walks contiguously merged. */
export function collapse(space: IndexSpace): IndexSpace {
  const dims: number[] = [];
  const strides: number[][] = space.strides.map(() => []);
  for (let k = 0; k < space.dims.length; k++) {
    const d = space.dims[k]!;
    if (d === 1) continue;
    const last = dims.length - 1;
    // Merge axis k into the previous kept axis when, for every tensor, stepping the previous axis once is the same as
    // stepping axis k all the way through: then one coordinate of size d_prev · d walks both.
    if (last >= 0 && space.strides.every((s, t) => strides[t]![last] === s[k]! * d)) {
      dims[last] = dims[last]! * d;
      space.strides.forEach((s, t) => (strides[t]![last] = s[k]!));
    } else {
      dims.push(d);
      space.strides.forEach((s, t) => strides[t]!.push(s[k]!));
    }
  }
  return { dims, strides };
}

/**
 * The walk that reduces tensors over `dims` to `target` (target aligned to dims' rank: each axis equal or 1): the outer
 * space runs over the target's positions, the inner space over the axes it is broadcast on (the terms of each sum).
 * `strides[t]` are tensor t's strides over `dims`.
 */
export function reductionSpaces(dims: Shape, target: Shape, strides: readonly (readonly number[])[]): { outer: IndexSpace; inner: IndexSpace } {
  check(target.length === dims.length, () => `reduction target ${fmtShape(target)} is not aligned to ${fmtShape(dims)}`);
  const outer: IndexSpace = { dims: [], strides: strides.map(() => []) };
  const inner: IndexSpace = { dims: [], strides: strides.map(() => []) };
  dims.forEach((d, k) => {
    check(target[k] === d || target[k] === 1, () => `${fmtShape(target)} is not a reduction of ${fmtShape(dims)}`);
    const into = target[k] === d ? outer : inner;
    into.dims.push(d);
    strides.forEach((s, t) => into.strides[t]!.push(s[k]!));
  });
  return { outer: collapse(outer), inner: collapse(inner) };
}

/** `shape` with leading 1s up to `rank` axes. */
export function alignRank(shape: Shape, rank: number): number[] {
  return [...new Array<number>(rank - shape.length).fill(1), ...shape];
}

/** The words of the WGSL `Strides` uniform for an outer space and an optional inner one (tensor t: strides[t]). */
export function stridesUniform(outer: IndexSpace, inner: IndexSpace = { dims: [], strides: [] }): Param[] {
  check(outer.dims.length <= SLOTS && inner.dims.length <= SLOTS, 'strided index space: too many axes after collapsing');
  const words: number[] = [];
  const pad = (v: readonly number[]): number[] => [...v, ...new Array<number>(SLOTS - v.length).fill(0)];
  for (const space of [outer, inner]) {
    words.push(...pad(space.dims));
    for (let t = 0; t < TENSORS; t++) words.push(...pad(space.strides[t] ?? []));
  }
  for (const w of words) check(Number.isInteger(w) && w >= 0 && w < 2 ** 32, () => `strided index space: ${w} is not a u32`);
  return words.map((v) => ({ t: 'u32', v }));
}

/** The override constants of a walk: its ranks (the decode loops' trip counts). */
export function rankConstants(outer: IndexSpace, inner: IndexSpace = { dims: [], strides: [] }): { OUTER_RANK: number; INNER_RANK: number } {
  return { OUTER_RANK: outer.dims.length, INNER_RANK: inner.dims.length };
}

/**
 * Calls fn(i, offsets) for every position i of `space` in row-major order, with each tensor's offset there (an
 * odometer: one increment per step, not a division per axis). The float64 references walk broadcasts with it.
 */
export function forEachPosition(space: IndexSpace, fn: (i: number, offsets: readonly number[]) => void): void {
  const rank = space.dims.length;
  const n = sizeOf(space.dims);
  const coord = new Array<number>(rank).fill(0);
  const offsets = space.strides.map(() => 0);
  for (let i = 0; i < n; i++) {
    fn(i, offsets);
    for (let k = rank - 1; k >= 0; k--) {
      coord[k]!++;
      space.strides.forEach((s, t) => (offsets[t]! += s[k]!));
      if (coord[k]! < space.dims[k]!) break;
      space.strides.forEach((s, t) => (offsets[t]! -= s[k]! * space.dims[k]!));
      coord[k] = 0;
    }
  }
}
