/**
 * The benchmark page (bench.html): `npm run bench` in the visitor's browser. Its worker (web/bench-worker.ts) runs the
 * command line's measuring code (bench/measure.ts, bench/kernel-table.ts, bench/ceiling.ts) and draws the roofline
 * (bench/roofline.ts's spec through src/charts); this file shows progress and the results — the adapter named, the
 * command line's tables as HTML (bench/tables.ts) — and exports the JSON (checked by bench/result.ts in the worker, as the CLI's output
 * is in the tests), and imports one to compare with this run as `--compare` does (bench/compare.ts).
 */
import models from 'virtual:pixelprop-models';
import type { Cells } from '../bench/harness.js';
import { ceilingCells, kernelCells, modelCells } from '../bench/tables.js';
import { checkBenchResult, type BenchResult } from '../bench/result.js';
import { compareResults, comparisonCells, comparisonHead, parseBenchJson } from '../bench/compare.js';
import type { FromBenchWorker, ToBenchWorker } from './bench-protocol.js';
import { byId, download, make } from './dom.js';

/** the default model (SqueezeNet 1.1) comes first in the site's list; MobileNetV2 joins it when fetched */
const SQUEEZENET_FILES = models[0]!.name;
const MOBILENET = 'mobilenetv2';
const mobilenetServed = models.some((m) => m.name === MOBILENET);

const worker = new Worker(new URL('./bench-worker.ts', import.meta.url), { type: 'module', name: 'pixelprop benchmark' });
const send = (m: ToBenchWorker): void => worker.postMessage(m);

let current: BenchResult | null = null;
let started = 0;
let steps = 0;

const setStatus = (text: string): void => {
  byId('status').textContent = text;
};

function showError(message: string | null): void {
  byId('error').hidden = message === null;
  byId('error-text').textContent = message ?? '';
}

function running(on: boolean): void {
  byId<HTMLButtonElement>('run').disabled = on;
  byId<HTMLButtonElement>('stop').disabled = !on;
  byId('progress').hidden = !on;
}

/** Fills a <table> with cells: columns after the first that hold numbers are right-aligned. */
function fillTable(table: HTMLTableElement, { header, rows }: Cells, classOf: (row: number, column: number) => string = () => ''): void {
  const numeric = (v: string | number): boolean => typeof v === 'number' || /^-?[\d.]+$/.test(v);
  const td = (v: string | number, i: number, j: number): HTMLTableCellElement =>
    make('td', { className: [numeric(v) && j > 0 ? 'num' : '', classOf(i, j)].join(' ').trim() }, String(v));
  table.replaceChildren(
    make('thead', {}, make('tr', {}, ...header.map((h) => make('th', { scope: 'col' }, h)))),
    make('tbody', {}, ...rows.map((r, i) => make('tr', {}, ...r.map((v, j) => td(v, i, j))))),
  );
}

/** What the browser says of the machine: no CPU name reaches a page; the core count and the browser do. */
function machineName(): string {
  const cores = navigator.hardwareConcurrency ? `${navigator.hardwareConcurrency} logical cores` : 'cores unknown';
  return `${navigator.userAgent}, ${cores}`;
}

function run(): void {
  const only = byId<HTMLInputElement>('only')
    .value.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const site = (name: string): string => new URL(`weights/${name}.json`, location.href).href;
  const mobilenet = !byId<HTMLInputElement>('mobilenet').checked
    ? { missing: mobilenetServed ? 'MobileNetV2 rows not asked for' : 'MobileNetV2 rows left out: this site does not serve it (npm run weights -- --model mobilenetv2, then build the site again)' }
    : { url: site(MOBILENET) };
  showError(null);
  running(true);
  started = performance.now();
  steps = 0;
  setStatus('Running…');
  byId('progress-text').textContent = 'Fetching the models…';
  send({
    type: 'run',
    smoke: byId<HTMLInputElement>('smoke').checked,
    batches: byId<HTMLInputElement>('batch8').checked ? [1, 8] : [1],
    mobilenet,
    squeezenetUrl: site(SQUEEZENET_FILES),
    machine: machineName(),
    only,
  });
}

function showRoofline(svg: string, result: BenchResult): void {
  const img = byId<HTMLImageElement>('roofline');
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  img.alt = `Roofline of ${result.kernels.length} kernel rows on ${result.adapter}: GFLOP/s against FLOP/byte under the measured FMA and memory roofs`;
}

