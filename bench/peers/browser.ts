/**
 * `npm run bench:peers -- --browser`: serves the page bundle (dist/peers-bundle/web, see bundle.mjs), the wasm
 * binaries and the weights on 127.0.0.1, and drives Debian's headless Chromium through playwright-core — never a
 * downloaded browser — with WebGPU on SwiftShader (the only adapter a machine without a GPU has there).
 *
 * The server sends COOP/COEP headers: the page is cross-origin isolated, which onnxruntime-web's wasm needs (it is
 * built with shared memory even when it runs one thread). Every wasm runtime is still set to one thread.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveWeights } from '../../src/cli/common.js';
import { CHROMIUM, CHROMIUM_ARGS, serveStatic } from '../chromium.js';
import { machineName } from '../cli.js';
import type { PeersResult } from './common.js';
import { BUNDLE_DIR, packageDir, type PeersOptions } from './paths.js';
import { SERVED, type PageConfig, type PageState } from './page.js';

export async function browserPeers(options: PeersOptions, log: (line: string) => void, timeoutMs = 90 * 60_000): Promise<PeersResult> {
  const web = join(BUNDLE_DIR, 'web');
  if (!existsSync(join(web, 'page.js'))) throw new Error(`no page bundle in ${web}: run node bench/peers/bundle.mjs (npm run bench:peers does)`);
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set PIXELPROP_CHROMIUM)`);
  const { model: modelPath } = await resolveWeights(undefined, true);
  const weightsDir = join(modelPath, '..');
  const server = await serveStatic([
    [SERVED.tfjsWasm, packageDir('@tensorflow/tfjs-backend-wasm')],
    [SERVED.ort, packageDir('onnxruntime-web')],
    ['/weights/', weightsDir],
    ['/', web],
  ], {
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cache-control': 'no-store',
  });
  const port = (server.address() as { port: number }).port;
  const userDataDir = mkdtempSync(join(tmpdir(), 'pixelprop-peers-chromium-'));
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      const text = m.text();
      if (text.startsWith('[peers] ')) log(`browser: ${text.slice(8)}`);
      else if (m.type() === 'error') log(`browser console error: ${text.slice(0, 300)}`);
    });
    page.on('pageerror', (e) => log(`browser page error: ${e.message.slice(0, 300)}`));
    const config: PageConfig = { batches: options.batches, runs: options.runs, warmup: options.warmup, only: options.only };
    await page.goto(`http://127.0.0.1:${port}/?config=${encodeURIComponent(JSON.stringify(config))}`);
    await page.waitForFunction(() => (globalThis as unknown as { __peers?: PageState }).__peers?.done === true, undefined, {
      timeout: timeoutMs,
      polling: 1000,
    });
    const state = await page.evaluate(() => (globalThis as unknown as { __peers: PageState }).__peers);
    if (!state.done) throw new Error('the page did not finish');
    if ('error' in state) throw new Error(`the page failed: ${state.error}`);
    const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
    // The page serves and runs SqueezeNet 1.1 only; MobileNetV2's rows and the ceilings are measured in Node.
    const problems = options.mobilenet ? [...state.result.problems, 'MobileNetV2 rows are not run in the browser (the page runs SqueezeNet 1.1 only)'] : state.result.problems;
    return { ...state.result, problems, environment: `headless Chromium ${version} (${CHROMIUM}), WebGPU on ${state.result.adapter}`, machine: machineName() };
  } finally {
    await context.close();
    server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
