/**
 * The one object that talks to WebGPU: a device, and what every kernel needs from it — a pipeline cache, immutable
 * parameter buffers, a buffer pool, one command encoder that dispatches are recorded into, reads back to the CPU, and
 * an optional timestamp profiler.
 *
 * Execution model. A kernel call does not run anything: it *encodes* a dispatch into the current command encoder.
 * Work reaches the GPU when something needs a result on the CPU (`read`), when the caller says so (`flush`), or
 * before a `queue.writeBuffer` (which the queue would otherwise run before the still-unsubmitted dispatches, while a
 * pooled buffer may be read by one of them and rewritten by the upload), and every `dispatchesPerSubmit` dispatches
 * (16), so that the queue starts on the first layers while the later ones are still being encoded: a forward of
 * SqueezeNet is 2 submits, not 30. (Measured on lavapipe against one submit per forward, the two interleaved, three
 * runs: forward 50.4-55.3 → 47.9-48.3 ms, forward + backward 102.5-106.5 → 96.1-98.3 ms; in the ablation benchmark's
 * run among nine other variants, no difference. On a GPU it is what keeps the GPU busy while the CPU encodes.)
 */
import { BufferPool, type PoolStats } from './buffer-pool.js';
import { PixelpropError, fmtBytes } from './errors.js';
import { hasShaders, linkShaders, loadShadersFromDisk } from './shaders.js';
import { BufferUsage, MapMode } from './flags.js';
import { Profiler, type KernelTime } from './profiler.js';

/**
 * How many immutable uniform and constant buffers the caches keep before they are dropped and rebuilt. A model's
 * forward + backward uses a few hundred distinct uniforms; the caps only bound a program that keeps making new ones
 * (each new image size, each new batch), whose old entries would otherwise live forever.
 */
const MAX_CACHED_UNIFORMS = 8192;
const MAX_CACHED_CONSTANTS = 1024;

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** true for CPU implementations (lavapipe/llvmpipe, SwiftShader): slow, but everything works */
  software: boolean;
  /** the adapter's smallest and largest subgroup sizes (0 when it does not say) */
  subgroupMinSize: number;
  subgroupMaxSize: number;
}

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Node only: the `webgpu` package's create() flags, e.g. ['adapter=SwiftShader'] */
  dawnFlags?: string[];
  /** do not use subgroups even where the adapter has them (tests and benchmarks of the plain kernel variants) */
  noSubgroups?: boolean;
  /**
   * Lower the sizes pixelprop treats as the device's limits (never raise them): tests of the paths that read a tensor
   * larger than one storage binding in windows, and of the refusals, without allocating hundreds of megabytes.
   */
  limitsForTesting?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number };
}

/** What one storage binding, and one buffer, may hold on a device (see Gpu.bindingLimit, Gpu.bufferLimit). */
export interface SizeLimits {
  maxStorageBufferBindingSize?: number;
  maxBufferSize?: number;
}

/** A parameter of a kernel's uniform struct, tagged with its WGSL scalar type. */
export type Param = { t: 'u32' | 'i32' | 'f32'; v: number };
export const u32 = (v: number): Param => ({ t: 'u32', v });
export const i32 = (v: number): Param => ({ t: 'i32', v });
export const f32 = (v: number): Param => ({ t: 'f32', v });

/** A storage binding: a whole buffer or the first `size` bytes of it (a pooled buffer can be larger than its tensor). */
export type Binding = GPUBuffer | { buffer: GPUBuffer; size: number; offset?: number };

const NO_ADAPTER_HELP =
  'no WebGPU adapter found. Without a GPU on Linux install Mesa lavapipe >= 24 ' +
  '(Debian 12: add the bookworm-backports suite and run `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`), ' +
  'or point VK_ICD_FILENAMES at SwiftShader\'s vk_swiftshader_icd.json (Debian package chromium-common); ' +
  'in a browser use Chrome/Edge 113+ or Firefox 141+, or Safari 26 (see README, "A WebGPU adapter without a GPU")';

let nodeGpu: GPU | undefined; // kept alive for the life of the process: Dawn's instance must not be collected

async function getNavigatorGpu(options: DeviceOptions): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) throw new PixelpropError(`this browser does not expose WebGPU (navigator.gpu): ${NO_ADAPTER_HELP}`);
  if (!nodeGpu) {
    const moduleName = 'webgpu'; // a variable, so that browser bundlers leave the Node-only import alone
    let mod: { create(flags: string[]): GPU; globals: Record<string, unknown> };
    try {
      mod = await import(/* @vite-ignore */ moduleName);
    } catch (e) {
      throw new PixelpropError(`cannot load the 'webgpu' npm package (Dawn for Node): ${(e as Error).message}`);
    }
    Object.assign(globalThis, mod.globals); // GPUBufferUsage, GPUMapMode, ... as in a browser
    nodeGpu = mod.create(options.dawnFlags ?? []);
  }
  return nodeGpu;
}

