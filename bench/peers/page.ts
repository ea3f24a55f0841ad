/**
 * The browser side of `npm run bench:peers -- --browser`: the same suite as in Node (suite.ts), run in a page that
 * bundles pixelprop's library (shaders handed over with registerShaders, as a web build does), TF.js and
 * onnxruntime-web (bench/peers/browser-entry.mjs, bundled by bench/peers/bundle.mjs). The page is served by
 * bench/peers/browser.ts, which reads the result from `window.__peers` once `done` is set.
 *
 * Query: ?config={"batches":[1,8],"runs":7,"warmup":2,"only":[...]} (JSON).
 */
import { createDevice, registerShaders } from '../../src/index.js';
import { SQUEEZENET } from '../result.js';
import { adapterProblems, errorLine, trackAdapters, type PeersResult } from './common.js';
import { runPeerModels } from './suite.js';
import type { PeerKey } from './runtimes.js';
import type { OrtModule } from './ort.js';
import type { Tf } from './tfjs.js';

export interface PageDeps {
  tf: Tf;
  setWasmPaths(paths: TfjsWasmPaths): void;
  ort: OrtModule;
  ortNative: OrtModule;
  shaders: Record<string, string>;
}

export interface PageConfig {
  batches: number[];
  runs: number;
  warmup: number;
  only: PeerKey[];
}

/** tfjs-backend-wasm's setWasmPaths: a folder prefix, or each binary's URL by its file name */
export type TfjsWasmPaths = string | Record<string, string>;
/** ort.env.wasm.wasmPaths: a folder prefix, or the binary's URL ({ wasm }: the bundled builds embed their loader) */
export type OrtWasmPaths = string | { wasm: string };

/**
 * Points each wasm runtime of a page (or a worker) at its binaries, served from the page's own origin, and sets every
 * one to a single thread, as in Node (ORT's binary is still built with shared memory: the page must be cross-origin
 * isolated for it).
 */
export function setUpBrowserWasm(
  m: { tf?: Tf | null; setWasmPaths?(paths: TfjsWasmPaths): void; ort?: OrtModule | null; ortNative?: OrtModule | null },
  paths: { tfjs?: TfjsWasmPaths; ort?: OrtWasmPaths; ortNative?: OrtWasmPaths },
): void {
  if (m.tf && m.setWasmPaths && paths.tfjs !== undefined) {
    m.setWasmPaths(paths.tfjs);
    m.tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  for (const [ort, where] of [[m.ort, paths.ort], [m.ortNative, paths.ortNative]] as const) {
    if (!ort) continue;
    ort.env.wasm.numThreads = 1;
    if (where !== undefined) ort.env.wasm.wasmPaths = where;
  }
}

export type PageState = { done: false } | { done: true; result: PeersResult } | { done: true; error: string };

/** Paths the server (browser.ts) serves the wasm binaries and the weights under. */
export const SERVED = { tfjsWasm: '/tfjs-wasm/', ort: '/ort/', weights: '/weights/squeezenet1.1.onnx' };

export async function runPage(deps: PageDeps): Promise<void> {
  const w = globalThis as unknown as { __peers: PageState };
  w.__peers = { done: false };
  const log = (line: string): void => console.log(`[peers] ${line}`);
  try {
    const config = JSON.parse(new URLSearchParams(location.search).get('config') ?? '{}') as PageConfig;
    const adapters = trackAdapters(navigator.gpu);
    registerShaders(deps.shaders);
    setUpBrowserWasm(deps, { tfjs: SERVED.tfjsWasm, ort: SERVED.ort, ortNative: SERVED.ort });
    const response = await fetch(SERVED.weights);
    if (!response.ok) throw new Error(`GET ${SERVED.weights}: ${response.status}`);
    const gpu = await createDevice();
    const result = await runPeerModels({
      gpu,
      models: [{ name: SQUEEZENET, bytes: new Uint8Array(await response.arrayBuffer()) }],
      modules: { tf: deps.tf, ort: deps.ort, ortNative: deps.ortNative, loadErrors: {} },
      only: config.only,
      batches: config.batches,
      runs: config.runs,
      warmup: config.warmup,
      environment: `browser: ${navigator.userAgent}`,
      machine: `${navigator.hardwareConcurrency} logical cores`,
      problems: [],
      log,
    });
    result.problems.push(...adapterProblems(adapters.distinct()));
    w.__peers = { done: true, result };
  } catch (e) {
    log(`failed: ${errorLine(e)}`);
    w.__peers = { done: true, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
}
