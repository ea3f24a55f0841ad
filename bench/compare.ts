/**
 * `npm run bench -- --compare OLD.json`: this run's medians over those of an earlier `npm run bench -- --json`, row by
 * row (a model row by model, name and batch; a kernel row by kernel, version and shape; where both results have the
 * peers of the benchmark page, each peer row by model, runtime, row and batch). Below 1 the new run is
 * faster. Rows only one run has are listed as such. Machines here are shared: a ratio is worth what the two runs'
 * loads were alike, which the ceilings of both runs (when both have them) help judge.
 */
import { table, type Cells } from './harness.js';
import { SQUEEZENET } from './result.js';

/** What --compare reads from a bench JSON: the fields every version of it has had. */
export interface ComparableResult {
  adapter: string;
  model: { name: string; batch: number; medianMs: number; model?: string }[];
  kernels: { kernel: string; version: string; shape: string; medianMs: number }[];
  ceilings?: { gmacPerS: number; gbps: number } | null;
  /** the benchmark page's TF.js and onnxruntime-web rows (bench/peers), when it ran them */
  peers?: { rows: { runtime: string; row: string; batch: number; medianMs: number | null; model?: string }[] };
}

export interface Comparison {
  row: string;
  oldMs: number | null;
  newMs: number | null;
  /** new / old */
  ratio: number | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks a bench JSON; throws an Error with one line saying what is wrong with `what` (the file name). */
export function parseBenchJson(text: string, what: string): ComparableResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const notBench = (why: string): Error => new Error(`${what} is not the output of npm run bench -- --json: ${why}`);
  if (!isObject(v)) throw notBench('not an object');
  if (typeof v.adapter !== 'string') throw notBench("no 'adapter' string");
  if (!Array.isArray(v.model)) throw notBench("no 'model' list");
  if (!Array.isArray(v.kernels)) throw notBench("no 'kernels' list");
  v.model.forEach((r, i) => {
    if (!isObject(r) || typeof r.name !== 'string' || typeof r.batch !== 'number' || typeof r.medianMs !== 'number') {
      throw notBench(`model[${i}] lacks name, batch or medianMs`);
    }
  });
  v.kernels.forEach((r, i) => {
    if (!isObject(r) || typeof r.kernel !== 'string' || typeof r.version !== 'string' || typeof r.shape !== 'string' || typeof r.medianMs !== 'number') {
      throw notBench(`kernels[${i}] lacks kernel, version, shape or medianMs`);
    }
  });
  if (v.peers !== undefined) {
    if (!isObject(v.peers) || !Array.isArray(v.peers.rows)) throw notBench("'peers' has no 'rows' list");
    v.peers.rows.forEach((r, i) => {
      const ms = isObject(r) ? r.medianMs : undefined;
      if (!isObject(r) || typeof r.runtime !== 'string' || typeof r.row !== 'string' || typeof r.batch !== 'number' || (typeof ms !== 'number' && ms !== null)) {
        throw notBench(`peers.rows[${i}] lacks runtime, row, batch or medianMs`);
      }
    });
  }
  return v as unknown as ComparableResult;
}

// Results written before MobileNetV2 rows existed had SqueezeNet 1.1 rows only, without a model field.
const modelKey = (r: ComparableResult['model'][number]): string => `${r.model ?? SQUEEZENET} ${r.name} batch ${r.batch}`;
const kernelKey = (r: ComparableResult['kernels'][number]): string => `${r.kernel} ${r.version} ${r.shape}`;
type PeerRowLike = NonNullable<ComparableResult['peers']>['rows'][number];
const peerKey = (r: PeerRowLike): string => `peers: ${r.model ?? SQUEEZENET} ${r.runtime} ${r.row} batch ${r.batch}`;
/** The peer rows that were timed (failed, invalid and unsupported ones have no median to compare). */
const timedPeers = (r: ComparableResult): (PeerRowLike & { medianMs: number })[] => (r.peers?.rows ?? []).filter((p): p is PeerRowLike & { medianMs: number } => p.medianMs !== null);

export function compareResults(now: ComparableResult, old: ComparableResult): Comparison[] {
  const out: Comparison[] = [];
  const pair = <T>(news: T[], olds: T[], key: (r: T) => string, ms: (r: T) => number): void => {
    const oldByKey = new Map(olds.map((r) => [key(r), r]));
    const seen = new Set<string>();
    for (const r of news) {
      const k = key(r);
      seen.add(k);
      const o = oldByKey.get(k);
      out.push({ row: k, newMs: ms(r), oldMs: o ? ms(o) : null, ratio: o ? ms(r) / ms(o) : null });
    }
    for (const o of olds) if (!seen.has(key(o))) out.push({ row: key(o), newMs: null, oldMs: ms(o), ratio: null });
  };
  pair(now.model, old.model, modelKey, (r) => r.medianMs);
  pair(now.kernels, old.kernels, kernelKey, (r) => r.medianMs);
  // Peers only where both runs had them: a run without (the command line's) says nothing about them.
  if (now.peers && old.peers) pair(timedPeers(now), timedPeers(old), peerKey, (r) => r.medianMs);
  return out;
}

/** The lines above a comparison: which run is which, on what adapter, under what ceilings. */
export function comparisonHead(now: ComparableResult, old: ComparableResult): string[] {
  const ceilings = (r: ComparableResult): string => (r.ceilings ? `${r.ceilings.gmacPerS.toFixed(1)} G multiply-add/s, ${r.ceilings.gbps.toFixed(1)} GB/s` : 'not measured');
  const lines = [`new run: ${now.adapter}; ceilings ${ceilings(now)}`, `old run: ${old.adapter}; ceilings ${ceilings(old)}`, 'new/old < 1: the new run is faster'];
  if (!now.peers !== !old.peers) lines.push(`peers (TF.js, onnxruntime-web): only the ${now.peers ? 'new' : 'old'} run has them, not compared`);
  return lines;
}

export function comparisonCells(rows: Comparison[]): Cells {
  const ms = (v: number | null): string => (v === null ? '—' : v.toFixed(3));
  return { header: ['row', 'old ms', 'new ms', 'new/old'], rows: rows.map((r) => [r.row, ms(r.oldMs), ms(r.newMs), r.ratio === null ? 'only one run' : r.ratio.toFixed(2)]) };
}

export function comparisonTable(rows: Comparison[], now: ComparableResult, old: ComparableResult): string {
  const { header, rows: cells } = comparisonCells(rows);
  return `${comparisonHead(now, old).join('\n')}\n${table(header, cells)}`;
}
