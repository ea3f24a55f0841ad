/**
 * The runtimes of the peer benchmark, assembled from what the environment loaded (Node: main.ts, browser: page.ts).
 * A peer that cannot even be set up still gets its rows, marked failed with the reason.
 */
import type { Gpu, Model } from '../../src/index.js';
import type { OnnxGraph } from '../../src/graph/onnx/ir.js';
import { errorLine, type PeerKey, type Runtime } from './common.js';
import { pixelpropRuntime } from './pixelprop.js';
import { ortRuntime, type OrtModule } from './ort.js';
import { tfjsRuntime, type Tf } from './tfjs.js';

export { PEER_KEYS, parseOnly, type PeerKey } from './common.js';

export interface PeerModules {
  tf: Tf | null;
  /** onnxruntime-web's default build (`import 'onnxruntime-web'` in a browser): webgpu through JSEP, and wasm */
  ort: OrtModule | null;
  /** `onnxruntime-web/webgpu`: the native WebGPU execution provider (ORT's C++ WebGPU EP compiled to wasm) */
  ortNative: OrtModule | null;
  /** why a module is null */
  loadErrors: Partial<Record<'tf' | 'ort' | 'ortNative', string>>;
}

export const CPU_ADAPTER = 'CPU: wasm SIMD, 1 thread';

/** The adapter in a few words for the table ("llvmpipe", "swiftshader"); the result's `adapter` has it in full. */
export function adapterLabel(gpu: Gpu): string {
  const a = gpu.adapter;
  const name = (a.description || a.device || a.architecture || a.vendor || 'unknown').split(/[:(]/)[0]!.trim();
  return `WebGPU: ${name}${a.software ? ' (software)' : ''}`;
}

/** The adapter in full: what every WebGPU runtime here gets from navigator.gpu.requestAdapter(). */
export function adapterDescription(gpu: Gpu): string {
  const a = gpu.adapter;
  if (a.description || a.device) return gpu.adapterName;
  return `${[a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown adapter'}${a.software ? ', software' : ''}`; // browsers say little
}

function failedRuntime(name: string, adapter: string, error: string): Runtime {
  return {
    name,
    adapter,
    prepare: () => Promise.reject(new Error(error)),
  };
}

export async function assembleRuntimes(
  o: { gpu: Gpu; model: Model; graph: OnnxGraph; modelBytes: Uint8Array; only: readonly PeerKey[]; problems: string[] } & PeerModules,
): Promise<Runtime[]> {
  const webgpu = adapterLabel(o.gpu);
  const runtimes: Runtime[] = [pixelpropRuntime(o.gpu, o.model, webgpu)];
  const tfVersion = o.tf?.version_core ?? '4.22';
  const ortVersion = (ort: OrtModule | null): string => ort?.env.versions?.web ?? '1.30';
  const want = (k: PeerKey): boolean => o.only.includes(k);
  const add = async (key: PeerKey, name: string, adapter: string, make: (() => Promise<Runtime> | Runtime) | string): Promise<void> => {
    if (!want(key)) return;
    if (typeof make === 'string') {
      o.problems.push(`${name}: ${make}`);
      runtimes.push(failedRuntime(name, adapter, make));
      return;
    }
    try {
      runtimes.push(await make());
    } catch (e) {
      o.problems.push(`${name}: ${errorLine(e)}`);
      runtimes.push(failedRuntime(name, adapter, errorLine(e)));
    }
  };
  const tf = o.tf;
  const ort = o.ort;
  const ortNative = o.ortNative;
  const tfName = (b: string): string => `TF.js ${tfVersion} ${b}`;
  await add('tfjs-webgpu', tfName('webgpu'), webgpu, tf ? () => tfjsRuntime(tf, 'webgpu', o.graph, tfName('webgpu'), webgpu) : o.loadErrors.tf ?? 'not loaded');
  await add('tfjs-wasm', tfName('wasm'), CPU_ADAPTER, tf ? () => tfjsRuntime(tf, 'wasm', o.graph, tfName('wasm'), CPU_ADAPTER) : o.loadErrors.tf ?? 'not loaded');
  const ortName = (m: OrtModule | null, ep: string): string => `ORT-web ${ortVersion(m)} ${ep}`;
  await add('ort-webgpu', ortName(ort, 'webgpu (JSEP)'), webgpu, ort ? () => ortRuntime(ort, 'webgpu', o.modelBytes, ortName(ort, 'webgpu (JSEP)'), webgpu) : o.loadErrors.ort ?? 'not loaded');
  await add(
    'ort-webgpu-native',
    ortName(ortNative, 'webgpu (native EP)'),
    webgpu,
    ortNative ? () => ortRuntime(ortNative, 'webgpu', o.modelBytes, ortName(ortNative, 'webgpu (native EP)'), webgpu) : o.loadErrors.ortNative ?? 'not loaded',
  );
  await add('ort-wasm', ortName(ort, 'wasm'), CPU_ADAPTER, ort ? () => ortRuntime(ort, 'wasm', o.modelBytes, ortName(ort, 'wasm'), CPU_ADAPTER) : o.loadErrors.ort ?? 'not loaded');
  return runtimes;
}
