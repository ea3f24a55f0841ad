/**
 * Cast: x converted to another element type (`to`, an ONNX DataType number). pixelprop holds two types, float32 for
 * everything computed and int64 for shape arithmetic, so Cast means:
 *
 * - on a constant (folded while the model is built): to FLOAT, int64 → float32; to any integer type, float32 →
 *   int64 truncated toward zero (as numpy's astype); to BOOL, 1 where x ≠ 0, else 0 (bools are held as int64 0/1);
 * - on a computed value: only to FLOAT, which changes nothing — a view, like Identity: y = x, dx = dy.
 *
 * Casts to DOUBLE, FLOAT16, BFLOAT16 or STRING are refused: pixelprop computes in float32 and could only pretend.
 */
import { PixelpropError } from '../../gpu/errors.js';
import type { Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { float32, int64 } from '../fold-op.js';
import { apply1, defineOp } from '../op.js';

export interface CastAttrs {
  /** the ONNX DataType number */
  to: number;
}

const FLOAT = 1;
const BOOL = 9;
/** ONNX's integer DataTypes: UINT8, INT8, UINT16, INT16, INT32, INT64, UINT32, UINT64 */
const INTEGERS = new Set([2, 3, 4, 5, 6, 7, 12, 13]);
const NAMES: Record<number, string> = { 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING', 9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 16: 'BFLOAT16' };
const typeName = (t: number): string => NAMES[t] ?? `type ${t}`;

export const Cast = defineOp<CastAttrs>({
  name: 'Cast',
  onnx: {
    types: ['Cast'],
    arity: [1, 1],
    attrs: (r) => {
      if (!r.has('to')) r.fail('attribute to is required');
      const to = r.int('to', FLOAT);
      if (to !== FLOAT && to !== BOOL && !INTEGERS.has(to)) r.fail(`a cast to ${typeName(to)} is not supported: pixelprop computes in float32 (and int64 for shapes)`);
      return { to };
    },
  },
  fold: ([x], a) => {
    const c = x?.constant;
    if (!c) {
      if (a.to !== FLOAT) {
        throw new PixelpropError(`a computed value cannot be cast to ${typeName(a.to)}: pixelprop computes in float32 (only shape arithmetic, on constants, is int64)`);
      }
      return undefined; // a float32 value cast to float32: the node stays, as a view
    }
    if (a.to === FLOAT) return [float32(c.dims, c.data)];
    const data = Array.from(c.data, (v) => (a.to === BOOL ? (v !== 0 ? 1 : 0) : Math.trunc(v)));
    return [int64(c.dims, data)];
  },
  shape: ([x]) => [x!],
  forward: ([x], _, ctx) => ({ outputs: [x!.reshape(x!.shape, ctx.name)] }),
  backward: ({ dys: [dy], name }) => [dy!.reshape(dy!.shape, `grad(${name})`)],
  keepsChannels: true,
  reference: {
    forward: ([x]) => [x as HostTensor],
    backward: ([dy]) => [dy as HostTensor],
  },
  doc: {
    forward: 'y = x in another element type; on a computed (float32) value only a cast to float32, which changes nothing.',
    backward: 'y = x, so dx = dy.',
    saves: 'nothing.',
  },
  describe: (a) => `to ${typeName(a.to)}`,
  checks: [{ name: 'Cast [2,3] to FLOAT (a view)', inputs: () => [host([2, 3], new Rng(271).uniforms(6))], attrs: { to: FLOAT } }],
  foldChecks: [
    { name: 'Cast int64 [3] to FLOAT', inputs: [{ dims: [3], constant: int64([3], [1, -2, 7]) }], attrs: { to: FLOAT }, expected: float32([3], [1, -2, 7]) },
    { name: 'Cast float32 [4] to INT64 (truncated)', inputs: [{ dims: [4], constant: float32([4], [2.7, -2.7, 0.5, 9]) }], attrs: { to: 7 }, expected: int64([4], [2, -2, 0, 9]) },
    { name: 'Cast float32 scalar to BOOL', inputs: [{ dims: [], constant: float32([], [-0.25]) }], attrs: { to: BOOL }, expected: int64([], [1]) },
  ],
});

export function cast(x: Tensor, to: number, name = 'cast'): Tensor {
  return apply1(Cast, [x], { to }, name);
}
