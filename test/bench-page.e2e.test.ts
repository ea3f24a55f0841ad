/**
 * The benchmark page (web/bench.html) end to end, in headless Chromium (WebGPU on SwiftShader): a smoke run (one run
 * of each row, as `--smoke`) with the kernel table reduced to one convolution's rows — the page says so in its notes;
 * SwiftShader is ten times slower than lavapipe, and the full kernel table is `npm run bench`'s to run. The results name
 * the adapter and hold finite positive numbers; the exported JSON and `node dist/bench/model.js --smoke --json` pass the
 * one schema check (bench/result.ts); importing the page's own JSON compares it with itself (every ratio 1), importing
 * the command line's shows the two adapters side by side; Stop ends a run at its next step. No time is asserted. It
 * takes the README's screenshot.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBenchResult, type BenchResult } from '../bench/result.js';
import { SHOTS, openSite, pollUntil, type Site } from './web-e2e.js';
import { repoRoot } from './shared-data.js';

const SKIP = process.env.PIXELPROP_SKIP_E2E === '1';
/** The build, SqueezeNet's and MobileNetV2's rows and a few kernels once each on SwiftShader, 2 cores. */
const RUN_MS = 240_000;
const ONLY = 'fire2 squeeze';

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
    site = await openSite();
  }, RUN_MS);

  afterAll(async () => {
    await site?.close();
  });

  it('runs the smoke mode: the adapter named, every row finite and positive, the roofline drawn', async () => {
    const { page } = site;
    await page.goto(`${site.origin}/bench.html?smoke&only=${encodeURIComponent(ONLY)}`);
    expect(await page.isChecked('#smoke')).toBe(true);
    await page.click('#run');
    const status = await pollUntil(
      () => page.evaluate(() => ({ status: document.getElementById('status')!.textContent ?? '', error: document.getElementById('error-text')!.textContent ?? '' })),
      (s) => s.status.startsWith('Done') || s.error !== '',
      'the smoke run',
      RUN_MS,
      500,
    );
    expect(status.error).toBe('');
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
  }, RUN_MS);

  it('exports JSON that passes the command line’s schema check, as `--smoke --json` does', async () => {
    const [download] = await Promise.all([site.page.waitForEvent('download'), site.page.click('#export')]);
    exportedFile = join(dir, download.suggestedFilename());
    await download.saveAs(exportedFile);
    exported = checkBenchResult(JSON.parse(readFileSync(exportedFile, 'utf8')));
    expect(exported.adapter).toBe((await site.page.textContent('#adapter'))!.replace(/^Adapter: /, ''));
    expect(exported.kernels).toHaveLength(4);
    expect(exported.model.every((r) => r.runs === 1)).toBe(true);

    const script = join(repoRoot, 'dist', 'bench', 'model.js');
    expect(existsSync(script), "dist/ is missing: run 'npm run build' first").toBe(true);
    const cli = spawnSync(process.execPath, [script, '--smoke', '--json', '--no-mobilenet'], { encoding: 'utf8', timeout: RUN_MS });
    expect(cli.status, cli.stderr).toBe(0);
    const fromCli = checkBenchResult(JSON.parse(cli.stdout));
    expect(Object.keys(fromCli)).toEqual(Object.keys(exported));
    writeFileSync(join(dir, 'cli.json'), cli.stdout);
  }, RUN_MS);

  it('imports a JSON and shows it beside this run with ratios: itself (all 1), then the command line’s', async () => {
    const { page } = site;
    await page.setInputFiles('#import', exportedFile);
    let rows = await pollUntil(() => cellsOf(site, 'comparison-table'), (r) => r.length > 0, 'the comparison with itself', 30_000);
    expect(rows).toHaveLength(exported.model.length + exported.kernels.length);
    for (const r of rows) expect(r[3], r[0]).toBe('1.00');

    await page.setInputFiles('#import', join(dir, 'cli.json'));
    const cli = checkBenchResult(JSON.parse(readFileSync(join(dir, 'cli.json'), 'utf8')));
    await pollUntil(() => page.textContent('#comparison-head'), (t) => !!t?.includes('cli.json'), 'the comparison with the command line', 30_000);
    expect(await page.textContent('#comparison-head')).toContain(`old run: ${cli.adapter}`);
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
});
