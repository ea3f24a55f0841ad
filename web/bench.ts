/**
 * The benchmark page (bench.html): `npm run bench` in the visitor's browser. Its worker (web/bench-worker.ts) runs the
 * command line's measuring code (bench/measure.ts, bench/kernel-table.ts, bench/ceiling.ts) and draws the roofline
 * (bench/roofline.ts's spec through src/charts); this file shows progress and the results — the adapter named, the
 * command line's tables as HTML (bench/tables.ts) — and exports the JSON (checked by bench/result.ts in the worker, as the CLI's output
 * is in the tests), and imports one to compare with this run as `--compare` does (bench/compare.ts). With the peers
 * asked for, the worker runs TF.js and onnxruntime-web after pixelprop's rows (web/bench-peers.ts) and this page shows
 * their rows with the same-run ratios (bench/peers/common.ts's tables); onnxruntime-web needs the page to be
 * cross-origin isolated, which a host without COOP/COEP headers gets from the site's service worker (see below).
 */
import models from 'virtual:pixelprop-models';
import type { Cells } from '../bench/harness.js';
import { ceilingCells, kernelCells, modelCells } from '../bench/tables.js';
import { checkBenchResult, type BenchResult } from '../bench/result.js';
import { compareResults, comparisonCells, comparisonHead, parseBenchJson } from '../bench/compare.js';
import { gateCells, parseOnly, peerRowCells, type PeerKey } from '../bench/peers/common.js';
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

/** The peers asked for: none unless the box is on, then the runtimes checked under it. */
function chosenPeers(): PeerKey[] {
  if (!byId<HTMLInputElement>('peers').checked) return [];
  return [...document.querySelectorAll<HTMLInputElement>('input[name="peer"]:checked')].map((box) => box.value as PeerKey);
}

function peersBoxChanged(): void {
  const on = byId<HTMLInputElement>('peers').checked;
  for (const box of document.querySelectorAll<HTMLInputElement>('input[name="peer"]')) box.disabled = !on;
  // the peers run on MobileNetV2 only where pixelprop's rows do
  byId<HTMLInputElement>('peers-mobilenet').disabled = !on || !byId<HTMLInputElement>('mobilenet').checked;
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
  const peers = chosenPeers();
  if (byId<HTMLInputElement>('peers').checked && peers.length === 0) {
    showError('No peer chosen: check at least one runtime under “include TF.js and onnxruntime-web”, or turn that off.');
    return;
  }
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
    peers,
    peersOnMobilenet: byId<HTMLInputElement>('peers-mobilenet').checked,
  });
}

/**
 * onnxruntime-web's wasm is built with shared memory, which a browser gives only to a cross-origin-isolated page (and
 * its workers): the server must send COOP/COEP headers. A static host that sends none still gets there through the
 * site's service worker, which adds them to every response it serves (web/sw.ts): once it controls this page, one
 * reload makes the page isolated — the technique of coi-serviceworker. At most one reload per tab session, so that a
 * browser that does not honour them is not reloaded for ever; the line under the peers' choice says where it stands.
 */
async function crossOriginIsolation(): Promise<void> {
  const line = byId('isolation');
  const RELOADED = 'pixelprop-isolation-reload';
  if (crossOriginIsolated) {
    sessionStorage.removeItem(RELOADED);
    line.textContent = 'This page is cross-origin isolated: onnxruntime-web can run here.';
    return;
  }
  const without = 'This page is not cross-origin isolated, so onnxruntime-web’s rows will be left out (its wasm needs shared memory)';
  if (!__PIXELPROP_SERVICE_WORKER__ || !('serviceWorker' in navigator)) {
    line.textContent = `${without}: the server sends no COOP/COEP headers and there is no service worker here to add them.`;
    return;
  }
  if (sessionStorage.getItem(RELOADED)) {
    line.textContent = `${without}: the site’s service worker controls it and this browser still does not isolate it.`;
    return;
  }
  line.textContent = `${without} yet: the site’s service worker is starting, to add the headers (the page reloads once).`;
  try {
    const registration = await navigator.serviceWorker.register('./sw.js');
    await navigator.serviceWorker.ready;
    // A worker that took over activates with clients.claim(): this page is controlled once `controller` is it.
    if (navigator.serviceWorker.controller !== registration.active) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    }
    sessionStorage.setItem(RELOADED, '1');
    location.reload();
  } catch (e) {
    line.textContent = `${without}: the site’s service worker did not start (${(e as Error).message}).`;
  }
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
  const peers = result.peers;
  byId('peers-results').hidden = !peers;
  if (peers) {
    byId('peers-head').textContent =
      `On ${peers.adapter} (the WebGPU rows; the wasm rows on the CPU, one thread): wall-clock medians of ${peers.runs} interleaved runs after ${peers.warmup} warm-up, ` +
      'each peer checked against pixelprop first; pixelprop/peer below 1: pixelprop is faster, in this run.';
    fillTable(byId<HTMLTableElement>('peers-table'), peerRowCells(peers));
    fillTable(byId<HTMLTableElement>('gate-table'), gateCells(peers));
    byId('peers-problems').replaceChildren(...peers.problems.map((p) => make('li', {}, p)));
  }
}

worker.onmessage = (ev: MessageEvent<FromBenchWorker>) => {
  const m = ev.data;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (m.type === 'step') {
    if (!m.detail) steps = m.step;
    byId('progress-text').textContent = `Step ${steps}, ${seconds} s: ${m.what}`;
  } else if (m.type === 'done') {
    running(false);
    showResult(m.result);
    showRoofline(m.rooflineSvg, m.result);
    const stopped = m.result.notes.some((n) => n.startsWith('stopped'));
    byId('progress-text').textContent = `${stopped ? 'Stopped' : 'Done'} after ${steps} steps, ${seconds} s.`;
    const peers = m.result.peers ? `, ${m.result.peers.rows.length} peer rows` : '';
    setStatus(`${stopped ? 'Stopped' : 'Done'}: ${m.result.model.length} model rows, ${m.result.kernels.length} kernel rows${peers}.`);
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
// ?smoke, ?only=NAME,… and ?peers (the boxes as they are) or ?peers=KEY,… (those runtimes) preset the options: a link
// to a quick run (the end-to-end test uses them).
const params = new URLSearchParams(location.search);
if (params.has('smoke')) byId<HTMLInputElement>('smoke').checked = true;
if (params.get('only')) byId<HTMLInputElement>('only').value = params.get('only')!;
if (params.has('peers')) {
  byId<HTMLInputElement>('peers').checked = true;
  try {
    const keys = params.get('peers') ? parseOnly(params.get('peers')) : null;
    if (keys) for (const box of document.querySelectorAll<HTMLInputElement>('input[name="peer"]')) box.checked = keys.includes(box.value as PeerKey);
  } catch (e) {
    showError(`?peers: ${(e as Error).message}`);
  }
}
peersBoxChanged();
byId('peers').addEventListener('change', peersBoxChanged);
byId('mobilenet').addEventListener('change', peersBoxChanged);
void crossOriginIsolation();
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
