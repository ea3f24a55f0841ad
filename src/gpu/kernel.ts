/**
 * A kernel's interface, declared by name: which WGSL entry point it runs, which tensors it binds under which names,
 * and the fields of its uniform parameter struct. Every kernel of src/kernels/ is one `defineKernel` call, and every
 * dispatch names what it passes:
 *
 *     const reluBackward = defineKernel({
 *       shader: ['common', 'activation'], entry: 'activation_backward',
 *       bindings: { dy: 'read', z: 'read?', y: 'read?', dx: 'read_write' },
 *       params: { n: 'u32' },
 *     });
 *     reluBackward.dispatch(gpu, { bind: { dy, y, dx }, params: { n: dx.size }, grid: { threads: dx.size } });
 *
 * The declaration is checked against the shader's text the first time the kernel runs (and, for every kernel at
 * once, by test/kernel-interfaces.test.ts without a GPU): each binding must be a `var` of that name and access mode
 * in the WGSL, and the parameter struct must have exactly these fields, in this order, with these types. The binding
 * slots are read from the WGSL's `@binding(n)`, so a TypeScript caller never writes a slot number, and swapping two
 * fields or two bindings in either file is an error naming the kernel, not a silent wrong answer.
 *
 * Bindings marked optional (`'read?'`) may be left out: a kernel whose override constant switches a binding off
 * still declares it (WebGPU's 'auto' layout keeps every binding the entry point mentions), so a small placeholder
 * buffer is bound in its place — the one place such a stand-in is made.
 */
import type { Binding, Gpu, Param } from './device.js';
import { PixelpropError } from './errors.js';
import { linkShaders } from './shaders.js';
import type { Tensor } from './tensor.js';

export type Scalar = 'u32' | 'i32' | 'f32';
export type Access = 'read' | 'read_write' | 'uniform';
export type BindingSpec = Access | `${Access}?`;

export interface KernelSpec<B extends Record<string, BindingSpec>, P extends Record<string, Scalar>> {
  /** the WGSL files (shaders/NAME.wgsl) linked in order into one module, or a choice of them per device */
  shader: string | readonly string[] | ((gpu: Gpu) => readonly string[]);
  /** the @compute function */
  entry: string;
  /** the tensors and buffers the entry point reads and writes, by their WGSL variable names */
  bindings: B;
  /** the fields of the uniform parameter struct, in declaration order */
  params: P;
  /** the WGSL name of the uniform variable holding the parameters (default 'p') */
  paramsVar?: string;
  /** default values of override constants (a dispatch may set others) */
  constants?: Readonly<Record<string, number>>;
}

type BindingValue = Tensor | Binding;
type Required<B> = { [K in keyof B as B[K] extends `${string}?` ? never : K]: BindingValue };
type Optional<B> = { [K in keyof B as B[K] extends `${string}?` ? K : never]?: BindingValue | null };

export interface Dispatch<B, P> {
  bind: Required<B> & Optional<B>;
  params: { readonly [K in keyof P]: number };
  /** one invocation per element (`threads`, over workgroups of the constant WG), or explicit workgroup counts */
  grid: { threads: number } | readonly [number, number?, number?];
  constants?: Readonly<Record<string, number>>;
  /** what profiles and errors call this dispatch (default: shader.entry) */
  label?: string;
}

/** The resource declarations of a WGSL module, as the interface check reads them. */
interface WgslInterface {
  vars: Map<string, { slot: number; access: Access; type: string }>;
  structs: Map<string, { name: string; type: string }[]>;
}

const kernels: Kernel<Record<string, BindingSpec>, Record<string, Scalar>>[] = [];

/** Every kernel defined so far (test/kernel-interfaces.test.ts checks them all against their shaders). */
export function definedKernels(): readonly Kernel<Record<string, BindingSpec>, Record<string, Scalar>>[] {
  return kernels;
}

export function defineKernel<B extends Record<string, BindingSpec>, P extends Record<string, Scalar>>(spec: KernelSpec<B, P>): Kernel<B, P> {
  const k = new Kernel(spec);
  kernels.push(k as unknown as Kernel<Record<string, BindingSpec>, Record<string, Scalar>>);
  return k;
}

export class Kernel<B extends Record<string, BindingSpec>, P extends Record<string, Scalar>> {
  /** binding name → slot, per linked file list (checked once each) */
  private readonly slots = new Map<string, Map<string, number>>();

  constructor(readonly spec: KernelSpec<B, P>) {}

  get name(): string {
    const files = typeof this.spec.shader === 'function' ? ['…'] : [this.spec.shader].flat();
    return `${files[files.length - 1]}.${this.spec.entry}`;
  }

  /** The files linked for this device. */
  files(gpu: Gpu | null): readonly string[] {
    const s = this.spec.shader;
    if (typeof s === 'function') {
      if (!gpu) throw new PixelpropError(`kernel ${this.spec.entry}: its shader files depend on the device`);
      return s(gpu);
    }
    return [s].flat();
  }

