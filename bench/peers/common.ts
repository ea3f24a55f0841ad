/**
 * What the peer benchmark (`npm run bench:peers`, bench/peers/main.ts) shares between Node and the browser page: the
 * row and result types, the input every runtime sees, the correctness measure, the interleaved timer and the table.
 * Nothing here touches Node or the DOM, so that the page bundle (bench/peers/page.ts) runs the same code.
 */

/** Names for `--only` and the benchmark page's choice (pixelprop, the reference, always runs). */
export const PEER_KEYS = ['tfjs-webgpu', 'tfjs-wasm', 'ort-webgpu', 'ort-webgpu-native', 'ort-wasm'] as const;
export type PeerKey = (typeof PEER_KEYS)[number];

/** Reads `--only a,b` style lists; unknown names are an error (a typo must not silently drop a peer). */
export function parseOnly(list: string | null): PeerKey[] {
  if (!list) return [...PEER_KEYS];
  const keys = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of keys) if (!(PEER_KEYS as readonly string[]).includes(k)) throw new Error(`unknown peer '${k}' (known: ${PEER_KEYS.join(', ')})`);
  return keys as PeerKey[];
}

/** A model-level row both pixelprop's own benchmark (bench/model.ts) and the peers have. */
export type RowName = 'forward' | 'forward+backward';
export const ROW_NAMES: readonly RowName[] = ['forward', 'forward+backward'];

/** The correctness gate: max|Δ| / max|ref| against pixelprop, the reference. */
export const TOLERANCE = 1e-4;

/**
 * The fallback gate for input gradients. The gradient of a ReLU/max-pool network is piecewise: a pre-activation
 * within float32 rounding of 0, or two nearly equal values in a pool window, decide which path the gradient takes,
 * and two float32 implementations that sum in different orders take different paths at a few thousand pixels. (Even
 * in float64, moving the input by 1e-7 relative — float32's rounding — moves the gradient by ~1e-3 max|Δ|/max|ref|;
 * docs/peers.md.) So a peer's gradient that misses TOLERANCE against pixelprop's is compared with the float64 CPU
 * reference (Model.referenceClassScoreGradient) instead, and passes if it is no further from it than this factor
 * times pixelprop's own distance: as right as pixelprop is. A wrong layout, padding or bias is off by O(1).
 */
export const GRADIENT_FLOAT64_FACTOR = 2;

export interface PeerRow {
  runtime: string;
  adapter: string;
  row: RowName;
  batch: number;
  /** median of `runs` wall-clock runs after warm-up; null when the row was not timed */
  medianMs: number | null;
  /** the fastest and slowest of the timed runs: how noisy the machine was */
  minMs: number | null;
  maxMs: number | null;
  runs: number;
  /** ok: timed; invalid: failed the correctness gate (not timed); failed: threw; unsupported: the runtime lacks the row */
  status: 'ok' | 'invalid' | 'failed' | 'unsupported';
  note?: string;
  /** the model (results from before MobileNetV2 rows, and the browser's, lack it: SqueezeNet 1.1) */
  model?: string;
  /** multiply-adds of the row's work (bench/counting.ts), the rate over the median, its share of the FMA ceiling */
  macs?: number;
  gmacPerS?: number;
  fmaPercent?: number;
}

export interface GateCheck {
  model?: string;
  runtime: string;
  batch: number;
  what: 'scores' | 'input gradient';
  /** max|Δ| / max|ref| (NaN when the peer produced no numbers; null in JSON, which has no NaN) */
  error: number;
  tolerance: number;
  pass: boolean;
  /** wall time of the peer's run for this check: its first run, so it includes shader/pipeline compilation */
  firstRunMs: number;
  /** gradients that missed TOLERANCE: the peer's and pixelprop's max|Δ|/max|ref| against the float64 reference */
  float64?: { peer: number; pixelprop: number };
  /** the criterion that decided */
  rule: string;
}

