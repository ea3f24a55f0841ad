/**
 * A float32 tensor in a GPU storage buffer, row-major (images are NCHW).
 *
 * Ownership is a reference count: whoever creates a tensor holds one reference and `dispose()` gives it up; the tape
 * `retain()`s the tensors a backward will need and disposes them after that backward has run. When the count reaches
 * zero the buffer goes back to the pool, and any later use of the tensor is an error naming it — the bug of reading a
 * recycled buffer is caught where it happens instead of showing up as wrong numbers somewhere else.
 *
 * Size. A tensor lives in one buffer (at most maxBufferSize bytes), and a kernel binds it whole (at most
 * maxStorageBufferBindingSize, often less) — except Gemm and MatMul, which bind windows of an operand. A tensor made
 * with `inParts` may even be larger than one buffer: its first-axis slices are spread over several (VGG16's 392 MiB
 * classifier weight on a device whose buffers hold 256 MiB).
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

/** Elements [first, first + size) of a tensor, held in `buffer` from its byte 0. */
export interface TensorPart {
  buffer: GPUBuffer;
  first: number;
  size: number;
}

export interface TensorOptions {
  /**
   * Store a tensor larger than one buffer of the device in several, each holding whole slices along the first axis
   * (rows of a matrix). Only Gemm and MatMul read such a tensor (src/kernels/gemm.ts, in windows of each part); without
   * this option a tensor larger than one buffer is refused.
   */
  inParts?: boolean;
}

export class Tensor {
  readonly size: number;
  /** Read by the tape: ops record a backward only when one of their inputs requires a gradient. */
  requiresGrad = false;
  /** the buffer (the first part's, for a tensor in parts): null once disposed */
  private buf: GPUBuffer | null;
  /** for a tensor stored in several buffers: its parts, in order */
  private readonly split: TensorPart[] | null = null;
  private refs = 1;
  /** For a reshaped view: the tensor whose buffer this one shares (held by one reference until the view goes). */
  private readonly owner: Tensor | null;

  private constructor(
    readonly gpu: Gpu,
    readonly shape: Shape,
    public name: string,
    owner: Tensor | null = null,
    options: TensorOptions = {},
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
    // Beyond a buffer, a tensor asked for in parts is stored as slices of its first axis, each in a buffer of its own.
    if (bytes > gpu.bufferLimit) {
      const sliceBytes = bytes / shape[0]!;
      if (!options.inParts || shape.length < 2 || sliceBytes > gpu.bufferLimit) {
        const why = options.inParts && shape.length >= 2 ? `; one slice [${shape.slice(1).join(',')}] of it needs ${fmtBytes(sliceBytes)}` : '';
        throw new PixelpropError(
          `tensor '${name}' ${fmtShape(shape)} needs ${fmtBytes(bytes)}, more than this device allows in one buffer (${fmtBytes(gpu.bufferLimit)})${why}`,
        );
      }
      const perPart = Math.floor(gpu.bufferLimit / sliceBytes);
      const sliceSize = this.size / shape[0]!;
      this.split = [];
      for (let r = 0; r < shape[0]!; r += perPart) {
        const rows = Math.min(perPart, shape[0]! - r);
        this.split.push({ buffer: gpu.pool.acquire(rows * sliceBytes, `${name}[${r}:${r + rows}]`), first: r * sliceSize, size: rows * sliceSize });
      }
      this.buf = this.split[0]!.buffer;
      return;
    }
    this.buf = gpu.pool.acquire(bytes, name);
  }

  /** A tensor whose contents are undefined (a recycled buffer): for kernel outputs that write every element. */
  static empty(gpu: Gpu, shape: Shape, name = 'tensor', options: TensorOptions = {}): Tensor {
    return new Tensor(gpu, [...shape], name, null, options);
  }

  static zeros(gpu: Gpu, shape: Shape, name = 'zeros', options: TensorOptions = {}): Tensor {
    const t = new Tensor(gpu, [...shape], name, null, options);
    for (const p of t.parts) gpu.clear(p.buffer, p.size * 4);
    return t;
  }

  static from(gpu: Gpu, shape: Shape, data: ArrayLike<number>, name = 'tensor', options: TensorOptions = {}): Tensor {
    const n = sizeOf(shape);
    check(data.length === n, () => `tensor '${name}': ${data.length} values do not fill shape ${fmtShape(shape)} (${n})`);
    const t = new Tensor(gpu, [...shape], name, null, options);
    t.upload(data);
    return t;
  }

  /** Overwrites the contents from the CPU. */
  upload(data: ArrayLike<number>): void {
    check(data.length === this.size, () => `tensor '${this.name}': ${data.length} values for ${this.size} elements`);
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    for (const p of this.parts) this.gpu.write(p.buffer, p.first === 0 && p.size === this.size ? f32 : f32.subarray(p.first, p.first + p.size));
  }

  get bytes(): number {
    return this.size * 4;
  }

  /** The one buffer that holds the tensor (an error for a tensor in parts: see `parts`). */
  get buffer(): GPUBuffer {
    if (!this.buf) throw new PixelpropError(`tensor '${this.name}' ${fmtShape(this.shape)} was used after dispose`);
    if (this.split && this.split.length > 1) {
      throw new PixelpropError(
        `tensor '${this.name}' ${fmtShape(this.shape)} (${fmtBytes(this.bytes)}) is stored in ${this.split.length} buffers, being larger than one ` +
          `buffer of this device (${fmtBytes(this.gpu.bufferLimit)}); only Gemm and MatMul read it, part by part`,
      );
    }
    return this.buf;
  }

  /** The buffers that hold the tensor, each with the elements it holds: one, unless it was made in parts. */
  get parts(): readonly TensorPart[] {
    if (!this.buf) throw new PixelpropError(`tensor '${this.name}' ${fmtShape(this.shape)} was used after dispose`);
    return this.split ?? [{ buffer: this.buf, first: 0, size: this.size }];
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
    void this.parts; // throws when already disposed
    this.refs++;
    return this;
  }

  dispose(): void {
    if (!this.buf) throw new PixelpropError(`tensor '${this.name}' ${fmtShape(this.shape)} was disposed twice`);
    if (--this.refs === 0) {
      if (this.owner) this.owner.dispose();
      else for (const p of this.parts) this.gpu.pool.release(p.buffer);
      this.buf = null;
    }
  }

  async read(): Promise<Float32Array> {
    if (!this.split) return new Float32Array(await this.gpu.read(this.buffer, this.bytes));
    const out = new Float32Array(this.size);
    for (const p of this.parts) out.set(new Float32Array(await this.gpu.read(p.buffer, p.size * 4)), p.first);
    return out;
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
