/**
 * The Notebook view (web/notebook.ts) end to end, in headless Chromium (WebGPU on SwiftShader): "Run the notebook"
 * with the class visualizations and the inline question's ascents cut to a few iterations (SwiftShader is ~10× slower
 * than lavapipe), then each figure checked for plausible numbers — a saliency map per sample photo, not blank; the
 * fooling image classified as the target, with its four pictures; a class visualization per class of the notebook
 * whose score rose; both ascents of the inline question, the gradient's gaining more — with the view keyboard
 * operable, stopped by Stop, and within a phone's 390 px. It takes the README's screenshots of the view (sample photos only), and
 * refuses console errors and requests that leave 127.0.0.1.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTEBOOK_CLASSES, NOTEBOOK_FOOL } from '../src/techniques/notebook.js';
import { repoRoot } from './shared-data.js';
import { SHOTS, openSite, pollUntil, type Site } from './web-e2e.js';

const SKIP = process.env.PIXELPROP_SKIP_E2E === '1';
/** The whole notebook, cut short, on SwiftShader with 2 busy cores: ~40 forward and backward passes. */
const RUN_MS = 480_000;
/**
 * Class visualization iterations and ascent steps: 2 of each to test; the README's screenshot run
 * (PIXELPROP_UPDATE_SCREENSHOTS=1) takes 20 and the view's default 10, so that its pictures show something.
 */
const SCREENSHOTS = process.env.PIXELPROP_UPDATE_SCREENSHOTS === '1';
const ITERATIONS = SCREENSHOTS ? 20 : 2;
const ASCENT_STEPS = SCREENSHOTS ? 10 : 2;

/** window.__pixelprop (web/main.ts), as far as this test reads it. */
interface PageState {
  ready: boolean;
  busy: boolean;
  classifications: number;
  errors: string[];
  notebook: {
    runs: number;
    stopped: boolean;
    fool: { fooled: boolean; target: number; finalClass: number; iterations: number; linf: number; targetProb: number } | null;
    classviz: { target: number; iterations: number; startScore: number; finalScore: number }[];
    ascent: { runs: { direction: string; scores: number[] }[] } | null;
  };
}

