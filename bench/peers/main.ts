/**
 * `npm run bench:peers`: the adapter's ceilings (bench/ceiling.ts), then pixelprop's model-level rows (forward,
 * forward+backward at batch 1 and 8, as bench/model.ts) for SqueezeNet 1.1 and MobileNetV2 1.0, measured in one process, interleaved, for pixelprop and its peers on the same WebGPU adapter — TF.js (webgpu and
 * wasm backends) and onnxruntime-web (webgpu and wasm execution providers) — after a correctness gate against
 * pixelprop. See docs/peers.md for how each peer was built and checked.
 *
 *   node bench/peers/bundle.mjs && node dist/bench/peers/main.js
 *       [--json] [--smoke] [--browser] [--batches 1,8] [--runs N] [--warmup N] [--only tfjs-webgpu,ort-wasm,...]
 *       [--no-mobilenet]
 *
 * Progress goes to stderr; the table (or with --json one object {machine, adapter, rows, ratios, ...}) to stdout.
 * --browser runs the same suite in headless Chromium (bench/peers/browser.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDevice } from '../../src/index.js';
import { measureCeilings } from '../ceiling.js';
import { findMobilenetV2 } from '../models.js';
import { MOBILENET_V2, SQUEEZENET } from '../result.js';
import { resolveWeights } from '../../src/cli/common.js';
import { argFlag, isMain, machineName } from '../cli.js';
import { adapterProblems, errorLine, formatResult, trackAdapters, type PeersResult } from './common.js';
import { runPeerModels } from './suite.js';
import { parseOnly, type PeerKey, type PeerModules } from './runtimes.js';
import { BUNDLE_DIR, packageDir, type PeersOptions } from './paths.js';
import type { OrtModule } from './ort.js';
import type { Tf } from './tfjs.js';

function argValue(name: string): string | null {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
}

export function parseOptions(): PeersOptions {
  const smoke = argFlag('smoke');
  const num = (name: string, fallback: number): number => {
    const v = argValue(name);
    if (v === null) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} wants a whole number, got '${v}'`);
    return n;
  };
  // In the browser WebGPU runs on SwiftShader, 5-10× slower than lavapipe: batch 8 would take about an hour there.
  const batches = (argValue('batches') ?? (smoke || argFlag('browser') ? '1' : '1,8')).split(',').map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--batches wants batch sizes like 1,8`);
  const runs = num('runs', smoke ? 1 : 7);
  if (runs < 1) throw new Error('--runs must be at least 1');
  return { batches, runs, warmup: num('warmup', smoke ? 0 : 2), only: parseOnly(argValue('only')), mobilenet: !argFlag('no-mobilenet') };
}

type DawnModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };

let adapters: { distinct(): string[] } | null = null;

/**
 * One Dawn GPU object as navigator.gpu for everyone: pixelprop's createDevice takes navigator.gpu when there is one,
 * TF.js' webgpu backend registers itself only if it sees one, and ORT's webgpu EPs request their adapter from it.
 */
async function installNavigatorGpu(): Promise<void> {
  const moduleName = 'webgpu';
  const dawn = (await import(moduleName)) as DawnModule;
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  adapters = trackAdapters(gpu);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });

  // onnxruntime-web hands queue.writeBuffer its wasm memory (a SharedArrayBuffer, or a view of one: its wasm is
  // built with shared memory even at one thread); Dawn's Node bindings reject shared memory ("Invalid argument" /
  // "no overload matched"), browsers accept it. Copy such data first; other callers (pixelprop, TF.js) never pass
  // shared memory, for them this is one type check per upload.
  const queueProto = (dawn.globals.GPUQueue as { prototype: GPUQueue }).prototype;
  const writeBuffer = queueProto.writeBuffer;
  queueProto.writeBuffer = function (this: GPUQueue, ...args: Parameters<GPUQueue['writeBuffer']>) {
    const [buffer, offset, data, dataOffset, size] = args;
    const raw = data as unknown;
    const shared = raw instanceof SharedArrayBuffer || (ArrayBuffer.isView(raw) && raw.buffer instanceof SharedArrayBuffer);
    if (!shared) return writeBuffer.apply(this, args);
    const bytes = raw instanceof SharedArrayBuffer ? new Uint8Array(raw) : new Uint8Array((raw as ArrayBufferView).buffer, (raw as ArrayBufferView).byteOffset, (raw as ArrayBufferView).byteLength);
    const unit = raw instanceof SharedArrayBuffer ? 1 : ((raw as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1);
    const start = (dataOffset ?? 0) * unit;
    const length = size === undefined ? bytes.byteLength - start : size * unit;
    return writeBuffer.call(this, buffer, offset, bytes.slice(start, start + length));
  } as GPUQueue['writeBuffer'];
}

