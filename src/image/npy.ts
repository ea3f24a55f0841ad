/**
 * NumPy's .npy format, so that maps and images computed here open with `np.load` — and arrays from NumPy come in.
 *
 * Layout (numpy/lib/format.py, version 1.0):
 *   "\x93NUMPY" · major 1 · minor 0 · header length (uint16, little-endian) · header · data
 * The header is the repr of a Python dict, keys sorted — {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * — then, as NumPy ≥ 1.24 writes it, 21 − len(repr(shape[0])) spaces of room to grow the first axis in place, then
 * spaces up to a multiple of 64 bytes for magic + length + header, the last of them replaced by '\n'. (NumPy always
 * adds at least one byte, so when the text would end exactly on the boundary it pads a full 64.) The data follow in
 * C order. The writer reproduces NumPy's bytes exactly.
 *
 * Pure: runs the same in Node and in a browser.
 */
import { PixelpropError, check, fmtShape } from '../gpu/errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

/** Python's repr of a shape tuple: (), (5,), (2, 3). */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The bytes `np.save` writes for a float32 array of this shape (C order). */
export function encodeNpy(data: ArrayLike<number>, shape: readonly number[]): Uint8Array<ArrayBuffer> {
  check(
    Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0),
    () => `encodeNpy: shape ${fmtShape(shape)} must be a list of integers ≥ 0`,
  );
  const count = shape.reduce((a, b) => a * b, 1);
  check(data.length === count, () => `encodeNpy: ${data.length} values for shape ${fmtShape(shape)}`);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) header += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  const fixed = MAGIC.length + 2 + 2; // magic, version, header length
  const padding = ALIGN - ((fixed + header.length + 1) % ALIGN);
  header += ' '.repeat(padding) + '\n';
  check(header.length <= 0xffff, () => `encodeNpy: shape ${fmtShape(shape)} makes a header too long for format 1.0`);

  const out = new Uint8Array(fixed + header.length + 4 * count);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[fixed + i] = header.charCodeAt(i);
  const start = fixed + header.length;
  for (let i = 0; i < count; i++) view.setFloat32(start + 4 * i, data[i]!, true);
  return out;
}

export interface NpyArray {
  shape: number[];
  /** The values in C order (a Fortran-order file is transposed on reading). */
  data: Float32Array | Float64Array | Uint8Array;
  /** The dtype as the file wrote it: '<f4', '>f8', '|u1', …. */
  descr: string;
}

const DTYPES: Record<string, { bytes: number; read: (v: DataView, at: number, little: boolean) => number }> = {
  f4: { bytes: 4, read: (v, at, little) => v.getFloat32(at, little) },
  f8: { bytes: 8, read: (v, at, little) => v.getFloat64(at, little) },
  u1: { bytes: 1, read: (v, at) => v.getUint8(at) },
};

/** Parses an .npy file holding float32, float64 or uint8 values (versions 1.0, 2.0, 3.0). */
export function decodeNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  const bad = (why: string) => new PixelpropError(`'${name}' is not a readable .npy file: ${why}`);
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw bad('no \\x93NUMPY magic');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('file ends inside the header');
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw bad(`unknown format version ${major}.${bytes[7]}`);
  }
  if (headerStart + headerLength > bytes.length) throw bad('file ends inside the header');
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));

  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(`header ${header.trim()}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (shape.some((d) => !Number.isSafeInteger(d))) throw bad(`shape (${shapeText})`);

  const order = descr[0];
  const dtype = DTYPES[descr.slice(1)];
  if (!dtype || !(order === '<' || order === '>' || order === '|' || order === '=')) {
    throw bad(`dtype '${descr}' is not one of float32, float64, uint8`);
  }
  const little = order !== '>';
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length - dataStart < count * dtype.bytes) {
    throw bad(`${bytes.length - dataStart} data bytes for shape ${fmtShape(shape)} of '${descr}'`);
  }
  const stored = descr.endsWith('f4') ? new Float32Array(count) : descr.endsWith('f8') ? new Float64Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) stored[i] = dtype.read(view, dataStart + i * dtype.bytes, little);
  const data = fortran === 'True' ? fortranToC(stored, shape) : stored;
  return { shape, data, descr };
}

/**
 * Column-major → row-major. In Fortran order the first index varies fastest: element (i₀, …, iₙ₋₁) sits at
 * Σ iₖ · (d₀ ⋯ dₖ₋₁); walk the C-order positions, carrying the index like an odometer, and fetch each from there.
 */
function fortranToC<T extends Float32Array | Float64Array | Uint8Array>(stored: T, shape: number[]): T {
  const out = new (stored.constructor as new (n: number) => T)(stored.length);
  const strides = shape.map((_, k) => shape.slice(0, k).reduce((a, b) => a * b, 1));
  const index = shape.map(() => 0);
  for (let c = 0; c < stored.length; c++) {
    let f = 0;
    for (let k = 0; k < shape.length; k++) f += index[k]! * strides[k]!;
    out[c] = stored[f]!;
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++index[k]! < shape[k]!) break;
      index[k] = 0;
    }
  }
  return out;
}
