/**
 * The browser side of `npm run bench:peers -- --browser`: the same suite as in Node (suite.ts), run in a page that
 * bundles pixelprop's library (shaders handed over with registerShaders, as a web build does), TF.js and
 * onnxruntime-web (bench/peers/browser-entry.mjs, bundled by bench/peers/bundle.mjs). The page is served by
 * bench/peers/browser.ts, which reads the result from `window.__peers` once `done` is set.
 *
 * Query: ?config={"batches":[1,8],"runs":7,"warmup":2,"only":[...]} (JSON).
 */
import { createDevice, Model, parseOnnx, registerShaders } from '../../src/index.js';
import { adapterProblems, errorLine, trackAdapters, type PeersResult } from './common.js';
import { runSuite } from './suite.js';
import { adapterDescription, assembleRuntimes, type PeerKey } from './runtimes.js';
import type { OrtModule } from './ort.js';
import type { Tf } from './tfjs.js';

export interface PageDeps {
  tf: Tf;
  setWasmPaths(prefix: string): void;
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
    deps.setWasmPaths(SERVED.tfjsWasm);
    deps.tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // one thread, as in Node
    for (const ort of [deps.ort, deps.ortNative]) {
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = SERVED.ort;
    }
    const response = await fetch(SERVED.weights);
    if (!response.ok) throw new Error(`GET ${SERVED.weights}: ${response.status}`);
    const modelBytes = new Uint8Array(await response.arrayBuffer());
    const gpu = await createDevice();
    const model = Model.load(gpu, modelBytes);
    const graph = parseOnnx(modelBytes);
    const problems: string[] = [];
    const runtimes = await assembleRuntimes({
      gpu,
      model,
      graph,
      modelBytes,
      only: config.only,
      problems,
      tf: deps.tf,
      ort: deps.ort,
      ortNative: deps.ortNative,
      loadErrors: {},
    });
    const result = await runSuite(runtimes, {
      batches: config.batches,
      runs: config.runs,
      warmup: config.warmup,
      environment: `browser: ${navigator.userAgent}`,
      machine: `${navigator.hardwareConcurrency} logical cores`,
      adapter: adapterDescription(gpu),
      problems,
      log,
    });
    result.problems.push(...adapterProblems(adapters.distinct()));
    w.__peers = { done: true, result };
  } catch (e) {
    log(`failed: ${errorLine(e)}`);
    w.__peers = { done: true, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
}
