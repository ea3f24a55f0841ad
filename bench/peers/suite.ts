/**
 * The peer benchmark proper, the same in Node (main.ts) and in the browser page (page.ts): for each batch, every
 * runtime is prepared, checked against pixelprop (the correctness gate), and the rows that passed are timed
 * together, interleaved (common.ts `interleave`), with the same number of warm-up and timed runs for every runtime.
 *
 * The gate: the scores of each peer on the benchmark image batch must agree with pixelprop's to TOLERANCE
 * (max|Δ|/max|ref|), and where the peer has autodiff so must its gradient of the class scores with respect to the
 * input. Scores that disagree make all the peer's rows invalid; a gradient that disagrees makes its forward+backward
 * row invalid. Invalid rows are not timed: a fast wrong answer is not a result.
 */
import { Model, parseOnnx, type Gpu } from '../../src/index.js';
import type { Ceilings } from '../ceiling.js';
import { modelMacs } from '../counting.js';
import { rateFields } from '../measure.js';
import {
  errorLine,
  GRADIENT_FLOAT64_FACTOR,
  interleave,
  median,
  PIXELPROP,
  ratiosOf,
  relativeError,
  ROW_NAMES,
  TOLERANCE,
  type Contender,
  type GateCheck,
  type PeerRow,
  type PeersResult,
  type PreparedRuntime,
  type RowName,
  type Runtime,
} from './common.js';
import { adapterDescription, assembleRuntimes, CPU_ADAPTER, type PeerKey, type PeerModules } from './runtimes.js';

export interface SuiteOptions {
  batches: number[];
  runs: number;
  warmup: number;
  environment: string;
  machine: string;
  adapter: string;
  /** problems met while loading the runtimes (a peer that could not be loaded at all), reported with the result */
  problems: string[];
  log: (line: string) => void;
  /**
   * Called between the suite's steps (each runtime's preparation, each gate, each row's timing), never inside a
   * runtime's own error handling: a throw from it ends the suite there (the benchmark page's Stop).
   */
  step?: (what: string) => void;
}

type Blocked = { status: PeerRow['status']; note: string };

