/**
 * A float32 tensor in a GPU storage buffer, row-major (images are NCHW).
 *
 * Ownership is a reference count: whoever creates a tensor holds one reference and `dispose()` gives it up; the tape
 * `retain()`s the tensors a backward will need and disposes them after that backward has run. When the count reaches
 * zero the buffer goes back to the pool, and any later use of the tensor is an error naming it — the bug of reading a
 * recycled buffer is caught where it happens instead of showing up as wrong numbers somewhere else.
 */
import type { Gpu } from './device.js';
import { PixelpropError, check, fmtBytes, fmtShape } from './errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function checkShape(shape: Shape, what: string): void {
  check(
    Array.isArray(shape) && shape.length > 0 && shape.every((d) => Number.isInteger(d) && d > 0),
    () => `${what}: shape ${fmtShape(shape ?? [])} must be a non-empty list of positive integers`,
  );
}

export class Tensor {
  readonly size: number;
  /** Read by the tape: ops record a backward only when one of their inputs requires a gradient. */
  requiresGrad = false;
  private buf: GPUBuffer | null;
  private refs = 1;
  /** For a reshaped view: the tensor whose buffer this one shares (held by one reference until the view goes). */
  private readonly owner: Tensor | null;

  private constructor(
    readonly gpu: Gpu,
    readonly shape: Shape,
    public name: string,
    owner: Tensor | null = null,
  ) {
    checkShape(shape, `tensor '${name}'`);
    this.size = sizeOf(shape);
    this.owner = owner;
    if (owner) {
      this.buf = owner.retain().buffer;
      return;
    }
    const bytes = this.size * 4;
    // Two limits: a buffer (maxBufferSize) holds the tensor, a binding (maxStorageBufferBindingSize, often smaller)
    // is what one kernel sees of it. A tensor between the two exists, and only kernels that bind it in windows read it.
    if (bytes > gpu.bufferLimit) {
      throw new PixelpropError(
        `tensor '${name}' ${fmtShape(shape)} needs ${fmtBytes(bytes)}, more than this device allows in one buffer (${fmtBytes(gpu.bufferLimit)})`,
      );
    }
    this.buf = gpu.pool.acquire(bytes, name);
  }

  /** A tensor whose contents are undefined (a recycled buffer): for kernel outputs that write every element. */
  static empty(gpu: Gpu, shape: Shape, name = 'tensor'): Tensor {
    return new Tensor(gpu, [...shape], name);
  }

  static zeros(gpu: Gpu, shape: Shape, name = 'zeros'): Tensor {
    const t = new Tensor(gpu, [...shape], name);
    gpu.clear(t.buffer, t.bytes);
    return t;
  }

  static from(gpu: Gpu, shape: Shape, data: ArrayLike<number>, name = 'tensor'): Tensor {
    const n = sizeOf(shape);
    check(data.length === n, () => `tensor '${name}': ${data.length} values do not fill shape ${fmtShape(shape)} (${n})`);
    const t = new Tensor(gpu, [...shape], name);
    t.upload(data);
    return t;
  }

  /** Overwrites the contents from the CPU. */
  upload(data: ArrayLike<number>): void {
    check(data.length === this.size, () => `tensor '${this.name}': ${data.length} values for ${this.size} elements`);
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    this.gpu.write(this.buffer, f32);
  }

  get bytes(): number {
    return this.size * 4;
  }

  get buffer(): GPUBuffer {
    if (!this.buf) throw new PixelpropError(`tensor '${this.name}' ${fmtShape(this.shape)} was used after dispose`);
    return this.buf;
  }

  /** Whether a kernel can bind the whole tensor at once (see Gpu.bindingLimit). */
  get fitsBinding(): boolean {
    return this.bytes <= this.gpu.bindingLimit;
  }

  /**
   * The binding of exactly this tensor's bytes (its pooled buffer may be larger). A tensor larger than one binding has
   * none: a kernel that cannot take it in windows fails here, naming it, rather than in WebGPU's validation.
   */
  get binding(): { buffer: GPUBuffer; size: number } {
    if (!this.fitsBinding) {
      throw new PixelpropError(
        `tensor '${this.name}' ${fmtShape(this.shape)} (${fmtBytes(this.bytes)}) is larger than one storage binding of this device ` +
          `(${fmtBytes(this.gpu.bindingLimit)}); only Gemm and MatMul read such a tensor, in windows`,
      );
    }
    return { buffer: this.buffer, size: this.bytes };
  }

  get disposed(): boolean {
    return this.buf === null;
  }

  retain(): this {
    void this.buffer; // throws when already disposed
    this.refs++;
    return this;
  }

  dispose(): void {
    if (!this.buf) throw new PixelpropError(`tensor '${this.name}' ${fmtShape(this.shape)} was disposed twice`);
    if (--this.refs === 0) {
      if (this.owner) this.owner.dispose();
      else this.gpu.pool.release(this.buf);
      this.buf = null;
    }
  }

  async read(): Promise<Float32Array> {
    return new Float32Array(await this.gpu.read(this.buffer, this.bytes));
  }

  /** The same buffer seen with another shape of the same size (Reshape, Flatten): no copy. */
  reshape(shape: Shape, name = this.name): Tensor {
    checkShape(shape, `reshape of '${this.name}'`);
    check(sizeOf(shape) === this.size, () => `cannot reshape '${this.name}' ${fmtShape(this.shape)} to ${fmtShape(shape)}`);
    return new Tensor(this.gpu, [...shape], name, this);
  }

  toString(): string {
    return `${this.name}${fmtShape(this.shape)}`;
  }
}
