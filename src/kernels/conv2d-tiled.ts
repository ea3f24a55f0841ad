/**
 * conv2d version 2: the register-tiled implicit GEMM of shaders/conv2d_tiled.wgsl, for the forward pass and the
 * backward pass to the input, ungrouped or grouped (depthwise convolutions have a version 2 of their own,
 * conv2d-depthwise.ts). Version 1 (the direct kernels of conv2d.ts) stays as the reference the tests and the kernel
 * benchmark compare against, and as the path for what v2 does not cover (groups whose size neither divides nor is a
 * multiple of 16; a backward with dilation).
 *
 * One kernel, two passes, by describing each as "out[m, pixel] = Σ W[m, n, a, b] · in[n, row(i, a), col(j, b)]":
 *
 * Forward, y = conv(x, w):   m = o, n = c, (a, b) = (kh, kw), in = x,
 *                            row = i·sh + a·dh − pt,  W index = ((o·C + c)·KH + kh)·KW + kw.
 *
 * Backward to x:             dx[c, ih] = Σ_{o, kh : oh·sh − pt + kh = ih} w[o, c, kh] · dy[o, oh]    (one axis shown)
 *
 *   Which taps reach a given ih depends on ih mod sh. Split dx into sh phases ih = rh + sh·i (one dispatch each):
 *   in phase rh exactly the taps kh ≡ rh + pt (mod sh) contribute, kh = kh0 + sh·a with kh0 = (rh + pt) mod sh, and
 *   solving oh·sh = rh + sh·i + pt − kh0 − sh·a gives oh = i + (rh + pt − kh0)/sh − a — an exact division. So phase
 *   rh is the same GEMM with m = c, n = o, in = dy, row = i + off − a, W index = ((o·C + c)·KH + kh0 + sh·a)·KW + …,
 *   and its results land on rows rh + sh·i of dx. With stride 1 there is one phase and this is the familiar "full"
 *   convolution of dy with the flipped kernel; with stride 2 (SqueezeNet's first layer) there are four, and no tap
 *   is wasted on the zeros a dilated-dy formulation would multiply.
 */
import type { Gpu } from '../gpu/device.js';
import { PixelpropError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor } from '../gpu/tensor.js';
import { activationConstants, IDENTITY, type ActivationFn } from './activation.js';
import type { Conv2dGeometry } from './conv2d.js';
import { NO_SOURCE, gatherOrZero } from './elementwise.js';

/**
 * Switches for the ablation benchmark (bench/ablation.ts), which measures what each optimization is worth by turning
 * it off. Every setting but `f16` gives the same numbers, only the time differs; applications pass none and get
 * DEFAULT_TUNING, or set `f16` through a model's `precision` option.
 */
export interface ConvTuning {
  /** the kernel version used when a call does not ask for one: 2 where it applies (1 = the direct kernels) */
  readonly defaultVersion: 1 | 2;
  /** pack the phases of a strided backward into one GEMM when that runs fewer multiply-adds */
  readonly phasePacking: boolean;
  /** sum a backward over the channels a one-hot gradient can be non-zero in, rather than all of them */
  readonly channelLists: boolean;
  /** let the tiled kernel compute 32 GEMM rows per invocation where that fits (tileRows), not only 16 */
  readonly tallTiles: boolean;
  /** the tiled kernel's arithmetic (ConvPrecision); the one switch that changes the numbers */
  readonly precision: ConvPrecision;
}

/**
 * The arithmetic of the tiled kernel, one shaders/precision_*.wgsl file each: 'f32'; 'f16' — weights, products and
 * sums in half precision; 'mixed' — weights and products in half precision, sums in f32. Inputs and outputs stay f32
 * tensors either way (converted on load and store), so every other op is unchanged. The half ones need the adapter's
 * `shader-f16`; docs/performance.md gives their error against float64 per model.
 */
export type ConvPrecision = 'f32' | 'f16' | 'mixed';
export const CONV_PRECISIONS: readonly ConvPrecision[] = ['f32', 'f16', 'mixed'];

export const DEFAULT_TUNING: ConvTuning = Object.freeze({ defaultVersion: 2, phasePacking: true, channelLists: true, tallTiles: true, precision: 'f32' });

