/** Messages between the benchmark page (web/bench.ts) and its worker (web/bench-worker.ts). */
import type { BenchResult } from '../bench/result.js';
import type { PeerKey } from '../bench/peers/runtimes.js';

export type ToBenchWorker =
  | {
      type: 'run';
      smoke: boolean;
      batches: number[];
      /** MobileNetV2's rows: its description's URL, or why they are left out */
      mobilenet: { url: string } | { missing: string };
      /** SqueezeNet 1.1's description (weights/NAME.json), an absolute URL: the worker's own URL is under assets/ */
      squeezenetUrl: string;
      machine: string;
      only: string[];
      /** TF.js and onnxruntime-web runtimes to run after pixelprop's rows, on SqueezeNet 1.1 (none: no peers) */
      peers: PeerKey[];
      /** the peers on MobileNetV2 too, when the run has its rows */
      peersOnMobilenet: boolean;
    }
  | { type: 'stop' }
  /** the roofline of a result the page has (an imported one) */
  | { type: 'roofline'; result: BenchResult };

export type FromBenchWorker =
  /** a step of the run; `detail`: progress within the current step (the peers' log lines), the step count unchanged */
  | { type: 'step'; step: number; what: string; detail?: boolean }
  | { type: 'done'; result: BenchResult; rooflineSvg: string }
  | { type: 'roofline'; rooflineSvg: string }
  /** an error, or a run stopped before the ceilings (`stopped`): nothing to show */
  | { type: 'failed'; message: string; stopped: boolean };