async function loadPeers(only: readonly PeerKey[]): Promise<PeerModules> {
  const mods: PeerModules = { tf: null, ort: null, ortNative: null, loadErrors: {} };
  if (only.some((k) => k.startsWith('tfjs'))) {
    try {
      const bundle = pathToFileURL(join(BUNDLE_DIR, 'tfjs-node.mjs')).href;
      const { tf, setWasmPaths } = (await import(bundle)) as { tf: Tf; setWasmPaths(prefix: string): void };
      setWasmPaths(`${packageDir('@tensorflow/tfjs-backend-wasm')}/`);
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // one thread: the single-threaded SIMD binary
      mods.tf = tf;
    } catch (e) {
      mods.loadErrors.tf = `cannot load the TF.js bundle (npm run bench:peers builds it with bench/peers/bundle.mjs): ${errorLine(e)}`;
    }
  }
  if (only.includes('ort-webgpu') || only.includes('ort-wasm')) {
    try {
      // Node's resolution of 'onnxruntime-web' picks its Node build, which has no webgpu EP; the default browser
      // build (what `import 'onnxruntime-web'` gives a page) runs in Node too.
      const ort = (await import(pathToFileURL(join(packageDir('onnxruntime-web'), 'ort.bundle.min.mjs')).href)) as OrtModule;
      ort.env.wasm.numThreads = 1;
      mods.ort = ort;
    } catch (e) {
      mods.loadErrors.ort = errorLine(e);
    }
  }
  if (only.includes('ort-webgpu-native')) {
    try {
      const name = 'onnxruntime-web/webgpu';
      const ort = (await import(name)) as OrtModule;
      ort.env.wasm.numThreads = 1;
      mods.ortNative = ort;
    } catch (e) {
      mods.loadErrors.ortNative = errorLine(e);
    }
  }
  return mods;
}

export async function nodePeers(options: PeersOptions, log: (line: string) => void): Promise<PeersResult> {
  const problems: string[] = [];
  await installNavigatorGpu();
  if (options.only.some((k) => k.startsWith('ort-webgpu'))) {
    problems.push('workaround: Dawn (Node) rejects writeBuffer from ORT\'s shared wasm memory; main.ts copies such data first');
  }
  const { model: squeezenetPath } = await resolveWeights(undefined, true);
  const models = [{ name: SQUEEZENET, path: squeezenetPath }];
  if (options.mobilenet) {
    const found = findMobilenetV2();
    if ('missing' in found) problems.push(found.missing);
    else models.push({ name: MOBILENET_V2, path: found.path });
  }
  const gpu = await createDevice();
  const ceilings = await measureCeilings(gpu, { smoke: options.runs <= 1 });
  log(`adapter ceilings: peak FMA ${ceilings.gmacPerS.toFixed(1)} G multiply-add/s, stream read ${ceilings.readGBps.toFixed(1)} GB/s, copy ${ceilings.copyGBps.toFixed(1)} GB/s`);
  const peers = await loadPeers(options.only);
  const result = await runPeerModels({
    ...options,
    gpu,
    models: models.map((m) => ({ name: m.name, bytes: new Uint8Array(readFileSync(m.path)) })),
    modules: peers,
    environment: `Node ${process.versions.node}, webgpu (Dawn) npm package`,
    machine: machineName(),
    problems,
    ceilings,
    log,
  });
  result.problems.push(...adapterProblems(adapters!.distinct()));
  return result;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const t0 = performance.now();
  const log = (line: string): void => void process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  let result: PeersResult;
  if (argFlag('browser')) {
    const { browserPeers } = await import('./browser.js');
    result = await browserPeers(options, log);
  } else {
    result = await nodePeers(options, log);
  }
  console.log(argFlag('json') ? JSON.stringify(result, null, 2) : formatResult(result));
  // A peer that failed, or failed the gate, is a broken benchmark (CI runs --smoke): say so in the exit status.
  const broken = result.rows.filter((r) => r.status === 'failed' || r.status === 'invalid');
  for (const r of broken) log(`${r.runtime} ${r.row} batch ${r.batch}: ${r.status}: ${r.note ?? ''}`);
  // Dawn, TF.js and ORT hold devices and wasm instances that keep the event loop alive: the result is out, leave.
  process.exit(broken.length ? 1 : 0);
}

if (isMain(import.meta.url)) {
  await main().catch((e: unknown) => {
    process.stderr.write(`bench:peers: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(2);
  });
}