/** Invocations per workgroup by default: each computes 16 (or 32) rows × 4 pixels, so a workgroup covers 16 × 256 outputs or 32 × 256. */
export const TILED_WG = 64;
/** GEMM rows per invocation at least (the first 16 accumulators of conv2d_tiled.wgsl; tileRows may double them) */
const ROWS = 16;
/** pixels per invocation (the 4 lanes of each accumulator vec4) */
const PIXELS = 4;

/**
 * The workgroup size for `pixels` columns: 64 unless that leaves more than a tenth of the last block's lanes idle,
 * then whichever of 64, 48, 32, 16, 8 wastes least. SqueezeNet's 13 × 13 layers (169 pixels) run 192-pixel blocks at
 * 48 instead of 256-pixel blocks at 64: 88% of the lanes busy instead of 66%. MobileNetV2's 7 × 7 layers (49 pixels)
 * run one 64-pixel block at 16 instead of a 128-pixel block at 32 (77% busy instead of 38%: 1.8× faster each, its
 * forward 94 → 72 ms of GPU time), and its classifier, a 1×1 conv on a 1 × 1 image, one 32-pixel block at 8 (13.4 →
 * 3.6 ms). Multiples of 8, so that every subgroup of lavapipe's 8 lanes is whole.
 */
export function tiledWorkgroupSize(pixels: number): number {
  const waste = (wg: number): number => Math.ceil(pixels / (PIXELS * wg)) * PIXELS * wg - pixels;
  if (waste(TILED_WG) <= pixels / 10) return TILED_WG;
  return [64, 48, 32, 16, 8].reduce((best, wg) => (waste(wg) < waste(best) ? wg : best));
}

/**
 * How the 16-row tiles meet groups of `rows` GEMM rows: 'inside' — a tile lies inside one group (rows a multiple of
 * 16, or one group: the ungrouped conv); 'packed' — a tile holds 16 / rows whole groups (rows 1, 2, 4 or 8), their
 * weights packed with zeros between groups; null — tiles would straddle group boundaries (the direct kernels then).
 */
function groupTiling(group: number, rows: number): 'inside' | 'packed' | null {
  if (group === 1 || rows % ROWS === 0) return 'inside';
  return ROWS % rows === 0 ? 'packed' : null;
}

/**
 * Whether version 2 computes this convolution's forward pass: ungrouped, or grouped with groups of output channels
 * that tile (ResNeXt's 4, 8, 16, 32 per group). Depthwise convolutions (one input channel per group) have a kernel of
 * their own (conv2d-depthwise.ts): here a 16-row tile would multiply 15 zeros for every weight.
 */
export function tiledForwardSupports(g: Conv2dGeometry): boolean {
  return g.group === 1 || (g.groupIn > 1 && groupTiling(g.group, g.groupOut) !== null);
}

/** Whether version 2 computes this convolution's backward pass to the input (rows are input channels there). */
export function tiledBackwardInputSupports(g: Conv2dGeometry): boolean {
  return g.dilH === 1 && g.dilW === 1 && (g.group === 1 || (g.groupIn > 1 && groupTiling(g.group, g.groupIn) !== null));
}

interface GemmLayout {
  pixels: number;
  gridH: number;
  gridW: number;
  mCount: number;
  nCount: number;
  tapsH: number;
  tapsW: number;
  inH: number;
  inW: number;
  inBatchStride: number;
  inChannelOffset: number;
  inStride: [number, number];
  tapStep: [number, number];
  inOff: [number, number];
  wBase: number;
  wStrides: [number, number, number, number]; // m, n, a, b
  outH: number;
  outW: number;
  outChannels: number;
  outChannelOffset: number;
  outStride: [number, number];
  outOff: [number, number];
  /** grouped convolutions (see `Grouping`); absent: one block */
  grouping?: Grouping;
}

/** Where the tiles of a grouped convolution read: the Params of the same names in conv2d_tiled.wgsl. */
interface Grouping {
  groupRows: number;
  nGroupOffset: number;
  wGroupOffset: number;
  nLimit: number;
}

