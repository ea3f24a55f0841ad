/**
 * The benchmark's tables — ceilings, model rows, kernel rows — as cells, printed as text by the command lines
 * (model.ts, kernels.ts) and drawn as HTML by the benchmark page (web/bench.ts). Types only from the measuring code,
 * so that the page's own script does not carry the engine (its worker does).
 */
import { MIB, table, type Cells } from './harness.js';
import type { Ceilings } from './ceiling.js';
import type { KernelRow } from './kernel-table.js';
import { SQUEEZENET, type ModelRow } from './result.js';

export function ceilingTable(c: Ceilings): string {
  const { header, rows } = ceilingCells(c);
  return table(header, rows);
}

export function ceilingCells(c: Ceilings): Cells {
  return {
    header: ['ceiling', 'rate', 'unit', 'size', 'median ms'],
    rows: [
      ['peak FMA (8 vec4 chains)', c.gmacPerS.toFixed(1), 'G multiply-add/s', `${c.fma.invocations}×${c.fma.iterations}×32`, c.fma.medianMs.toFixed(3)],
      ['peak FMA', c.gflops.toFixed(1), 'GFLOP/s', '', ''],
      ['stream read', c.readGBps.toFixed(1), 'GB/s', `${(c.streamBytes / MIB).toFixed(0)} MiB`, ''],
      ['stream copy', c.copyGBps.toFixed(1), 'GB/s (read + write)', `${(c.streamBytes / MIB).toFixed(0)} MiB`, ''],
    ],
  };
}

export function modelTable(rows: ModelRow[]): string {
  const { header, rows: cells } = modelCells(rows);
  return table(header, cells);
}

export function modelCells(rows: ModelRow[]): Cells {
  return {
    header: ['model', 'row', 'batch', 'median ms', 'runs', 'G multiply-add', 'G multiply-add/s', '% of FMA peak', 'error vs float64'],
    rows: rows.map((r) => [
      r.model ?? SQUEEZENET,
      r.name,
      r.batch,
      r.medianMs.toFixed(1),
      r.runs,
      r.macs === undefined ? '' : (r.macs / 1e9).toFixed(3),
      r.gmacPerS === undefined ? '' : r.gmacPerS.toFixed(2),
      r.fmaPercent === undefined ? '' : r.fmaPercent.toFixed(1),
      r.errorVsFloat64 === undefined ? '' : r.errorVsFloat64.toExponential(1),
    ]),
  };
}

export function kernelTable(rows: KernelRow[]): string {
  const { header, rows: cells } = kernelCells(rows);
  return table(header, cells);
}

export function kernelCells(rows: KernelRow[]): Cells {
  return {
    header: ['kernel', 'version', 'shape', 'median ms', 'GFLOP/s', 'GB/s', 'FLOP/byte'],
    rows: rows.map((r) => [r.kernel, r.version, r.shape, r.medianMs.toFixed(3), r.gflops?.toFixed(2) ?? '', r.gbps?.toFixed(2) ?? '', r.intensity ? r.intensity.toFixed(2) : '']),
  };
}
