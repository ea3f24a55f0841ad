/**
 * `npm run bench -- --smoke --json`'s schema, on the GPU: the fields every consumer of the JSON read before (adapter,
 * machine, model rows with name/batch/medianMs/runs, kernel rows, memory) are still there with their types, and the
 * new ones (ceilings, each model row's model and multiply-adds, each kernel's FLOPs, bytes and intensity) are filled.
 * No time is asserted: smoke mode runs everything once, pipeline compilation included.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { modelBenchmark } from '../bench/model.js';
import { BENCH_RESULT_FIELDS, checkBenchResult, type BenchResult } from '../bench/result.js';
import { compareResults, parseBenchJson } from '../bench/compare.js';
import { mobilenetV2Path, MOBILENET_V2, SQUEEZENET } from '../bench/models.js';

describe('npm run bench -- --smoke --json', () => {
  const mobilenet = existsSync(mobilenetV2Path());

  it('keeps its shape and fills the new fields', { timeout: 900_000 }, async () => {
    const result: BenchResult = JSON.parse(
      JSON.stringify(await modelBenchmark({ smoke: true, batches: [1], kernels: true, memoryIterations: 0, mobilenet })),
    );
    expect(Object.keys(result)).toEqual(['adapter', 'machine', 'model', 'kernels', 'memory', 'ceilings', 'notes']);
    expect(BENCH_RESULT_FIELDS).toEqual(Object.keys(result));
    // The schema check the benchmark page's export passes too (test/bench-page.e2e.test.ts).
    expect(checkBenchResult(result)).toBe(result);
    expect(typeof result.adapter).toBe('string');
    expect(typeof result.machine).toBe('string');
    expect(result.memory).toBeNull();

    const c = result.ceilings;
    for (const v of [c.gmacPerS, c.readGBps, c.copyGBps]) expect(v).toBeGreaterThan(0);
    expect(c.gflops).toBe(2 * c.gmacPerS);
    expect(c.gbps).toBe(Math.max(c.readGBps, c.copyGBps));

    for (const r of result.model) {
      expect(typeof r.name).toBe('string');
      expect(r.batch).toBe(1);
      expect(r.medianMs).toBeGreaterThan(0);
      expect(r.runs).toBe(1);
      expect([SQUEEZENET, MOBILENET_V2]).toContain(r.model);
    }
    const timed = result.model.filter((r) => r.name === 'forward' || r.name === 'forward+backward');
    expect(timed.map((r) => `${r.model} ${r.name}`)).toEqual([
      `${SQUEEZENET} forward`,
      `${SQUEEZENET} forward+backward`,
      ...(mobilenet ? [`${MOBILENET_V2} forward`, `${MOBILENET_V2} forward+backward`] : []),
    ]);
    for (const r of timed) {
      expect(r.gmacPerS).toBeCloseTo(r.macs! / (r.medianMs * 1e6), 9);
      expect(r.fmaPercent).toBeCloseTo((100 * r.gmacPerS!) / c.gmacPerS, 9);
    }
    // Each model again at f16 and mixed precision where the adapter offers shader-f16 (lavapipe does), the same
    // multiply-adds; every batch-1 row's error against float64 measured: f32 at float32 rounding, the half precisions
    // clearly above it and still small (the forward rows; test/precision.test.ts bounds scores and gradients on real
    // inputs tightly).
    const models = mobilenet ? [SQUEEZENET, MOBILENET_V2] : [SQUEEZENET];
    const half = result.model.filter((r) => / \((f16|mixed)\)$/.test(r.name));
    expect(half.map((r) => `${r.model} ${r.name}`)).toEqual(
      result.notes.some((n) => n.startsWith('f16 and mixed rows left out'))
        ? []
        : models.flatMap((m) => ['f16', 'mixed'].flatMap((p) => [`${m} forward (${p})`, `${m} forward+backward (${p})`])),
    );
    for (const r of [...timed, ...half]) if (r.errorVsFloat64 !== undefined) console.log(`${r.model} ${r.name}: error vs float64 ${r.errorVsFloat64.toExponential(2)}`);
    for (const r of half) {
      const same = timed.find((t) => t.model === r.model && r.name.startsWith(`${t.name} (`))!;
      expect(r.macs).toBe(same.macs);
      if (same.name !== 'forward') continue;
      expect(same.errorVsFloat64, `${same.model} ${same.name}`).toBeLessThan(1e-5);
      expect(r.errorVsFloat64, `${r.model} ${r.name}`).toBeGreaterThan(10 * same.errorVsFloat64!);
      expect(r.errorVsFloat64, `${r.model} ${r.name}`).toBeLessThan(3e-2);
    }
    for (const r of [...timed, ...half]) expect(r.errorVsFloat64 === undefined, `${r.model} ${r.name}: error measured`).toBe(!r.name.startsWith('forward ') && r.name !== 'forward');
    expect(timed[0]!.macs).toBe(349_151_936);
    expect(timed[1]!.macs).toBe(2 * 349_151_936);
    if (mobilenet) expect(timed[2]!.macs).toBe(300_775_552);
    else expect(result.notes.some((n) => n.includes('MobileNetV2 rows left out'))).toBe(true);

    expect(result.kernels.length).toBeGreaterThan(10);
    for (const k of result.kernels) {
      for (const f of ['kernel', 'version', 'shape', 'clock'] as const) expect(typeof k[f]).toBe('string');
      expect(k.medianMs).toBeGreaterThan(0);
      expect(k.bytes).toBeGreaterThan(0);
      expect(k.gbps).toBeCloseTo(k.bytes! / (k.medianMs * 1e6), 9);
      if (k.flops) {
        expect(k.intensity).toBeCloseTo(k.flops / k.bytes!, 12);
        expect(k.gflops).toBeCloseTo(k.flops / (k.medianMs * 1e6), 9);
      } else {
        expect(k.intensity).toBe(0);
        expect(k.gflops).toBeUndefined();
      }
    }

    // What --compare reads: the run against itself is 1 everywhere.
    const again = parseBenchJson(JSON.stringify(result), 'run.json');
    const ratios = compareResults(again, again).map((r) => r.ratio);
    expect(ratios.length).toBe(result.model.length + result.kernels.length);
    for (const q of ratios) expect(q).toBe(1);
  });
});
