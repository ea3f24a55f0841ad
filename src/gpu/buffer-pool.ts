/**
 * A free list of GPU storage buffers keyed by size.
 *
 * Why: an optimization loop runs the same forward and backward hundreds of times, and every op of it needs an output
 * buffer of a size seen in the previous iteration. Creating and destroying GPU buffers each time costs driver work
 * and fragments memory; handing back a released buffer of the same size costs a Map lookup. After the first
 * iteration, a loop that releases what it acquires creates no buffer at all — `stats().created` stays put, which the
 * tests and the benchmark check.
 *
 * Sizes are rounded up to 256 bytes, so a buffer can be larger than the tensor in it; bindings always name the
 * tensor's own byte length so that arrayLength() in WGSL sees the tensor, not the buffer.
 */
import { BufferUsage } from './flags.js';

/** Tensors are storage buffers that can be copied from (read-back) and to (uploads, copies). */
export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export interface PoolStats {
  /** buffers that exist (handed out + waiting in the free lists) */
  liveBuffers: number;
  liveBytes: number;
  /** buffers handed out and not yet released */
  inUseBuffers: number;
  inUseBytes: number;
  /** how many GPUBuffers were ever created: flat across iterations of a loop that allocates nothing */
  created: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly sizeOf = new WeakMap<GPUBuffer, number>();
  private live = 0;
  private liveBytes = 0;
  private inUse = 0;
  private inUseBytes = 0;
  private created = 0;

  constructor(private readonly device: GPUDevice) {}

  static roundSize(bytes: number): number {
    return Math.max(256, Math.ceil(bytes / 256) * 256);
  }

  acquire(bytes: number, label: string): GPUBuffer {
    const size = BufferPool.roundSize(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (!buffer) {
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.sizeOf.set(buffer, size);
      this.live++;
      this.liveBytes += size;
      this.created++;
    } else {
      // Relabel, so that WebGPU's error messages name the tensor that holds the buffer now, not its first owner.
      buffer.label = label;
    }
    this.inUse++;
    this.inUseBytes += size;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = this.sizeOf.get(buffer);
    if (size === undefined) throw new Error('BufferPool.release: buffer does not belong to this pool');
    this.inUse--;
    this.inUseBytes -= size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
  }

  /** Destroys the buffers waiting in the free lists (the caller has submitted any work that used them). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.liveBytes -= this.sizeOf.get(b)!;
        this.live--;
        b.destroy();
      }
    }
    this.free.clear();
  }

  stats(): PoolStats {
    return {
      liveBuffers: this.live,
      liveBytes: this.liveBytes,
      inUseBuffers: this.inUse,
      inUseBytes: this.inUseBytes,
      created: this.created,
    };
  }
}