export async function createDevice(options: DeviceOptions = {}): Promise<Gpu> {
  if (!hasShaders()) {
    if (typeof process !== 'undefined' && process.versions?.node) await loadShadersFromDisk();
  }
  const gpu = await getNavigatorGpu(options);
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new PixelpropError(NO_ADAPTER_HELP);
  const wanted: GPUFeatureName[] = ['timestamp-query', 'shader-f16', ...(options.noSubgroups ? [] : ['subgroups' as GPUFeatureName])];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  // Ask for the adapter's own limits rather than the defaults: a 224×224×64 activation at batch 8 is 25 MiB, and
  // SqueezeNet's conv10 weight gradient wants more than the default 128 MiB storage binding at larger batches.
  const limitNames = [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
  ] as const;
  const requiredLimits: Record<string, number> = {};
  for (const k of limitNames) requiredLimits[k] = adapter.limits[k];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'pixelprop' });
  } catch (e) {
    throw new PixelpropError(`the WebGPU adapter refused a device: ${(e as Error).message}`);
  }
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const description: AdapterDescription = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: /llvmpipe|lavapipe|swiftshader|software|warp/.test(text) || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
    subgroupMinSize: (info as { subgroupMinSize?: number }).subgroupMinSize ?? 0,
    subgroupMaxSize: (info as { subgroupMaxSize?: number }).subgroupMaxSize ?? 0,
  };
  const result = new Gpu(device, description, options.limitsForTesting);
  // Dawn's Node bindings crash the process (a futex error) when the adapter is garbage-collected while its device
  // lives: hold it for as long as the Gpu exists.
  (result as unknown as { adapterHandle: GPUAdapter }).adapterHandle = adapter;
  return result;
}

