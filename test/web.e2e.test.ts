/**
 * The web page end to end: builds it (vite's build API, web/vite.config.ts), serves dist-web/ on 127.0.0.1 with a
 * tiny static server, and drives Debian's Chromium headless through playwright-core (never a downloaded browser).
 * Without a GPU, Chromium's WebGPU adapter is SwiftShader (subgroups of 4, so the plain kernel variants run).
 *
 * Checked: the page classifies a sample and an ImageNet photo uploaded through the file input with the Node library's
 * top-1 class and probabilities; the photo's saliency map equals the Node library's (max|Δ|/max|ref| ≤ 1e-3: two
 * adapters, two kernel variants); the downloaded .npy holds the shown map; 3 fooling iterations and 3
 * class-visualization iterations run live; Record GIF downloads a fooling and a class visualization as GIFs that
 * decode (omggif) with a frame per picture shown; the tape inspector lists every op with a backward explanation, visits them
 * in reverse and measures the same input-gradient norm as Node; the sanity check stops on Stop and restores the
 * weights; a bad image and a bad model give one-line errors in the page; a browser without WebGPU gets the message;
 * a reload works offline; no request leaves 127.0.0.1 and no console error occurs.
 *
 * It takes a screenshot of each view (sample photos only: the ImageNet photos must never appear in the repository)
 * and writes the timings it measured, into a temporary folder — or, with PIXELPROP_UPDATE_SCREENSHOTS=1, into
 * docs/screenshots/ for the README, so that an ordinary `npm test` leaves the working tree as it found it.
 * Chromium missing is a failure, not a skip, unless PIXELPROP_SKIP_E2E=1.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { decodeNpy } from '../src/image/npy.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { host } from '../src/kernels/host.js';
import { l2Norm } from '../src/kernels/reduce.js';
import { softmaxRef } from '../src/kernels/softmax.js';
import { classScoreGradient } from '../src/techniques/gradient.js';
import { squeezenetLikeModel } from '../src/graph/onnx/build-fixture.js';
import { saliency } from '../src/techniques/saliency.js';
import { attribute, camLayers, METHOD_NAMES } from '../src/techniques/attribution/index.js';
import { deletionInsertion } from '../src/techniques/attribution/evaluate.js';
import { relError } from '../src/graph/gradcheck.js';
import { CHROMIUM } from '../bench/chromium.js';
import { useGpu } from './helpers.js';
import { PHOTOS, repoRoot } from './techniques-helpers.js';
import { MODEL_PATH, sharedData } from './shared-data.js';
import { SHOTS, openSite, type Site } from './web-e2e.js';
import { decodeGif } from './gif-decode.js';

const SKIP = process.env.PIXELPROP_SKIP_E2E === '1';
/** The bound of the brief for page vs Node: two adapters (SwiftShader, lavapipe), two kernel variants. */
const PAGE_VS_NODE = 1e-3;
/** SwiftShader runs SqueezeNet's forward + backward in seconds; a whole view's run may take a minute on 2 cores. */
const STEP_MS = 240_000;
/** Runs of many passes (fooling with the defaults, about 20 iterations; SmoothGrad's chunks of 10 copies) on a busy machine. */
const LONG_MS = 3 * STEP_MS;
const PHOTO = '01_085.png'; // quail (85), as in test/saliency.test.ts
/** the photo the page opens on (web/main.ts, DEFAULT_SAMPLE): its defaults must show what each technique does */
const DEFAULT_SAMPLE = 'coffee.png';
const SAMPLE = 'chelsea.png';
const photosDir = SKIP ? null : sharedData('photos', 'the page vs Node check on an uploaded ImageNet photo');

/** What the page exposes as window.__pixelprop (web/main.ts, PageState), as far as the test reads it. */
interface PageState {
  ready: boolean;
  busy: boolean;
  init: { adapter: string; hasTimestamps: boolean } | null;
  classification: { name: string; top: { index: number; prob: number; score: number }[] } | null;
  classifications: number;
  saliency: { classIndex: number; method: string; height: number; width: number; copies: number | null; stopped: boolean } | null;
  fool: { iterations: number; roundings: number; stopped: boolean; fooled: boolean; target: number; linf: number; msPerIteration: number | null } | null;
  foolSteps: number;
  classviz: { iterations: number; snapshots: unknown[]; msPerIteration: number | null } | null;
  classvizSteps: number;
  recordings: { fileName: string; frames: number; iterations: [number, number]; every: number; bytes: number }[];
  tape: {
    rules: string;
    rows: { index: number; op: string; doc: { backward: string }; backwardOrder: number | null; forwardMs: number | null; backwardMs: number | null }[];
    classIndex: number;
    timing: string;
    inputGradNorm: number;
    runs: number;
    realPassMs: number | null;
  } | null;
  sanitySteps: { label: string; rankCorrelation: number }[];
  sanity: { steps: number; stopped: boolean; restored: boolean; layers: string[] } | null;
  attributions: {
    method: string;
    layer: string | null;
    classIndex: number;
    map: Float32Array;
    completeness: { attributionSum: number; scoreDelta: number; relError: number } | null;
  }[];
  curves: { deletion: { probs: number[]; auc: number }; insertion: { probs: number[]; auc: number } }[];
  timings: Record<string, number | null>;
  errors: string[];
  loading: string[];
  offlineReady: boolean | null;
}

