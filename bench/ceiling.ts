/**
 * The adapter's ceilings, measured at the start of every benchmark run (`npm run bench`, `npm run bench:peers`):
 * the peak fused-multiply-add rate and the streaming memory bandwidth (src/kernels/peak.ts, shaders/peak.wgsl).
 * A model's or a kernel's rate is reported as a share of these, measured in the same run on the same adapter under
 * the same machine load — on a shared machine an absolute GFLOP/s says little, a share of what the adapter did a
 * moment earlier says more.
 *
 * Sizing: the FMA kernel's loop count is raised until one dispatch takes at least 5 ms (a fast GPU finishes a fixed
 * size in microseconds, where launch overhead would dominate); no longer, because on a machine shared with other
 * processes a long dispatch is preempted more often than the short kernels it is compared with, and the ceiling would
 * come out below them. The streams use 64 MiB (or what one binding allows): past the last-level cache of CPUs and of
 * all but the largest GPUs (an H100/H200's L2 is 50-60 MB: there read 64 MiB, or copy 64 + 64 MiB, mostly misses).
 */
import { kernels, Tensor, type Gpu } from '../src/index.js';
import { MIB, timeGpu, type Timing } from './harness.js';

const { peak } = kernels;

export interface Ceilings {
  /** peak multiply-adds per second, in G (one FMA = one multiply-add = 2 FLOPs) */
  gmacPerS: number;
  /** the same in GFLOP/s (2 per multiply-add): the roofline's compute roof */
  gflops: number;
  /** bytes read (+ an eighth written) per second, GB/s */
  readGBps: number;
  /** bytes read + written per second by a copy, GB/s */
  copyGBps: number;
  /** the roofline's memory roof: the larger of the two streams */
  gbps: number;
  /** what was run: invocations × loop trips, and the stream's buffer size */
  fma: { invocations: number; iterations: number; medianMs: number };
  streamBytes: number;
  clock: Timing['clock'];
}

export async function measureCeilings(gpu: Gpu, options: { smoke: boolean }): Promise<Ceilings> {
  const runs = options.smoke ? 1 : 7;
  // One warm-up even in smoke mode: a first run includes compiling the pipeline, hundreds of times the kernel's time.
  const warmup = options.smoke ? 1 : 2;
  // The FMA rate a dispatch reaches grows with its length on lavapipe (measured with this kernel: 27 G/s at 10 ms,
  // 35-39 at 60 ms, 40-42 at 200 ms): the ceiling is the rate of a long dispatch, so the loop grows to 50 ms.
  const minMs = options.smoke ? 2 : 50;
  // 2^16 invocations = 256 workgroups: more than enough to fill a GPU's cores; lavapipe runs them on its threads.
  const invocations = 2 ** 16;
  let iterations = 16;
  let fma: Timing;
  for (;;) {
    fma = await timeGpu(gpu, () => peak.fmaPeak(gpu, invocations, iterations).out, { runs, warmup });
    if (fma.medianMs >= minMs || iterations >= 2 ** 20) break;
    iterations *= Math.min(16, 2 ** Math.ceil(Math.log2(minMs / Math.max(fma.medianMs, 1e-3))));
  }
  const macs = peak.fmaPeakMacs(invocations, iterations);

  const streamBytes = Math.min(gpu.bindingLimit, (options.smoke ? 16 : 64) * MIB);
  const elements = Math.floor(streamBytes / 4 / 32) * 32;
  const src = Tensor.from(gpu, [elements], new Float32Array(elements).fill(1), 'stream.src');
  let readBytes = 0;
  let copyBytes = 0;
  const read = await timeGpu(gpu, () => {
    const r = peak.streamRead(src);
    readBytes = r.bytes;
    return r.out;
  }, { runs, warmup });
  const copy = await timeGpu(gpu, () => {
    const r = peak.streamCopy(src);
    copyBytes = r.bytes;
    return r.out;
  }, { runs, warmup });
  src.dispose();

  const gmacPerS = macs / (fma.medianMs * 1e6);
  const readGBps = readBytes / (read.medianMs * 1e6);
  const copyGBps = copyBytes / (copy.medianMs * 1e6);
  return {
    gmacPerS,
    gflops: 2 * gmacPerS,
    readGBps,
    copyGBps,
    gbps: Math.max(readGBps, copyGBps),
    fma: { invocations, iterations, medianMs: fma.medianMs },
    streamBytes: 4 * elements,
    clock: fma.clock,
  };
}
