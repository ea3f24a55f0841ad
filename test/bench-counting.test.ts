/**
 * What the benchmarks divide by and how they read their own output, without a GPU: kernel FLOPs and bytes against
 * hand counts, the models' multiply-adds against the architectures' published layer tables (SqueezeNet 1.1 as
 * torchvision defines it; MobileNetV2 from table 2 of Sandler et al., 2018), the roofline's spec, `--compare`'s
 * parsing (a file that is not a bench JSON: one line, exit code 2), and the JSON's schema check (bench/result.ts),
 * with the benchmark page's peers in it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOnnx } from '../src/index.js';
import { buildGraph } from '../src/graph/passes/index.js';
import { supportedOnnxOps } from '../src/graph/passes/import-onnx.js';
import {
  convBackwardInputWork,
  convForwardWork,
  intensity,
  maxPoolForwardWork,
  modelMacs,
} from '../bench/counting.js';
import { compareResults, comparisonHead, parseBenchJson, type ComparableResult } from '../bench/compare.js';
import { parseBenchArgs, UsageError } from '../bench/model.js';
import { rateFields } from '../bench/measure.js';
import { checkBenchResult } from '../bench/result.js';
import { mobilenetV2Path } from '../bench/models.js';
import { rooflineChart, rooflinePoints } from '../bench/roofline.js';
import { renderSvg } from '../src/charts/index.js';
import type { KernelRow } from '../bench/kernel-table.js';
import { MODEL_PATH, REQUIRE_SHARED, repoRoot } from './shared-data.js';

describe('kernel work, counted from shapes', () => {
  it('conv forward: fire2 squeeze 1×1 [1,64,55,55]*[16,64,1,1]', () => {
    const w = convForwardWork([1, 64, 55, 55], [16, 64, 1, 1], {});
    // 16 outputs per pixel, 64 multiply-adds each, 55² pixels; bytes: x, w, bias, y in float32
    expect(w.flops).toBe(2 * 16 * 55 * 55 * 64);
    expect(w.bytes).toBe(4 * (64 * 3025 + 16 * 64 + 16 + 16 * 3025));
    expect(intensity(w)).toBeCloseTo(6_195_200 / 972_160, 12);
  });

  it('depthwise conv forward, stride 2 with TF "SAME" pads [0,0,1,1]: 112² → 56²', () => {
    const w = convForwardWork([1, 96, 112, 112], [96, 1, 3, 3], { strides: [2, 2], pads: [0, 0, 1, 1], group: 96 });
    expect(w.flops).toBe(2 * 96 * 56 * 56 * 9);
    expect(w.bytes).toBe(4 * (96 * 112 * 112 + 96 * 9 + 96 + 96 * 56 * 56));
  });

  it("the classifier's backward for one class: 1/1000 of the products, one channel of dy and of w", () => {
    const w = convBackwardInputWork([1, 512, 13, 13], [1000, 512, 1, 1], {}, 1);
    expect(w.flops).toBeCloseTo(2 * 512 * 169, 6);
    expect(w.bytes).toBeCloseTo(4 * (169 + 512 + 512 * 169), 6);
  });

  it('max pooling 3×3/2: 8 comparisons per output', () => {
    const w = maxPoolForwardWork([1, 64, 111, 111], [1, 64, 55, 55], [3, 3]);
    expect(w.flops).toBe(64 * 55 * 55 * 8);
    expect(w.bytes).toBe(4 * (64 * 111 * 111 + 64 * 55 * 55));
  });
});

function stagesOf(path: string) {
  return buildGraph(parseOnnx(new Uint8Array(readFileSync(path)), { supportedOps: supportedOnnxOps() })).stages;
}

describe('model multiply-adds, counted from the graph', () => {
  it("SqueezeNet 1.1 against torchvision's layer list: ~0.35 G at 224, linear in the batch", () => {
    // conv1 3→64 3×3/2 (224 → 111), pools 3×3/2 ceil (111 → 55 → 27 → 13), fire(in, squeeze, expand) at side h:
    // squeeze 1×1, expand 1×1 and expand 3×3 each to `expand` channels; conv10 512 → 1000 1×1 at 13.
    const fire = (cin: number, s: number, e: number, h: number): number => h * h * (cin * s + s * e + s * e * 9);
    const hand =
      111 * 111 * 64 * 27 +
      fire(64, 16, 64, 55) + fire(128, 16, 64, 55) +
      fire(128, 32, 128, 27) + fire(256, 32, 128, 27) +
      fire(256, 48, 192, 13) + fire(384, 48, 192, 13) + fire(384, 64, 256, 13) + fire(512, 64, 256, 13) +
      13 * 13 * 512 * 1000;
    const stages = stagesOf(MODEL_PATH);
    const m = modelMacs(stages, [1, 3, 224, 224]);
    expect(m.forward).toBe(hand);
    expect(hand / 1e9).toBeCloseTo(0.35, 1);
    expect(m.layers).toHaveLength(26);
    expect(m.forwardGradient).toBe(2 * hand);
    expect(modelMacs(stages, [8, 3, 224, 224]).forward).toBe(8 * hand);
  });

  const mobilenet = mobilenetV2Path();
  const haveMobilenet = existsSync(mobilenet);
  if (!haveMobilenet && REQUIRE_SHARED) {
    it('needs the MobileNetV2 file (PIXELPROP_REQUIRE_SHARED=1)', () => {
      throw new Error(`no MobileNetV2 file at ${mobilenet}`);
    });
  }
  it.skipIf(!haveMobilenet)("MobileNetV2 1.0/224 against the paper's table 2 (1001 classes): ~300 M", () => {
    // Conv 3×3/2 3→32 (224 → 112); bottlenecks (t, c, n, s): 1×1 expand to t·cin (none when t = 1), depthwise 3×3
    // with stride s on the first of n, 1×1 project to c; conv 1×1 320→1280 at 7²; the classifier 1280 → 1001 after
    // the global pool.
    let macs = 112 * 112 * 32 * 27;
    let cin = 32;
    let h = 112;
    const table: [number, number, number, number][] = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
    for (const [t, c, n, s] of table) {
      for (let i = 0; i < n; i++) {
        const stride = i === 0 ? s : 1;
        const hidden = t * cin;
        const out = h / stride;
        if (t !== 1) macs += h * h * cin * hidden;
        macs += out * out * hidden * 9 + out * out * hidden * c;
        cin = c;
        h = out;
      }
    }
    macs += 7 * 7 * 320 * 1280 + 1280 * 1001;
    const m = modelMacs(stagesOf(mobilenet), [1, 3, 224, 224]);
    expect(m.forward).toBe(macs);
    expect(macs / 1e6).toBeGreaterThan(290);
    expect(macs / 1e6).toBeLessThan(310);
    expect(m.layers.filter((l) => l.op === 'Conv')).toHaveLength(53);
  });

  it('a rate and its share of the FMA ceiling', () => {
    // 0.35 G multiply-adds in 35 ms is 10 G/s; against a 40 G/s ceiling, 25 %.
    expect(rateFields(0.35e9, 35, { gmacPerS: 40 })).toEqual({ macs: 0.35e9, gmacPerS: 10, fmaPercent: 25 });
  });
});

describe('roofline', () => {
  const row = (kernel: string, version: string, flops: number, bytes: number, ms: number): KernelRow => ({
    kernel,
    version,
    shape: '[1]',
    medianMs: ms,
    clock: 'gpu-timestamps',
    bytes,
    gbps: bytes / (ms * 1e6),
    ...(flops ? { flops, gflops: flops / (ms * 1e6), intensity: flops / bytes } : { intensity: 0 }),
  });
  const rows = [row('conv', 'v2', 8e6, 1e6, 1), row('pool', 'v1', 1e5, 1e6, 0.5), row('concat', 'v2', 0, 1e6, 0.1)];

  it('places the kernels with arithmetic, at FLOP/byte and GFLOP/s', () => {
    expect(rooflinePoints(rows)).toEqual([
      { label: 'conv v2', version: 'v2', intensity: 8, gflops: 8 },
      { label: 'pool v1', version: 'v1', intensity: 0.1, gflops: 0.2 },
    ]);
  });

  it('draws both roofs meeting at the ridge point, log-log', async () => {
    const spec = rooflineChart(rooflinePoints(rows), { gflops: 100, gbps: 20 }, 'test') as unknown as {
      layer: { data: { values: { roof?: string; intensity: number; gflops: number }[] }; encoding?: { x: { scale: { type: string } }; y: { scale: { type: string } } } }[];
    };
    const roofs = spec.layer[0]!.data.values;
    const memory = roofs.filter((r) => r.roof!.startsWith('memory'));
    const compute = roofs.filter((r) => r.roof!.startsWith('FMA'));
    // memory roof: 20 GB/s × intensity, up to the ridge at 100/20 = 5 FLOP/byte; then flat at 100 GFLOP/s
    for (const p of memory) expect(p.gflops).toBeCloseTo(20 * p.intensity, 9);
    expect(Math.max(...memory.map((p) => p.intensity))).toBe(5);
    expect(compute.map((p) => p.gflops)).toEqual([100, 100]);
    expect(Math.min(...compute.map((p) => p.intensity))).toBe(5);
    // the domain holds the points and the ridge
    expect(Math.min(...memory.map((p) => p.intensity))).toBeLessThanOrEqual(0.1);
    expect(Math.max(...compute.map((p) => p.intensity))).toBeGreaterThanOrEqual(8);
    expect(spec.layer[0]!.encoding!.x.scale.type).toBe('log');
    expect(spec.layer[0]!.encoding!.y.scale.type).toBe('log');
    const svg = await renderSvg(rooflineChart(rooflinePoints(rows), { gflops: 100, gbps: 20 }, 'test'));
    expect(svg).toContain('<svg');
    for (const text of ['conv v2', 'pool v1', 'FMA roof 100.0 GFLOP/s', 'memory roof 20.0 GB/s']) expect(svg).toContain(text);
    expect(svg).not.toContain('concat');
  });
});

describe('--compare', () => {
  const result = (ms: number, extra: Partial<ComparableResult> = {}): ComparableResult => ({
    adapter: 'a',
    model: [
      { name: 'forward', batch: 1, medianMs: 10 * ms },
      { name: 'forward', batch: 1, medianMs: 20 * ms, model: 'MobileNetV2 1.0' },
    ],
    kernels: [{ kernel: 'conv', version: 'v2', shape: '[1]', medianMs: ms }],
    ...extra,
  });

  it('pairs rows by model, name, batch and by kernel, version, shape: new/old', () => {
    const old = result(2);
    const now = { ...result(1), kernels: [{ kernel: 'conv', version: 'v3', shape: '[1]', medianMs: 1 }] };
    const rows = compareResults(now, old);
    expect(rows).toEqual([
      { row: 'SqueezeNet 1.1 forward batch 1', newMs: 10, oldMs: 20, ratio: 0.5 },
      { row: 'MobileNetV2 1.0 forward batch 1', newMs: 20, oldMs: 40, ratio: 0.5 },
      { row: 'conv v3 [1]', newMs: 1, oldMs: null, ratio: null },
      { row: 'conv v2 [1]', newMs: null, oldMs: 2, ratio: null },
    ]);
  });

  it('pairs the peers rows only where both runs have peers, timed rows only', () => {
    const peerRow = (runtime: string, medianMs: number | null) => ({ runtime, row: 'forward', batch: 1, medianMs, model: 'SqueezeNet 1.1' });
    const withPeers = (ms: number): ComparableResult =>
      result(ms, { peers: { rows: [peerRow('pixelprop', 10 * ms), peerRow('TF.js wasm', 3 * ms), peerRow('ORT-web wasm', null)] } });
    const rows = compareResults(withPeers(1), withPeers(2)).filter((r) => r.row.startsWith('peers: '));
    expect(rows).toEqual([
      { row: 'peers: SqueezeNet 1.1 pixelprop forward batch 1', newMs: 10, oldMs: 20, ratio: 0.5 },
      { row: 'peers: SqueezeNet 1.1 TF.js wasm forward batch 1', newMs: 3, oldMs: 6, ratio: 0.5 },
    ]);
    expect(compareResults(withPeers(1), result(2)).some((r) => r.row.startsWith('peers: '))).toBe(false);
    expect(comparisonHead(withPeers(1), result(2)).at(-1)).toBe('peers (TF.js, onnxruntime-web): only the new run has them, not compared');
    expect(comparisonHead(withPeers(1), withPeers(2)).join('\n')).not.toContain('peers');
    expect(parseBenchJson(JSON.stringify(withPeers(1)), 'x.json').peers?.rows).toHaveLength(3);
    expect(() => parseBenchJson(JSON.stringify({ ...result(1), peers: { rows: [{ runtime: 'r', row: 'forward', batch: 1 }] } }), 'x.json')).toThrow(
      'x.json is not the output of npm run bench -- --json: peers.rows[0] lacks runtime, row, batch or medianMs',
    );
    expect(() => parseBenchJson(JSON.stringify({ ...result(1), peers: [] }), 'x.json')).toThrow("'peers' has no 'rows' list");
  });

  it('reads a bench JSON and refuses anything else with one line', () => {
    expect(parseBenchJson(JSON.stringify(result(1)), 'x.json').model).toHaveLength(2);
    const refused = (text: string, message: string): void => {
      expect(() => parseBenchJson(text, 'x.json')).toThrow(message);
      try {
        parseBenchJson(text, 'x.json');
      } catch (e) {
        expect((e as Error).message).not.toContain('\n');
      }
    };
    refused('{"adapter": "a", "model": [', 'x.json is not JSON');
    refused('[1, 2]', 'not the output of npm run bench -- --json: not an object');
    refused(JSON.stringify({ adapter: 'a', rows: [] }), "no 'model' list");
    refused(JSON.stringify({ adapter: 'a', model: [{ name: 'forward', batch: 1 }], kernels: [] }), 'model[0] lacks name, batch or medianMs');
    refused(JSON.stringify({ adapter: 'a', model: [], kernels: [{ kernel: 'k', version: 'v1', medianMs: 1 }] }), 'kernels[0] lacks');
  });

  it('checks the command line before a run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
    const good = join(dir, 'old.json');
    writeFileSync(good, JSON.stringify(result(1)));
    expect(parseBenchArgs(['--compare', good, '--smoke']).compare?.result.adapter).toBe('a');
    expect(parseBenchArgs([]).batches).toEqual([1, 8]);
    expect(() => parseBenchArgs(['--compare', join(dir, 'none.json')])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--compare'])).toThrow('--compare needs a value');
    expect(() => parseBenchArgs(['--batches', '1,x'])).toThrow('--batches wants batch sizes');
    expect(() => parseBenchArgs(['--roofline', 'r.svg', '--no-kernels'])).toThrow('cannot go with --no-kernels');
    expect(() => parseBenchArgs(['--colour'])).toThrow('unknown option --colour');
  });

  it('npm run bench -- --compare NOT_BENCH.json: one line on stderr, exit code 2, before any GPU work', () => {
    const script = join(repoRoot, 'dist', 'bench', 'model.js');
    expect(existsSync(script), "dist/ is missing: run 'npm run build' first").toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
    const bad = join(dir, 'package.json');
    writeFileSync(bad, JSON.stringify({ name: 'not a bench result' }));
    const r = spawnSync(process.execPath, [script, '--compare', bad], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`bench: ${bad} is not the output of npm run bench -- --json: no 'adapter' string`);
  });
});

describe("the JSON's schema check (the CLI's --json and the benchmark page's export)", () => {
  const valid = (): Record<string, unknown> => ({
    adapter: 'a',
    machine: 'm',
    model: [{ name: 'forward', batch: 1, medianMs: 2, runs: 1, model: 'SqueezeNet 1.1', macs: 10, gmacPerS: 0.5, fmaPercent: 1 }],
    kernels: [{ kernel: 'conv', version: 'v2', shape: '[1]', medianMs: 1, clock: 'wall', gflops: 2, gbps: 1, flops: 2, bytes: 1, intensity: 2 }],
    memory: null,
    ceilings: { gmacPerS: 1, gflops: 2, readGBps: 3, copyGBps: 4, gbps: 4, fma: { invocations: 1, iterations: 2, medianMs: 3 }, streamBytes: 64, clock: 'wall' },
    notes: [],
  });

  it('passes a full result and names the first wrong field of others', () => {
    expect(checkBenchResult(valid()).adapter).toBe('a');
    const refused = (change: (r: Record<string, unknown>) => void, message: string): void => {
      const r = valid();
      change(r);
      expect(() => checkBenchResult(r)).toThrow(message);
    };
    refused((r) => delete r.notes, 'the top-level fields are adapter, machine, model, kernels, memory, ceilings, not');
    refused((r) => (r.extra = 1), 'the top-level fields are');
    refused((r) => ((r.model as { medianMs: unknown }[])[0]!.medianMs = Number.NaN), 'model[0].medianMs is not a finite number');
    refused((r) => ((r.model as { batch: unknown }[])[0]!.batch = 1.5), 'model[0].batch is not a whole number');
    refused((r) => delete (r.kernels as { shape?: unknown }[])[0]!.shape, "kernels[0] has no 'shape'");
    refused((r) => ((r.kernels as Record<string, unknown>[])[0]!.gflop = 1), "kernels[0] has an unknown field 'gflop'");
    refused((r) => delete (r.ceilings as { fma?: unknown }).fma, 'ceilings.fma is not an object');
    refused((r) => ((r.ceilings as { clock: unknown }).clock = 3), 'ceilings.clock is not a string');
    refused((r) => (r.memory = { iterations: 1 }), "memory has no 'createdBefore'");
    refused((r) => (r.notes = [1]), 'notes[0] is not a string');
  });

  // The benchmark page's peers (bench/peers/common.ts PeersResult), as JSON writes them: NaN errors become null.
  const peers = (): Record<string, unknown> => ({
    environment: 'browser: Chromium',
    machine: 'm',
    adapter: 'google / swiftshader',
    runs: 1,
    warmup: 0,
    batches: [1],
    gate: [
      { runtime: 'TF.js wasm', batch: 1, tolerance: 1e-4, what: 'scores', error: 3e-7, firstRunMs: 40, pass: true, rule: 'vs pixelprop ≤ 0.0001', model: 'SqueezeNet 1.1' },
      { runtime: 'TF.js wasm', batch: 1, tolerance: 1e-4, what: 'input gradient', error: 4e-3, firstRunMs: 700, float64: { peer: 8e-3, pixelprop: 9e-3 }, pass: true, rule: 'vs float64', model: 'SqueezeNet 1.1' },
      { runtime: 'ORT-web wasm', batch: 1, tolerance: 1e-4, what: 'scores', error: null, firstRunMs: 5, pass: false, rule: 'vs pixelprop ≤ 0.0001' },
    ],
    rows: [
      { runtime: 'pixelprop', adapter: 'WebGPU: swiftshader', row: 'forward', batch: 1, runs: 1, medianMs: 700, minMs: 700, maxMs: 700, status: 'ok', model: 'SqueezeNet 1.1', macs: 10, gmacPerS: 1, fmaPercent: 2 },
      { runtime: 'TF.js wasm', adapter: 'CPU: wasm SIMD, 1 thread', row: 'forward', batch: 1, runs: 1, medianMs: 30, minMs: 30, maxMs: 30, status: 'ok', model: 'SqueezeNet 1.1', macs: 10, gmacPerS: 1 },
      { runtime: 'ORT-web wasm', adapter: 'CPU: wasm SIMD, 1 thread', row: 'forward+backward', batch: 1, runs: 0, medianMs: null, minMs: null, maxMs: null, status: 'unsupported', note: 'no autodiff' },
    ],
    ratios: [{ runtime: 'TF.js wasm', row: 'forward', batch: 1, pixelpropMs: 700, peerMs: 30, ratio: 23.3, model: 'SqueezeNet 1.1' }],
    problems: [],
    models: ['SqueezeNet 1.1'],
    ceilings: { gmacPerS: 1, gflops: 2, readGBps: 3, copyGBps: 4, gbps: 4 },
  });

  it('passes a result with the peers after the other fields, and names the first wrong field of the peers', () => {
    const withPeers = { ...valid(), peers: peers() };
    expect(checkBenchResult(withPeers).peers?.rows).toHaveLength(3);
    const { ceilings: _c, models: _m, ...leaner } = peers();
    expect(checkBenchResult({ ...valid(), peers: leaner }).peers?.models).toBeUndefined();
    const refused = (change: (p: Record<string, unknown>) => void, message: string): void => {
      const p = peers();
      change(p);
      expect(() => checkBenchResult({ ...valid(), peers: p })).toThrow(message);
    };
    expect(() => checkBenchResult({ peers: peers(), ...valid() })).toThrow('the top-level fields are peers, adapter');
    expect(() => checkBenchResult({ ...valid(), peers: [] })).toThrow('peers is not an object');
    refused((p) => delete p.adapter, "peers has no 'adapter'");
    refused((p) => (p.rowz = []), "peers has an unknown field 'rowz'");
    refused((p) => (p.rows = {}), 'peers.rows is not a list');
    refused((p) => (p.batches = [0.5]), 'peers.batches[0] is not a whole number');
    refused((p) => (p.models = 'SqueezeNet 1.1'), 'peers.models is not a list');
    refused((p) => ((p.rows as Record<string, unknown>[])[0]!.status = 'fast'), 'peers.rows[0].status is not one of ok, invalid, failed, unsupported');
    refused((p) => ((p.rows as Record<string, unknown>[])[0]!.medianMs = null), "peers.rows[0] is 'ok' without a median");
    refused((p) => ((p.rows as Record<string, unknown>[])[1]!.medianMs = -1), 'peers.rows[1].medianMs is not a finite number ≥ 0');
    refused((p) => ((p.rows as Record<string, unknown>[])[1]!.row = 'backward'), 'peers.rows[1].row is not one of forward, forward+backward');
    refused((p) => ((p.gate as Record<string, unknown>[])[0]!.pass = 'yes'), 'peers.gate[0].pass is not true or false');
    refused((p) => ((p.gate as Record<string, unknown>[])[1]!.float64 = { peer: 'x', pixelprop: 1 }), 'peers.gate[1].float64.peer is not a finite number');
    refused((p) => ((p.gate as unknown[])[2] = null), 'peers.gate[2] is not an object');
    refused((p) => ((p.ratios as Record<string, unknown>[])[0]!.ratio = null), 'peers.ratios[0].ratio is not a finite number');
    refused((p) => ((p.ceilings as Record<string, unknown>).gbps = 'fast'), 'peers.ceilings.gbps is not a finite number');
    refused((p) => (p.problems = [3]), 'peers.problems[0] is not a string');
  });
});