/** The fields of conv2d_tiled.wgsl's Params, in order. */
const params = {
  pixels: 'u32',
  grid_h: 'u32',
  grid_w: 'u32',
  m_count: 'u32',
  n_count: 'u32',
  taps_h: 'u32',
  taps_w: 'u32',
  in_h: 'u32',
  in_w: 'u32',
  in_batch_stride: 'u32',
  in_channel_offset: 'u32',
  in_stride_h: 'i32',
  in_stride_w: 'i32',
  tap_step_h: 'i32',
  tap_step_w: 'i32',
  in_off_h: 'i32',
  in_off_w: 'i32',
  w_base: 'u32',
  w_stride_m: 'u32',
  w_stride_n: 'u32',
  w_stride_a: 'u32',
  w_stride_b: 'u32',
  out_h: 'u32',
  out_w: 'u32',
  out_channels: 'u32',
  out_channel_offset: 'u32',
  out_stride_h: 'u32',
  out_stride_w: 'u32',
  out_off_h: 'u32',
  out_off_w: 'u32',
  phase_channels: 'u32',
  group_rows: 'u32',
  n_group_offset: 'u32',
  w_group_offset: 'u32',
  n_limit: 'u32',
} as const;

function paramsOf(l: GemmLayout, phaseChannels: number): { readonly [K in keyof typeof params]: number } {
  return {
    pixels: l.pixels,
    grid_h: l.gridH,
    grid_w: l.gridW,
    m_count: l.mCount,
    n_count: l.nCount,
    taps_h: l.tapsH,
    taps_w: l.tapsW,
    in_h: l.inH,
    in_w: l.inW,
    in_batch_stride: l.inBatchStride,
    in_channel_offset: l.inChannelOffset,
    in_stride_h: l.inStride[0],
    in_stride_w: l.inStride[1],
    tap_step_h: l.tapStep[0],
    tap_step_w: l.tapStep[1],
    in_off_h: l.inOff[0],
    in_off_w: l.inOff[1],
    w_base: l.wBase,
    w_stride_m: l.wStrides[0],
    w_stride_n: l.wStrides[1],
    w_stride_a: l.wStrides[2],
    w_stride_b: l.wStrides[3],
    out_h: l.outH,
    out_w: l.outW,
    out_channels: l.outChannels,
    out_channel_offset: l.outChannelOffset,
    out_stride_h: l.outStride[0],
    out_stride_w: l.outStride[1],
    out_off_h: l.outOff[0],
    out_off_w: l.outOff[1],
    phase_channels: phaseChannels,
    group_rows: l.grouping?.groupRows ?? Math.max(1, l.mCount),
    n_group_offset: l.grouping?.nGroupOffset ?? 0,
    w_group_offset: l.grouping?.wGroupOffset ?? 0,
    n_limit: l.grouping?.nLimit ?? l.nCount,
  };
}

/**
 * The kernel, at each precision. Linked in front of it (see the shader's header): the arithmetic type `real`
 * and the multiply-add (shaders/precision_*.wgsl), the weights file — the subgroup fetch where subgroups are at least 8 wide, the
 * plain one elsewhere — and activation.wgsl for the forward's epilogue.
 */
const tiledAt = (precision: ConvPrecision) =>
  defineKernel({
    shader: (gpu: Gpu) => [`precision_${precision}`, gpu.subgroupsOf8 ? 'conv2d_weights_subgroup' : 'conv2d_weights_plain', 'activation', 'conv2d_tiled'],
    entry: 'conv2d_tiled',
    params,
    bindings: { src: 'read', w: 'read', bias: 'read?', channels: 'read?', out: 'read_write' },
  });
const tiled: Record<ConvPrecision, ReturnType<typeof tiledAt>> = { f32: tiledAt('f32'), f16: tiledAt('f16'), mixed: tiledAt('mixed') };

const convertF16 = defineKernel({
  shader: ['common', 'convert_f16'],
  entry: 'convert_f16',
  constants: { WG: 256 },
  params: { n: 'u32' },
  bindings: { src: 'read', out: 'read_write' },
});

/**
 * w as f16, for the kernel at precision 'f16' or 'mixed': a buffer of ⌈n/2⌉ words (a Tensor of that many f32 slots, read by the
 * shader as 2 halves each). Made from w on every call, like the packed weights below, so that weights changed in place
 * (the sanity check randomizes them) are never read stale; SqueezeNet's 1.2 M weights cost one pass of 5 MB per
 * forward. The caller disposes it.
 */
function halfWeights(w: Tensor): Tensor {
  const half = Tensor.empty(w.gpu, [Math.ceil(w.size / 2)], 'conv2d f16 weights (pairs of halves)');
  convertF16.dispatch(w.gpu, { bind: { src: w, out: half }, params: { n: w.size }, grid: { threads: half.size } });
  return half;
}

