/**
 * The benchmark page's worker: runs bench/measure.ts's benchmark — the command line's measuring code —, then, when
 * asked, TF.js and onnxruntime-web beside pixelprop (web/bench-peers.ts, loaded only then), and draws the
 * roofline (Vega, which compiles expressions with `new Function`: the page's Content-Security-Policy forbids that, a
 * worker's script is not under the page's meta policy). In a worker, too, so that the page stays responsive; Stop
 * takes effect at the next step (a GPU submission in flight is not cancelled).
 */
import { createDevice } from '../src/gpu/device.js';
import { registerShaders } from '../src/gpu/shaders.js';
import { renderSvg } from '../src/charts/index.js';
import { BenchStopped } from '../bench/harness.js';
import { runModelBenchmark } from '../bench/measure.js';
import { checkBenchResult, MOBILENET_V2, SQUEEZENET, type BenchResult } from '../bench/result.js';
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

/**
 * TF.js and onnxruntime-web after pixelprop's rows, on its models (MobileNetV2 if asked), batches and runs, into `result.peers`; the
 * code and the runtimes load only now (web/bench-peers.ts). A stop or a failure keeps pixelprop's rows, with a note.
 */
async function addPeers(result: BenchResult, m: Extract<ToBenchWorker, { type: 'run' }>, [squeezenet, mobilenet]: [Uint8Array, Uint8Array | { missing: string }], onStep: (what: string) => void): Promise<void> {
  try {
    onStep('peers: loading their code');
    const { runPagePeers } = await import('./bench-peers.js');
    const { peers, notes } = await runPagePeers({
      only: m.peers,
      models: [{ name: SQUEEZENET, bytes: squeezenet }, ...(m.peersOnMobilenet && mobilenet instanceof Uint8Array ? [{ name: MOBILENET_V2, bytes: mobilenet }] : [])],
      batches: m.batches,
      // as many runs as pixelprop's rows had (bench/measure.ts: 1 and no warm-up in smoke mode, else 2 + 7)
      runs: m.smoke ? 1 : 7,
      warmup: m.smoke ? 0 : 2,
      machine: m.machine,
      ceilings: result.ceilings,
      isolated: scope.crossOriginIsolated,
      step: onStep,
      log: (line) => post({ type: 'step', step: 0, what: line, detail: true }),
    });
    result.notes.push(...notes);
    if (peers) result.peers = peers;
  } catch (e) {
    result.notes.push(e instanceof BenchStopped ? `stopped before: ${e.during}` : `peers failed: ${(e as Error).message.split('\n')[0]}`);
  }
}

const roofline = (result: BenchResult): Promise<string> => renderSvg(resultRoofline(result));

async function run(m: Extract<ToBenchWorker, { type: 'run' }>): Promise<void> {
  stopRequested = false;
  let step = 0;
  const onStep = (what: string): void => {
    if (stopRequested) throw new BenchStopped(what);
    post({ type: 'step', step: ++step, what });
  };
  const squeezenet = await fetchModel(m.squeezenetUrl);
  const mobilenet = 'url' in m.mobilenet ? await fetchModel(m.mobilenet.url) : m.mobilenet;
  const result = await runModelBenchmark(
    { createGpu: () => createDevice(), squeezenet, mobilenet, machine: m.machine, ...(m.only.length && { onlyKernels: m.only }), onStep },
    { smoke: m.smoke, batches: m.batches, kernels: true, memoryIterations: 0, mobilenet: true },
  );
  if (m.peers.length && !result.notes.some((n) => n.startsWith('stopped'))) await addPeers(result, m, [squeezenet, mobilenet], onStep);
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
