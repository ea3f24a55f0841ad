/**
 * The benchmark page (web/bench.html) end to end, in headless Chromium (WebGPU on SwiftShader): a smoke run (one run
 * of each row, as `--smoke`) with the kernel table reduced to one convolution's rows — the page says so in its notes;
 * SwiftShader is ten times slower than lavapipe, and the full kernel table is `npm run bench`'s to run — and the peers:
 * TF.js (webgpu, wasm) and onnxruntime-web (webgpu through JSEP, wasm) on SqueezeNet 1.1, loaded from the site.
 * (onnxruntime-web's native WebGPU EP is left out, as in CI's `bench:peers --smoke`: creating its session compiles
 * every shader first, minutes on a software adapter.) The site is served as a static host without header control
 * serves it — no COOP/COEP — so that onnxruntime-web runs only if the site's service worker made the page
 * cross-origin isolated (web/sw.ts, one reload). The results name the adapter and hold finite positive numbers; the
 * exported JSON, with its peers, and `node dist/bench/model.js --smoke --json` pass the one schema check
 * (bench/result.ts); importing the page's own JSON compares it with itself (every ratio 1, the peers' rows too),
 * importing the command line's shows the two adapters side by side; Stop ends a run at its next step; a page that
 * nothing can isolate leaves onnxruntime-web out with one note saying why. No time is asserted. It takes the
 * README's screenshot.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBenchResult, type BenchResult } from '../bench/result.js';
import { serveStatic } from '../bench/chromium.js';
import { SHOTS, SITE, openSite, pollUntil, type Site } from './web-e2e.js';
import { repoRoot } from './shared-data.js';

const SKIP = process.env.PIXELPROP_SKIP_E2E === '1';
/** The build, SqueezeNet's and MobileNetV2's rows and a few kernels once each on SwiftShader, 2 cores, then the peers. */
const RUN_MS = 480_000;
const ONLY = 'fire2 squeeze';
const PEERS = ['tfjs-webgpu', 'tfjs-wasm', 'ort-webgpu', 'ort-wasm'];