/** pixelprop's median over the peer's, for each row both have: below 1, pixelprop is faster. */
export interface Ratio {
  model?: string;
  runtime: string;
  row: RowName;
  batch: number;
  pixelpropMs: number;
  peerMs: number;
  ratio: number;
}

export interface PeersResult {
  environment: string;
  machine: string;
  adapter: string;
  runs: number;
  warmup: number;
  batches: number[];
  gate: GateCheck[];
  rows: PeerRow[];
  ratios: Ratio[];
  problems: string[];
  /** the models run, in order (absent: SqueezeNet 1.1 only) */
  models?: string[];
  /** the adapter's peak FMA rate and bandwidth, measured at the start (bench/ceiling.ts; Node only) */
  ceilings?: { gmacPerS: number; gflops: number; readGBps: number; copyGBps: number; gbps: number };
}

export const PIXELPROP = 'pixelprop';

/** The benchmark image batch, NCHW: the same deterministic pattern as bench/model.ts (no RNG, no files). */
export function benchmarkInput(batch: number): Float32Array {
  const data = new Float32Array(batch * 3 * 224 * 224);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 1.5;
  return data;
}

/** One class per image, as bench/model.ts picks them. */
export function benchmarkClasses(batch: number): number[] {
  return Array.from({ length: batch }, (_, i) => (76 + 37 * i) % 1000);
}

/** max|got − ref| / max|ref|; NaN/Infinity in `got` or a length mismatch gives NaN (which fails every gate). */
export function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return NaN;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i]! - ref[i]!);
    if (!Number.isFinite(d)) return NaN;
    maxDiff = Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

/** NCHW ↔ NHWC on the CPU (outside any timing): TF.js models take channels-last images. */
export function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h * w; i++) out[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i]!;
  return out;
}

export function nhwcToNchw(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h * w; i++) out[(b * c + ch) * h * w + i] = x[(b * h * w + i) * c + ch]!;
  return out;
}

/**
 * One runtime at one batch size, ready to run: numbers for the gate, and one timed run per row. A timed run measures
 * its own wall clock from the start of the work to the runtime's completion signal and frees what it made after the
 * clock stopped (see `wallClock`).
 */
export interface PreparedRuntime {
  scores(): Promise<Float32Array>;
  /** ∂ s_{y_i} / ∂ x_i for benchmarkClasses(batch), NCHW; absent where the runtime has no autodiff */
  inputGradient?(): Promise<Float32Array>;
  /** pixelprop only: the same gradient in float64 on the CPU (slow: seconds per image), for the fallback gate */
  referenceGradient?(): Promise<Float64Array>;
  timed: Partial<Record<RowName, () => Promise<number>>>;
  /** why a row is missing, e.g. "no autodiff" */
  missing?: Partial<Record<RowName, string>>;
  dispose(): void;
}

export interface Runtime {
  name: string;
  adapter: string;
  /** Loads/compiles what the batch needs (not timed); throws when the runtime cannot run it. */
  prepare(batch: number): Promise<PreparedRuntime>;
}

/**
 * Times `work` by wall clock: `start` (e.g. waiting for earlier GPU work) runs before the clock, `work` must resolve
 * when the runtime says the results are ready, and `cleanup` runs after the clock stopped.
 */
export async function wallClock<T>(work: () => Promise<T>, cleanup: (r: T) => void, start?: () => Promise<void>): Promise<number> {
  if (start) await start();
  const t0 = performance.now();
  const r = await work();
  const ms = performance.now() - t0;
  cleanup(r);
  return ms;
}

export { median } from '../../src/util/median.js';

export interface Contender {
  key: string;
  timeOnce: () => Promise<number>;
}

/**
 * Runs every contender's warm-up, then `runs` rounds in which each contender runs once, the order rotating from
 * round to round: a burst of load from the other processes on this machine then lands on all runtimes alike rather
 * than on whichever happened to be timed during it. A contender that throws is dropped, with its error.
 */
