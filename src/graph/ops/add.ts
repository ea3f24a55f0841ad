/**
 * Add: y = a + b, of equal shapes, or with b broadcast as a bias: b's shape (leading 1s aside) a suffix of a's — a
 * bias [K] onto [N, K], or [C, 1, 1] onto [N, C, H, W].
 *
 * Backward. ∂y/∂a = ∂y/∂b = 1: both inputs receive dy unchanged, and a broadcast b sums dy over the positions it was
 * repeated at (each b_j was added to every row).
 *
 * The broadcast is an outer product with a column of ones: a + 1·bᵀ = Gemm(A = 1 [rows,1], B = b [1,cols],
 * C = a [rows,cols]). The Gemm kernel does the broadcast and its backward gives both gradients — dC = dY for a, and
 * dB = 1ᵀ·dY, the column sums of dY, for b — with no kernel of their own. The products 1·b_j are exact, so the result
 * is the float32 sum a + b itself.
 */
import type { Gpu } from '../../gpu/device.js';
import { check, fmtShape } from '../../gpu/errors.js';
import { Tensor, sizeOf, type Shape } from '../../gpu/tensor.js';
import { add as addKernel, addRef } from '../../kernels/elementwise.js';
import { gemmBackward, gemmBackwardRef, gemm as gemmKernel, gemmRef } from '../../kernels/gemm.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

/** 'same' for equal shapes, else b seen as a row [1, cols] added to each of the `rows` rows of a seen as [rows, cols]. */
function layout(a: Shape, b: Shape): 'same' | { rows: number; cols: number } {
  if (a.length === b.length && a.every((d, i) => d === b[i])) return 'same';
  const first = b.findIndex((d) => d !== 1);
  const core = first < 0 ? [] : b.slice(first);
  const suffix = b.length <= a.length && core.every((d, i) => d === a[a.length - core.length + i]);
  check(
    suffix,
    () => `Add of ${fmtShape(a)} and ${fmtShape(b)} is not supported (equal shapes, or a second operand whose shape is a suffix of the first's, such as a bias [K] onto [N,K])`,
  );
  const cols = sizeOf(core);
  return { rows: sizeOf(a) / cols, cols };
}

/** [m, 1] columns of ones per device, made once (they are constants). */
const onesColumns = new WeakMap<Gpu, Map<number, Tensor>>();
function ones(gpu: Gpu, m: number): Tensor {
  let byLength = onesColumns.get(gpu);
  if (!byLength) onesColumns.set(gpu, (byLength = new Map()));
  let t = byLength.get(m);
  if (!t) byLength.set(m, (t = Tensor.from(gpu, [m, 1], new Float32Array(m).fill(1), `ones[${m}]`)));
  return t;
}

const view = (t: HostTensor, shape: Shape): HostTensor => ({ shape: [...shape], data: t.data });
const onesRef = (m: number): HostTensor => host([m, 1], new Float64Array(m).fill(1));
const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Add = defineOp<Record<string, never>>({
  name: 'Add',
  onnx: { types: ['Add'], arity: [2, 2], attrs: () => ({}) },
  shape: ([a, b]) => (layout(a!, b!), [a!]),
  forward: ([a, b], _, ctx) => {
    const l = layout(a!.shape, b!.shape);
    if (l === 'same') return { outputs: [addKernel(a!, b!, ctx.name)] };
    const a2 = a!.reshape([l.rows, l.cols]);
    const b2 = b!.reshape([1, l.cols]);
    const y2 = gemmKernel(ones(a!.gpu, l.rows), b2, a2, {}, `${ctx.name}.2d`);
    const y = y2.reshape(a!.shape, ctx.name);
    for (const t of [a2, b2, y2]) t.dispose();
    return { outputs: [y] };
  },
  backward: ({ dys: [dy], needs, inputShapes: [aShape, bShape], name }) => {
    const l = layout(aShape!, bShape!);
    if (l === 'same') return [needs[0] ? dy!.retain() : null, needs[1] ? dy!.retain() : null];
    const dy2 = dy!.reshape([l.rows, l.cols]);
    const one = ones(dy!.gpu, l.rows);
    // Gemm(1, b, a): its gradients are [d1, db, da]; b's shape and values do not enter db = 1ᵀ·dY.
    const b2 = Tensor.empty(dy!.gpu, [1, l.cols], 'add.b.shape');
    const [, db, da] = gemmBackward(dy2, one, b2, [l.rows, l.cols], {}, [false, needs[1] ?? false, needs[0] ?? false]);
    b2.dispose();
    dy2.dispose();
    const out = [da ? da.reshape(aShape!, `grad(${name}.a)`) : null, db ? db.reshape(bShape!, `grad(${name}.b)`) : null];
    da?.dispose();
    db?.dispose();
    return out;
  },
  keepsChannels: false,
  reference: {
    forward: ([a, b]) => {
      const l = layout(a!.shape, b!.shape);
      if (l === 'same') return [addRef(a!, b!)];
      return [view(gemmRef(onesRef(l.rows), view(b!, [1, l.cols]), view(a!, [l.rows, l.cols])), a!.shape)];
    },
    backward: ([dy], [a, b]) => {
      const l = layout(a!.shape, b!.shape);
      if (l === 'same') return [dy!, dy!];
      const [, db, da] = gemmBackwardRef(view(dy!, [l.rows, l.cols]), onesRef(l.rows), view(b!, [1, l.cols]), [l.rows, l.cols]);
      return [view(da!, a!.shape), view(db, b!.shape)];
    },
  },
  doc: {
    forward: 'y = a + b (b may be broadcast: a bias added to every row).',
    backward: '∂y/∂a = ∂y/∂b = 1: both inputs receive dy unchanged (a broadcast input sums dy over the positions it was repeated at).',
    saves: 'nothing.',
  },
  checks: [
    { name: 'Add [2,3,4] + [2,3,4]', inputs: () => [random([2, 3, 4], 71), random([2, 3, 4], 72)], attrs: {} },
    { name: 'Add [2,3,4,5] + [4,5] (broadcast)', inputs: () => [random([2, 3, 4, 5], 73), random([4, 5], 74)], attrs: {} },
  ],
});

export function add(a: Tensor, b: Tensor, name = 'add'): Tensor {
  return apply1(Add, [a, b], {}, name);
}
