/**
 * pixelprop as one of the runtimes of the peer benchmark, timed exactly as bench/model.ts times its model rows
 * (harness.ts `timeGpu` with wall clock): the queue drained before the clock starts, then the work encoded and
 * submitted, then `gpu.sync()` — one run at a time so that the peers can be interleaved with it.
 */
import { classScoreGradient, kernels, Tensor, type Gpu, type Model } from '../../src/index.js';
import { benchmarkClasses, benchmarkInput, PIXELPROP, wallClock, type PreparedRuntime, type Runtime } from './common.js';

export function pixelpropRuntime(gpu: Gpu, model: Model, adapter: string): Runtime {
  return {
    name: PIXELPROP,
    adapter,
    async prepare(batch: number): Promise<PreparedRuntime> {
      const x = Tensor.from(gpu, [batch, 3, 224, 224], benchmarkInput(batch), 'image');
      const classes = benchmarkClasses(batch);
      const sync = (): Promise<void> => gpu.sync();
      return {
        async scores() {
          const y = model.forward(x);
          const data = await y.read();
          y.dispose();
          return data;
        },
        async inputGradient() {
          const { scores, grad } = classScoreGradient(model, x, classes);
          const data = await grad.read();
          scores.dispose();
          grad.dispose();
          return data;
        },
        async referenceGradient() {
          return model.referenceClassScoreGradient(kernels.host([batch, 3, 224, 224], benchmarkInput(batch)), classes).grad.data;
        },
        timed: {
          forward: () =>
            wallClock(
              async () => {
                const y = model.forward(x);
                await gpu.sync();
                return [y];
              },
              (ts) => ts.forEach((t) => t.dispose()),
              sync,
            ),
          'forward+backward': () =>
            wallClock(
              async () => {
                const { scores, grad } = classScoreGradient(model, x, classes);
                await gpu.sync();
                return [scores, grad];
              },
              (ts) => ts.forEach((t) => t.dispose()),
              sync,
            ),
        },
        dispose() {
          x.dispose();
        },
      };
    },
  };
}
