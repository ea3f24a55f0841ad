/**
 * The benchmark page's worker: runs bench/measure.ts's benchmark — the command line's measuring code — and draws the
 * roofline (Vega, which compiles expressions with `new Function`: the page's Content-Security-Policy forbids that, a
 * worker's script is not under the page's meta policy). In a worker, too, so that the page stays responsive; Stop
 * takes effect at the next step (a GPU submission in flight is not cancelled).
 */
import { createDevice } from '../src/gpu/device.js';
import { registerShaders } from '../src/gpu/shaders.js';
import { renderSvg } from '../src/charts/index.js';
import { BenchStopped } from '../bench/harness.js';
import { runModelBenchmark } from '../bench/measure.js';
import { checkBenchResult, type BenchResult } from '../bench/result.js';
import { resultRoofline } from '../bench/roofline.js';
import type { FromBenchWorker, ToBenchWorker } from './bench-protocol.js';

registerShaders(import.meta.glob<string>('../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }));

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (m: FromBenchWorker): void => scope.postMessage(m);
let stopRequested = false;

/** A model's ONNX file from the site (weights/, served by web/vite.config.ts), through its description. */
async function fetchModel(descriptionUrl: string): Promise<Uint8Array> {
  const get = async (url: string): Promise<Response> => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`cannot fetch ${url}: HTTP ${response.status}`);
    return response;
  };
  const { onnx } = (await (await get(descriptionUrl)).json()) as { onnx: string };
  return new Uint8Array(await (await get(new URL(onnx, descriptionUrl).href)).arrayBuffer());
}

const roofline = (result: BenchResult): Promise<string> => renderSvg(resultRoofline(result));

async function run(m: Extract<ToBenchWorker, { type: 'run' }>): Promise<void> {
  stopRequested = false;
  let step = 0;
  const result = await runModelBenchmark(
    {
      createGpu: () => createDevice(),
      squeezenet: await fetchModel(m.squeezenetUrl),
      mobilenet: 'url' in m.mobilenet ? await fetchModel(m.mobilenet.url) : m.mobilenet,
      machine: m.machine,
      ...(m.only.length && { onlyKernels: m.only }),
      onStep: (what) => {
        if (stopRequested) throw new BenchStopped(what);
        post({ type: 'step', step: ++step, what });
      },
    },
    { smoke: m.smoke, batches: m.batches, kernels: true, memoryIterations: 0, mobilenet: true },
  );
  // What the page exports is what the command line's --json passes: checked here, before it is shown.
  const checked = checkBenchResult(JSON.parse(JSON.stringify(result)));
  post({ type: 'done', result: checked, rooflineSvg: await roofline(checked) });
}

scope.onmessage = (ev: MessageEvent<ToBenchWorker>) => {
  const m = ev.data;
  if (m.type === 'stop') {
    stopRequested = true;
    return;
  }
  const work = m.type === 'run' ? run(m) : roofline(m.result).then((rooflineSvg) => post({ type: 'roofline', rooflineSvg }));
  work.catch((e: Error) => {
    const stopped = e instanceof BenchStopped;
    post({ type: 'failed', message: stopped ? 'Stopped before the ceilings were measured: nothing to show.' : e.message, stopped });
  });
};
