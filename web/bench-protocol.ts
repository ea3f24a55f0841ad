/** Messages between the benchmark page (web/bench.ts) and its worker (web/bench-worker.ts). */
import type { BenchResult } from '../bench/result.js';

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
    }
  | { type: 'stop' }
  /** the roofline of a result the page has (an imported one) */
  | { type: 'roofline'; result: BenchResult };

export type FromBenchWorker =
  | { type: 'step'; step: number; what: string }
  | { type: 'done'; result: BenchResult; rooflineSvg: string }
  | { type: 'roofline'; rooflineSvg: string }
  /** an error, or a run stopped before the ceilings (`stopped`): nothing to show */
  | { type: 'failed'; message: string; stopped: boolean };
