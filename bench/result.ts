/**
 * What `npm run bench -- --json` writes and the benchmark page (web/bench.ts) exports: one type for both, and the
 * runtime check both outputs pass (test/bench-smoke.test.ts, test/bench-page.e2e.test.ts). The JSON's shape only
 * grows: fields are added, none renamed (older files are still read by compare.ts's looser parseBenchJson).
 * No Node imports: the page imports this file.
 */
import type { Ceilings } from './ceiling.js';
import type { KernelRow } from './kernel-table.js';
import type { PeerRow, PeersResult } from './peers/common.js';

export const SQUEEZENET = 'SqueezeNet 1.1';
export const MOBILENET_V2 = 'MobileNetV2 1.0';

export interface ModelRow {
  name: string;
  batch: number;
  medianMs: number;
  runs: number;
  /** the fastest run, and how it was timed (the timed rows: forward, forward+backward) */
  minMs?: number;
  clock?: string;
  /** which model the row ran (results from before MobileNetV2 rows lack it: SqueezeNet 1.1) */
  model?: string;
  /** multiply-adds of one run (forward and forward+backward rows), counted from the graph */
  macs?: number;
  /** macs over the median, in G per second */
  gmacPerS?: number;
  /** gmacPerS as a share of the measured FMA ceiling, in percent */
  fmaPercent?: number;
  /**
   * batch-1 forward rows: ‖scores − float64 scores‖₂ / ‖float64 scores‖₂ on the run's input (what a precision costs;
   * gradients are compared on real inputs by test/precision.test.ts)
   */
  errorVsFloat64?: number;
}

export interface MemoryRow {
  iterations: number;
  createdBefore: number;
  createdAfter: number;
  liveBuffers: number;
  liveBytes: number;
}

export interface BenchResult {
  adapter: string;
  machine: string;
  model: ModelRow[];
  kernels: KernelRow[];
  memory: MemoryRow | null;
  /** the adapter's peak FMA rate and bandwidth, measured at the start of the run */
  ceilings: Ceilings;
  /** rows left out and why (a model file that is not there, a reduced kernel set, a stopped run) */
  notes: string[];
  /**
   * TF.js and onnxruntime-web measured in the same run, beside pixelprop (bench/peers/suite.ts): the benchmark page
   * fills it when asked to; `npm run bench` does not (`npm run bench:peers -- --json` writes the same object alone)
   */
  peers?: PeersResult;
}

/** The top-level fields, in the order the JSON has them. */
export const BENCH_RESULT_FIELDS = ['adapter', 'machine', 'model', 'kernels', 'memory', 'ceilings', 'notes'] as const;
/** Fields added later, which a result may have after those above, in this order. */
export const OPTIONAL_RESULT_FIELDS = ['peers'] as const;

/** A field's type: a number is finite and ≥ 0 ('number?' also null: a row not timed, a NaN error in JSON); a list of strings: one of them. */
type Kind = 'string' | 'number' | 'count' | 'boolean' | 'number?' | readonly string[];
type Fields = Record<string, Kind>;
const MODEL_ROW: Fields = { name: 'string', batch: 'count', medianMs: 'number', runs: 'count' };
const MODEL_ROW_OPTIONAL: Fields = { minMs: 'number', clock: 'string', model: 'string', macs: 'count', gmacPerS: 'number', fmaPercent: 'number', errorVsFloat64: 'number' };
const KERNEL_ROW: Fields = { kernel: 'string', version: 'string', shape: 'string', medianMs: 'number', clock: 'string' };
const KERNEL_ROW_OPTIONAL: Fields = { gflops: 'number', gbps: 'number', flops: 'count', bytes: 'count', intensity: 'number' };
const MEMORY: Fields = { iterations: 'count', createdBefore: 'count', createdAfter: 'count', liveBuffers: 'count', liveBytes: 'count' };
const CEILINGS: Fields = { gmacPerS: 'number', gflops: 'number', readGBps: 'number', copyGBps: 'number', gbps: 'number', streamBytes: 'count', clock: 'string' };
const FMA: Fields = { invocations: 'count', iterations: 'count', medianMs: 'number' };