export async function interleave(
  contenders: Contender[],
  options: { runs: number; warmup: number; onProgress?: (line: string) => void },
): Promise<Map<string, { times: number[]; error?: string }>> {
  const out = new Map<string, { times: number[]; error?: string }>();
  for (const c of contenders) out.set(c.key, { times: [] });
  const alive = (c: Contender): boolean => out.get(c.key)!.error === undefined;
  const once = async (c: Contender): Promise<number | null> => {
    try {
      return await c.timeOnce();
    } catch (e) {
      out.get(c.key)!.error = errorLine(e);
      return null;
    }
  };
  for (let w = 0; w < options.warmup; w++) for (const c of contenders.filter(alive)) await once(c);
  for (let r = 0; r < options.runs; r++) {
    const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]!).filter(alive);
    for (const c of order) {
      const ms = await once(c);
      if (ms !== null) out.get(c.key)!.times.push(ms);
    }
    options.onProgress?.(`  round ${r + 1}/${options.runs}: ${order.map((c) => `${c.key} ${out.get(c.key)!.times.at(-1)?.toFixed(0) ?? '-'}`).join(', ')}`);
  }
  return out;
}

/** A thrown value as one line (the first lines of a multi-line message). */
export function errorLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 3).join(' | ').slice(0, 400);
}

export function ratiosOf(rows: PeerRow[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const r of rows) {
    if (r.runtime === PIXELPROP || r.status !== 'ok' || r.medianMs === null) continue;
    const ours = rows.find((p) => p.runtime === PIXELPROP && p.row === r.row && p.batch === r.batch && p.status === 'ok');
    if (!ours || ours.medianMs === null) continue;
    ratios.push({ runtime: r.runtime, row: r.row, batch: r.batch, pixelpropMs: ours.medianMs, peerMs: r.medianMs, ratio: ours.medianMs / r.medianMs });
  }
  return ratios;
}

/** A right-aligned text table (first column left-aligned), as bench/harness.ts prints them. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

// JSON writes NaN as null: a result read back from a file has null where the peer produced no numbers.
const fmtError = (e: number | null): string => (e === null || Number.isNaN(e) ? 'NaN' : e.toExponential(2));

// bench/models.ts' SQUEEZENET, repeated: this file runs in the page too and must not import Node modules.
const DEFAULT_MODEL = 'SqueezeNet 1.1';

/** The rows as table cells, the ratio pixelprop/peer beside each peer row: the report's table, and the benchmark page's. */
export function peerRowCells(r: PeersResult): { header: string[]; rows: (string | number)[][] } {
  const ratioOf = (row: PeerRow): string => {
    const q = r.ratios.find((x) => x.runtime === row.runtime && x.row === row.row && x.batch === row.batch && x.model === row.model);
    return q ? q.ratio.toFixed(2) : '';
  };
  return {
    header: ['model', 'runtime', 'adapter', 'row', 'batch', 'median ms', 'min–max ms', 'pixelprop/peer', 'G multiply-add/s', '% of FMA peak', 'status'],
    rows: r.rows.map((row) => [
      row.model ?? DEFAULT_MODEL,
      row.runtime,
      row.adapter,
      row.row,
      row.batch,
      row.medianMs === null ? '—' : row.medianMs.toFixed(1),
      row.minMs === null || row.maxMs === null ? '' : `${row.minMs.toFixed(0)}–${row.maxMs.toFixed(0)}`,
      ratioOf(row),
      row.gmacPerS === undefined ? '' : row.gmacPerS.toFixed(2),
      row.fmaPercent === undefined || row.adapter.startsWith('CPU') ? '' : row.fmaPercent.toFixed(1),
      row.status === 'ok' ? '' : `${row.status}${row.note ? `: ${row.note}` : ''}`,
    ]),
  };
}

