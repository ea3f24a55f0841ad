/**
 * The sliding-window attributes that Conv and the pools share (ONNX names them the same): strides, dilations, and the
 * padding, given either as explicit pads or as auto_pad, which depends on the input's size and so is resolved per
 * shape. Only 2-D windows over NCHW tensors.
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

function list(r: AttrReader, name: string, length: number, fallback: number[]): number[] {
  const v = r.ints(name);
  if (v === undefined) return fallback;
  if (v.length !== length) r.fail(`${name} ${fmtShape(v)} must have ${length} values (only 2-D windows are supported)`);
  return v;
}

export function readWindow(r: AttrReader): WindowAttrs {
  const autoPad = r.string('auto_pad', 'NOTSET');
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) {
    r.fail(`auto_pad '${autoPad}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  }
  return {
    strides: list(r, 'strides', 2, [1, 1]) as [number, number],
    dilations: list(r, 'dilations', 2, [1, 1]) as [number, number],
    pads: list(r, 'pads', 4, [0, 0, 0, 0]) as [number, number, number, number],
    autoPad: autoPad as AutoPad,
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
