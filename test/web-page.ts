/**
 * The page's end-to-end tests' plumbing (test/web.e2e.test.ts, test/debugger.e2e.test.ts): the site built as
 * `npm run build:web` builds it, served on 127.0.0.1, and Debian's headless Chromium (bench/chromium.ts) with a
 * WebGPU adapter on SwiftShader, watching for console errors and for requests that leave 127.0.0.1.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, serveStatic } from '../bench/chromium.js';
import { repoRoot } from './shared-data.js';

export const SITE = join(repoRoot, 'dist-web');

/** Builds the site into dist-web/ (vite's build API, web/vite.config.ts). */
export async function buildSite(): Promise<void> {
  const { build } = await import('vite');
  // The build `npm run build:web` makes: vite's CLI builds with NODE_ENV=production, vitest runs with 'test'.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(repoRoot, 'web', 'vite.config.ts'), logLevel: 'warn' });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

export interface Browser {
  origin: string;
  context: BrowserContext;
  /** the context's first page */
  page: Page;
  /** console errors of every page and of their workers */
  consoleErrors: string[];
  /** requests to anywhere but the site (blob: and data: URLs aside) */
  foreignRequests: string[];
  close(): Promise<void>;
}

/** Serves dist-web/ and opens Chromium on it (a failure, naming what to install, when Chromium is missing). */
export async function openBrowser(options: { acceptDownloads?: boolean } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set PIXELPROP_CHROMIUM; PIXELPROP_SKIP_E2E=1 skips this test)`);
  }
  const server: Server = await serveStatic([['/', SITE]], { 'cache-control': 'no-cache' });
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const userDataDir = mkdtempSync(join(tmpdir(), 'pixelprop-web-chromium-'));
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    acceptDownloads: options.acceptDownloads ?? false,
    args: CHROMIUM_ARGS,
  });
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  context.on('request', (r) => {
    if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
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