export class Gpu {
  readonly pool: BufferPool;
  readonly limits: GPUSupportedLimits;
  /**
   * The most bytes one storage binding may span (maxStorageBufferBindingSize: 128 MiB on lavapipe and many GPUs). A
   * kernel binds a whole tensor unless it reads it in windows (Gemm and MatMul do, for VGG's 392 MiB classifier).
   */
  readonly bindingLimit: number;
  /** The most bytes one buffer may hold (maxBufferSize: 4 GiB on lavapipe): the largest tensor there can be. */
  readonly bufferLimit: number;
  readonly hasTimestamps: boolean;
  readonly hasF16: boolean;
  readonly hasSubgroups: boolean;
  /**
   * Subgroups of at least 8 invocations are available: kernels may share loads across 8 lanes with
   * subgroupBroadcast (conv2d v2 does). SwiftShader's subgroups have 4 lanes, and some browsers have none.
   */
  readonly subgroupsOf8: boolean;
  /** When set, every dispatch runs in its own compute pass with timestamps (see Profiler). */
  profiler: Profiler | null = null;

  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly staging = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pendingError: string | null = null;
  private lostMessage: string | null = null;
  private destroyed = false;
  /**
   * Submit each dispatch in a command buffer of its own, as a naive engine would (for the ablation benchmark, which
   * measures what one command buffer per forward + backward is worth). Off by default.
   */
  submitEveryDispatch = false;
  /**
   * Submit after this many dispatches even when nothing waits for a result, so that the queue runs the first ones
   * while the rest are encoded (0: submit only when something needs the results; the ablation benchmark measures it).
   */
  dispatchesPerSubmit = 16;
  private dispatchesSinceSubmit = 0;
  /** dispatches encoded since creation: a count the tape inspector and tests read */
  dispatchCount = 0;
  submitCount = 0;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    lowered: SizeLimits = {},
  ) {
    this.pool = new BufferPool(device);
    this.limits = device.limits;
    this.bufferLimit = Math.min(device.limits.maxBufferSize, lowered.maxBufferSize ?? Infinity);
    this.bindingLimit = Math.min(device.limits.maxStorageBufferBindingSize, this.bufferLimit, lowered.maxStorageBufferBindingSize ?? Infinity);
    this.hasTimestamps = device.features.has('timestamp-query');
    this.hasF16 = device.features.has('shader-f16');
    this.hasSubgroups = device.features.has('subgroups' as GPUFeatureName);
    this.subgroupsOf8 = this.hasSubgroups && adapter.subgroupMinSize >= 8;
    device.addEventListener('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error.message;
      if (this.pendingError === null) this.pendingError = msg.split('\n').filter((l) => l.trim()).slice(0, 3).join(' | ');
    });
    void device.lost.then((info) => {
      // One message for every operation that notices the loss first (a dispatch, a read-back, an upload).
      const detail = info.message.split('\n')[0]!.trim();
      if (!this.destroyed) this.lostMessage = `the GPU device was lost (${info.reason})${detail ? `, '${detail}'` : ''}: pixelprop cannot go on with it; run again on a new device`;
    });
  }

  /** A one-line name of the adapter for reports: "llvmpipe (mesa), software". */
  get adapterName(): string {
    const a = this.adapter;
    // Browsers often leave the description empty and say only "google" + "swiftshader": use what there is.
    const what = a.description || [a.architecture, a.device].filter(Boolean).join(' ');
    const name = [what, a.vendor && `(${a.vendor})`].filter(Boolean).join(' ');
    return `${name || 'unknown adapter'}${a.software ? ', software' : ''}`;
  }

  /** Whether the device has been lost (not destroyed by `destroy()`): nothing more runs on it. */
  get isLost(): boolean {
    return this.lostMessage !== null;
  }

  /** Throws what the GPU reported asynchronously (validation errors, device loss), naming it. */
  checkHealth(): void {
    if (this.lostMessage) throw new PixelpropError(this.lostMessage);
    if (this.destroyed) throw new PixelpropError('the pixelprop GPU device was destroyed');
    if (this.pendingError !== null) {
      const msg = this.pendingError;
      this.pendingError = null;
      throw new PixelpropError(`WebGPU error: ${msg}`);
    }
  }

  /**
   * A pipeline for `entry` of shaders/`shader`.wgsl specialized by override constants; compiled once, then cached.
   * A list of files is linked in order into one module (conv2d v2 puts the file that defines its weight fetch first).
   */
  pipeline(shader: string | readonly string[], entry: string, constants: Record<string, number> = {}): GPUComputePipeline {
    const keys = Object.keys(constants).sort();
    const key = `${[shader].flat().join('+')}:${entry}:${keys.map((k) => `${k}=${constants[k]}`).join(',')}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.shaderModule(shader);
      p = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: entry, constants },
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  private readonly modules = new Map<string, GPUShaderModule>();
  private shaderModule(shader: string | readonly string[]): GPUShaderModule {
    const files = [shader].flat();
    const key = files.join('+');
    let m = this.modules.get(key);
    if (!m) {
      const code = linkShaders(files);
      m = this.device.createShaderModule({ label: files.map((f) => `${f}.wgsl`).join(' + '), code });
      this.modules.set(key, m);
    }
    return m;
  }

  private unusedSlot: GPUBuffer | null = null;
  /**
   * A small storage buffer for binding slots an 'auto' layout declares but an override constant switches off. Read-only
   * slots can repeat a bound tensor; writable ones cannot alias another writable binding, so they take this one.
   */
  get placeholder(): GPUBuffer {
    return (this.unusedSlot ??= this.device.createBuffer({ size: 256, usage: BufferUsage.STORAGE, label: 'unused slot' }));
  }

  private readonly constants = new Map<string, GPUBuffer>();
  /**
   * A read-only storage buffer holding `data`, immutable and cached by content like `uniform()`: small index lists
   * (conv2d's list of non-zero gradient channels) cost one upload the first time and none after.
   */
  constantBuffer(data: Uint32Array, label: string): GPUBuffer {
    const key = Array.from(data).join(',');
    let buffer = this.constants.get(key);
    if (!buffer) {
      if (this.constants.size >= MAX_CACHED_CONSTANTS) {
        this.flush();
        for (const b of this.constants.values()) b.destroy();
        this.constants.clear();
      }
      const bytes = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
      buffer = this.device.createBuffer({ size: bytes, usage: BufferUsage.STORAGE, mappedAtCreation: true, label });
      new Uint32Array(buffer.getMappedRange()).set(data);
      buffer.unmap();
      this.constants.set(key, buffer);
    }
    return buffer;
  }

  /**
   * A uniform buffer holding `params` in order (each 4 bytes, as a WGSL struct of u32/i32/f32 scalars lays them out).
   * Buffers are immutable and cached by content: the parameters of a model's ops are the same every iteration, so a
   * loop creates none after its first iteration, and since nothing is ever rewritten, no dispatch can see another's.
   */
  uniform(params: Param[]): GPUBuffer {
    const words = new ArrayBuffer(Math.max(16, Math.ceil((params.length * 4) / 16) * 16));
    const dv = new DataView(words);
    params.forEach((p, i) => {
      if (p.t === 'f32') dv.setFloat32(i * 4, p.v, true);
      else if (p.t === 'i32') dv.setInt32(i * 4, p.v, true);
      else dv.setUint32(i * 4, p.v, true);
    });
    const key = Array.from(new Uint32Array(words)).join(',');
    let buffer = this.uniforms.get(key);
    if (!buffer) {
      if (this.uniforms.size >= MAX_CACHED_UNIFORMS) {
        this.flush(); // nothing pending may still refer to the buffers destroyed next
        for (const b of this.uniforms.values()) b.destroy();
        this.uniforms.clear();
      }
      buffer = this.device.createBuffer({ size: words.byteLength, usage: BufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(words));
      buffer.unmap();
      this.uniforms.set(key, buffer);
    }
    return buffer;
  }

  /** Workgroup counts covering `groups` workgroups in total, folded into y when x would pass the per-dimension limit. */
  grid(groups: number): [number, number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= max) return [Math.max(1, groups), 1, 1];
    const y = Math.ceil(groups / max);
    if (y > max) throw new PixelpropError(`a dispatch of ${groups} workgroups exceeds this device's grid`);
    return [Math.ceil(groups / y), y, 1];
  }

  /**
   * Encodes one dispatch. `bindings[i]` goes to @binding(i) of @group(0); holes (undefined) are skipped, which lets
   * one shader file's entry points use different subsets of its bindings under 'auto' layouts.
   */
  dispatch(
    label: string,
    pipeline: GPUComputePipeline,
    bindings: (Binding | undefined)[],
    workgroups: readonly [number, number?, number?],
  ): void {
    if (this.lostMessage || this.destroyed) this.checkHealth();
    const entries: GPUBindGroupEntry[] = [];
    bindings.forEach((b, i) => {
      if (b === undefined) return;
      entries.push({ binding: i, resource: 'buffer' in b ? b : { buffer: b } });
    });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const [x, y = 1, z = 1] = workgroups;
    if (this.profiler) {
      this.endPass();
      const pass = this.commandEncoder().beginComputePass({ label, timestampWrites: this.profiler.writesFor(label) });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
    } else {
      const pass = (this.pass ??= this.commandEncoder().beginComputePass());
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
    }
    this.dispatchCount++;
    this.dispatchesSinceSubmit++;
    if (this.submitEveryDispatch || (this.dispatchesPerSubmit > 0 && this.dispatchesSinceSubmit >= this.dispatchesPerSubmit)) this.flush();
  }

  /** Encodes a buffer-to-buffer copy (ordered after the dispatches before it). */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Encodes zero-filling of the first `bytes` of a buffer. */
  clear(buffer: GPUBuffer, bytes: number): void {
    this.endPass();
    this.commandEncoder().clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
  }

  /** Submits what has been encoded. Cheap when nothing is pending. */
  flush(): void {
    this.checkHealth();
    if (!this.encoder) return;
    this.endPass();
    if (this.profiler) this.profiler.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.submitCount++;
    this.dispatchesSinceSubmit = 0;
  }

  /** Uploads data into a buffer, after submitting what is pending (see the execution model above). */
  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Reads `bytes` bytes of a buffer back to the CPU: submits pending work, copies, maps. */
  async read(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const list = this.staging.get(size);
    const staging = list?.pop() ?? this.device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'staging' });
    this.copy(buffer, staging, Math.ceil(bytes / 4) * 4, offset);
    this.flush();
    try {
      await staging.mapAsync(MapMode.READ);
    } catch (e) {
      // A lost device fails the map; its lost promise may settle a moment later. Give it that moment, so that the
      // error says why rather than how.
      await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 100))]);
      this.checkHealth();
      throw new PixelpropError(`reading a GPU buffer back failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    let back = this.staging.get(size);
    if (!back) this.staging.set(size, (back = []));
    back.push(staging);
    this.checkHealth();
    return out;
  }

  /** Waits until the GPU has finished everything submitted (for wall-clock timing). */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.checkHealth();
  }

  /** Starts timing every dispatch (needs 'timestamp-query'; see Profiler). */
  startProfiling(): void {
    if (!this.hasTimestamps) throw new PixelpropError(`this adapter (${this.adapterName}) has no timestamp-query`);
    this.flush();
    this.profiler ??= new Profiler(this.device);
  }

  /** Stops timing and returns each dispatch's GPU time since startProfiling. */
  async stopProfiling(): Promise<KernelTime[]> {
    const profiler = this.profiler;
    if (!profiler) return [];
    this.flush();
    this.profiler = null;
    const times = await profiler.collect((b, n) => this.read(b, n));
    profiler.destroy();
    return times;
  }

  memory(): PoolStats {
    return this.pool.stats();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.destroy();
  }

  private commandEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }
}

export { fmtBytes };