export async function runSuite(runtimes: Runtime[], o: SuiteOptions): Promise<PeersResult> {
  const rows: PeerRow[] = [];
  const gate: GateCheck[] = [];
  const ours = runtimes.find((r) => r.name === PIXELPROP);
  if (!ours) throw new Error('the peer suite needs pixelprop as the reference runtime');

  for (const batch of o.batches) {
    const ready = new Map<Runtime, PreparedRuntime>();
    const blocked = new Map<Runtime, Partial<Record<RowName, Blocked>>>();
    const block = (rt: Runtime, which: readonly RowName[], b: Blocked): void => {
      const m = blocked.get(rt) ?? {};
      for (const row of which) m[row] ??= b;
      blocked.set(rt, m);
    };

    for (const rt of runtimes) {
      o.step?.(`batch ${batch}: preparing ${rt.name}`);
      const t0 = performance.now();
      try {
        ready.set(rt, await rt.prepare(batch));
        o.log(`batch ${batch}: ${rt.name} prepared in ${(performance.now() - t0).toFixed(0)} ms`);
      } catch (e) {
        if (rt === ours) throw e;
        block(rt, ROW_NAMES, { status: 'failed', note: errorLine(e) });
        o.log(`batch ${batch}: ${rt.name} cannot run: ${errorLine(e)}`);
      }
    }

    o.step?.(`batch ${batch}: the correctness gate`);
    const reference = ready.get(ours)!;
    const t0 = performance.now();
    const refScores = await reference.scores();
    const t1 = performance.now();
    const refGrad = await reference.inputGradient!();
    o.log(`batch ${batch}: pixelprop's first forward ${(t1 - t0).toFixed(0)} ms, first forward+backward ${(performance.now() - t1).toFixed(0)} ms (the reference of the gate; first runs include pipeline compilation)`);
    let float64: Promise<Float64Array> | null = null; // computed once per batch, and only if a gradient needs it
    const float64Grad = (): Promise<Float64Array> => {
      if (float64 === null) {
        o.log(`batch ${batch}: computing the float64 reference gradient on the CPU (seconds per image)`);
        float64 = reference.referenceGradient!();
      }
      return float64;
    };
    for (const [rt, p] of ready) {
      if (rt === ours) continue;
      o.step?.(`batch ${batch}: the gate of ${rt.name}`);
      const record = (g: Omit<GateCheck, 'runtime' | 'batch' | 'tolerance'>): boolean => {
        gate.push({ runtime: rt.name, batch, tolerance: TOLERANCE, ...g });
        const f64 = g.float64 ? `; vs float64 ${g.float64.peer.toExponential(2)}, pixelprop's ${g.float64.pixelprop.toExponential(2)}` : '';
        o.log(`batch ${batch}: ${rt.name} ${g.what}: vs pixelprop ${g.error.toExponential(2)}${f64}: ${g.pass ? 'ok' : 'FAILS'} (${g.rule}; first run ${g.firstRunMs.toFixed(0)} ms)`);
        return g.pass;
      };
      try {
        const t0 = performance.now();
        const scores = await p.scores();
        const firstRunMs = performance.now() - t0;
        const error = relativeError(scores, refScores);
        if (!record({ what: 'scores', error, firstRunMs, pass: error <= TOLERANCE, rule: `vs pixelprop ≤ ${TOLERANCE}` })) {
          block(rt, ROW_NAMES, { status: 'invalid', note: `scores differ from pixelprop's by ${error.toExponential(2)}` });
          continue;
        }
      } catch (e) {
        block(rt, ROW_NAMES, { status: 'failed', note: errorLine(e) });
        o.log(`batch ${batch}: ${rt.name} failed: ${errorLine(e)}`);
        continue;
      }
      if (!p.inputGradient) continue;
      try {
        const t0 = performance.now();
        const grad = await p.inputGradient();
        const firstRunMs = performance.now() - t0;
        const error = relativeError(grad, refGrad);
        let pass = error <= TOLERANCE;
        let rule = `vs pixelprop ≤ ${TOLERANCE}`;
        let f64: GateCheck['float64'];
        if (!pass && !Number.isNaN(error) && reference.referenceGradient) {
          const exact = await float64Grad();
          f64 = { peer: relativeError(grad, exact), pixelprop: relativeError(refGrad, exact) };
          pass = f64.peer <= Math.max(TOLERANCE, GRADIENT_FLOAT64_FACTOR * f64.pixelprop);
          rule = `vs float64 ≤ ${GRADIENT_FLOAT64_FACTOR} × pixelprop's`;
        }
        if (!record({ what: 'input gradient', error, firstRunMs, pass, rule, ...(f64 ? { float64: f64 } : {}) })) {
          block(rt, ['forward+backward'], { status: 'invalid', note: `input gradient differs from pixelprop's by ${error.toExponential(2)}` });
        }
      } catch (e) {
        block(rt, ['forward+backward'], { status: 'failed', note: errorLine(e) });
        o.log(`batch ${batch}: ${rt.name} gradient failed: ${errorLine(e)}`);
      }
    }

    for (const row of ROW_NAMES) {
      const contenders: Contender[] = [];
      for (const [rt, p] of ready) {
        const timeOnce = p.timed[row];
        if (timeOnce && !blocked.get(rt)?.[row]) contenders.push({ key: rt.name, timeOnce });
      }
      o.step?.(`batch ${batch}: timing ${row}`);
      o.log(`batch ${batch}, ${row}: ${o.warmup} warm-up + ${o.runs} runs of ${contenders.map((c) => c.key).join(', ')}`);
      const times = await interleave(contenders, { runs: o.runs, warmup: o.warmup, onProgress: o.log });
      for (const rt of runtimes) {
        const base = { runtime: rt.name, adapter: rt.adapter, row, batch, runs: 0, medianMs: null, minMs: null, maxMs: null };
        const b = blocked.get(rt)?.[row];
        const p = ready.get(rt);
        const t = times.get(rt.name);
        if (b) rows.push({ ...base, status: b.status, note: b.note });
        else if (!p?.timed[row]) rows.push({ ...base, status: 'unsupported', note: p?.missing?.[row] ?? '' });
        else if (!t || t.error !== undefined || t.times.length === 0) rows.push({ ...base, status: 'failed', note: t?.error ?? 'no run finished' });
        else rows.push({ ...base, status: 'ok', runs: t.times.length, medianMs: median(t.times), minMs: Math.min(...t.times), maxMs: Math.max(...t.times) });
      }
    }
    for (const p of ready.values()) p.dispose();
  }

  return {
    environment: o.environment,
    machine: o.machine,
    adapter: o.adapter,
    runs: o.runs,
    warmup: o.warmup,
    batches: o.batches,
    gate,
    rows,
    ratios: ratiosOf(rows),
    problems: o.problems,
  };
}