  /**
   * Checks the declaration against the linked WGSL and returns the binding slots by name. Throws a PixelpropError
   * naming the kernel and the first mismatch.
   */
  check(files: readonly string[]): Map<string, number> {
    const key = files.join('+');
    const known = this.slots.get(key);
    if (known) return known;
    const what = `kernel ${files.join('+')}.${this.spec.entry}`;
    const source = linkShaders(files);
    const wgsl = parseInterface(source);
    if (!new RegExp(`@compute[^;{]*fn\\s+${this.spec.entry}\\s*\\(`).test(stripComments(source))) {
      throw new PixelpropError(`${what}: no @compute fn ${this.spec.entry} in the shader`);
    }
    const slots = new Map<string, number>();
    const paramsVar = this.spec.paramsVar ?? 'p';
    const p = wgsl.vars.get(paramsVar);
    if (!p || p.access !== 'uniform') throw new PixelpropError(`${what}: the shader has no 'var<uniform> ${paramsVar}' for the parameters`);
    const fields = wgsl.structs.get(p.type);
    if (!fields) throw new PixelpropError(`${what}: struct ${p.type} of '${paramsVar}' not found`);
    const want = Object.entries(this.spec.params);
    const same = fields.length === want.length && fields.every((f, i) => f.name === want[i]![0] && f.type === want[i]![1]);
    if (!same) {
      const fmt = (l: [string, string][]): string => l.map(([n, t]) => `${n}: ${t}`).join(', ');
      throw new PixelpropError(
        `${what}: parameters {${fmt(want)}} do not match struct ${p.type} {${fmt(fields.map((f) => [f.name, f.type]))}} in the shader`,
      );
    }
    slots.set(paramsVar, p.slot);
    for (const [name, declared] of Object.entries(this.spec.bindings)) {
      const access = declared.replace('?', '') as Access;
      const v = wgsl.vars.get(name);
      if (!v) throw new PixelpropError(`${what}: binding '${name}' is not declared in the shader`);
      if (v.access !== access) throw new PixelpropError(`${what}: binding '${name}' is ${v.access} in the shader, declared ${access}`);
      if (v.slot === p.slot) throw new PixelpropError(`${what}: binding '${name}' shares @binding(${v.slot}) with the parameters`);
      slots.set(name, v.slot);
    }
    this.slots.set(key, slots);
    return slots;
  }

  /** Encodes one dispatch of this kernel. */
  dispatch(gpu: Gpu, d: Dispatch<B, P>): void {
    const files = this.files(gpu);
    const slots = this.check(files);
    const constants = { ...this.spec.constants, ...d.constants };
    const bindings: (Binding | undefined)[] = [];
    const params: Param[] = Object.entries(this.spec.params).map(([name, t]) => {
      const v = (d.params as Record<string, number>)[name];
      if (v === undefined || !Number.isFinite(v)) throw new PixelpropError(`kernel ${this.name}: parameter ${name} is ${v}`);
      return { t, v };
    });
    bindings[slots.get(this.spec.paramsVar ?? 'p')!] = gpu.uniform(params);
    const bind = d.bind as Record<string, BindingValue | null | undefined>;
    for (const [name, declared] of Object.entries(this.spec.bindings)) {
      const value = bind[name];
      let b: Binding;
      if (value === undefined || value === null) {
        if (!declared.endsWith('?')) throw new PixelpropError(`kernel ${this.name}: binding '${name}' is missing`);
        b = gpu.placeholder;
      } else {
        b = 'binding' in value ? value.binding : value;
      }
      bindings[slots.get(name)!] = b;
    }
    const pipeline = gpu.pipeline(files, this.spec.entry, constants);
    let grid: readonly [number, number?, number?];
    if ('threads' in d.grid) {
      const wg = constants.WG;
      if (wg === undefined) throw new PixelpropError(`kernel ${this.name}: a grid of threads needs the constant WG`);
      grid = gpu.grid(Math.ceil(d.grid.threads / wg));
    } else {
      grid = d.grid;
    }
    gpu.dispatch(d.label ?? this.name, pipeline, bindings, grid);
  }
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

/** Reads the resource variables and structs of WGSL source (enough of WGSL for the interface check). */
export function parseInterface(source: string): WgslInterface {
  const text = stripComments(source);
  const vars: WgslInterface['vars'] = new Map();
  const decl = /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*<\s*([^>]+?)\s*>\s*(\w+)\s*:\s*([^;]+);/g;
  for (const m of text.matchAll(decl)) {
    const cls = m[2]!.replace(/\s+/g, '');
    const access: Access = cls === 'uniform' ? 'uniform' : cls === 'storage,read_write' ? 'read_write' : 'read';
    vars.set(m[3]!, { slot: Number(m[1]), access, type: m[4]!.trim() });
  }
  const structs: WgslInterface['structs'] = new Map();
  for (const m of text.matchAll(/struct\s+(\w+)\s*\{([^}]*)\}/g)) {
    const fields = splitTopLevel(m[2]!)
      .map((f) => f.trim())
      .filter(Boolean)
      .map((f) => {
        const [name, type] = f.split(':').map((s) => s.trim());
        return { name: name!, type: type ?? '' };
      });
    structs.set(m[1]!, fields);
  }
  return { vars, structs };
}

/** Splits a struct body at the commas that separate fields (not those inside `array<T, N>`). */
function splitTopLevel(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if (c === ',' && depth === 0) {
      out.push(body.slice(start, i));
      start = i + 1;
    }
  }
  out.push(body.slice(start));
  return out;
}
