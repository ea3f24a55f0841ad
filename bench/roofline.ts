/**
 * The roofline (Williams, Waterman and Patterson, 2009) of the kernel table as a Vega-Lite spec, drawn by
 * src/charts/index.ts's renderSvg: each kernel a labelled point at its arithmetic intensity (FLOP/byte, bench/
 * counting.ts) and achieved GFLOP/s, under the adapter's two roofs measured in the same run (bench/ceiling.ts): the
 * memory roof, bandwidth × intensity, and the compute roof, the peak FMA rate. Both axes logarithmic. A kernel without
 * arithmetic (a copy, a concat) has intensity 0 and no place on the chart; it stays in the table.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Ceilings } from './ceiling.js';
import type { KernelRow } from './kernel-table.js';
import type { BenchResult } from './result.js';

export interface RooflinePoint {
  label: string;
  version: string;
  intensity: number;
  gflops: number;
}

/** The kernel rows that can be placed: a positive intensity and a rate. */
export function rooflinePoints(rows: readonly KernelRow[]): RooflinePoint[] {
  return rows
    .filter((r) => (r.intensity ?? 0) > 0 && (r.gflops ?? 0) > 0)
    .map((r) => ({ label: `${r.kernel} ${r.version}`, version: r.version, intensity: r.intensity!, gflops: r.gflops! }));
}

/** The x range: a decade around the points and the ridge point (where the two roofs meet). */
function xDomain(points: readonly RooflinePoint[], ridge: number): [number, number] {
  const xs = [...points.map((p) => p.intensity), ridge];
  const lo = 10 ** Math.floor(Math.log10(Math.min(...xs)) - 0.3);
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...xs)) + 0.3);
  return [lo, hi];
}

export function rooflineChart(points: readonly RooflinePoint[], c: Pick<Ceilings, 'gflops' | 'gbps'>, title: string): TopLevelSpec {
  const ridge = c.gflops / c.gbps;
  const [lo, hi] = xDomain(points, ridge);
  const memory = `memory roof ${c.gbps.toFixed(1)} GB/s`;
  const compute = `FMA roof ${c.gflops.toFixed(1)} GFLOP/s`;
  // Each roof drawn where it is the lower one: bandwidth × intensity up to the ridge, the peak after it.
  const roofs = [
    { roof: memory, intensity: lo, gflops: c.gbps * lo },
    { roof: memory, intensity: ridge, gflops: c.gflops },
    { roof: compute, intensity: ridge, gflops: c.gflops },
    { roof: compute, intensity: hi, gflops: c.gflops },
  ];
  const x = { field: 'intensity', type: 'quantitative' as const, title: 'arithmetic intensity (FLOP/byte)', scale: { type: 'log' as const, domain: [lo, hi] } };
  const y = { field: 'gflops', type: 'quantitative' as const, title: 'GFLOP/s', scale: { type: 'log' as const } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 640,
    height: 420,
    layer: [
      {
        data: { values: roofs },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y, color: { field: 'roof', type: 'nominal', title: 'ceiling (measured)', scale: { range: ['#444444', '#999999'] }, legend: { labelLimit: 400 } } },
      },
      {
        data: { values: points.map((p) => ({ ...p })) },
        layer: [
          { mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y, shape: { field: 'version', type: 'nominal', title: 'version' } } },
          { mark: { type: 'text', align: 'left', dx: 5, dy: -4, fontSize: 7 }, encoding: { x, y, text: { field: 'label' } } },
        ],
      },
    ],
  };
}

/** A benchmark result's roofline: its kernel table under its ceilings (the CLI's --roofline and the benchmark page). */
export function resultRoofline(result: Pick<BenchResult, 'adapter' | 'kernels' | 'ceilings'>): TopLevelSpec {
  return rooflineChart(rooflinePoints(result.kernels), result.ceilings, `Roofline: pixelprop's kernels on ${result.adapter}, batch 1`);
}
