/**
 * The exercises page (web/exercises.html) end to end, in headless Chromium (WebGPU on SwiftShader), kept lean: the
 * ReLU exercise with three submissions — the reference solution passes and its saliency map is the engine's; the
 * mask-less ReLU fails, the verdict naming the largest error and where, and its map differs; a submission that does not
 * compile shows the error with its line, marked in the editor's line numbers; one with an endless loop is stopped with
 * a message, and the page checks the next one as usual. It takes the README's screenshot of the
 * failing one (the sample photo only), and refuses console errors and requests that leave 127.0.0.1.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXERCISE_BOUND, LOOP_BUDGET_MESSAGE, exercise, type CheckResult } from '../src/teaching/exercises.js';
import { BROKEN, ENDLESS, MISTAKES } from './exercise-submissions.js';
import { SHOTS, openSite, type Site } from './web-e2e.js';

const SKIP = process.env.PIXELPROP_SKIP_E2E === '1';
/** A check and two SqueezeNet backward passes on SwiftShader, 2 cores: a minute or two each. */
const STEP_MS = 300_000;

/** window.__exercises (web/exercises.ts), as far as the test reads it. */
interface ExercisesState {
  ready: boolean;
  busy: boolean;
  check: CheckResult | null;
  saliency: { mapError: number; substituted: number } | null;
  runs: number;
  errors: string[];
}

describe.skipIf(SKIP)('the exercises page in headless Chromium', () => {
  let site: Site;
  const state = (): Promise<ExercisesState> => site.page.evaluate(() => (window as unknown as { __exercises: ExercisesState }).__exercises);
  async function until(test: (s: ExercisesState) => boolean, what: string): Promise<ExercisesState> {
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      const s = await state();
      if (s?.errors.length) throw new Error(`${what}: the page showed an error: ${s.errors.at(-1)}`);
      if (s && test(s)) return s;
      if (Date.now() > deadline) throw new Error(`${what}: not reached within ${STEP_MS} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  /** Puts `source` in the editor, presses Compile & check and waits for `runs` more results (check, then maps). */
  async function submit(source: string, runs: number): Promise<ExercisesState> {
    const before = (await state()).runs;
    await site.page.fill('#ex-source', source);
    await site.page.click('#ex-check');
    return until((s) => s.runs >= before + runs && !s.busy, 'a submission');
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    site = await openSite();
    await site.page.goto(`${site.origin}/exercises.html`);
    await until((s) => s.ready, 'the engine started');
  }, STEP_MS);

  afterAll(async () => {
    await site?.close();
  });

  it('passes the reference ReLU backward, with the engine’s saliency map', async () => {
    const s = await submit(exercise('relu').solution, 2);
    expect(s.check!.passed, s.check!.message).toBe(true);
    expect(await site.page.textContent('#ex-verdict')).toMatch(/^Passed — correct: /);
    expect(s.saliency!.substituted).toBe(26); // SqueezeNet 1.1's ReLUs
    // the same adapter twice, one op's kernels swapped: the bound of the Node test
    expect(s.saliency!.mapError).toBeLessThanOrEqual(1e-4);
  }, STEP_MS);

  it('fails the mask-less ReLU, naming the largest error and where it is', async () => {
    const s = await submit(MISTAKES.relu.source, 2);
    const r = s.check!;
    expect(r.passed).toBe(false);
    expect(r.maxRelError!).toBeGreaterThan(EXERCISE_BOUND);
    const verdict = (await site.page.textContent('#ex-verdict'))!;
    expect(verdict).toContain('Not yet — wrong: largest error');
    expect(verdict).toContain(`at dx[${r.largestError!.position.join(',')}]`);
    expect(verdict).toContain('first element that differs');
    expect(s.saliency!.mapError).toBeGreaterThan(0.1);
    await site.page.screenshot({ path: join(SHOTS, 'exercises.png'), fullPage: true });
  }, STEP_MS);

  it('stops a kernel with an endless loop and says so; the page stays usable and the next submission passes', async () => {
    // without the loop bound the check never answers (the worker waits on the GPU for ever): `until` runs out
    const s = await submit(ENDLESS.relu, 1);
    expect(s.check!.loopBudgetExceeded).toBe(true);
    expect(await site.page.textContent('#ex-verdict')).toBe(`Did not finish — ${LOOP_BUDGET_MESSAGE}`);
    expect(await site.page.textContent('#status')).toBe('Make every loop end, then check again.');
    const next = await submit(exercise('relu').solution, 2);
    expect(next.check!.passed, next.check!.message).toBe(true);
  }, 2 * STEP_MS);

  it('shows a compile error with its line, marked beside the code', async () => {
    const s = await submit(BROKEN.relu.source, 1);
    expect(s.check!.compiled).toBe(false);
    expect(await site.page.textContent('#ex-verdict')).toBe('Does not compile');
    const errors = await site.page.locator('#ex-errors li').allTextContents();
    expect(errors[0]).toMatch(new RegExp(`^line ${BROKEN.relu.line}:\\d+: `));
    expect(await site.page.locator('#ex-gutter .bad').allTextContents()).toEqual([`${BROKEN.relu.line}\n`]);
    expect(site.foreignRequests).toEqual([]);
    expect(site.consoleErrors).toEqual([]);
  }, STEP_MS);
});