const groupPack = defineKernel({
  shader: ['common', 'conv2d_group'],
  entry: 'conv2d_group_pack',
  constants: { WG: 256 },
  params: { total: 'u32', n_count: 'u32', taps: 'u32', group_in: 'u32', group_out: 'u32', out_channels: 'u32' },
  bindings: { w: 'read', out: 'read_write' },
});

/**
 * The weights W′ [rows, nCount, KH, KW] of a 'packed' grouping, each tile's window of channels with zeros between
 * groups (shaders/conv2d_group.wgsl); rows are output channels forward, input channels backward. Made from w on every
 * call, so a changed w (the sanity check randomizes weights) is always read afresh; the caller disposes it.
 */
function packGroupWeights(g: Conv2dGeometry, w: Tensor, backward: boolean, nCount: number): Tensor {
  const rows = backward ? g.inChannels : g.outChannels;
  const packed = Tensor.empty(w.gpu, [rows, nCount, g.kH, g.kW], 'conv2d group-packed weights');
  groupPack.dispatch(w.gpu, {
    bind: { w, out: packed },
    params: { total: packed.size, n_count: nCount, taps: g.kH * g.kW, group_in: g.groupIn, group_out: g.groupOut, out_channels: g.outChannels },
    grid: { threads: packed.size },
    constants: { BACKWARD: backward ? 1 : 0 },
  });
  return packed;
}

/**
 * The reduction of a grouped (or ungrouped) convolution's GEMM whose rows come in groups of `rows` and whose reduction
 * runs over `perGroup` channels of each group: inside a group, a tile reads its group's channels; packed, the channels
 * of the 16 / rows groups it holds, with weights from `packGroupWeights`. `limit` is the channel count of the input.
 */
function groupedReduction(group: number, rows: number, perGroup: number, limit: number): { nCount: number; packed: boolean; grouping: Grouping } {
  if (groupTiling(group, rows) === 'packed') {
    const nCount = (ROWS / rows) * perGroup;
    return { nCount, packed: true, grouping: { groupRows: ROWS, nGroupOffset: nCount, wGroupOffset: 0, nLimit: limit } };
  }
  return { nCount: perGroup, packed: false, grouping: { groupRows: rows, nGroupOffset: perGroup, wGroupOffset: 0, nLimit: limit } };
}

/**
 * GEMM rows per tile (TILE_ROWS in conv2d_tiled.wgsl): 32 where a 32-row tile stays inside one group of rows (an
 * ungrouped conv, or groups of a multiple of 32 rows) and rounding the rows up to 32s wastes at most an eighth of them
 * (SqueezeNet's 48 and 16-row convs stay at 16; 1000 classes run 1024 rows); 16 otherwise.
 */
export function tileRows(l: Pick<GemmLayout, 'mCount' | 'grouping'>, tuning: ConvTuning): 16 | 32 {
  if (!tuning.tallTiles || l.mCount <= ROWS) return 16;
  const groupRows = l.grouping?.groupRows ?? l.mCount;
  const oneBlock = groupRows >= l.mCount;
  if (!oneBlock && groupRows % 32 !== 0) return 16;
  return Math.ceil(l.mCount / 32) * 32 - l.mCount <= l.mCount / 8 ? 32 : 16;
}

function dispatchTiled(
  gpu: Gpu,
  label: string,
  l: GemmLayout,
  tensors: { src: Tensor; w: Tensor; bias: Tensor | null; channels: GPUBuffer | null; out: Tensor },
  options: { activation?: ActivationFn; accumulate?: boolean; phases?: number; phaseChannels?: number; tuning?: ConvTuning } = {},
): void {
  if (l.pixels === 0) return;
  const wg = tiledWorkgroupSize(l.pixels);
  const blocks = Math.ceil(l.pixels / (PIXELS * wg));
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const groupsZ = Math.ceil(blocks / max); // folded: the shader takes block = x + z·nwg.x, and skips blocks past the end
  const tuning = options.tuning ?? DEFAULT_TUNING;
  const rows = tileRows(l, tuning);
  const groupsY = Math.ceil(l.mCount / rows);
  const half = tuning.precision !== 'f32';
  if (half && !gpu.hasF16) throw new PixelpropError(`${label}: precision ${tuning.precision} needs the adapter's shader-f16 feature, which ${gpu.adapterName} does not offer`);
  // In half precision the weights are converted per dispatch: the strided backward's phases (up to 4 dispatches)
  // convert them each time, a pass over the layer's weights that costs less than the bookkeeping of sharing it.
  const w = half ? halfWeights(tensors.w) : tensors.w;
  tiled[tuning.precision].dispatch(gpu, {
    label: half ? `${label} (${tuning.precision})` : label,
    bind: { ...tensors, w },
    params: paramsOf(l, options.phaseChannels ?? 0),
    grid: [Math.ceil(blocks / groupsZ), groupsY, groupsZ],
    constants: {
      WG: wg,
      HAS_BIAS: tensors.bias ? 1 : 0,
      CHANNEL_LIST: tensors.channels ? 1 : 0,
      ACCUMULATE: options.accumulate ? 1 : 0,
      PHASES: options.phases ?? 1,
      TILE_ROWS: rows,
      ...activationConstants(options.activation ?? IDENTITY),
    },
  });
  if (w !== tensors.w) w.dispose(); // encoded: the pool hands the buffer out again only to later work
}

