/**
 * GPU time per dispatch from timestamp queries (the adapter's `timestamp-query` feature).
 *
 * While `gpu.profiler` is set, every dispatch runs in a compute pass of its own whose beginning and end write a
 * timestamp; `collect()` reads them back and pairs them with the labels. One pass per dispatch costs a little, so
 * profiled timings are for attributing time to kernels, and model-level benchmarks time unprofiled runs.
 */
import { BufferUsage } from './flags.js';
export interface KernelTime {
  label: string;
  ms: number;
}

export class Profiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private readonly labels: string[] = [];
  private resolved = 0;

  constructor(
    device: GPUDevice,
    private readonly capacity = 2048, // pairs of queries; WebGPU allows 4096 queries per set
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: capacity * 2 });
    this.resolveBuffer = device.createBuffer({
      size: capacity * 16,
      usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
    });
  }

  /** Timestamp writes for the next pass, or undefined once the query set is full (that dispatch goes untimed). */
  writesFor(label: string): GPUComputePassTimestampWrites | undefined {
    if (this.labels.length >= this.capacity) return undefined;
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Called by Gpu.flush before it submits: resolves the queries written since the last flush. */
  resolve(encoder: GPUCommandEncoder): void {
    const n = this.labels.length;
    if (n > this.resolved) {
      // resolveQuerySet's destination offset must be a multiple of 256 bytes (16 pairs): a flush in the middle of a
      // profiled pass (a read-back) may have resolved up to any pair, so start at the 16-pair boundary below it and
      // resolve those few pairs again (a query stays valid after it is resolved).
      const from = this.resolved - (this.resolved % 16);
      encoder.resolveQuerySet(this.querySet, 2 * from, 2 * (n - from), this.resolveBuffer, 16 * from);
      this.resolved = n;
    }
  }

  /** The time of every dispatch recorded so far, in order; then starts over. */
  async collect(read: (buffer: GPUBuffer, bytes: number) => Promise<ArrayBuffer>): Promise<KernelTime[]> {
    const n = this.labels.length;
    if (n === 0) return [];
    const ticks = new BigUint64Array(await read(this.resolveBuffer, n * 16));
    const out: KernelTime[] = [];
    for (let i = 0; i < n; i++) {
      const ns = ticks[2 * i + 1]! - ticks[2 * i]!;
      out.push({ label: this.labels[i]!, ms: Number(ns) / 1e6 });
    }
    this.labels.length = 0;
    this.resolved = 0;
    return out;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}
