/**
 * The sliding-window attributes that Conv and the pools share (ONNX names them the same): strides, dilations, and the
 * padding, given either as explicit pads or as auto_pad, which depends on the input's size and so is resolved per
 * shape. Conv takes 2-D windows over NCHW tensors only; the pools read 1-D and 3-D ones too (readSpatialWindow) and
 * run them on the 2-D kernels (src/graph/ops/max-pool.ts, poolStages).
 */
import { fmtShape } from '../../gpu/errors.js';
import type { AttrReader } from '../op.js';

export type AutoPad = 'NOTSET' | 'VALID' | 'SAME_UPPER' | 'SAME_LOWER';

export interface WindowAttrs {
  strides: readonly [number, number];
  dilations: readonly [number, number];
  /** [top, left, bottom, right] (ONNX's [x1_begin, x2_begin, x1_end, x2_end]); used when autoPad is NOTSET */
  pads: readonly [number, number, number, number];
  autoPad: AutoPad;
}

function list(r: AttrReader, name: string, length: number, fallback: number[], why: string): number[] {
  const v = r.ints(name);
  if (v === undefined) return fallback;
  if (v.length !== length) r.fail(`${name} ${fmtShape(v)} must have ${length} values (${why})`);
  return v;
}

function readAutoPad(r: AttrReader): AutoPad {
  const autoPad = r.string('auto_pad', 'NOTSET');
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) {
    r.fail(`auto_pad '${autoPad}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  }
  return autoPad as AutoPad;
}

export function readWindow(r: AttrReader): WindowAttrs {
  const why = 'only 2-D windows are supported';
  return {
    strides: list(r, 'strides', 2, [1, 1], why) as [number, number],
    dilations: list(r, 'dilations', 2, [1, 1], why) as [number, number],
    pads: list(r, 'pads', 4, [0, 0, 0, 0], why) as [number, number, number, number],
    autoPad: readAutoPad(r),
  };
}

/** A window over `spatial` axes as ONNX lists it: one stride and dilation per axis, pads [begins…, ends…]. */
export interface SpatialWindow {
  kernelShape: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: AutoPad;
}

/** kernel_shape (required) and the window attributes of a pool over as many spatial axes as kernel_shape has. */
export function readSpatialWindow(r: AttrReader): SpatialWindow {
  const kernelShape = r.ints('kernel_shape');
  if (!kernelShape) r.fail('kernel_shape is required');
  const n = kernelShape!.length;
  const why = `one per axis of kernel_shape ${fmtShape(kernelShape!)}`;
  return {
    kernelShape: kernelShape!,
    strides: list(r, 'strides', n, new Array<number>(n).fill(1), why),
    dilations: list(r, 'dilations', n, new Array<number>(n).fill(1), why),
    pads: list(r, 'pads', 2 * n, new Array<number>(2 * n).fill(0), `two per axis of kernel_shape ${fmtShape(kernelShape!)}`),
    autoPad: readAutoPad(r),
  };
}

/** The 2-D kernel_shape attribute, when present. */
export function readKernelShape(r: AttrReader): [number, number] | undefined {
  const k = r.ints('kernel_shape');
  if (k === undefined) return undefined;
  if (k.length !== 2) r.fail(`kernel_shape ${fmtShape(k)} is not 2-D (only 2-D windows are supported)`);
  return [k[0]!, k[1]!];
}

/**
 * The explicit pads for an input of size `inHW`: NOTSET keeps `pads`; VALID means none; SAME_UPPER / SAME_LOWER pad
 * so that out = ceil(in / stride), the odd pixel at the end (UPPER) or the beginning (LOWER).
 */
export function resolvePads(w: WindowAttrs, inHW: readonly [number, number], kernel: readonly [number, number]): [number, number, number, number] {
  if (w.autoPad === 'NOTSET') return [...w.pads];
  if (w.autoPad === 'VALID') return [0, 0, 0, 0];
  const pads: [number, number, number, number] = [0, 0, 0, 0];
  for (const axis of [0, 1] as const) {
    const out = Math.ceil(inHW[axis] / w.strides[axis]);
    const total = Math.max(0, (out - 1) * w.strides[axis] + (kernel[axis] - 1) * w.dilations[axis] + 1 - inHW[axis]);
    const small = Math.floor(total / 2);
    pads[axis] = w.autoPad === 'SAME_UPPER' ? small : total - small;
    pads[axis + 2] = total - pads[axis];
  }
  return pads;
}

/** A window with explicit pads (the techniques and tests build attributes by hand). */
export function explicitWindow(w: { strides?: readonly number[]; dilations?: readonly number[]; pads?: readonly number[] } = {}): WindowAttrs {
  return {
    strides: (w.strides ?? [1, 1]) as [number, number],
    dilations: (w.dilations ?? [1, 1]) as [number, number],
    pads: (w.pads ?? [0, 0, 0, 0]) as [number, number, number, number],
    autoPad: 'NOTSET',
  };
}

/** "s2,2 p0,0,1,1 d2,2" (defaults left out) for the tape and `pixelprop info`. */
export function describeWindow(w: WindowAttrs): string {
  const parts: string[] = [];
  if (w.strides.some((s) => s !== 1)) parts.push(`s${w.strides.join(',')}`);
  if (w.autoPad !== 'NOTSET') parts.push(w.autoPad.toLowerCase());
  else if (w.pads.some((p) => p !== 0)) parts.push(`p${w.pads.join(',')}`);
  if (w.dilations.some((d) => d !== 1)) parts.push(`d${w.dilations.join(',')}`);
  return parts.join(' ');
}