/** The ceilings a peers result carries: the adapter's peak rates, measured in the same run (bench/ceiling.ts). */
export type PeerCeilings = NonNullable<PeersResult['ceilings']>;

export interface PeerModelsOptions extends Omit<SuiteOptions, 'adapter' | 'problems'> {
  /** pixelprop's device: its adapter is the one every WebGPU peer asks navigator.gpu for */
  gpu: Gpu;
  /** the models, in order: SqueezeNet 1.1 first (the rows of results without a `model` field are its) */
  models: { name: string; bytes: Uint8Array }[];
  modules: PeerModules;
  only: readonly PeerKey[];
  /** problems met before (a peer left out, and why), reported with the result */
  problems: string[];
  /** the adapter's ceilings measured in this run: each row gets its rate and, on the WebGPU adapter, its share of the FMA peak */
  ceilings?: Ceilings | PeerCeilings;
}

/**
 * The suite over each model in turn (Node: main.ts; the CLI's browser page: page.ts; the benchmark page's worker:
 * web/bench-peers.ts), one result for all: rows, gate checks and ratios tagged with the model and each row's
 * multiply-adds (bench/counting.ts), rate and share of the FMA ceiling.
 */
export async function runPeerModels(o: PeerModelsOptions): Promise<PeersResult> {
  const parts: PeersResult[] = [];
  for (const m of o.models) {
    o.step?.(`${m.name}: loading the peers`);
    o.log(`model ${m.name}`);
    const model = Model.load(o.gpu, m.bytes);
    try {
      const graph = parseOnnx(m.bytes);
      const runtimes = await assembleRuntimes({ gpu: o.gpu, model, graph, modelBytes: m.bytes, only: o.only, problems: o.problems, ...o.modules });
      const result = await runSuite(runtimes, {
        ...o,
        adapter: adapterDescription(o.gpu),
        log: (line) => o.log(`${m.name}: ${line}`),
        ...(o.step && { step: (what: string) => o.step!(`${m.name}, ${what}`) }),
      });
      parts.push(tagged(result, m.name, (batch) => modelMacs(model.stages, model.inputShape(batch)), o.ceilings));
    } finally {
      model.dispose();
    }
  }
  const c = o.ceilings;
  return {
    ...parts[0]!,
    models: o.models.map((m) => m.name),
    rows: parts.flatMap((p) => p.rows),
    gate: parts.flatMap((p) => p.gate),
    ratios: parts.flatMap((p) => p.ratios),
    problems: [...new Set(o.problems)],
    ...(c && { ceilings: { gmacPerS: c.gmacPerS, gflops: c.gflops, readGBps: c.readGBps, copyGBps: c.copyGBps, gbps: c.gbps } }),
  };
}

/** Tags one model's suite result with the model and each row's multiply-adds, rate and share of the FMA ceiling. */
function tagged(r: PeersResult, modelName: string, macsAt: (batch: number) => { forward: number; forwardGradient: number }, ceilings: PeerModelsOptions['ceilings']): PeersResult {
  const rows = r.rows.map((row) => {
    const macs = macsAt(row.batch);
    const work = row.row === 'forward' ? macs.forward : macs.forwardGradient;
    if (row.medianMs === null || !ceilings) return { ...row, model: modelName, macs: work };
    // The ceiling is the WebGPU adapter's: a share of it means nothing for a runtime on the CPU.
    const { fmaPercent, ...rest } = rateFields(work, row.medianMs, ceilings);
    return { ...row, model: modelName, ...rest, ...(row.adapter === CPU_ADAPTER ? {} : { fmaPercent }) };
  });
  return { ...r, rows, gate: r.gate.map((g) => ({ ...g, model: modelName })), ratios: r.ratios.map((q) => ({ ...q, model: modelName })) };
}
