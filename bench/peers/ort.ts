/**
 * The onnxruntime-web peer: the unchanged model file (weights/squeezenet1.1.onnx, MobileNetV2's) in an InferenceSession on the webgpu execution
 * provider (the same Dawn/browser GPU object pixelprop uses) or the wasm one (CPU, one thread), with ORT's default
 * session options (graph optimizations on), the input handed over as a CPU tensor and the scores read back, as an
 * ORT user writes it. ORT has no autodiff in the browser/Node packages: forward only.
 *
 * Batch: the file declares its input [1,3,224,224], its output [1,K] (K = 1000 for SqueezeNet, 1001 for
 * MobileNetV2), and a Reshape whose target is the constant [1, K]; ORT checks inputs against the declared dims. `withBatch` writes a copy with those three set to the
 * batch (onnx-proto), which is all a user would change.
 */
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import { benchmarkInput, wallClock, type PreparedRuntime, type Runtime } from './common.js';

const { onnx } = onnxProto;

/** The part of onnxruntime-web's API this file uses (its own typings are ambient module declarations). */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  dispose?(): void;
}
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
export interface OrtModule {
  env: { wasm: { numThreads?: number; wasmPaths?: unknown; proxy?: boolean }; logLevel?: string; versions?: { web?: string } };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, options: { executionProviders: string[] }): Promise<OrtSession> };
}

function dimValue(v: unknown): number {
  return typeof v === 'number' ? v : Number((v as { toString(): string }).toString());
}

/** A copy of the model whose input, output and constant Reshape target say `batch` where they said the old batch. */
export function withBatch(bytes: Uint8Array, batch: number): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const input = (graph.input ?? []).find((v) => !initializerNames.has(v.name!));
  const output = graph.output?.[0];
  const inputDims = input?.type?.tensorType?.shape?.dim;
  const outputDims = output?.type?.tensorType?.shape?.dim;
  if (!inputDims?.[0] || !outputDims?.[0]) throw new Error('the model declares no input/output shape to change');
  const old = dimValue(inputDims[0].dimValue);
  inputDims[0].dimValue = batch;
  outputDims[0].dimValue = batch;
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Reshape') continue;
    const target = (graph.initializer ?? []).find((t) => t.name === node.input![1]);
    if (!target) continue;
    setFirstInt64(target, old, batch);
  }
  return onnx.ModelProto.encode(model).finish();
}

/** Sets the first element of an int64 tensor (int64Data or little-endian rawData) to `value` if it is `from`. */
function setFirstInt64(t: P.ITensorProto, from: number, value: number): void {
  if (t.int64Data && t.int64Data.length > 0) {
    if (dimValue(t.int64Data[0]) === from) t.int64Data[0] = value;
    return;
  }
  if (t.rawData && t.rawData.length >= 8) {
    const raw = new Uint8Array(t.rawData); // a copy: rawData may be a view into the file's bytes
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (Number(view.getBigInt64(0, true)) === from) {
      view.setBigInt64(0, BigInt(value), true);
      t.rawData = raw;
    }
  }
}

export function ortRuntime(ort: OrtModule, ep: 'webgpu' | 'wasm', modelBytes: Uint8Array, name: string, adapter: string): Runtime {
  return {
    name,
    adapter,
    async prepare(batch: number): Promise<PreparedRuntime> {
      const bytes = batch === 1 ? modelBytes : withBatch(modelBytes, batch);
      const session = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
      const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', benchmarkInput(batch), [batch, 3, 224, 224]) };
      const outputName = session.outputNames[0]!;
      const run = async (): Promise<Record<string, OrtTensor>> => session.run(feeds);
      const release = (r: Record<string, OrtTensor>): void => {
        for (const t of Object.values(r)) t.dispose?.();
      };
      return {
        async scores() {
          const r = await run();
          const out = r[outputName]!;
          if (out.dims.length !== 2 || out.dims[0] !== batch) throw new Error(`scores of shape [${out.dims.join(',')}]`);
          const data = new Float32Array(out.data as Float32Array);
          release(r);
          return data;
        },
        timed: { forward: () => wallClock(run, release) },
        missing: { 'forward+backward': 'no autodiff in onnxruntime-web' },
        dispose() {
          void session.release();
        },
      };
    },
  };
}