/** A table's body as text cells, row by row. */
const cellsOf = (site: Site, id: string): Promise<string[][]> =>
  site.page.evaluate((id) => [...document.querySelectorAll(`#${id} tbody tr`)].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')), id);

describe.skipIf(SKIP)('the benchmark page in headless Chromium', () => {
  let site: Site;
  let exported: BenchResult;
  let exportedFile = '';
  const dir = mkdtempSync(join(tmpdir(), 'pixelprop-bench-page-'));

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    site = await openSite({ isolationHeaders: false });
  }, RUN_MS);

  afterAll(async () => {
    await site?.close();
  });

  it('is made cross-origin isolated by the service worker on a host that sends no COOP/COEP headers', async () => {
    const { page } = site;
    const response = await page.goto(`${site.origin}/bench.html?smoke&only=${encodeURIComponent(ONLY)}&peers=${PEERS.join(',')}`);
    expect(response!.headers()['cross-origin-embedder-policy']).toBeUndefined();
    // The page registers the service worker and reloads once it controls the page (evaluations fail during the reload).
    const isolated = await pollUntil(
      () => page.evaluate(() => ({ isolated: crossOriginIsolated, line: document.getElementById('isolation')!.textContent ?? '' })).catch(() => null),
      (s) => s?.isolated === true && s.line !== '', // the line once the page's script has run after the reload
      'cross-origin isolation through the service worker',
      120_000,
      250,
    );
    expect(isolated!.line).toBe('This page is cross-origin isolated: onnxruntime-web can run here.');
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  }, RUN_MS);

  it('runs the smoke mode with the peers: the adapter named, every row finite and positive, the roofline drawn', async () => {
    const { page } = site;
    expect(await page.isChecked('#smoke')).toBe(true);
    expect(await page.isChecked('#peers')).toBe(true);
    const chosen = await page.evaluate(() => [...document.querySelectorAll<HTMLInputElement>('input[name="peer"]:checked')].map((b) => b.value));
    expect(chosen.sort()).toEqual([...PEERS].sort());
    // The peers on SqueezeNet only: on MobileNetV2 too they took 131–159 s here instead of about 60 (SwiftShader, 2
    // cores), more than this test should add. The page runs them on both models through the same loop as Node
    // (bench/peers/suite.ts runPeerModels).
    await page.uncheck('#peers-mobilenet');
    const clicked = Date.now();
    await page.click('#run');
    let peersFrom = 0; // when the progress line first names the peers: how long they take is printed, not asserted
    const status = await pollUntil(
      async () => {
        const s = await page.evaluate(() => ({
          status: document.getElementById('status')!.textContent ?? '',
          error: document.getElementById('error-text')!.textContent ?? '',
          progress: document.getElementById('progress-text')!.textContent ?? '',
        }));
        if (!peersFrom && s.progress.includes(': peers')) peersFrom = Date.now();
        return s;
      },
      (s) => s.status.startsWith('Done') || s.error !== '',
      'the smoke run',
      RUN_MS,
      500,
    );
    expect(status.error).toBe('');
    expect(peersFrom).toBeGreaterThan(0);
    console.log(`bench page smoke run: pixelprop's rows ${((peersFrom - clicked) / 1000).toFixed(0)} s, then the peers ${((Date.now() - peersFrom) / 1000).toFixed(0)} s`);
    const adapter = (await page.textContent('#adapter'))!;
    expect(adapter).toMatch(/^Adapter: \S/);
    expect(adapter).not.toContain('unknown adapter');
    expect(await page.textContent('#notes')).toContain(`kernel table reduced to the convolutions whose name has '${ONLY}'`);

    const models = await cellsOf(site, 'model-table');
    expect(models.map((r) => r[1])).toEqual(expect.arrayContaining(['cold start (device + upload + first forward)', 'forward', 'forward+backward', 'saliency map (vanilla)']));
    const kernels = await cellsOf(site, 'kernel-table');
    expect(kernels.map((r) => `${r[0]} ${r[1]}`)).toEqual(
      ['forward+relu', 'forward+relu', 'backward-input', 'backward-input'].map((k, i) => `conv2d ${k} ${ONLY} 1×1 v${1 + (i % 2)}`),
    );
    const positive = (v: string | undefined): boolean => Number.isFinite(Number(v)) && Number(v) > 0;
    for (const r of models) expect(positive(r[3]), `model row ${r.join(' | ')}`).toBe(true);
    for (const r of kernels) for (const i of [3, 4, 5, 6]) expect(positive(r[i]), `kernel row ${r.join(' | ')}`).toBe(true);
    const ceilings = await cellsOf(site, 'ceilings-table');
    for (const r of ceilings) expect(positive(r[1]), `ceiling ${r.join(' | ')}`).toBe(true);

    // The roofline: an SVG picture of the 4 kernel rows (all with arithmetic), loaded.
    const roofline = await page.evaluate(() => {
      const img = document.getElementById('roofline') as HTMLImageElement;
      return { loaded: img.complete && img.naturalWidth > 0, alt: img.alt };
    });
    expect(roofline.loaded).toBe(true);
    expect(roofline.alt).toContain('4 kernel rows');

    // The peers: every runtime on both models, after the gate, with the same-run ratio pixelprop/peer. onnxruntime-web
    // ran, so the worker had shared memory: the page was cross-origin isolated.
    expect(await page.isVisible('#peers-results'), `notes: ${await page.textContent('#notes')}`).toBe(true);
    expect(await page.textContent('#notes')).not.toContain('left out: this page is not cross-origin isolated');
    const peersHead = (await page.textContent('#peers-head'))!;
    expect(peersHead).toMatch(/^On \S/);
    expect(peersHead).not.toContain('unknown adapter');
    const peers = await cellsOf(site, 'peers-table');
    const runtimes = [...new Set(peers.map((r) => r[1]))];
    expect(runtimes).toHaveLength(1 + PEERS.length);
    for (const [pattern, where] of [[/^pixelprop$/, 'WebGPU'], [/^TF\.js .* webgpu$/, 'WebGPU'], [/^TF\.js .* wasm$/, 'CPU'], [/^ORT-web .* webgpu \(JSEP\)$/, 'WebGPU'], [/^ORT-web .* wasm$/, 'CPU']] as const) {
      const rows = peers.filter((r) => pattern.test(r[1]!));
      expect(rows.length, String(pattern)).toBe(2); // forward, forward+backward
      for (const r of rows) expect(r[2]!.startsWith(where), r.join(' | ')).toBe(true);
    }
    expect(new Set(peers.map((r) => r[0]))).toEqual(new Set(['SqueezeNet 1.1']));
    for (const r of peers) {
      const what = r.join(' | ');
      if (r[1]!.startsWith('ORT-web') && r[3] === 'forward+backward') expect(r[10], what).toBe('unsupported: no autodiff in onnxruntime-web');
      else {
        expect(r[10], what).toBe('');
        expect(positive(r[5]), what).toBe(true);
        if (r[1] !== 'pixelprop') expect(positive(r[7]), what).toBe(true); // pixelprop/peer
      }
    }
    const gate = await cellsOf(site, 'gate-table');
    // scores for every peer, the input gradient for TF.js' two (onnxruntime-web has no autodiff)
    expect(gate.map((r) => `${r[1]!.split(' ')[0]} ${r[3]}`).sort()).toEqual([...Array(2).fill('ORT-web scores'), ...Array(2).fill('TF.js input gradient'), ...Array(2).fill('TF.js scores')]);
    for (const r of gate) expect(r[7], r.join(' | ')).toBe('yes');
  }, RUN_MS);

  it('exports JSON that passes the command line’s schema check, as `--smoke --json` does', async () => {
    const [download] = await Promise.all([site.page.waitForEvent('download'), site.page.click('#export')]);
    exportedFile = join(dir, download.suggestedFilename());
    await download.saveAs(exportedFile);
    exported = checkBenchResult(JSON.parse(readFileSync(exportedFile, 'utf8')));
    expect(exported.adapter).toBe((await site.page.textContent('#adapter'))!.replace(/^Adapter: /, ''));
    expect(exported.kernels).toHaveLength(4);
    expect(exported.model.every((r) => r.runs === 1)).toBe(true);
    // The peers in the same file, checked by the same schema check; the CLI's --json has no such field.
    const peers = exported.peers!;
    expect(peers.rows.length).toBe((1 + PEERS.length) * 2);
    expect(peers.models).toEqual(['SqueezeNet 1.1']);
    expect((await site.page.textContent('#peers-head'))!.startsWith(`On ${peers.adapter} (`)).toBe(true);
    expect(peers.ceilings?.gmacPerS).toBe(exported.ceilings.gmacPerS);
    for (const r of peers.rows.filter((r) => r.status === 'ok')) expect(r.medianMs! > 0 && Number.isFinite(r.medianMs), `${r.runtime} ${r.row}`).toBe(true);
    expect(peers.ratios.length).toBeGreaterThan(0);
    for (const q of peers.ratios) expect(q.ratio > 0 && Number.isFinite(q.ratio), `${q.runtime} ${q.row}`).toBe(true);

    const script = join(repoRoot, 'dist', 'bench', 'model.js');
    expect(existsSync(script), "dist/ is missing: run 'npm run build' first").toBe(true);
    const cli = spawnSync(process.execPath, [script, '--smoke', '--json', '--no-mobilenet'], { encoding: 'utf8', timeout: RUN_MS });
    expect(cli.status, cli.stderr).toBe(0);
    const fromCli = checkBenchResult(JSON.parse(cli.stdout));
    // The same fields in the same order; the page's has the peers after them (an added field).
    expect(Object.keys(exported)).toEqual([...Object.keys(fromCli), 'peers']);
    writeFileSync(join(dir, 'cli.json'), cli.stdout);
  }, RUN_MS);

  it('imports a JSON and shows it beside this run with ratios: itself (all 1), then the command line’s', async () => {
    const { page } = site;
    await page.setInputFiles('#import', exportedFile);
    let rows = await pollUntil(() => cellsOf(site, 'comparison-table'), (r) => r.length > 0, 'the comparison with itself', 30_000);
    const timedPeers = exported.peers!.rows.filter((r) => r.medianMs !== null);
    expect(rows).toHaveLength(exported.model.length + exported.kernels.length + timedPeers.length);
    expect(rows.filter((r) => r[0]!.startsWith('peers: '))).toHaveLength(timedPeers.length);
    for (const r of rows) expect(r[3], r[0]).toBe('1.00');

    await page.setInputFiles('#import', join(dir, 'cli.json'));
    const cli = checkBenchResult(JSON.parse(readFileSync(join(dir, 'cli.json'), 'utf8')));
    await pollUntil(() => page.textContent('#comparison-head'), (t) => !!t?.includes('cli.json'), 'the comparison with the command line', 30_000);
    expect(await page.textContent('#comparison-head')).toContain(`old run: ${cli.adapter}`);
    expect(await page.textContent('#comparison-head')).toContain('peers (TF.js, onnxruntime-web): only the new run has them, not compared');
    rows = await cellsOf(site, 'comparison-table');
    // Rows in both runs have a ratio; the CLI's full kernel table has rows the page's reduced one has not.
    const both = rows.filter((r) => r[3] !== 'only one run');
    expect(both.length).toBeGreaterThanOrEqual(4);
    for (const r of both) expect(Number(r[3]), r[0]).toBeGreaterThan(0);
    expect(rows.some((r) => r[3] === 'only one run')).toBe(true);

    await page.screenshot({ path: join(SHOTS, 'bench-page.png'), fullPage: true });
    expect(site.consoleErrors).toEqual([]);
    expect(site.foreignRequests).toEqual([]);
  }, RUN_MS);

  it('Stop ends a run at its next step', async () => {
    const { page } = site;
    await page.click('#run');
    await page.click('#stop');
    // Stopped during the cold start (seconds here): before the ceilings, with nothing to show; should the message
    // arrive later, the run stops at the step after and shows what it measured, saying where it stopped.
    const status = await pollUntil(() => page.textContent('#status'), (t) => /^(Stopped|Done|Failed)/.test(t ?? ''), 'the stopped run', RUN_MS, 250);
    expect(status).toMatch(/^Stopped/);
    if (status === 'Stopped.') expect(await page.textContent('#error-text')).toBe('Stopped before the ceilings were measured: nothing to show.');
    else expect(await page.textContent('#notes')).toContain('stopped before: ');
    expect(await page.isEnabled('#run')).toBe(true);
    expect(await page.isDisabled('#stop')).toBe(true);
    expect(site.consoleErrors).toEqual([]);
  }, RUN_MS);

  it('leaves onnxruntime-web out, saying why in one line, where the page is not cross-origin isolated', async () => {
    // Another origin, served without the headers, in a browser without service workers (as a private window of some
    // browsers): nothing can isolate the page. Only ORT asked for: no peer is left, and the run has pixelprop's rows.
    const plain = await serveStatic([['/', SITE]], { 'cache-control': 'no-cache' });
    const page = await site.context.newPage();
    try {
      await page.addInitScript(() => delete (Navigator.prototype as { serviceWorker?: unknown }).serviceWorker);
      const origin = `http://127.0.0.1:${(plain.address() as { port: number }).port}`;
      await page.goto(`${origin}/bench.html?smoke&only=${encodeURIComponent(ONLY)}&peers=ort-wasm`);
      await page.uncheck('#mobilenet');
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
      expect(await page.textContent('#isolation')).toBe(
        'This page is not cross-origin isolated, so onnxruntime-web’s rows will be left out (its wasm needs shared memory): the server sends no COOP/COEP headers and there is no service worker here to add them.',
      );
      await page.click('#run');
      const status = await pollUntil(
        () => page.evaluate(() => ({ status: document.getElementById('status')!.textContent ?? '', error: document.getElementById('error-text')!.textContent ?? '' })),
        (s) => s.status.startsWith('Done') || s.error !== '',
        'the run without isolation',
        RUN_MS,
        500,
      );
      expect(status.error).toBe('');
      const notes = await page.evaluate(() => [...document.querySelectorAll('#notes li')].map((li) => li.textContent ?? ''));
      expect(notes.filter((n) => n.includes('onnxruntime-web'))).toEqual([
        'onnxruntime-web rows left out: this page is not cross-origin isolated (its wasm needs shared memory: the server must send COOP/COEP headers, or the site’s service worker must control the page — reload it once)',
      ]);
      expect(await page.isVisible('#peers-results')).toBe(false); // no peer was left to run beside pixelprop
      expect(site.consoleErrors).toEqual([]);
    } finally {
      await page.close();
      plain.close();
    }
  }, RUN_MS);
});