/** The correctness gate's checks as table cells. */
export function gateCells(r: PeersResult): { header: string[]; rows: (string | number)[][] } {
  return {
    header: ['model', 'runtime', 'batch', 'compared', 'vs pixelprop', 'peer vs float64', 'pixelprop vs float64', 'pass', 'rule', 'first run ms'],
    rows: r.gate.map((g) => [
      g.model ?? DEFAULT_MODEL,
      g.runtime,
      g.batch,
      g.what,
      fmtError(g.error),
      g.float64 ? fmtError(g.float64.peer) : '',
      g.float64 ? fmtError(g.float64.pixelprop) : '',
      g.pass ? 'yes' : 'NO',
      g.rule,
      g.firstRunMs.toFixed(0),
    ]),
  };
}

/** The report: the ceilings, one table of rows with the ratio beside each peer row, then the gate, then the problems. */
export function formatResult(r: PeersResult): string {
  const c = r.ceilings;
  const rows = peerRowCells(r);
  const gate = gateCells(r);
  const lines = [
    `peers on ${r.environment}; machine: ${r.machine}`,
    `WebGPU adapter: ${r.adapter}`,
    c
      ? `adapter ceilings, measured first: peak FMA ${c.gmacPerS.toFixed(1)} G multiply-add/s (${c.gflops.toFixed(1)} GFLOP/s), stream read ${c.readGBps.toFixed(1)} GB/s, copy ${c.copyGBps.toFixed(1)} GB/s`
      : 'adapter ceilings: not measured here',
    `wall-clock medians of ${r.runs} interleaved runs after ${r.warmup} warm-up runs; pixelprop/peer < 1: pixelprop is faster; % of FMA peak: the model's multiply-adds (bench/counting.ts) over the median, against the WebGPU adapter's peak`,
    '',
    table(rows.header, rows.rows),
    '',
    `correctness gate (max|Δ|/max|ref| against pixelprop, tolerance ${TOLERANCE}; gradients that miss it: against float64, see docs/peers.md):`,
    table(gate.header, gate.rows),
  ];
  if (r.problems.length) lines.push('', 'problems:', ...r.problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}

/** The adapters each wrapped GPU object has handed out (see trackAdapters). */
const tracked = new WeakMap<GPU, GPUAdapter[]>();

/**
 * Wraps `gpu.requestAdapter` to remember every adapter handed out (pixelprop's, TF.js', ORT's): they are kept
 * alive — Dawn's Node bindings crash the process when an adapter is collected while its device lives (see
 * src/gpu/device.ts), and TF.js and ORT do not keep theirs — and `distinct()` tells afterwards whether all the
 * WebGPU runtimes really ran on one adapter.
 */
export function trackAdapters(gpu: GPU): { distinct(): string[] } {
  // Wrapped once per GPU object: the benchmark page runs the peers again in the same worker, and a wrapper per run
  // would stack. `distinct` reports the adapters handed out since this call.
  let adapters = tracked.get(gpu);
  if (!adapters) {
    const list: GPUAdapter[] = [];
    const requestAdapter = gpu.requestAdapter.bind(gpu);
    (gpu as { requestAdapter: GPU['requestAdapter'] }).requestAdapter = async (options) => {
      const a = await requestAdapter(options);
      if (a) list.push(a);
      return a;
    };
    tracked.set(gpu, (adapters = list));
  }
  const from = adapters.length;
  const all = adapters;
  return {
    distinct: () => [...new Set(all.slice(from).map((a) => [a.info.vendor, a.info.architecture, a.info.device, a.info.description].join(' / ')))],
  };
}


/** A problem line when the WebGPU runtimes got different adapters (none when they shared one). */
export function adapterProblems(distinct: string[]): string[] {
  return distinct.length > 1 ? [`the WebGPU runtimes did not all get the same adapter: ${distinct.join('; ')}`] : [];
}