describe.skipIf(SKIP)('the web page in headless Chromium (WebGPU on SwiftShader)', () => {
  const gpu = useGpu();
  let model: Model;
  let site: Site;
  let origin: string;
  let context: BrowserContext;
  let page: Page;
  let consoleErrors: string[];
  let foreignRequests: string[];

  const pageState = (): Promise<PageState> => page.evaluate(() => (window as unknown as { __pixelprop: PageState }).__pixelprop);
  /**
   * Waits until the page's state satisfies `test`, polling from here; a newly shown error fails. (Not through
   * page.waitForFunction with an expression: Playwright evaluates a string with eval, which the page's
   * Content-Security-Policy forbids, as it should.)
   */
  async function until(test: (s: PageState) => boolean | Promise<boolean>, what: string, timeout = STEP_MS): Promise<void> {
    const errorsBefore = (await pageState())?.errors.length ?? 0;
    const deadline = Date.now() + timeout;
    for (;;) {
      const s = await pageState();
      if (s) {
        if (s.errors.length > errorsBefore) throw new Error(`${what}: the page showed an error: ${s.errors.at(-1)}`);
        if (await test(s)) return;
      }
      if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  /** Waits until the page has shown more than `count` errors in all (for the tests whose point is an error). */
  async function errorsAbove(count: number, timeout = STEP_MS): Promise<void> {
    const deadline = Date.now() + timeout;
    while ((await pageState()).errors.length <= count) {
      if (Date.now() > deadline) throw new Error(`no error shown after ${count} within ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  }
  async function openTab(name: string): Promise<void> {
    await page.click(`#tab-${name}`);
  }
  /** The top-1 class and softmax of a photo by the Node library (lavapipe), as the CLI would classify it. */
  async function nodeClassify(file: string): Promise<{ x: Tensor; probs: Float64Array; top: number }> {
    const x = Tensor.from(gpu(), [1, 3, 224, 224], preprocess(await readImage(file)), 'photo');
    const scores = model.forward(x);
    const probs = softmaxRef(host([1, 1000], await scores.read())).data;
    scores.dispose();
    return { x, probs, top: probs.indexOf(Math.max(...probs)) };
  }

  beforeAll(async () => {
    model = Model.load(gpu(), readFileSync(MODEL_PATH));
    mkdirSync(SHOTS, { recursive: true });
    // A host that answers 404 for a folder (the page is then /index.html): the service worker must cope (issue 14).
    site = await openSite({ folderIndex: false });
    ({ origin, context, page, consoleErrors, foreignRequests } = site);
  }, STEP_MS);

  afterAll(async () => {
    model?.dispose();
    await site?.close();
  });

  const timings: Record<string, number | null | undefined> = {};

  it('opens on the sample photos, saying what it loads, and classifies the first one as the Node library does', async () => {
    await page.goto(`${origin}/index.html`);
    await until((s) => s.classifications >= 1, 'first classification');
    const s = await pageState();
    expect(s.classification!.name).toBe(DEFAULT_SAMPLE);
    // The loading screen said what it loaded, with the bytes that had arrived (it was blank but for "Starting…").
    expect(s.loading.some((line) => /the model \(squeezenet1\.1\.onnx\) · [\d.]+ (KiB|MiB) of [\d.]+ MiB/.test(line)), s.loading.join(' | ')).toBe(true);
    expect(await page.locator('#loading').isVisible()).toBe(false);
    expect(await page.locator('#status').textContent()).not.toMatch(/\b(\d+)–\1\b/); // "subgroups of 4–4"
    timings.loadToFirstClassificationMs = s.timings.loadToFirstClassificationMs;
    const node = await nodeClassify(join(repoRoot, 'samples', DEFAULT_SAMPLE));
    node.x.dispose();
    const top = s.classification!.top;
    expect(top).toHaveLength(5);
    expect(top[0]!.index).toBe(node.top);
    for (const t of top) expect(Math.abs(t.prob - node.probs[t.index]!), `p(${t.index}) page vs Node`).toBeLessThanOrEqual(PAGE_VS_NODE);
    expect(await page.locator('#samples button').count()).toBeGreaterThanOrEqual(4);
    await expect.poll(() => page.locator('#top5 li').count()).toBe(5);
    await shot('classify');
    console.log(`web: adapter ${s.init!.adapter}; load → first classification ${s.timings.loadToFirstClassificationMs!.toFixed(0)} ms`);
  }, STEP_MS);

  it('fooling with the page\'s defaults fools, with a chart of p(target) and p(original); a target the image already is says so', async () => {
    await openTab('fooling');
    expect(await page.locator('#view-fooling .lead').textContent()).not.toContain('imperceptible');
    await page.click('#fool-run'); // the fields as the page opens: stingray, lr 1, at most 100 iterations
    await until((s) => !!s.fool && !s.busy, 'fooling with the defaults', LONG_MS);
    const s = await pageState();
    expect(s.fool!.fooled, await page.locator('#fool-status').textContent() ?? '').toBe(true);
    expect(s.fool!.target).toBe(6);
    expect(s.fool!.linf).toBeLessThanOrEqual(32); // coffee: 24/255 on lavapipe; the cat ended at 51/255, not fooled
    // iterations 0 … n, each shown live, and the forward pass of each 8-bit rounding (src/techniques/fool.ts)
    expect(s.foolSteps).toBe(s.fool!.iterations + 1 + s.fool!.roundings);
    const chart = page.locator('#fool-chart');
    expect(await chart.isVisible()).toBe(true);
    expect(await chart.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(100);
    expect(await chart.getAttribute('alt')).toMatch(/p\(stingray\) and p\(espresso\) after each of the \d+ iterations/);
    timings.foolIterationMs = s.timings.foolIterationMs;
    // Record GIF: the photo and every iteration after it (a rounding's second picture replaces its iteration's first).
    const [gifDownload] = await Promise.all([page.waitForEvent('download'), page.click('#fool-gif')]);
    expect(gifDownload.suggestedFilename()).toBe('coffee-fool-6.gif');
    const gif = decodeGif(readFileSync((await gifDownload.path())!));
    expect([gif.frames.length, gif.width, gif.height]).toEqual([s.fool!.iterations + 1, 224, 224]);
    await shot('fooling');
    // A target the image already is: no "fooled after 0 iterations · 764 ms per iteration".
    await page.fill('#fool-target', `espresso (${s.classification!.top[0]!.index})`);
    await page.click('#fool-run');
    await until((t) => t.fool?.target === t.classification!.top[0]!.index && !t.busy, 'fooling toward the current class');
    const status = (await page.locator('#fool-status').textContent())!;
    expect(status).toMatch(/already is espresso/);
    expect(status).not.toMatch(/fooled|per iteration/);
    expect(await page.locator('#fool-gif').isDisabled(), 'one picture is nothing to record').toBe(true);
    await page.fill('#fool-target', 'stingray (6)');
  }, LONG_MS + STEP_MS);

  it.skipIf(photosDir === null)('an ImageNet photo through the file input: top-1 and saliency map equal the Node library\'s', async () => {
    await page.setInputFiles('#image-file', join(PHOTOS, PHOTO));
    await until((s) => s.classification?.name === PHOTO && !s.busy, 'classifying the uploaded photo');
    const node = await nodeClassify(join(PHOTOS, PHOTO));
    const s = await pageState();
    expect(s.classification!.top[0]!.index).toBe(node.top);
    expect(Math.abs(s.classification!.top[0]!.prob - node.probs[node.top]!)).toBeLessThanOrEqual(PAGE_VS_NODE);

    await openTab('saliency');
    await page.selectOption('#sal-method', 'vanilla');
    await page.fill('#sal-class', '');
    await page.click('#sal-run');
    await until((s) => !!s.saliency && !s.busy, 'saliency map');
    const pageMap = await page.evaluate(() => Array.from((window as unknown as { __pixelprop: { saliency: { map: Float32Array } } }).__pixelprop.saliency.map));
    const ref = await saliency(model, node.x);
    node.x.dispose();
    expect(pageMap).toHaveLength(ref.map.length);
    const err = relError(pageMap, ref.map);
    const after = await pageState();
    expect(after.saliency!.classIndex).toBe(ref.classes[0]);
    expect(err, `saliency map, page vs Node: ${err.toExponential(2)}`).toBeLessThanOrEqual(PAGE_VS_NODE);
    timings.firstSaliencyMs = after.timings.saliencyMs;
    console.log(`web: ${PHOTO} top-1 ${node.top} in both; saliency map page vs Node ${err.toExponential(2)} (max|Δ|/max|ref|), ${after.timings.saliencyMs!.toFixed(0)} ms`);
  }, STEP_MS);

  it('a sample photo\'s saliency map, downloaded as .npy, holds the numbers shown', async () => {
    await page.click(`#samples button[data-name="${SAMPLE}"]`);
    await until((s) => s.classification?.name === SAMPLE && !s.busy, 'back to the sample');
    // Nothing of the previous image's fooling result is left under the blank canvases.
    expect(await page.locator('#fool-image-caption').textContent()).toBe('fooling image');
    expect(await page.locator('#fool-status').textContent()).toBe('');
    expect(await page.locator('#fool-chart').isVisible()).toBe(false);
    await openTab('saliency');
    await page.selectOption('#sal-method', 'vanilla');
    await page.click('#sal-run');
    await until(async (s) => !!s.saliency && !s.busy && !(await page.locator('#sal-npy').isDisabled()), 'saliency of the sample');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#sal-npy')]);
    expect(download.suggestedFilename()).toBe('chelsea-saliency-vanilla.npy');
    const npy = decodeNpy(readFileSync((await download.path())!), 'download');
    expect(npy.shape).toEqual([224, 224]);
    const shown = await page.evaluate(() => Array.from((window as unknown as { __pixelprop: { saliency: { map: Float32Array } } }).__pixelprop.saliency.map));
    expect(Array.from(npy.data)).toEqual(shown);
    timings.saliencyMs = (await pageState()).timings.saliencyMs;
    timings.firstSaliencyMs ??= timings.saliencyMs; // without the ImageNet photo's test, this was the first map
    await shot('saliency');
  }, STEP_MS);

  it('saliency: a hidden field blocks no method, a shown one is named as labelled; SmoothGrad counts finished copies and stops within a chunk', async () => {
    await openTab('saliency');
    await page.selectOption('#sal-method', 'smoothgrad');
    await page.fill('#sal-samples', '0');
    await page.selectOption('#sal-method', 'vanilla'); // copies = 0 is now hidden: it must not block the vanilla map
    await page.click('#sal-run');
    await until((s) => s.saliency?.method === 'vanilla' && !s.busy, 'vanilla map with a hidden copies = 0');
    expect(await page.locator('#sal-caption').textContent()).toMatch(/vanilla gradient: max over the map of max_c \|∂s\/∂x\|/);

    await page.selectOption('#sal-method', 'smoothgrad');
    const before = (await pageState()).errors.length;
    await page.fill('#sal-samples', '');
    await page.click('#sal-run');
    await errorsAbove(before);
    const empty = (await pageState()).errors.at(-1)!;
    expect(empty).toMatch(/^copies is empty/);
    expect(empty).not.toMatch(/samples|NaN/);
    await page.click('#error-close');

    // 30 copies run as 3 chunks of 10: the bar counts finished copies, and Stop is seen before the next chunk starts.
    await page.fill('#sal-samples', '30');
    await page.click('#sal-run');
    const seen: number[] = [];
    const deadline = Date.now() + LONG_MS;
    for (;;) {
      const value = await page.locator('#sal-progress').evaluate((p: HTMLProgressElement) => (p.hasAttribute('value') ? p.value : 0));
      if (value > 0) seen.push(value);
      if (value >= 10) break;
      if (Date.now() > deadline) throw new Error('SmoothGrad: no progress');
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.click('#sal-stop');
    await until((s) => s.saliency?.method === 'smoothgrad' && !s.busy, 'SmoothGrad stopped', LONG_MS);
    expect(seen[0]).toBe(10); // the first chunk done, not all three queued
    const r = (await pageState()).saliency!;
    expect(r.stopped).toBe(true);
    expect(r.copies).toBeLessThanOrEqual(20);
    const caption = (await page.locator('#sal-caption').textContent())!;
    expect(caption).toContain(`SmoothGrad, stopped after ${r.copies} of 30 noisy copies`);
    expect(caption).toContain('mean of max_c |∂s/∂x|'); // not the vanilla map's "max |∂s/∂x|"
    await page.fill('#sal-samples', '50');
  }, 2 * LONG_MS);

  it('the keyboard reaches every control, with a visible focus and a name; Enter on a run button keeps the focus', async () => {
    const views = ['classify', 'saliency', 'attribution', 'fooling', 'classviz', 'tape', 'sanity', 'notebook'];
    for (const [k, view] of views.entries()) {
      // The tabs are one stop of the Tab key; the arrows move between them (the ARIA tabs pattern).
      await page.click('#tab-classify');
      for (let i = 0; i < k; i++) await page.keyboard.press('ArrowRight');
      expect(await page.locator(`#tab-${view}`).getAttribute('aria-selected')).toBe('true');
      // Every control the eye can use in this view; a file picker's input is hidden inside its visible label.
      const expected: string[] = await page.evaluate(() => {
        let n = 0;
        const out: string[] = [];
        for (const el of document.querySelectorAll<HTMLElement>('button, input, select, textarea, a[href], [tabindex]')) {
          delete el.dataset.walk;
          const input = el as HTMLInputElement;
          const shown = input.type === 'file' ? !!el.closest('label')?.checkVisibility() : el.checkVisibility();
          if (!shown || input.disabled || el.tabIndex < 0 || el.closest('datalist')) continue;
          el.dataset.walk = String(n++);
          out.push(el.id || el.textContent!.trim().slice(0, 30));
        }
        return out;
      });
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      const reached = new Set<string>();
      for (let presses = 0; presses < expected.length + 10 && reached.size < expected.length; presses++) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          if (!el || el === document.body) return null;
          const ring = getComputedStyle((el as HTMLInputElement).type === 'file' ? el.closest('label')! : el);
          return { walk: el.dataset.walk ?? null, what: el.id || el.outerHTML.slice(0, 60), ring: ring.outlineStyle !== 'none' && parseFloat(ring.outlineWidth) > 0 };
        });
        if (!focused?.walk || reached.has(focused.walk)) continue;
        reached.add(focused.walk);
        expect(focused.ring, `no visible focus on ${focused.what} (${view})`).toBe(true);
        const aria = (await page.locator(':focus').ariaSnapshot()).split('\n')[0]!;
        // (a name with a colon comes quoted, as YAML quotes such a key: - 'link "Exercises: …"')
        expect(aria, `no accessible name for ${focused.what} (${view})`).toMatch(/^- '?\w+ "[^"]+"/);
      }
      const missed = expected.filter((_, i) => !reached.has(String(i)));
      expect(missed, `not reachable by Tab in ${view}`).toEqual([]);
    }
    // A thumbnail is announced once ("chelsea", not "chelsea chelsea").
    expect(await page.locator(`#samples button[data-name="${SAMPLE}"]`).ariaSnapshot()).toMatch(/^- button "chelsea"/);
    // Every picture and progress bar has a text alternative.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('canvas, progress, img')]
        .filter((el) => (el.tagName === 'CANVAS' ? el.getAttribute('role') !== 'img' || !el.getAttribute('aria-label') : !el.getAttribute('aria-label') && el.getAttribute('alt') === null))
        .map((el) => el.id || el.outerHTML.slice(0, 60)),
    );
    expect(unnamed).toEqual([]);
    // Enter on a run button: the button keeps the focus through the run (a disabled button would drop it to <body>).
    await openTab('saliency');
    await page.selectOption('#sal-method', 'vanilla');
    await page.focus('#sal-run');
    await page.keyboard.press('Enter');
    await until((s) => s.busy, 'the run started'); // a vanilla map takes seconds on SwiftShader
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sal-run');
    await until((s) => !s.busy, 'the run ended');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sal-run');
  }, STEP_MS);

  it('attribution: a CAM at a chosen layer and Integrated Gradients equal the Node library\'s; curves, downloads, every method side by side', async () => {
    await page.click(`#samples button[data-name="${SAMPLE}"]`);
    await until((s) => s.classification?.name === SAMPLE && !s.busy, 'back to the sample');
    await openTab('attribution');
    const x = Tensor.from(gpu(), [1, 3, 224, 224], preprocess(await readImage(join(repoRoot, 'samples', SAMPLE))), 'sample');
    try {
      // Grad-CAM at a layer other than the default: the picker lists the model's spatial activations.
      const layers = await page.locator('#attr-layer option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      expect(layers).toEqual(camLayers(model).map((l) => l.name));
      const layer = camLayers(model).at(-3)!.name;
      await page.selectOption('#attr-method', 'gradcam');
      await page.selectOption('#attr-layer', layer);
      await page.click('#attr-run');
      await until((s) => s.attributions.length >= 1 && !s.busy, 'Grad-CAM');
      const cam = (await pageState()).attributions.at(-1)!;
      expect([cam.method, cam.layer]).toEqual(['gradcam', layer]);
      const camNode = await attribute(model, x, 'gradcam', [cam.classIndex], { layer });
      expect(relError(Float32Array.from(Object.values(cam.map)), camNode.map), 'Grad-CAM page vs Node').toBeLessThanOrEqual(PAGE_VS_NODE);

      // Integrated Gradients, 8 steps: the completeness line, and the same map as in Node.
      await page.selectOption('#attr-method', 'integrated-gradients');
      await page.fill('#attr-steps', '8');
      await page.click('#attr-run');
      await until((s) => s.attributions.length >= 2 && !s.busy, 'Integrated Gradients');
      const ig = (await pageState()).attributions.at(-1)!;
      expect(ig.completeness).not.toBeNull();
      expect(await page.locator('#attr-caption').textContent()).toContain('completeness');
      const igNode = await attribute(model, x, 'integrated-gradients', [ig.classIndex], { steps: 8 });
      expect(relError(Float32Array.from(Object.values(ig.map)), igNode.map), 'IG page vs Node').toBeLessThanOrEqual(PAGE_VS_NODE);
      expect(Math.abs(ig.completeness!.scoreDelta - igNode.completeness!.scoreDelta[0]!)).toBeLessThanOrEqual(PAGE_VS_NODE * Math.abs(igNode.completeness!.scoreDelta[0]!));

      // The .npy download holds the map shown.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#attr-npy')]);
      expect(download.suggestedFilename()).toBe('chelsea-integrated-gradients.npy');
      const npy = decodeNpy(readFileSync((await download.path())!), 'download');
      expect(npy.shape).toEqual([224, 224]);
      expect(Array.from(npy.data)).toEqual(Array.from(Object.values(ig.map)));

      // Deletion / insertion curves of the shown map: the chart, and the probabilities Node computes for that order.
      await page.fill('#attr-curve-steps', '8'); // 9 points a curve: 2 forward passes of 9 images each
      await page.click('#attr-curves');
      await until((s) => s.curves.length >= 1 && !s.busy, 'deletion / insertion curves').catch((e: Error) => {
        throw new Error(`${e.message}; console errors: ${consoleErrors.join(' | ') || 'none'}`);
      });
      const curves = (await pageState()).curves.at(-1)!;
      expect(await page.locator('#attr-chart img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(100);
      const node = await deletionInsertion(model, x, 0, ig.classIndex, Float32Array.from(Object.values(ig.map)), { steps: 8 });
      expect(curves.deletion.probs).toHaveLength(node.deletion.probs.length);
      for (const kind of ['deletion', 'insertion'] as const) {
        const worst = Math.max(...curves[kind].probs.map((p, i) => Math.abs(p - node[kind].probs[i]!)));
        expect(worst, `${kind} curve page vs Node`).toBeLessThanOrEqual(PAGE_VS_NODE);
      }
      await page.locator('#attr-chart').scrollIntoViewIfNeeded(); // the chart below the maps, in the screenshot
      await shot('attribution');

      // Every method side by side: the first ones (one pass each), then Stop ends the comparison — all 17 on a
      // software adapter would take minutes (occlusion alone is 169 forward passes).
      const methodsDone = (): Promise<{ methods: string[]; busy: boolean; errors: number }> =>
        page.evaluate(() => {
          const s = (window as unknown as { __pixelprop: PageState }).__pixelprop;
          return { methods: s.attributions.map((a) => a.method), busy: s.busy, errors: s.errors.length };
        });
      const before = await methodsDone();
      await page.click('#attr-all');
      const deadline = Date.now() + STEP_MS;
      while ((await methodsDone()).methods.length < before.methods.length + 3) {
        if (Date.now() > deadline) throw new Error(`every method: not 3 maps within ${STEP_MS} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
      await page.click('#attr-stop');
      await until((s) => !s.busy, 'the comparison stopped');
      const after = await methodsDone();
      expect(after.errors).toBe(before.errors);
      const done = after.methods.slice(before.methods.length);
      expect(done).toEqual(METHOD_NAMES.slice(0, done.length)); // in the table's order
      expect(done.length).toBeLessThan(METHOD_NAMES.length);
      expect(await page.locator('#attr-compare figure').count()).toBe(done.length);
      expect(await page.locator('#attr-caption').textContent()).toBe(`comparison stopped after ${done.length} of ${METHOD_NAMES.length} methods`);
      await page.locator('#attr-compare').scrollIntoViewIfNeeded();
      await shot('attribution-compare');
    } finally {
      x.dispose();
    }
  }, 6 * STEP_MS);

  it('class visualization: 3 live iterations', async () => {
    await openTab('classviz');
    await page.fill('#viz-class', 'tarantula (76)');
    await page.fill('#viz-iters', '3');
    // The fields carry the library's ranges (the blur σ had no maximum, and 1e9 crashed the engine).
    expect([await page.getAttribute('#viz-sigma', 'min'), await page.getAttribute('#viz-sigma', 'max')]).toEqual(['0', '32']);
    expect(await page.getAttribute('#viz-iters', 'max')).toBe('100000');
    await page.click('#viz-run');
    await until((s) => !!s.classviz && !s.busy, 'class visualization');
    const s = await pageState();
    expect(s.classviz!.iterations).toBe(3);
    expect(s.classvizSteps).toBe(3);
    expect(await page.locator('#viz-strip figure').count()).toBe(s.classviz!.snapshots.length);
    timings.classvizIterationMs = s.timings.classvizIterationMs;
    await shot('classviz');
  }, STEP_MS);

  it('Record GIF: a class visualization of 6 iterations, from the keyboard, downloads as a GIF of its 6 pictures', async () => {
    await openTab('classviz');
    await page.fill('#viz-class', 'tarantula (76)');
    await page.fill('#viz-iters', '6');
    await page.click('#viz-run');
    // A run forgets the previous one's frames: nothing to record until it ends.
    expect(await page.locator('#viz-gif').isDisabled()).toBe(true);
    await until((s) => s.classvizSteps === 6 && s.classviz?.iterations === 6 && !s.busy, 'class visualization of 6 iterations');
    const button = page.getByRole('button', { name: 'Record GIF' }); // the fooling view's is hidden
    expect(await button.getAttribute('id')).toBe('viz-gif');
    expect(await button.isEnabled()).toBe(true);
    await button.focus();
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    expect(download.suggestedFilename()).toBe('classviz-76-6.gif');
    const bytes = readFileSync((await download.path())!);
    const gif = decodeGif(bytes);
    expect([gif.frames.length, gif.width, gif.height]).toEqual([6, 224, 224]);
    expect(gif.delaysMs).toEqual([100, 100, 100, 100, 100, 2000]);
    const s = await pageState();
    expect(s.recordings.at(-1)).toEqual({ fileName: 'classviz-76-6.gif', frames: 6, iterations: [1, 6], every: 1, bytes: bytes.length });
    // The last frame is the result the page shows, up to the GIF's palette (see test/cli-record.test.ts: measured 6.7).
    const result = await page.evaluate(() => Array.from((window as unknown as { __pixelprop: { classviz: { image: { data: Uint8ClampedArray } } } }).__pixelprop.classviz.image.data));
    let sum = 0;
    for (let p = 0; p < 224 * 224; p++) for (let c = 0; c < 3; c++) sum += Math.abs(result[3 * p + c]! - gif.frames[5]![4 * p + c]!);
    expect(sum / (3 * 224 * 224)).toBeLessThanOrEqual(10);
    // The focus stays on the button, ready for another recording.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('viz-gif');
    expect(await button.isEnabled()).toBe(true);
    await shot('record');
  }, STEP_MS);

  it('the tape inspector: every op, explained, visited in reverse, with the input gradient\'s norm Node measures', async () => {
    await openTab('tape');
    await page.fill('#tape-runs', '2'); // medians of 2: enough to check the medians are taken, lean on SwiftShader
    await page.click('#tape-run');
    await until((s) => !!s.tape && !s.busy, 'tape inspector');
    const tape = (await pageState()).tape!;
    expect(tape.rows.length).toBeGreaterThan(20);
    for (const row of tape.rows) expect(row.doc.backward.length, `no explanation for op '${row.op}'`).toBeGreaterThan(10);
    expect(tape.rows.map((r) => r.backwardOrder)).toEqual(tape.rows.map((_, i) => tape.rows.length - 1 - i));
    if (tape.timing === 'timestamp-query') for (const row of tape.rows) expect(row.forwardMs).not.toBeNull();
    const node = await nodeClassify(join(repoRoot, 'samples', SAMPLE));
    const { scores, grad } = classScoreGradient(model, node.x, [tape.classIndex]);
    const norm = l2Norm(grad);
    const expected = (await norm.read())[0]!;
    for (const t of [scores, grad, norm, node.x]) t.dispose();
    expect(Math.abs(tape.inputGradNorm - expected) / expected).toBeLessThanOrEqual(PAGE_VS_NODE);
    // In the words of the model and of a course, not of the engine (issue 14): layer names as the sanity check's,
    // no attribute shorthand ("‖", "p0,0,1,1", "+5") in the table.
    expect(tape.runs).toBe(2);
    expect(tape.realPassMs).toBeGreaterThan(0);
    const titles = await page.locator('#tape-rows tr strong').allTextContents();
    for (const name of ['conv1', 'fire2 squeeze', 'fire2 expand', 'fire9 expand', 'conv10', 'global average pool']) expect(titles).toContain(name);
    expect(await page.locator('#tape-rows tr:nth-child(4) small').textContent()).toBe(
      '1×1 convolution, 64 filters and 3×3 convolution, 64 filters, side by side, their outputs stacked, then ReLU',
    );
    const table = (await page.locator('#tape-rows').textContent())!;
    expect(table).not.toMatch(/‖|\bp\d,\d|\+\d\b|\+relu/);
    const notes = (await page.locator('#tape-notes').textContent())!;
    expect(notes).toContain('one-hot seed');
    expect(notes).toMatch(/13×13 inputs 1\/169 of the gradient, so the norm shrinks by √169 = 13\.00/);
    if (tape.timing === 'timestamp-query') expect(await page.locator('#tape-summary').textContent()).toContain('not the time of a real pass');
    await page.click('#tape-rows tr:nth-child(4)'); // fire2 expand
    await expect.poll(() => page.locator('#tape-rows tr.detail h4').allTextContents()).toEqual(['Forward', 'Kept for the backward', 'Backward']);
    const detail = page.locator('#tape-rows tr.detail');
    expect(await detail.textContent()).not.toContain('_{');
    expect(await detail.locator('sub').count()).toBeGreaterThan(0);
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#tape-csv')]);
    const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^index,layer,op,/);
    expect(lines).toHaveLength(tape.rows.length + 1);
    expect(lines[0]).toMatch(/,backward_rule$/);
    expect(lines.slice(1).every((line) => line.endsWith(',own gradient'))).toBe(true);
    // A modified-rule method's backward, with the rule each op used (issue 13): LRP-z⁺ keeps ε at conv1, whose input
    // is the signed image; max pooling keeps its own backward (winner takes all).
    await page.selectOption('#tape-rules', 'lrp-zplus');
    await page.fill('#tape-runs', '1');
    await page.click('#tape-run');
    await until((s) => s.tape?.rules === 'lrp-zplus' && !s.busy, 'tape inspector with LRP-z⁺');
    const rules = await page.locator('#tape-rows td.rule').allTextContents();
    expect(rules[0]).toBe('LRP-z⁺: ε (the first layer: its input, the image, is signed)');
    expect(rules).toContain('LRP-z⁺: z⁺ (positive weights, no bias)');
    expect(rules).toContain('own gradient');
    expect(await page.locator('#tape-notes').textContent()).toContain('the score s_y itself');
    await shot('tape');
  }, STEP_MS);

  it('at phone width (390 × 844) no view scrolls sideways, the tabs come first, and pictures stay in their card', async () => {
    // First at the desktop width: nothing in the sidebar's panels (the model picker's select) reaches past its panel.
    const sidebarOutside = (): Promise<string[]> =>
      page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('.panel')].flatMap((panel) => {
          const right = panel.getBoundingClientRect().right;
          return [...panel.querySelectorAll<HTMLElement>('select, canvas, img, .button, button, input:not([type=file])')]
            .filter((el) => el.checkVisibility() && el.getBoundingClientRect().right > right + 0.5)
            .map((el) => el.id || el.className);
        }),
      );
    expect(await sidebarOutside(), 'outside its sidebar panel at 1280 px').toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      expect(await sidebarOutside(), 'outside its sidebar panel at 390 px').toEqual([]);
      for (const view of ['classify', 'saliency', 'attribution', 'fooling', 'classviz', 'tape', 'sanity', 'notebook']) {
        await openTab(view);
        const layout = await page.evaluate(() => {
          window.scrollTo(0, 0);
          const card = document.querySelector('.views')!.getBoundingClientRect();
          const outside = [...document.querySelectorAll<HTMLElement>('.view:not([hidden]) :is(canvas, img, table, .controls, .row)')]
            .filter((el) => el.checkVisibility() && !el.closest('.table-wrap') && el.getBoundingClientRect().right > card.right + 0.5)
            .map((el) => el.id || el.className);
          return { width: document.documentElement.scrollWidth, tabsTop: document.querySelector('[role=tablist]')!.getBoundingClientRect().top, outside };
        });
        expect(layout.width, `${view} scrolls sideways`).toBeLessThanOrEqual(390);
        expect(layout.tabsTop, 'the tabs are below the first screen').toBeLessThan(844 / 2);
        expect(layout.outside, `${view}: outside its card`).toEqual([]);
      }
      // The tape's timing columns are on screen, not behind a sideways scroll.
      await openTab('tape');
      const wrap = await page.locator('#view-tape .table-wrap').boundingBox();
      for (const column of ['forward', 'backward']) {
        const th = await page.locator(`#view-tape th[data-column="${column}"]`).boundingBox();
        expect(th!.x + th!.width, `the tape's ${column} column`).toBeLessThanOrEqual(wrap!.x + wrap!.width + 0.5);
      }
      await openTab('classify');
      await shot('phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  }, STEP_MS);

  it('presentation mode: large type, high contrast, every view fits 1280 × 720 without scrolling', async () => {
    await page.setViewportSize({ width: 1280, height: 720 });
    try {
      await page.click('#presentation');
      expect(await page.getAttribute('#presentation', 'aria-pressed')).toBe('true');
      for (const view of ['classify', 'saliency', 'attribution', 'fooling', 'classviz', 'tape', 'sanity']) {
        await openTab(view);
        const size = await page.evaluate(() => ({
          height: document.documentElement.scrollHeight,
          // nothing hidden below the view's bottom edge either (only the tape's table scrolls, inside its frame)
          overflow: (({ scrollHeight, clientHeight }) => scrollHeight - clientHeight)(document.querySelector<HTMLElement>('.view:not([hidden])')!),
          width: document.documentElement.scrollWidth,
          font: parseFloat(getComputedStyle(document.querySelector('.view:not([hidden]) .lead')!).fontSize),
          ink: getComputedStyle(document.body).color,
        }));
        expect(size.height, `${view} scrolls at 1280 × 720`).toBeLessThanOrEqual(720);
        expect(size.overflow, `${view} is cut off at 1280 × 720`).toBeLessThanOrEqual(1);
        expect(size.width).toBeLessThanOrEqual(1280);
        expect(size.font, 'large type').toBeGreaterThanOrEqual(20);
        expect(size.ink, 'black on white').toBe('rgb(0, 0, 0)');
      }
      await openTab('fooling');
      await shot('presentation');
    } finally {
      if ((await page.getAttribute('#presentation', 'aria-pressed')) === 'true') await page.click('#presentation');
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  }, STEP_MS);

  it('the sanity check randomizes from the top layer down, stops on Stop, and restores the trained weights', async () => {
    await openTab('sanity');
    await page.click('#sanity-run');
    await until((s) => s.sanitySteps.length >= 3, 'sanity check maps');
    await page.click('#sanity-stop');
    await until((s) => !!s.sanity && !s.busy, 'sanity check stop');
    const s = await pageState();
    expect(s.sanity!.stopped).toBe(true);
    expect(s.sanity!.restored).toBe(true);
    expect(s.sanity!.layers.slice(0, 2)).toEqual(['conv10', 'fire9']);
    expect(s.sanitySteps.map((step) => step.label).slice(0, 3)).toEqual(['original', 'conv10', 'fire9']);
    expect(s.sanitySteps[2]!.rankCorrelation).toBeLessThan(1);
    await shot('sanity');
  }, STEP_MS);

  it('a bad image and a bad model file give a one-line error in the page; a good model file replaces the model', async () => {
    const before = (await pageState()).errors.length;
    await page.setInputFiles('#image-file', { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('this is not a PNG') });
    await errorsAbove(before);
    await page.setInputFiles('#model-file', { name: 'bad.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from([8, 1, 18, 0, 255, 255]) });
    await errorsAbove(before + 1);
    const s = await pageState();
    const [imageError, modelError] = s.errors.slice(before);
    expect(imageError).toContain('broken.png');
    expect(modelError).toMatch(/model|ONNX|onnx|graph|protobuf/);
    expect(modelError).toMatch(/^'bad\.onnx' was not loaded: .* — the previous model \(squeezenet1\.1\.onnx\) is still loaded$/);
    for (const e of [imageError!, modelError!]) expect(e).not.toContain('\n');
    console.log(`web: errors shown: "${imageError}" and "${modelError}"`);
    expect(await page.locator('#error').isVisible()).toBe(true);
    expect(await page.locator('#error-text').textContent()).toBe(modelError);
    expect(s.classification!.name).toBe(SAMPLE); // the sample and the model are still there
    await page.click('#error-close');
    // A good model file replaces the model, and the current image goes through it.
    await page.setInputFiles('#model-file', MODEL_PATH);
    await until((t) => t.classifications > s.classifications && !t.busy, 'opening a model file');
    expect((await pageState()).classification!.top[0]!.index).toBe(s.classification!.top[0]!.index);
  }, STEP_MS);

  it('a model switch that fails keeps the previous model working (an input too large, refused before resizing)', async () => {
    const before = await pageState();
    const huge = squeezenetLikeModel({ size: 5000, irVersion: 7 }); // a few kilobytes declaring 5000 × 5000
    await page.setInputFiles('#model-file', { name: 'huge-input.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(huge) });
    await errorsAbove(before.errors.length);
    const s = await pageState();
    expect(s.errors.at(-1)).toMatch(/input \[1,3,5000,5000\] is larger than 4096×4096/);
    await page.click('#error-close');
    // The old model still classifies: the same top class for the sample as before the failed switch.
    await page.click(`#samples button[data-name="${SAMPLE}"]`);
    await until((t) => t.classifications > s.classifications && !t.busy, 'classifying with the previous model');
    expect((await pageState()).classification!.top[0]!.index).toBe(before.classification!.top[0]!.index);
  }, STEP_MS);

  it('a GIF or WebP declaring a huge size is refused from its header, and a format without a readable header at all', async () => {
    const before = (await pageState()).errors.length;
    const gif = Buffer.alloc(64);
    gif.write('GIF89a', 0, 'latin1');
    gif.writeUInt16LE(60_000, 6);
    gif.writeUInt16LE(60_000, 8);
    const bmp = Buffer.alloc(64);
    bmp.write('BM', 0, 'latin1');
    for (const [k, [name, buffer]] of ([['huge.gif', gif], ['picture.bmp', bmp]] as const).entries()) {
      await page.setInputFiles('#image-file', { name, mimeType: 'image/gif', buffer });
      await errorsAbove(before + k);
      await until((s) => !s.busy, `refusing ${name}`);
    }
    const [gifError, bmpError] = (await pageState()).errors.slice(before);
    expect(gifError).toMatch(/'huge\.gif' declares 60000×60000 pixels/);
    expect(bmpError).toMatch(/'picture\.bmp' is not a PNG, JPEG, WebP or GIF image/);
    await page.click('#error-close');
  }, STEP_MS);

  it('a device lost mid-run: one message, then a new device and the model reloaded, without a page reload', async () => {
    await openTab('classviz');
    await page.fill('#viz-class', 'tarantula (76)');
    await page.fill('#viz-iters', '50');
    const before = await pageState();
    await page.click('#viz-run');
    await until((s) => s.classvizSteps >= 1, 'the class visualization started');
    // In the engine's worker, destroy its WebGPU device under the library, as a driver reset would.
    const worker = page.workers().find((w) => /worker/.test(w.url()));
    expect(worker, 'the engine worker').toBeDefined();
    await worker!.evaluate(() => (self as unknown as { __pixelprop: { gpu: () => { device: GPUDevice } } }).__pixelprop.gpu().device.destroy());
    await errorsAbove(before.errors.length);
    await until((s) => !s.busy, 'the failed run ended', STEP_MS);
    const s = await pageState();
    expect(s.errors.slice(before.errors.length)).toEqual(['the GPU device was lost; the page made a new one and loaded the model again: run it again']);
    // The failed run's status says it failed, not where it was when the device went.
    expect(await page.locator('#viz-status').textContent()).toBe(`failed: ${s.errors.at(-1)}`);
    await page.click('#error-close');
    // The same page goes on, on the new device: a classification and a saliency map.
    await page.click(`#samples button[data-name="${SAMPLE}"]`);
    await until((t) => t.classifications > s.classifications && !t.busy, 'classifying on the new device');
    expect((await pageState()).classification!.top[0]!.index).toBe(before.classification!.top[0]!.index);
    await openTab('saliency');
    await page.click('#sal-run');
    await until(async (s) => !s.busy && !(await page.locator('#sal-png').isDisabled()), 'saliency on the new device');
  }, STEP_MS);

  it('a Content-Security-Policy lets the page reach only its own origin', async () => {
    const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null);
    expect(csp).toContain("default-src 'self'");
    const errorsBefore = consoleErrors.length;
    const outcome = await page.evaluate(() => fetch('http://127.0.0.2:9/elsewhere').then(() => 'fetched', (e: Error) => `blocked: ${e.message}`));
    expect(outcome).toMatch(/^blocked/);
    // The refusal is logged as a console error, which is this check's own doing: take it out of the list.
    const logged = consoleErrors.splice(errorsBefore);
    expect(logged.some((m) => /Content Security Policy/.test(m))).toBe(true);
    foreignRequests.splice(0, foreignRequests.length, ...foreignRequests.filter((u) => !u.includes('127.0.0.2:9')));
  }, STEP_MS);

  it('reloads offline from the service worker\'s cache (on a host that answers 404 for the site\'s folder), as the footer says', async () => {
    await until((s) => s.offlineReady !== null, 'the offline check', 60_000);
    expect((await pageState()).offlineReady).toBe(true);
    expect(await page.locator('#offline-status').textContent()).toContain('Ready for offline use');
    await context.setOffline(true);
    try {
      await page.reload();
      await until((s) => s.classifications >= 1, 'classification offline');
      expect((await pageState()).classification!.name).toBe(DEFAULT_SAMPLE);
    } finally {
      await context.setOffline(false);
    }
  }, STEP_MS);

  it('a browser without WebGPU gets a message saying which browsers have it', async () => {
    const other = await context.newPage();
    try {
      await other.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
      await other.goto(`${origin}/index.html`);
      await other.locator('#no-webgpu').waitFor({ state: 'visible' });
      const text = (await other.locator('#no-webgpu').textContent())!;
      for (const needle of ['Chrome and Edge 113+', '--enable-unsafe-webgpu', 'Safari 26', 'Firefox 141+']) expect(text).toContain(needle);
      expect(await other.locator('#app').isVisible()).toBe(false);
      await other.screenshot({ path: join(SHOTS, 'no-webgpu.png') });
    } finally {
      await other.close();
    }
  }, STEP_MS);

  it('made no request beyond 127.0.0.1 and logged no console error; writes the timings', async () => {
    expect(foreignRequests).toEqual([]);
    expect(consoleErrors).toEqual([]);
    const s = await pageState();
    const result = {
      adapter: s.init?.adapter,
      // The user agent of headless Chromium carries a reduced version (156.0.0.0); the binary knows the real one.
      browser: `headless ${/Chromium [\d.]+/.exec(execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[0] ?? 'Chromium'} (${CHROMIUM})`,
      machine: `${cpus().length} logical CPU cores, no GPU`,
      note:
        'wall-clock in the page, in ms; the first saliency map also compiles the backward pipelines; the fooling and ' +
        'class-visualization iterations include reading the live image back',
      ms: {
        loadToFirstClassification: timings.loadToFirstClassificationMs,
        firstSaliencyMap: timings.firstSaliencyMs,
        saliencyMap: timings.saliencyMs,
        foolingIteration: timings.foolIterationMs,
        classVisualizationIteration: timings.classvizIterationMs,
      },
    };
    for (const [k, v] of Object.entries(result.ms)) expect(v, `timing ${k}`).toBeGreaterThan(0);
    const rounded = Object.fromEntries(Object.entries(result.ms).map(([k, v]) => [k, Math.round(v!)]));
    writeFileSync(join(SHOTS, 'timings.json'), `${JSON.stringify({ ...result, ms: rounded }, null, 2)}\n`);
    console.log(`web timings (${result.adapter}): ${JSON.stringify(rounded)}`);
  });
});