/** Where a convolution's output channels sit in the tensor it writes (or its gradient in the tensor it reads). */
export interface ChannelSlice {
  /** the first channel */
  offset: number;
  /** the tensor's channel count */
  channels: number;
}

/**
 * y = activation(conv(x, w) + b) into `y`: the whole of y (already allocated with the output shape), or its
 * channels [slice.offset, slice.offset + O) when y is the concatenation of several convolutions' outputs.
 */
export function conv2dForwardTiled(
  g: Conv2dGeometry,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  y: Tensor,
  activation: ActivationFn,
  slice: ChannelSlice = { offset: 0, channels: g.outChannels },
  tuning: ConvTuning = DEFAULT_TUNING,
): void {
  const taps = g.kH * g.kW;
  // Rows are output channels, in groups of Og; each reads its group's Cg input channels.
  const r = groupedReduction(g.group, g.groupOut, g.groupIn, g.inChannels);
  const weights = r.packed ? packGroupWeights(g, w, false, r.nCount) : w;
  dispatchTiled(
    x.gpu,
    'conv2d.tiled_forward',
    {
      pixels: g.batch * g.outH * g.outW,
      gridH: g.outH,
      gridW: g.outW,
      mCount: g.outChannels,
      nCount: r.nCount,
      tapsH: g.kH,
      tapsW: g.kW,
      inH: g.inH,
      inW: g.inW,
      inBatchStride: g.inChannels * g.inH * g.inW,
      inChannelOffset: 0,
      inStride: [g.strideH, g.strideW],
      tapStep: [g.dilH, g.dilW],
      inOff: [-g.padTop, -g.padLeft],
      wBase: 0,
      wStrides: [r.nCount * taps, taps, g.kW, 1],
      outH: g.outH,
      outW: g.outW,
      outChannels: slice.channels,
      outChannelOffset: slice.offset,
      outStride: [1, 1],
      outOff: [0, 0],
      grouping: r.grouping,
    },
    { src: x, w: weights, bias, channels: null, out: y },
    { activation, tuning },
  );
  if (weights !== w) weights.dispose(); // encoded: the pool hands the buffer out again only to later work
}

/**
 * The phases of the strided backward along one axis (stride s, pad p, kernel K), unified so that they can share one
 * GEMM (see `conv2dBackwardInputPacked`): phase r's taps are kh = kh0_r + s·a, a < taps_r, reading dy row i + off_r − a.
 * Shifting phase r's taps by c − off_r (c = the largest offset) makes every phase read dy row i + c − a' for a' <
 * taps; the taps a phase lacks get zero weights.
 */
function unifiedPhases(s: number, p: number, k: number): { kh0: number[]; shift: number[]; taps: number; offset: number } {
  const kh0 = Array.from({ length: s }, (_, r) => (r + p) % s);
  const off = kh0.map((k0, r) => (r + p - k0) / s);
  const count = kh0.map((k0) => Math.max(0, Math.ceil((k - k0) / s)));
  const offset = Math.max(...off);
  const shift = off.map((o) => offset - o);
  return { kh0, shift, taps: Math.max(...count.map((n, r) => n + shift[r]!)), offset };
}

