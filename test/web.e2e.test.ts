/**
 * The web page end to end: builds it (vite's build API, web/vite.config.ts), serves dist-web/ on 127.0.0.1 with a
 * tiny static server, and drives Debian's Chromium headless through playwright-core (never a downloaded browser).
 * Without a GPU, Chromium's WebGPU adapter is SwiftShader (subgroups of 4, so the plain kernel variants run).
 *
 * Checked: the page classifies a sample and an ImageNet photo uploaded through the file input with the Node library's
 * top-1 class and probabilities; the photo's saliency map equals the Node library's (max|Δ|/max|ref| ≤ 1e-3: two
 * adapters, two kernel variants); the downloaded .npy holds the shown map; 3 fooling iterations and 3
 * class-visualization iterations run live; the tape inspector lists every op with a backward explanation, visits them
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
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { cpus, tmpdir } from 'node:os';
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
import { CHROMIUM, CHROMIUM_ARGS, serveStatic } from '../bench/chromium.js';
import { useGpu } from './helpers.js';
import { PHOTOS, repoRoot } from './techniques-helpers.js';
import { MODEL_PATH, sharedData } from './shared-data.js';

const SKIP = process.env.PIXELPROP_SKIP_E2E === '1';
const SITE = join(repoRoot, 'dist-web');
const SHOTS =
  process.env.PIXELPROP_UPDATE_SCREENSHOTS === '1' ? join(repoRoot, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'pixelprop-screenshots-'));
/** The bound of the brief for page vs Node: two adapters (SwiftShader, lavapipe), two kernel variants. */
const PAGE_VS_NODE = 1e-3;
/** SwiftShader runs SqueezeNet's forward + backward in seconds; a whole view's run may take a minute on 2 cores. */
const STEP_MS = 240_000;
const PHOTO = '01_085.png'; // quail (85), as in test/saliency.test.ts
const SAMPLE = 'chelsea.png';
const photosDir = SKIP ? null : sharedData('photos', 'the page vs Node check on an uploaded ImageNet photo');

/** What the page exposes as window.__pixelprop (web/main.ts, PageState), as far as the test reads it. */
interface PageState {
  ready: boolean;
  busy: boolean;
  init: { adapter: string; hasTimestamps: boolean } | null;
  classification: { name: string; top: { index: number; prob: number; score: number }[] } | null;
  classifications: number;
  saliency: { classIndex: number; method: string; height: number; width: number } | null;
  fool: { iterations: number; stopped: boolean; target: number; msPerIteration: number | null } | null;
  foolSteps: number;
  classviz: { iterations: number; snapshots: unknown[]; msPerIteration: number | null } | null;
  classvizSteps: number;
  tape: {
    rows: { index: number; op: string; doc: { backward: string }; backwardOrder: number | null; forwardMs: number | null; backwardMs: number | null }[];
    classIndex: number;
    timing: string;
    inputGradNorm: number;
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
}

describe.skipIf(SKIP)('the web page in headless Chromium (WebGPU on SwiftShader)', () => {
  const gpu = useGpu();
  let model: Model;
  let server: Server;
  let origin: string;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];

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
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set PIXELPROP_CHROMIUM; PIXELPROP_SKIP_E2E=1 skips this test)`);
    }
    model = Model.load(gpu(), readFileSync(MODEL_PATH));
    const { build } = await import('vite');
    // The build `npm run build:web` makes: vite's CLI builds with NODE_ENV=production, vitest runs with 'test'.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ configFile: join(repoRoot, 'web', 'vite.config.ts'), logLevel: 'warn' });
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
    server = await serveStatic([['/', SITE]], { 'cache-control': 'no-cache' });
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    mkdirSync(SHOTS, { recursive: true });
    userDataDir = mkdtempSync(join(tmpdir(), 'pixelprop-web-chromium-'));
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 860 },
      acceptDownloads: true,
      args: CHROMIUM_ARGS,
    });
    context.on('request', (r) => {
      if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreignRequests.push(r.url());
    });
    // Console errors of every page and of their workers (the engine runs in one) fail the test at the end.
    const watch = (p: Page): void => {
      p.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
      p.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
      p.on('worker', (w) => w.on('console', (m) => m.type() === 'error' && consoleErrors.push(`worker: ${m.text()}`)));
    };
    context.on('page', watch);
    const first = context.pages()[0]; // a persistent context opens with one page, made before the listener
    if (first) watch(first);
    page = first ?? (await context.newPage());
  }, STEP_MS);

  afterAll(async () => {
    model?.dispose();
    await context?.close();
    server?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  const timings: Record<string, number | null | undefined> = {};

  it('opens on the sample photos and classifies the first one as the Node library does', async () => {
    await page.goto(`${origin}/`);
    await until((s) => s.classifications >= 1, 'first classification');
    const s = await pageState();
    expect(s.classification!.name).toBe(SAMPLE);
    timings.loadToFirstClassificationMs = s.timings.loadToFirstClassificationMs;
    const node = await nodeClassify(join(repoRoot, 'samples', SAMPLE));
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
      expect(await page.locator('#attr-chart svg').count()).toBe(1);
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

  it('fooling: 3 live iterations toward stingray', async () => {
    await openTab('fooling');
    await page.fill('#fool-target', 'stingray');
    await page.fill('#fool-iters', '3');
    await page.click('#fool-run');
    await until((s) => !!s.fool && !s.busy, 'fooling');
    const s = await pageState();
    expect(s.fool!.target).toBe(6);
    expect(s.fool!.iterations).toBeLessThanOrEqual(3);
    expect(s.foolSteps).toBe(s.fool!.iterations + 1); // iterations 0 … n, each shown live
    timings.foolIterationMs = s.timings.foolIterationMs;
    await shot('fooling');
  }, STEP_MS);

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

  it('the tape inspector: every op, explained, visited in reverse, with the input gradient\'s norm Node measures', async () => {
    await openTab('tape');
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
    await page.click('#tape-rows tr:nth-child(3)');
    await expect.poll(() => page.locator('#tape-rows tr.detail h4').count()).toBe(3);
    await shot('tape');
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

  it('reloads offline from the service worker\'s cache', async () => {
    await page.evaluate(() => navigator.serviceWorker.ready);
    await context.setOffline(true);
    try {
      await page.reload();
      await until((s) => s.classifications >= 1, 'classification offline');
      expect((await pageState()).classification!.name).toBe(SAMPLE);
    } finally {
      await context.setOffline(false);
    }
  }, STEP_MS);

  it('a browser without WebGPU gets a message saying which browsers have it', async () => {
    const other = await context.newPage();
    try {
      await other.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
      await other.goto(`${origin}/`);
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
