/**
 * The step-through backward debugger in the page (web/debugger.ts), in headless Chromium with WebGPU on SwiftShader:
 * it records SqueezeNet 1.1's forward and backward of the sample photo's top class, steps through every step — the
 * arrow keys for all but one, the Previous button once — each drawing tiles of every tensor it shows, jumps by a click
 * on the graph, and checks a clicked element: the GPU, float64 and finite-difference values agree within the bounds
 * of test/debugger.test.ts (which explains them). With ../shared/weights/mobilenetv2 beside the clone, the same walk
 * for MobileNetV2 opened through the page's model input.
 *
 * The screenshot goes to a temporary folder, or with PIXELPROP_UPDATE_SCREENSHOTS=1 to docs/screenshots/ for the
 * README (the sample photo only). Chromium missing is a failure, not a skip, unless PIXELPROP_SKIP_E2E=1.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebuggerState } from '../web/debugger.js';
import { SHARED_DIR } from './shared-data.js';
import { SHOTS, openSite, pollUntil, type Site } from './web-e2e.js';

const SKIP = process.env.PIXELPROP_SKIP_E2E === '1';
/** test/debugger.test.ts's bounds: GPU vs float64 for one gradient element, finite difference vs float64 */
const GPU_GRADIENT = 1e-3;
const FD_VS_FLOAT64 = 1e-6;
/** SwiftShader's forward + backward, and the float64 CPU path of the whole network in the worker: well under this */
const STEP_MS = 240_000;
const MOBILENET = join(SHARED_DIR, 'weights', 'mobilenetv2', 'mobilenetv2-1.0-224.onnx');