/** Multiply-adds a backward executes, unpacked (one dispatch per phase) or packed (all phases in one GEMM). */
function backwardCost(g: Conv2dGeometry): { perPhase: number; packed: number } {
  const rows = (m: number): number => Math.ceil(m / ROWS) * ROWS;
  let perPhase = 0;
  for (let rh = 0; rh < g.strideH; rh++) {
    for (let rw = 0; rw < g.strideW; rw++) {
      const th = Math.ceil((g.kH - ((rh + g.padTop) % g.strideH)) / g.strideH);
      const tw = Math.ceil((g.kW - ((rw + g.padLeft) % g.strideW)) / g.strideW);
      perPhase += rows(g.inChannels) * Math.max(0, th) * Math.max(0, tw);
    }
  }
  const h = unifiedPhases(g.strideH, g.padTop, g.kH);
  const w = unifiedPhases(g.strideW, g.padLeft, g.kW);
  return { perPhase, packed: rows(g.strideH * g.strideW * g.inChannels) * h.taps * w.taps };
}

/**
 * The strided backward as ONE GEMM whose rows are (phase, input channel) pairs: phase-packing. SqueezeNet's first
 * layer has 3 input channels, so its 4 phases fill 12 rows of a 16-row tile together where each alone would fill 3;
 * with the phases' taps unified (2×2, some of them zero) the layer runs 2.3× fewer multiply-adds than phase by phase.
 * The packed weights, W'[phase·C + c, o, a', b'], are gathered from w by an index map computed here once per shape
 * (cached on the GPU by content), so a changed w (the sanity check randomizes weights) is always read afresh.
 */
function conv2dBackwardInputPacked(g: Conv2dGeometry, dy: Tensor, w: Tensor, dx: Tensor, slice: ChannelSlice, accumulate: boolean, tuning: ConvTuning): void {
  const gpu = dy.gpu;
  const h = unifiedPhases(g.strideH, g.padTop, g.kH);
  const v = unifiedPhases(g.strideW, g.padLeft, g.kW);
  const phases = g.strideH * g.strideW;
  const rows = phases * g.inChannels;
  const map = new Uint32Array(rows * g.outChannels * h.taps * v.taps).fill(NO_SOURCE);
  for (let rh = 0; rh < g.strideH; rh++) {
    for (let rw = 0; rw < g.strideW; rw++) {
      const phase = rh * g.strideW + rw;
      for (let c = 0; c < g.inChannels; c++) {
        for (let o = 0; o < g.outChannels; o++) {
          for (let a = 0; a < h.taps; a++) {
            const kh = h.kh0[rh]! + g.strideH * (a - h.shift[rh]!);
            if (a < h.shift[rh]! || kh >= g.kH) continue;
            for (let b = 0; b < v.taps; b++) {
              const kw = v.kh0[rw]! + g.strideW * (b - v.shift[rw]!);
              if (b < v.shift[rw]! || kw >= g.kW) continue;
              map[(((phase * g.inChannels + c) * g.outChannels + o) * h.taps + a) * v.taps + b] = ((o * g.inChannels + c) * g.kH + kh) * g.kW + kw;
            }
          }
        }
      }
    }
  }
  const packed = gatherOrZero(w, gpu.constantBuffer(map, 'conv2d phase map'), map.length, 'conv2d packed weights');
  const gridH = Math.ceil(g.inH / g.strideH);
  const gridW = Math.ceil(g.inW / g.strideW);
  dispatchTiled(
    gpu,
    'conv2d.tiled_backward_input_packed',
    {
      pixels: g.batch * gridH * gridW,
      gridH,
      gridW,
      mCount: rows,
      nCount: g.outChannels,
      tapsH: h.taps,
      tapsW: v.taps,
      inH: g.outH,
      inW: g.outW,
      inBatchStride: slice.channels * g.outH * g.outW,
      inChannelOffset: slice.offset,
      inStride: [1, 1],
      tapStep: [-1, -1],
      inOff: [h.offset, v.offset],
      wBase: 0,
      wStrides: [g.outChannels * h.taps * v.taps, h.taps * v.taps, v.taps, 1],
      outH: g.inH,
      outW: g.inW,
      outChannels: g.inChannels,
      outChannelOffset: 0,
      outStride: [g.strideH, g.strideW],
      outOff: [0, 0],
    },
    { src: dy, w: packed, bias: null, channels: null, out: dx },
    { accumulate, phases, phaseChannels: g.inChannels, tuning },
  );
  packed.dispose(); // encoded: the pool hands the buffer out again only to later work
}

