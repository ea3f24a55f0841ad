/**
 * What the page's end-to-end tests share (test/web.e2e.test.ts, test/exercises.e2e.test.ts,
 * test/debugger.e2e.test.ts, test/bench-page.e2e.test.ts): building the site as
 * `npm run build:web` does, serving dist-web/ on 127.0.0.1, and Debian's Chromium headless through playwright-core,
 * with every console error (of pages and of their workers) and every request that leaves 127.0.0.1 recorded for the
 * tests to refuse.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, serveStatic } from '../bench/chromium.js';
import { repoRoot } from './shared-data.js';

export const SITE = join(repoRoot, 'dist-web');
/**
 * Where the tests' screenshots go: a temporary folder, or with PIXELPROP_UPDATE_SCREENSHOTS=1 docs/screenshots/ for
 * the README, so that an ordinary `npm test` leaves the working tree as it found it.
 */
export const SHOTS =
  process.env.PIXELPROP_UPDATE_SCREENSHOTS === '1' ? join(repoRoot, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'pixelprop-screenshots-'));

export interface Site {
  origin: string;
  context: BrowserContext;
  /** the page the context opened with */
  page: Page;
  consoleErrors: string[];
  foreignRequests: string[];
  close(): Promise<void>;
}

/** The headers that make the site cross-origin isolated, as `npm run web`'s servers send them (web/vite.config.ts). */
export const CROSS_ORIGIN_ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/**
 * Builds the site (vite's build API, web/vite.config.ts), serves it and launches Chromium on it. The server sends the
 * cross-origin-isolation headers unless `isolationHeaders` is false: a static host without header control, where the
 * site's service worker adds them (web/sw.ts). `folderIndex: false` serves a host that answers 404 for a folder (`/`),
 * as some static hosts do.
 */
export async function openSite(options: { folderIndex?: boolean; isolationHeaders?: boolean } = {}): Promise<Site> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set PIXELPROP_CHROMIUM; PIXELPROP_SKIP_E2E=1 skips this test)`);
  }
  const { build } = await import('vite');
  // The build `npm run build:web` makes: vite's CLI builds with NODE_ENV=production, vitest runs with 'test'.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(repoRoot, 'web', 'vite.config.ts'), logLevel: 'warn' });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  const headers = { 'cache-control': 'no-cache', ...(options.isolationHeaders === false ? {} : CROSS_ORIGIN_ISOLATION) };
  const server: Server = await serveStatic([['/', SITE]], headers, options.folderIndex ?? true);
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const userDataDir = mkdtempSync(join(tmpdir(), 'pixelprop-web-chromium-'));
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
    args: CHROMIUM_ARGS,
  });
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  context.on('request', (r) => {
    if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
  // Console errors of every page and of their workers (the engine runs in one) fail the tests at the end.
  const watch = (p: Page): void => {
    p.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    p.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    p.on('worker', (w) => w.on('console', (m) => m.type() === 'error' && consoleErrors.push(`worker: ${m.text()}`)));
  };
  context.on('page', watch);
  const first = context.pages()[0]; // a persistent context opens with one page, made before the listener
  if (first) watch(first);
  const page = first ?? (await context.newPage());
  return {
    origin,
    context,
    page,
    consoleErrors,
    foreignRequests,
    async close() {
      await context.close();
      server.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `read` (a page.evaluate) until `test` holds: not through page.waitForFunction with an expression, which
 * Playwright evaluates with eval, which the page's Content-Security-Policy forbids, as it should.
 */
export async function pollUntil<T>(read: () => Promise<T>, test: (s: T) => boolean, what: string, timeout: number, every = 100): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const s = await read();
    if (s !== undefined && s !== null && test(s)) return s;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}
