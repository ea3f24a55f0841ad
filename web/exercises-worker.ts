/**
 * The exercises page's engine: a WebGPU device, SqueezeNet loaded with each op as a node of its own (so that a
 * student's ReLU reaches every ReLU, which the main page's model fuses into its convolutions), and one sample image.
 * It checks submissions and compares saliency maps with the library (src/teaching/exercises.ts); this file only
 * translates messages.
 */
import { createDevice, type Gpu } from '../src/gpu/device.js';
import { PixelpropError } from '../src/gpu/errors.js';
import { registerShaders } from '../src/gpu/shaders.js';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { decodeImageBlob } from '../src/image/browser-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { checkSubmission, compareSaliency } from '../src/teaching/exercises.js';
import type { ExerciseRequests, ExerciseResults, FromExerciseWorker, ToExerciseWorker } from './exercises-protocol.js';

registerShaders(import.meta.glob<string>('../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }));

const scope = self as unknown as DedicatedWorkerGlobalScope;

let engine: { gpu: Gpu; model: Model; x: Tensor } | null = null;

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url).catch((e: Error) => {
    throw new PixelpropError(`cannot fetch ${url}: ${e.message}`);
  });
  if (!response.ok) throw new PixelpropError(`cannot fetch ${url}: HTTP ${response.status}`);
  return response;
}

async function init({ modelUrl, imageUrl }: ExerciseRequests['init']): Promise<ExerciseResults['init']> {
  const gpu = await createDevice();
  const model = Model.load(gpu, new Uint8Array(await (await fetchOk(modelUrl)).arrayBuffer()), { fuseActivations: false, fuseConcats: false });
  const name = imageUrl.replace(/^.*\//, '');
  const image = await decodeImageBlob(await (await fetchOk(imageUrl)).blob(), {}, name);
  const size = model.imageSize();
  const x = Tensor.from(gpu, [1, 3, size, size], preprocess(image, { size }), name);
  engine = { gpu, model, x };
  return { adapter: gpu.adapterName, image: name };
}

function ready(): NonNullable<typeof engine> {
  if (!engine) throw new PixelpropError('the engine is not started yet');
  return engine;
}

async function handle(message: ToExerciseWorker): Promise<unknown> {
  switch (message.op) {
    case 'init':
      return init(message.request);
    case 'check':
      return checkSubmission(ready().gpu, message.request.exercise, message.request.source);
    case 'saliency': {
      const { model, x } = ready();
      return compareSaliency(model, x, message.request.exercise, message.request.source);
    }
  }
}

let queue = Promise.resolve();
scope.onmessage = (ev: MessageEvent<ToExerciseWorker>) => {
  const message = ev.data;
  queue = queue.then(async () => {
    try {
      const result = await handle(message);
      const maps = message.op === 'saliency' ? [(result as ExerciseResults['saliency']).engineMap.buffer, (result as ExerciseResults['saliency']).studentMap.buffer] : [];
      scope.postMessage({ id: message.id, result } satisfies FromExerciseWorker, maps as ArrayBuffer[]);
    } catch (e) {
      scope.postMessage({ id: message.id, error: e instanceof Error ? e.message : String(e) } satisfies FromExerciseWorker);
    }
  });
};
