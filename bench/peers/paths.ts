/**
 * Node-side locations shared by main.ts and browser.ts (a module of its own: main.ts awaits its work at top level,
 * so browser.ts must not import main.ts).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PeerKey } from './runtimes.js';

export interface PeersOptions {
  batches: number[];
  runs: number;
  warmup: number;
  only: PeerKey[];
  /** run MobileNetV2 after SqueezeNet (Node only; the browser page runs SqueezeNet) */
  mobilenet: boolean;
}

const require = createRequire(import.meta.url);

/** Where bench/peers/bundle.mjs writes: dist/peers-bundle, beside dist/bench (this file is dist/bench/peers/paths.js). */
export const BUNDLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'peers-bundle');

/** The folder of a package's main file: for the wasm runtimes, their dist/ folder, beside the .wasm binaries. */
export function packageDir(name: string): string {
  return dirname(require.resolve(name));
}
