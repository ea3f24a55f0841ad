/**
 * MaxPool: y = the largest x in each window (ONNX semantics: strides, pads or auto_pad, dilations, ceil_mode), over 1,
 * 2 or 3 spatial axes (poolStages: 1-D and 3-D pools run on the 2-D kernels through views).
 *
 * Backward. Within a window, y equals one input — its largest (the first in row-major order at a tie) — so ∂y/∂x is 1
 * for that input and 0 for the others: each dy goes, whole, to the position its window's maximum came from, and a
 * position that is the maximum of several overlapping windows (SqueezeNet's 3×3 stride-2 pools overlap) sums their dy.
 * When a backward will follow, the forward also writes each window's argmax; the backward scatters dy through it
 * (kernels in src/kernels/pool.ts, shaders/pool.wgsl).
 */
import { check, fmtShape, PixelpropError } from '../../gpu/errors.js';
import type { Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { maxPoolBackwardFromArgmax, maxPoolBackwardRef, maxPoolForward, maxPoolRef, poolGeometry, poolOutputShape, type PoolAttributes, type PoolOp } from '../../kernels/pool.js';
import { sizeOf, type Shape } from '../../gpu/tensor.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp, type AttrReader } from '../op.js';
import { describeWindow, readSpatialWindow, resolvePads, type SpatialWindow, type WindowAttrs } from './window.js';

/** A 2-D window: what the kernels pool with. */
interface PlaneWindow {
  kernelShape: readonly [number, number];
  window: WindowAttrs;
}

export interface PoolAttrs extends PlaneWindow {
  ceilMode: boolean;
  /**
   * The node's spatial axes when not 2. A 1-D pool of [N, C, L] runs as the 2-D pool of [N, C, 1, L] with the window
   * above ([1, k]). A 3-D pool of [N, C, D, H, W] runs as the (H, W) pool above of [N, C·D, H, W], then the [k, 1]
   * pool `depth` along D of that seen as [N, C, D, H'·W'] — exact, because a window is a box: the max over a box is
   * the max over D of the maxima over (H, W), and AveragePool's divisor under either count_include_pad rule is the
   * product of the counts along each axis (the window and the input, padded or not, are boxes), so the average over
   * the box is the average along D of the averages over (H, W).
   */
  spatial?: 1 | 3;
  depth?: PlaneWindow;
}

/** The kernels' attributes of a 2-D window for an NCHW input of shape x (auto_pad resolved). */
function poolAttributesFor(a: PlaneWindow & { ceilMode: boolean }, x: Shape): PoolAttributes {
  return {
    kernelShape: a.kernelShape,
    strides: a.window.strides,
    dilations: a.window.dilations,
    pads: resolvePads(a.window, [x[2] ?? 1, x[3] ?? 1], a.kernelShape),
    ceilMode: a.ceilMode,
  };
}

/** One 2-D pass of a pool: its input seen as `input` (NCHW), its kernels' attributes, and its output's shape. */
export interface PoolStage {
  input: number[];
  attrs: PoolAttributes;
  output: number[];
}

/** The 2-D passes that pool x (one; two for a 3-D pool, see PoolAttrs.spatial) and the output's shape. */
export function poolStages(op: PoolOp, a: PoolAttrs, x: Shape): { stages: PoolStage[]; output: number[] } {
  const spatial = a.spatial ?? 2;
  check(
    x.length === spatial + 2,
    () => `${op}: a ${spatial}-D window pools ${spatial + 2}-D inputs [N, C, ${['L', 'H, W', 'D, H, W'][spatial - 1]}], not ${fmtShape(x)}`,
  );
  const stage = (w: PlaneWindow, input: number[]): PoolStage => {
    const attrs = poolAttributesFor({ ...w, ceilMode: a.ceilMode }, input);
    return { input, attrs, output: poolOutputShape(poolGeometry(op, input, attrs)) };
  };
  const [n, c] = [x[0]!, x[1]!];
  if (spatial === 1) {
    const only = stage(a, [n, c, 1, x[2]!]);
    return { stages: [only], output: [n, c, only.output[3]!] };
  }
  if (spatial === 2) {
    const only = stage(a, [...x]);
    return { stages: [only], output: only.output };
  }
  const [d, h, w] = [x[2]!, x[3]!, x[4]!];
  const plane = stage(a, [n, c * d, h, w]);
  const [oh, ow] = [plane.output[2]!, plane.output[3]!];
  const depth = stage(a.depth!, [n, c, d, oh * ow]);
  return { stages: [plane, depth], output: [n, c, depth.output[2]!, oh, ow] };
}

/** f of t seen with `shape` (a view, released after; t itself when the shapes agree). */
function withShape<T>(t: Tensor, shape: Shape, f: (view: Tensor) => T): T {
  if (t.shape.length === shape.length && t.shape.every((d, k) => d === shape[k])) return f(t);
  const view = t.reshape(shape);
  try {
    return f(view);
  } finally {
    view.dispose();
  }
}

/** t, which the caller owns, handed back seen with `shape` (t itself when the shapes agree). */
function reshapedOwned(t: Tensor, shape: Shape, name = t.name): Tensor {
  if (t.shape.length === shape.length && t.shape.every((d, k) => d === shape[k])) return t;
  const view = t.reshape(shape, name);
  t.dispose();
  return view;
}

/**
 * x through the passes, `pass` running pass k on its input seen as `stages[k].input` (the last one named `name`);
 * the result seen with the output's shape. Intermediates are released.
 */
export function forwardPasses(x: Tensor, { stages, output }: { stages: readonly PoolStage[]; output: Shape }, name: string, pass: (view: Tensor, s: PoolStage, k: number, name: string) => Tensor): Tensor {
  let y = x;
  for (const [k, s] of stages.entries()) {
    const next = withShape(y, s.input, (v) => pass(v, s, k, k === stages.length - 1 ? name : `${name}.pass${k}`));
    if (y !== x) y.dispose();
    y = next;
  }
  return reshapedOwned(y, output);
}

/** dy back through the passes, last first, `pass` running pass k's backward on its gradient seen as `stages[k].output`. */
export function backwardPasses(dy: Tensor, stages: readonly PoolStage[], xShape: Shape, name: string, pass: (view: Tensor, s: PoolStage, k: number) => Tensor): Tensor {
  let g = dy;
  for (let k = stages.length - 1; k >= 0; k--) {
    const s = stages[k]!;
    const dx = withShape(g, s.output, (v) => pass(v, s, k));
    if (g !== dy) g.dispose();
    g = dx;
  }
  return reshapedOwned(g, xShape, name);
}

/** A host tensor seen with another shape of the same size. */
export const hostView = (t: HostTensor, shape: Shape): HostTensor => ({ shape: [...shape], data: t.data });

/** The 2-D (or lifted 1-D, or split 3-D: see PoolAttrs.spatial) pool attributes of an ONNX-style window. */
function poolAttrsOf(w: SpatialWindow, ceilMode: boolean, fail: (message: string) => never): PoolAttrs {
  const n = w.kernelShape.length;
  type Axis = { kernel: number; stride: number; dilation: number; begin: number; end: number };
  const axis = (k: number): Axis => ({ kernel: w.kernelShape[k]!, stride: w.strides[k]!, dilation: w.dilations[k]!, begin: w.pads[k]!, end: w.pads[n + k]! });
  const none: Axis = { kernel: 1, stride: 1, dilation: 1, begin: 0, end: 0 };
  const plane = (rows: Axis, cols: Axis): PlaneWindow => ({
    kernelShape: [rows.kernel, cols.kernel],
    window: { strides: [rows.stride, cols.stride], dilations: [rows.dilation, cols.dilation], pads: [rows.begin, cols.begin, rows.end, cols.end], autoPad: w.autoPad },
  });
  if (n === 1) return { ...plane(none, axis(0)), ceilMode, spatial: 1 };
  if (n === 2) return { ...plane(axis(0), axis(1)), ceilMode };
  if (n === 3) return { ...plane(axis(1), axis(2)), ceilMode, spatial: 3, depth: plane(axis(0), none) };
  return fail(`kernel_shape ${fmtShape(w.kernelShape)} has ${n} axes: pools over 1, 2 or 3 spatial axes are supported`);
}

export function readPoolAttrs(r: AttrReader): PoolAttrs {
  const window = readSpatialWindow(r);
  if (r.int('storage_order', 0) !== 0) r.fail('storage_order 1 (column-major indices) is not supported');
  return poolAttrsOf(window, r.int('ceil_mode', 0) === 1, (m) => r.fail(m));
}

export function describePool(a: PoolAttrs): string {
  const plane = `k${a.kernelShape.join('×')}`;
  const kernel = a.spatial === 1 ? `k${a.kernelShape[1]}` : a.depth ? `k${a.depth.kernelShape[0]}×${a.kernelShape.join('×')}` : plane;
  const depth = a.depth && describeWindow(a.depth.window);
  return [kernel, describeWindow(a.window), depth ? `depth ${depth}` : '', a.ceilMode ? 'ceil' : ''].filter(Boolean).join(' ');
}

/** Pool attributes built by hand (tests, techniques): lists as ONNX's, for 1, 2 or 3 spatial axes. */
export function poolAttrs(a: { kernelShape: readonly number[]; strides?: number[]; pads?: number[]; dilations?: number[]; ceilMode?: boolean }): PoolAttrs {
  const n = a.kernelShape.length;
  const window: SpatialWindow = {
    kernelShape: [...a.kernelShape],
    strides: a.strides ?? new Array<number>(n).fill(1),
    dilations: a.dilations ?? new Array<number>(n).fill(1),
    pads: a.pads ?? new Array<number>(2 * n).fill(0),
    autoPad: 'NOTSET',
  };
  return poolAttrsOf(window, a.ceilMode ?? false, (m) => {
    throw new PixelpropError(m);
  });
}

/**
 * n distinct values k·step, k = −n/2 … n/2 − 1, shuffled; step is the power of two ≥ 2/n, so they lie in [−2, 2), are
 * at least 2/n apart, and are exact in float32. Max pooling is piecewise linear: its finite differences are exact as
 * long as no probe x ± h changes which element of a window is the largest, which these values and h = 1e-4 ensure.
 */
export function separatedValues(shape: number[], seed: number): HostTensor {
  const n = sizeOf(shape);
  const rng = new Rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const step = 2 ** Math.ceil(Math.log2(2 / n)); // a power of two, so every value is exact in float32
  return host(shape, order.map((k) => (k - n / 2) * step));
}

export const MaxPool = defineOp<PoolAttrs>({
  name: 'MaxPool',
  onnx: {
    types: ['MaxPool'],
    arity: [1, 1],
    attrs: (r) => {
      if (r.node.outputs[1]) r.fail('the Indices output of MaxPool is not supported');
      return readPoolAttrs(r);
    },
  },
  shape: ([x], a) => [poolStages('MaxPool', a, x!).output],
  forward: ([x], a, ctx) => {
    const saved: Record<string, Tensor> = {};
    const y = forwardPasses(x!, poolStages('MaxPool', a, x!.shape), ctx.name, (v, s, k, name) => {
      const { y, argmax } = maxPoolForward(v, s.attrs, name, ctx.recording);
      if (argmax) saved[`argmax${k}`] = argmax;
      return y;
    });
    return { outputs: [y], saved };
  },
  // The passes backwards, each scattering through its own argmax.
  backward: ({ dys: [dy], saved, attrs: a, inputShapes: [xShape], name }) => [
    backwardPasses(dy!, poolStages('MaxPool', a, xShape!).stages, xShape!, `grad(${name})`, (v, s, k) => maxPoolBackwardFromArgmax(v, saved[`argmax${k}`]!, s.input, s.attrs)),
  ],
  reference: {
    forward: ([x], a) => {
      const { stages, output } = poolStages('MaxPool', a, x!.shape);
      const y = stages.reduce((t, s) => maxPoolRef(hostView(t, s.input), s.attrs), x!);
      return [hostView(y, output)];
    },
    backward: ([dy], [x], _, a) => {
      const { stages } = poolStages('MaxPool', a, x!.shape);
      const inputs: HostTensor[] = []; // each pass's input, where its maxima are
      stages.reduce((t, s) => (inputs.push(hostView(t, s.input)), maxPoolRef(inputs.at(-1)!, s.attrs)), x!);
      const dx = stages.reduceRight((g, s, k) => maxPoolBackwardRef(hostView(g, s.output), inputs[k]!, s.attrs), dy!);
      return [hostView(dx, x!.shape)];
    },
  },
  doc: {
    forward: 'y = the largest x in each k×k window (stride s); a 3-D window pools (H, W), then D: the max over a box is the max of maxima.',
    backward:
      'Within a window, y equals one input — its largest (the first in row-major order at a tie) — so ∂y/∂x is 1 for that ' +
      'input and 0 for the others: each dy goes, whole, to the position its window’s maximum came from, and a position that ' +
      'is the maximum of several overlapping windows (SqueezeNet’s 3×3 stride-2 pools overlap) sums their dy.',
    saves: 'the argmax of each window, written by the forward (not x); a 3-D pool, one per pass.',
  },
  describe: describePool,
  checks: [
    { name: 'MaxPool 3×3 s2 ceil [2,3,7,6]', inputs: () => [separatedValues([2, 3, 7, 6], 1)], attrs: poolAttrs({ kernelShape: [3, 3], strides: [2, 2], ceilMode: true }), h: 1e-4 },
    { name: 'MaxPool 3×3 s2 pads 0,0,1,1 [1,5,7,7]', inputs: () => [separatedValues([1, 5, 7, 7], 2)], attrs: poolAttrs({ kernelShape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }), h: 1e-4 },
    {
      name: 'MaxPool 2×3 s1,2 pads 1,1,0,1 d2,1 [1,2,6,5]',
      inputs: () => [separatedValues([1, 2, 6, 5], 3)],
      attrs: poolAttrs({ kernelShape: [2, 3], strides: [1, 2], pads: [1, 1, 0, 1], dilations: [2, 1] }),
      h: 1e-4,
    },
    { name: 'MaxPool 1-D k3 s2 pads 1,0 [2,3,9]', inputs: () => [separatedValues([2, 3, 9], 4)], attrs: poolAttrs({ kernelShape: [3], strides: [2], pads: [1, 0] }), h: 1e-4 },
    {
      name: 'MaxPool 3-D k2×3×2 s2,1,2 pads 1,0,0,0,1,1 ceil [1,2,5,4,5]',
      inputs: () => [separatedValues([1, 2, 5, 4, 5], 5)],
      attrs: poolAttrs({ kernelShape: [2, 3, 2], strides: [2, 1, 2], pads: [1, 0, 0, 0, 1, 1], ceilMode: true }),
      h: 1e-4,
    },
    {
      name: 'MaxPool SqueezeNet pool3 [1,8,27,27] pads 0,0,1,1',
      inputs: () => [separatedValues([1, 8, 27, 27], 70)],
      attrs: poolAttrs({ kernelShape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }),
      h: 1e-4,
      samples: 80,
    },
  ],
});

export function maxPool(x: Tensor, attrs: PoolAttrs, name = 'maxpool'): Tensor {
  return apply1(MaxPool, [x], attrs, name);
}