const PEERS: Fields = { environment: 'string', machine: 'string', adapter: 'string', runs: 'count', warmup: 'count' };
const PEERS_LISTS = ['batches', 'gate', 'rows', 'ratios', 'problems'] as const;
const PEERS_OPTIONAL_LISTS = ['models'] as const;
const PEER_ROW: Fields = {
  runtime: 'string',
  adapter: 'string',
  row: ['forward', 'forward+backward'],
  batch: 'count',
  medianMs: 'number?',
  minMs: 'number?',
  maxMs: 'number?',
  runs: 'count',
  status: ['ok', 'invalid', 'failed', 'unsupported'],
};
const PEER_ROW_OPTIONAL: Fields = { note: 'string', model: 'string', macs: 'count', gmacPerS: 'number', fmaPercent: 'number' };
const GATE: Fields = { runtime: 'string', batch: 'count', what: ['scores', 'input gradient'], error: 'number?', tolerance: 'number', pass: 'boolean', firstRunMs: 'number', rule: 'string' };
const GATE_OPTIONAL: Fields = { model: 'string' }; // and float64, an object, checked on its own
const FLOAT64: Fields = { peer: 'number?', pixelprop: 'number?' };
const RATIO: Fields = { runtime: 'string', row: ['forward', 'forward+backward'], batch: 'count', pixelpropMs: 'number', peerMs: 'number', ratio: 'number' };
const RATIO_OPTIONAL: Fields = { model: 'string' };
const PEER_CEILINGS: Fields = { gmacPerS: 'number', gflops: 'number', readGBps: 'number', copyGBps: 'number', gbps: 'number' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why `v` is not of `kind`, or null. A number is finite and not negative (times, rates, counts all are). */
function kindProblem(v: unknown, kind: Kind): string | null {
  if (typeof kind !== 'string') return typeof v === 'string' && kind.includes(v) ? null : `not one of ${kind.join(', ')}`;
  if (kind === 'string') return typeof v === 'string' ? null : 'not a string';
  if (kind === 'boolean') return typeof v === 'boolean' ? null : 'not true or false';
  if (kind === 'number?' && v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return 'not a finite number ≥ 0';
  return kind === 'count' && !Number.isInteger(v) ? 'not a whole number' : null;
}

/** Checks `o`'s fields against `required` and `optional`; an unknown field is an error too (a typo, a renamed field). */
function checkFields(o: unknown, where: string, required: Fields, optional: Fields = {}): void {
  if (!isObject(o)) throw new Error(`${where} is not an object`);
  for (const k of Object.keys(required)) if (!(k in o)) throw new Error(`${where} has no '${k}'`);
  for (const [k, v] of Object.entries(o)) {
    const kind = required[k] ?? optional[k];
    if (!kind) throw new Error(`${where} has an unknown field '${k}'`);
    const problem = kindProblem(v, kind);
    if (problem) throw new Error(`${where}.${k} is ${problem}`);
  }
}

/**
 * Checks a parsed bench JSON against BenchResult, every field: the top-level fields exactly, each row's required and
 * optional fields with their types. Throws an Error with one line naming the first field that is wrong.
 */
export function checkBenchResult(v: unknown): BenchResult {
  if (!isObject(v)) throw new Error('the result is not an object');
  const keys = Object.keys(v);
  const required = keys.slice(0, BENCH_RESULT_FIELDS.length).join();
  const added = keys.slice(BENCH_RESULT_FIELDS.length);
  const addedInOrder = OPTIONAL_RESULT_FIELDS.filter((k) => added.includes(k));
  if (required !== BENCH_RESULT_FIELDS.join() || added.join() !== addedInOrder.join()) {
    throw new Error(`the top-level fields are ${keys.join(', ')}, not ${BENCH_RESULT_FIELDS.join(', ')} (then optionally ${OPTIONAL_RESULT_FIELDS.join(', ')})`);
  }
  for (const k of ['adapter', 'machine'] as const) if (typeof v[k] !== 'string') throw new Error(`${k} is not a string`);
  for (const k of ['model', 'kernels', 'notes'] as const) if (!Array.isArray(v[k])) throw new Error(`${k} is not a list`);
  (v.model as unknown[]).forEach((r, i) => checkFields(r, `model[${i}]`, MODEL_ROW, MODEL_ROW_OPTIONAL));
  (v.kernels as unknown[]).forEach((r, i) => checkFields(r, `kernels[${i}]`, KERNEL_ROW, KERNEL_ROW_OPTIONAL));
  (v.notes as unknown[]).forEach((n, i) => {
    if (typeof n !== 'string') throw new Error(`notes[${i}] is not a string`);
  });
  if (v.memory !== null) checkFields(v.memory, 'memory', MEMORY);
  const { fma, ...ceilings } = isObject(v.ceilings) ? v.ceilings : { fma: null };
  checkFields(ceilings, 'ceilings', CEILINGS);
  checkFields(fma, 'ceilings.fma', FMA);
  if ('peers' in v) checkPeers(v.peers);
  return v as unknown as BenchResult;
}

/** `peers`: PeersResult (bench/peers/common.ts), every field, as checkBenchResult checks the rest. */
function checkPeers(p: unknown): void {
  if (!isObject(p)) throw new Error('peers is not an object');
  const lists = [...PEERS_LISTS, ...PEERS_OPTIONAL_LISTS.filter((k) => k in p)];
  const { ceilings, ...scalars } = Object.fromEntries(Object.entries(p).filter(([k]) => !(lists as string[]).includes(k)));
  checkFields(scalars, 'peers', PEERS);
  if (ceilings !== undefined) checkFields(ceilings, 'peers.ceilings', PEER_CEILINGS);
  const each = (k: (typeof lists)[number], check: (item: unknown, where: string) => void): void => {
    if (!Array.isArray(p[k])) throw new Error(`peers.${k} is not a list`);
    (p[k] as unknown[]).forEach((item, i) => check(item, `peers.${k}[${i}]`));
  };
  const kind = (k: Kind) => (v: unknown, where: string): void => {
    const problem = kindProblem(v, k);
    if (problem) throw new Error(`${where} is ${problem}`);
  };
  each('batches', kind('count'));
  each('problems', kind('string'));
  if ('models' in p) each('models', kind('string'));
  each('rows', (r, where) => {
    checkFields(r, where, PEER_ROW, PEER_ROW_OPTIONAL);
    if ((r as PeerRow).status === 'ok' && (r as PeerRow).medianMs === null) throw new Error(`${where} is 'ok' without a median`);
  });
  each('gate', (g, where) => {
    if (!isObject(g)) throw new Error(`${where} is not an object`);
    const { float64, ...check } = g;
    checkFields(check, where, GATE, GATE_OPTIONAL);
    if (float64 !== undefined) checkFields(float64, `${where}.float64`, FLOAT64);
  });
  each('ratios', (r, where) => checkFields(r, where, RATIO, RATIO_OPTIONAL));
}