function showResult(result: BenchResult): void {
  current = result;
  byId('results').hidden = false;
  byId('adapter').textContent = `Adapter: ${result.adapter}`;
  byId('machine').textContent = `Machine: ${result.machine}`;
  byId('notes').replaceChildren(...result.notes.map((n) => make('li', {}, n)));
  fillTable(byId<HTMLTableElement>('ceilings-table'), ceilingCells(result.ceilings));
  fillTable(byId<HTMLTableElement>('model-table'), modelCells(result.model));
  fillTable(byId<HTMLTableElement>('kernel-table'), kernelCells(result.kernels));
}

worker.onmessage = (ev: MessageEvent<FromBenchWorker>) => {
  const m = ev.data;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (m.type === 'step') {
    steps = m.step;
    byId('progress-text').textContent = `Step ${m.step}, ${seconds} s: ${m.what}`;
  } else if (m.type === 'done') {
    running(false);
    showResult(m.result);
    showRoofline(m.rooflineSvg, m.result);
    const stopped = m.result.notes.some((n) => n.startsWith('stopped'));
    byId('progress-text').textContent = `${stopped ? 'Stopped' : 'Done'} after ${steps} steps, ${seconds} s.`;
    setStatus(`${stopped ? 'Stopped' : 'Done'}: ${m.result.model.length} model rows, ${m.result.kernels.length} kernel rows.`);
  } else if (m.type === 'roofline') {
    if (current) showRoofline(m.rooflineSvg, current);
  } else {
    running(false);
    showError(m.stopped ? m.message : `The benchmark failed: ${m.message}`);
    setStatus(m.stopped ? 'Stopped.' : 'Failed.');
  }
};
worker.onerror = (ev) => {
  running(false);
  showError(`The benchmark's worker failed: ${ev.message || 'it did not load'}`);
};

function exportJson(): void {
  if (!current) return;
  const name = `pixelprop-bench-${current.adapter.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase() || 'adapter'}.json`;
  download(new Blob([`${JSON.stringify(current, null, 2)}\n`], { type: 'application/json' }), name);
}

async function importJson(file: File): Promise<void> {
  showError(null);
  try {
    const old = parseBenchJson(await file.text(), file.name);
    if (!current) {
      // Nothing run here yet: the file is shown as the results (a full one passes the schema), to compare the next run with.
      let full: BenchResult;
      try {
        full = checkBenchResult(old);
      } catch (e) {
        throw new Error(`${file.name} cannot be shown alone (${(e as Error).message}): run the benchmark, then import it to compare`);
      }
      showResult(full);
      send({ type: 'roofline', result: full });
      setStatus(`Showing ${file.name}; import another file to compare.`);
      return;
    }
    const rows = compareResults(current, old);
    byId('comparison').hidden = false;
    byId('comparison-head').replaceChildren(...comparisonHead(current, old).flatMap((line) => [line, make('br')]), `old: ${file.name}`);
    fillTable(byId<HTMLTableElement>('comparison-table'), comparisonCells(rows), (i, j) => {
      const ratio = rows[i]!.ratio;
      return j !== 3 || ratio === null ? '' : ratio < 1 ? 'faster' : ratio > 1 ? 'slower' : '';
    });
    setStatus(`Compared with ${file.name}: ${rows.filter((r) => r.ratio !== null).length} rows in both.`);
  } catch (e) {
    showError((e as Error).message);
  }
}

// A site without MobileNetV2's files cannot run its rows: the box says so rather than failing at the run.
if (!mobilenetServed) {
  const box = byId<HTMLInputElement>('mobilenet');
  box.checked = false;
  box.disabled = true;
  box.parentElement!.title = 'this site does not serve MobileNetV2 (npm run weights -- --model mobilenetv2)';
}
// ?smoke and ?only=NAME,… preset the options: a link to a quick run (the end-to-end test uses them).
const params = new URLSearchParams(location.search);
if (params.has('smoke')) byId<HTMLInputElement>('smoke').checked = true;
if (params.get('only')) byId<HTMLInputElement>('only').value = params.get('only')!;
if (!('gpu' in navigator)) {
  showError('This browser has no WebGPU (navigator.gpu): the benchmark cannot run here. Importing a JSON still works.');
  byId<HTMLButtonElement>('run').disabled = true;
}
byId('run').addEventListener('click', run);
byId('stop').addEventListener('click', () => {
  send({ type: 'stop' });
  setStatus('Stopping after the current step…');
});
byId('export').addEventListener('click', exportJson);
byId<HTMLInputElement>('import').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  if (file) void importJson(file).finally(() => (input.value = ''));
});
