/**
 * The benchmark page's peers: TF.js and onnxruntime-web beside pixelprop, on the worker's adapter, through the same
 * suite as `npm run bench:peers` (bench/peers/suite.ts: the correctness gate, then interleaved timing). The worker
 * (web/bench-worker.ts) imports this module only when the visitor asks for the peers, and this module imports each
 * runtime only when one of its rows is asked for: a page without peers loads none of their script or wasm.
 *
 * The wasm binaries are emitted into the build by vite (`?url`: same origin, hashed names) and the runtimes pointed
 * at them — never at a CDN, which the site's Content-Security-Policy and the offline promise both rule out. They run
 * in the worker, which is not under the page's meta Content-Security-Policy (a worker's script gets its own policy
 * from its response, and the site sends none), so compiling wasm needs no 'wasm-unsafe-eval' there.
 */
import { createDevice } from '../src/gpu/device.js';
import { adapterProblems, errorLine, trackAdapters, type PeersResult } from '../bench/peers/common.js';
import { setUpBrowserWasm } from '../bench/peers/page.js';
import type { PeerKey, PeerModules } from '../bench/peers/runtimes.js';
import { runPeerModels, type PeerCeilings } from '../bench/peers/suite.js';
import type { OrtModule } from '../bench/peers/ort.js';
// The binaries each runtime loads with one thread: TF.js' SIMD one (its plain one for a browser without wasm SIMD;
// its threaded one is never loaded at one thread, but setWasmPaths refuses a map without it); onnxruntime-web's
// default build (webgpu through JSEP, and wasm) and its native WebGPU EP build.
import tfjsSimdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import tfjsThreadedWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import tfjsWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import ortJsepWasm from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import ortNativeWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';

const ORT_KEYS: readonly PeerKey[] = ['ort-webgpu', 'ort-webgpu-native', 'ort-wasm'];

/**
 * Why onnxruntime-web cannot run here, or null: its wasm is built with shared memory (even at one thread), which a
 * browser gives only to a cross-origin-isolated page and its workers.
 */
export function ortBlocked(isolated: boolean): string | null {
  return isolated
    ? null
    : 'onnxruntime-web rows left out: this page is not cross-origin isolated (its wasm needs shared memory: the server must send COOP/COEP headers, or the site’s service worker must control the page — reload it once)';
}

/** Each runtime's module, imported on demand; one that fails to load is reported as its rows' failure. */
async function loadPeers(only: readonly PeerKey[]): Promise<PeerModules & { setWasmPaths?(paths: string | Record<string, string>): void }> {
  const mods: PeerModules & { setWasmPaths?(paths: string | Record<string, string>): void } = { tf: null, ort: null, ortNative: null, loadErrors: {} };
  const load = async <T>(what: keyof PeerModules['loadErrors'], importer: () => Promise<T>): Promise<T | null> => {
    try {
      return await importer();
    } catch (e) {
      mods.loadErrors[what] = `cannot load: ${errorLine(e)}`;
      return null;
    }
  };
  if (only.some((k) => k.startsWith('tfjs'))) {
    // The same entry as the command line's bundle (core, every gradient, both backends in one kernel registry).
    const entry = await load('tf', () => import('../bench/peers/tfjs-entry.mjs'));
    if (entry) {
      mods.tf = entry.tf;
      mods.setWasmPaths = entry.setWasmPaths;
    }
  }
  if (only.includes('ort-webgpu') || only.includes('ort-wasm')) mods.ort = await load('ort', async () => (await import('onnxruntime-web')) as unknown as OrtModule);
  if (only.includes('ort-webgpu-native')) mods.ortNative = await load('ortNative', async () => (await import('onnxruntime-web/webgpu')) as unknown as OrtModule);
  return mods;
}

export interface PagePeersOptions {
  only: readonly PeerKey[];
  /** SqueezeNet 1.1 first, then MobileNetV2 when the run has it */
  models: { name: string; bytes: Uint8Array }[];
  batches: number[];
  runs: number;
  warmup: number;
  machine: string;
  /** the ceilings pixelprop's rows of this run measured: the peers' rows get their rates against them */
  ceilings: PeerCeilings;
  /** whether the worker can have shared memory (self.crossOriginIsolated) */
  isolated: boolean;
  /** a step: progress, and where a Stop takes effect (it may throw, between the suite's steps) */
  step(what: string): void;
  /** progress within a step (never throws: the suite calls it inside its own error handling) */
  log(line: string): void;
}

/** Runs the peers (none when every one asked for was left out); `notes` says what was left out and why, one line each. */
export async function runPagePeers(o: PagePeersOptions): Promise<{ peers: PeersResult | null; notes: string[] }> {
  const notes: string[] = [];
  let only = o.only;
  const blocked = ortBlocked(o.isolated);
  if (blocked && only.some((k) => ORT_KEYS.includes(k))) {
    notes.push(blocked);
    only = only.filter((k) => !ORT_KEYS.includes(k));
  }
  if (only.length === 0) return { peers: null, notes }; // pixelprop alone against itself says nothing new
  // Before anything asks for an adapter: every adapter handed out is recorded, to say whether all shared one.
  const adapters = trackAdapters(navigator.gpu);
  o.step('peers: loading TF.js and onnxruntime-web');
  const modules = await loadPeers(only);
  setUpBrowserWasm(modules, {
    tfjs: { 'tfjs-backend-wasm-simd.wasm': tfjsSimdWasm, 'tfjs-backend-wasm-threaded-simd.wasm': tfjsThreadedWasm, 'tfjs-backend-wasm.wasm': tfjsWasm },
    ort: { wasm: ortJsepWasm },
    ortNative: { wasm: ortNativeWasm },
  });
  const gpu = await createDevice();
  try {
    const peers = await runPeerModels({
      gpu,
      models: o.models,
      modules,
      only,
      batches: o.batches,
      runs: o.runs,
      warmup: o.warmup,
      environment: `browser: ${navigator.userAgent}`,
      machine: o.machine,
      problems: [],
      ceilings: o.ceilings,
      log: (line) => o.log(`peers: ${line}`),
      step: (what) => o.step(`peers: ${what}`),
    });
    peers.problems.push(...adapterProblems(adapters.distinct()));
    return { peers, notes };
  } finally {
    gpu.destroy();
  }
}