export interface TiledBackwardOptions {
  /** the only output channels where dy can be non-zero (a one-hot gradient): the sum runs over those alone */
  channels?: readonly number[] | null;
  /** where this convolution's channels sit in dy, when dy is the gradient of a concatenation */
  slice?: ChannelSlice;
  /** add into dx instead of overwriting it */
  accumulate?: boolean;
  tuning?: ConvTuning;
}

/**
 * dx = conv_transpose(dy, w) into `dx`: one dispatch per stride phase, or one phase-packed GEMM when that runs fewer
 * multiply-adds (see conv2dBackwardInputPacked).
 */
export function conv2dBackwardInputTiled(g: Conv2dGeometry, dy: Tensor, w: Tensor, dx: Tensor, options: TiledBackwardOptions = {}): void {
  const gpu = dy.gpu;
  const tuning = options.tuning ?? DEFAULT_TUNING;
  const slice = options.slice ?? { offset: 0, channels: g.outChannels };
  const accumulate = options.accumulate ?? false;
  // A channel list names output channels of the whole conv: grouped convs sum over their group's channels instead.
  const channels = tuning.channelLists && g.group === 1 ? (options.channels ?? null) : null;
  if (!channels && tuning.phasePacking && g.group === 1 && g.strideH * g.strideW > 1) {
    const cost = backwardCost(g);
    if (cost.packed < cost.perPhase) {
      conv2dBackwardInputPacked(g, dy, w, dx, slice, accumulate, tuning);
      return;
    }
  }
  const list = channels ? gpu.constantBuffer(Uint32Array.from(channels), 'conv2d channel list') : null;
  const taps = g.kH * g.kW;
  // Rows are input channels, in groups of Cg; each collects from its group's Og output channels. Inside a group the
  // weights stay where they are: w[o, c − g·Cg] for o = g·Og + k sits at c·taps + k·Cg·taps + g·(Og − 1)·Cg·taps, the
  // last term the group's offset. Packed, W′[c, k] holds them (zeros between groups) at c·nCount·taps + k·taps.
  const r = groupedReduction(g.group, g.groupIn, g.groupOut, g.outChannels);
  const weights = r.packed ? packGroupWeights(g, w, true, r.nCount) : w;
  const grouping = r.packed ? r.grouping : { ...r.grouping, wGroupOffset: (g.groupOut - 1) * g.groupIn * taps };
  const wStrides = (sh: number, sw: number): [number, number, number, number] =>
    r.packed ? [r.nCount * taps, taps, sh * g.kW, sw] : [taps, g.groupIn * taps, sh * g.kW, sw];
  for (let rh = 0; rh < g.strideH; rh++) {
    for (let rw = 0; rw < g.strideW; rw++) {
      const kh0 = (rh + g.padTop) % g.strideH;
      const kw0 = (rw + g.padLeft) % g.strideW;
      const gridH = Math.ceil((g.inH - rh) / g.strideH);
      const gridW = Math.ceil((g.inW - rw) / g.strideW);
      if (gridH <= 0 || gridW <= 0) continue;
      dispatchTiled(
        gpu,
        'conv2d.tiled_backward_input',
        {
          pixels: g.batch * gridH * gridW,
          gridH,
          gridW,
          mCount: g.inChannels,
          nCount: channels ? channels.length : r.nCount,
          tapsH: Math.max(0, Math.ceil((g.kH - kh0) / g.strideH)),
          tapsW: Math.max(0, Math.ceil((g.kW - kw0) / g.strideW)),
          inH: g.outH,
          inW: g.outW,
          inBatchStride: slice.channels * g.outH * g.outW,
          inChannelOffset: slice.offset,
          inStride: [1, 1],
          tapStep: [-1, -1],
          inOff: [(rh + g.padTop - kh0) / g.strideH, (rw + g.padLeft - kw0) / g.strideW],
          wBase: kh0 * g.kW + kw0,
          wStrides: wStrides(g.strideH, g.strideW),
          outH: g.inH,
          outW: g.inW,
          outChannels: g.inChannels,
          outChannelOffset: 0,
          outStride: [g.strideH, g.strideW],
          outOff: [rh, rw],
          grouping,
        },
        { src: dy, w: weights, bias: null, channels: list, out: dx },
        { accumulate, tuning },
      );
    }
  }
  if (weights !== w) weights.dispose();
}