describe.skipIf(SKIP)('the step-through debugger in headless Chromium (WebGPU on SwiftShader)', () => {
  let browser: Site;

  /** What the view shows, less the outline (its steps and derivations: read once, not on every poll) */
  type Shown = Omit<DebuggerState, 'outline' | 'drawn'> & { recorded: boolean; lastDrawn: DebuggerState['drawn'][number] | undefined };
  const shown = (): Promise<Shown> =>
    browser.page.evaluate(() => {
      const d = (window as unknown as { __pixelpropDebugger: DebuggerState }).__pixelpropDebugger;
      return { current: d.current, loading: d.loading, check: d.check, recorded: d.outline !== null, lastDrawn: d.drawn.at(-1) };
    });
  const outlineShown = (): Promise<NonNullable<DebuggerState['outline']>> =>
    browser.page.evaluate(() => (window as unknown as { __pixelpropDebugger: DebuggerState }).__pixelpropDebugger.outline!);
  const pageErrors = (): Promise<string[]> => browser.page.evaluate(() => (window as unknown as { __pixelprop: { errors: string[] } }).__pixelprop.errors);
  const settled = (what: string, test: (s: Shown) => boolean = () => true): Promise<Shown> =>
    pollUntil(shown, (s) => !s.loading && test(s), what, STEP_MS, 50);

  beforeAll(async () => {
    browser = await openSite();
    mkdirSync(SHOTS, { recursive: true });
  }, STEP_MS);
  afterAll(async () => {
    await browser?.close();
  });

  /** Records, then walks every step to the end, checking that each drew tiles of each of its tensors. */
  async function walk(expectNodes?: number): Promise<{ outline: NonNullable<DebuggerState['outline']>; last: Shown }> {
    const page = browser.page;
    await page.click('#debug-run');
    let s = await settled('recording', (d) => d.current === 0 && d.recorded);
    const outline = await outlineShown();
    if (expectNodes !== undefined) expect(outline.nodeCount).toBe(expectNodes);
    const total = outline.steps.length;
    expect(total).toBe(2 * outline.nodeCount); // every op's backward runs: a class score depends on every op
    const started = Date.now();
    await page.focus('#debugger');
    for (let i = 1; i < total; i++) {
      await page.keyboard.press('ArrowRight');
      s = await settled(`step ${i}`, (d) => d.current === i);
      if (i === 3) {
        // once with the button, and back with the key
        await page.click('#debug-prev');
        await settled('previous', (d) => d.current === 2);
        await page.focus('#debugger');
        await page.keyboard.press('ArrowRight');
        s = await settled(`step ${i} again`, (d) => d.current === i);
      }
      const drawn = s.lastDrawn!;
      const step = outline.steps[i]!;
      expect(drawn.step).toBe(i);
      expect(drawn.tensors, `${step.layer} ${step.direction}`).toBe(step.tensors.length);
      expect(drawn.tensors).toBeGreaterThanOrEqual(step.direction === 'forward' ? 2 : 4);
      expect(await page.locator('#debug-tensors canvas.tile').count()).toBe(drawn.tiles);
      expect(drawn.tiles).toBeGreaterThanOrEqual(drawn.tensors);
    }
    const perStep = (Date.now() - started) / (total - 1);
    console.log(`debugger: ${outline.nodeCount} ops, ${total} steps walked, ${perStep.toFixed(0)} ms per step; recording took ${outline.ms.toFixed(0)} ms`);
    expect(s.current).toBe(total - 1);
    expect(outline.steps[total - 1]!.layer).toBe(outline.steps[0]!.layer); // the backward ends at the first op
    expect(await pageErrors()).toEqual([]);
    return { outline, last: s };
  }

  /** The page on its first sample, classified by SqueezeNet, at the tape inspector's tab (once per file). */
  async function openPage(): Promise<void> {
    const page = browser.page;
    if (page.url().startsWith(browser.origin)) return;
    await page.goto(`${browser.origin}/`);
    await pollUntil(() => page.evaluate(() => (window as unknown as { __pixelprop: { classifications: number } }).__pixelprop.classifications), (n) => n >= 1, 'first classification', STEP_MS);
    await page.click('#tab-tape');
  }

  it('steps through SqueezeNet 1.1\'s whole forward and backward, drawing every step; a clicked element checks out', async () => {
    const page = browser.page;
    await openPage();
    const { outline } = await walk(23);
    const steps = outline.steps;

    // click the graph: fire9's expands, in the backward (the walk ended there)
    const fire9 = steps.find((t) => t.direction === 'forward' && t.layer === 'fire9/expand1x1+expand3x3')!;
    await page.click(`#debug-graph g[data-node="${fire9.node}"]`);
    const at = await settled('jump', (d) => steps[d.current]!.node === fire9.node);
    expect(steps[at.current]!.direction).toBe('backward');
    expect(await page.locator('#debug-graph g.current').getAttribute('data-node')).toBe(String(fire9.node));
    await expect.poll(() => page.locator('#debug-doc').textContent()).toContain(steps[at.current]!.doc.backward.slice(0, 40));

    // click the middle of the first tile of the outgoing gradient (fire9's squeeze output, read by both expands)
    const tile = page.locator('#debug-tensors .debug-tensor.dx canvas.tile').first();
    await tile.click({ position: { x: 42, y: 42 } });
    const checked = await settled('element check', (d) => d.check !== null);
    const c = checked.check!;
    expect(c.step).toBe(at.current);
    expect(c.role).toBe('dx');
    expect(c.perturbed).toContain('all 2 of its reads');
    console.log(
      `debugger: ${c.role}${c.position} gpu ${c.gpu}, float64 ${c.float64}, fd ${c.finiteDifference} (rel. gpu ${c.relErrors.gpuVsFloat64.toExponential(2)}, fd ${c.relErrors.finiteDifferenceVsFloat64!.toExponential(2)}) in ${c.ms.toFixed(0)} ms`,
    );
    expect(c.relErrors.gpuVsFloat64).toBeLessThanOrEqual(GPU_GRADIENT);
    expect(c.relErrors.finiteDifferenceVsFloat64!).toBeLessThanOrEqual(FD_VS_FLOAT64);
    await expect.poll(() => page.locator('#debug-check table tr').count()).toBe(4); // header, GPU, float64, difference
    // the debugger's buttons at the top of the window: the graph, the step's derivation, the check's numbers
    await page.locator('#debug-run').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: join(SHOTS, 'debugger.png') });
    expect(browser.consoleErrors).toEqual([]);
    expect(browser.foreignRequests).toEqual([]);
  }, 4 * STEP_MS);

  it.skipIf(!existsSync(MOBILENET))('steps through MobileNetV2\'s whole forward and backward, opened through the page', async () => {
    const page = browser.page;
    await openPage();
    const before = await page.evaluate(() => (window as unknown as { __pixelprop: { classifications: number } }).__pixelprop.classifications);
    await page.setInputFiles('#model-file', MOBILENET);
    await pollUntil(() => page.evaluate(() => (window as unknown as { __pixelprop: { classifications: number; busy: boolean } }).__pixelprop), (s) => s.classifications > before && !s.busy, 'MobileNetV2 loaded', STEP_MS);
    const { outline } = await walk();
    // its residual connections: an input from further up than the op before
    expect(outline.steps.some((t) => t.producers.some((p) => p !== null && p < t.node - 1))).toBe(true);
    expect(await browser.page.locator('#debug-graph path.edge').count()).toBeGreaterThan(0);
    expect(browser.consoleErrors).toEqual([]);
  }, 8 * STEP_MS);
});