describe.skipIf(SKIP)('the Notebook view in headless Chromium', () => {
  let site: Site;
  const state = (): Promise<PageState> => site.page.evaluate(() => (window as unknown as { __pixelprop: PageState }).__pixelprop);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    site = await openSite();
    await site.page.goto(`${site.origin}/`);
    await pollUntil(state, (s) => s.ready && s.classifications > 0, 'the engine started', RUN_MS, 250);
  }, RUN_MS);

  afterAll(async () => {
    await site?.close();
  });

  it('runs every figure of the notebook from the keyboard, with plausible numbers', async () => {
    const page = site.page;
    // the tab, the fields and the button, by keyboard alone
    await page.focus('#tab-sanity');
    await page.keyboard.press('ArrowRight');
    expect(await page.getAttribute('#tab-notebook', 'aria-selected')).toBe('true');
    expect(await page.isVisible('#view-notebook')).toBe(true);
    await page.fill('#nb-iters', String(ITERATIONS));
    await page.fill('#nb-ascent-steps', String(ASCENT_STEPS));
    await page.focus('#nb-run');
    await page.keyboard.press('Enter');
    const s = await pollUntil(state, (v) => v.notebook.runs > 0 || v.errors.length > 0, 'the notebook ran', RUN_MS, 500);
    expect(s.errors).toEqual([]);
    const nb = s.notebook;
    expect(nb.stopped).toBe(false);

    // saliency: one map per sample photo, each with a caption naming its class, none blank
    const samples = readdirSync(join(repoRoot, 'samples')).filter((f) => f.endsWith('.png'));
    const maps = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('#nb-saliency figure')].map((f) => {
        const [, map] = [...f.querySelectorAll('canvas')];
        const data = map!.getContext('2d')!.getImageData(0, 0, map!.width, map!.height).data;
        let lit = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i]! + data[i + 1]! + data[i + 2]! > 0) lit++;
        return { caption: f.querySelector('figcaption')!.textContent!, lit: lit / (data.length / 4) };
      }),
    );
    expect(maps.map((m) => m.caption.split(':')[0])).toEqual(samples.sort());
    for (const m of maps) {
      expect(m.caption).toMatch(/: .+ \(\d+\), p \d+\.\d %$/);
      expect(m.lit, `${m.caption}: the map is not blank`).toBeGreaterThan(0.05);
    }

    // fooling: the saved image is the target, and the figure is original | fooling | difference | × 10
    expect(nb.fool!.target).toBe(NOTEBOOK_FOOL.target);
    expect(nb.fool!.fooled).toBe(true);
    expect(nb.fool!.finalClass).toBe(NOTEBOOK_FOOL.target);
    expect(nb.fool!.linf).toBeGreaterThan(0);
    expect(await page.locator('#nb-fool figcaption').allTextContents()).toEqual([
      expect.stringMatching(/^original: /),
      expect.stringMatching(/^fooling image: stingray \(6\)$/),
      'difference',
      'magnified difference (× 10)',
    ]);
    expect(await page.textContent('#nb-fool-caption')).toContain(`Fooled after ${nb.fool!.iterations} iterations`);

    // class visualization: each class of the notebook, its score raised by the ascent
    expect(nb.classviz.map((c) => c.target)).toEqual(NOTEBOOK_CLASSES);
    for (const c of nb.classviz) {
      expect(c.iterations).toBe(ITERATIONS);
      expect(c.finalScore, `class ${c.target}`).toBeGreaterThan(c.startScore);
    }
    expect(await page.locator('#nb-classviz figcaption').count()).toBe(NOTEBOOK_CLASSES.length);

    // the inline question: both ascents ran, and the gradient's raised the score more
    const [byGradient, bySaliency] = nb.ascent!.runs;
    expect([byGradient!.direction, bySaliency!.direction]).toEqual(['gradient', 'saliency']);
    const gain = (scores: number[]): number => scores.at(-1)! - scores[0]!;
    expect(byGradient!.scores).toHaveLength(ASCENT_STEPS + 1);
    expect(gain(byGradient!.scores)).toBeGreaterThan(gain(bySaliency!.scores));
    expect(await page.textContent('#nb-ascent-caption')).toContain('So no: the saliency map is |∂s/∂x|');

    await page.screenshot({ path: join(SHOTS, 'notebook.png'), fullPage: true });
    expect(site.foreignRequests).toEqual([]);
    expect(site.consoleErrors).toEqual([]);
  }, RUN_MS);

  it('stops on Stop: the run ends where it is, and says so', async () => {
    const page = site.page;
    const before = (await state()).notebook.runs;
    await page.click('#nb-run');
    // the saliency figure stops between photos: press Stop once its call is running
    await pollUntil(state, (v) => v.busy, 'the notebook started', RUN_MS, 50);
    await page.click('#nb-stop');
    const s = await pollUntil(state, (v) => v.notebook.runs > before, 'the notebook stopped', RUN_MS, 250);
    expect(s.errors).toEqual([]);
    expect(s.notebook.stopped).toBe(true);
    expect(await page.textContent('#nb-status')).toMatch(/^Stopped/);
    expect(await page.getAttribute('#nb-stop', 'aria-disabled')).toBe('true');
    expect(site.consoleErrors).toEqual([]);
  }, RUN_MS);

  it('fits a phone’s width (390 px) without scrolling sideways', async () => {
    const page = site.page;
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const layout = await page.evaluate(() => {
        window.scrollTo(0, 0);
        const card = document.querySelector('.views')!.getBoundingClientRect();
        const outside = [...document.querySelectorAll<HTMLElement>('#view-notebook :is(canvas, img, .controls, .strip, blockquote)')]
          .filter((el) => el.checkVisibility() && el.getBoundingClientRect().right > card.right + 0.5)
          .map((el) => el.id || el.className);
        return { width: document.documentElement.scrollWidth, outside };
      });
      expect(layout.width).toBeLessThanOrEqual(390);
      expect(layout.outside).toEqual([]);
      await page.locator('#view-notebook').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(SHOTS, 'notebook-phone.png') });
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  }, RUN_MS);
});
