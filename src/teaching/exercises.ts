/**
 * "Write the backward yourself": for ReLU, max pooling, a 1×1 and a 3×3 convolution and global average pooling, a
 * student writes the op's backward in WGSL and this module checks it — the same code in Node and in the page.
 *
 *   checkSubmission(gpu, id, source)   compiles the kernel (WGSL errors with their line numbers, from
 *                                      GPUShaderModule.getCompilationInfo), checks its interface by name, runs it on
 *                                      fixed random inputs and compares dx with the op's float64 backward (its
 *                                      `reference`, src/graph/ops/) and with centered finite differences of the op's
 *                                      float64 forward (gradcheck's `numericalGradient`): pass or fail, the largest
 *                                      error and where, the first element that differs.
 *   compareSaliency(model, x, id, src) runs the model's backward twice — with the engine's kernels, and with the
 *                                      student's kernel in place of every node of that op it can compute — and
 *                                      returns both saliency maps. The swap is a backward rule on the tape (as guided
 *                                      backprop and LRP swap theirs, src/techniques/attribution/rules.ts), so the
 *                                      model is untouched. It needs each op as its own node: load the model with
 *                                      { fuseActivations: false, fuseConcats: false } (SqueezeNet fuses its ReLUs into
 *                                      the convolutions otherwise).
 *
 * The interface of each backward is fixed and documented in its stub (src/teaching/exercise-kernels.ts): bindings
 * dy, what the forward kept (y for ReLU, x for max pooling, w for the convolutions), dx, and a uniform `p` of sizes;
 * one invocation per element of dx in workgroups of 64. The pipelines get an explicit layout, so that a submission
 * that ignores a binding (ReLU without its mask never reads y) still runs — and is caught by the numbers.
 *
 * A submission with an endless loop must not hang the engine: a dispatch cannot be interrupted once it runs (lavapipe
 * and SwiftShader have no GPU watchdog; terminating the page's worker does not stop the GPU process), so every loop of
 * a submission is bounded before it is compiled for running (boundLoops): past LOOP_BUDGET iterations in one
 * invocation, all its loops together, the loops break and a flag is raised, and the check reports that the kernel did
 * not finish instead of a result.
 */
import type { Binding, Gpu, Param } from '../gpu/device.js';
import { PixelpropError } from '../gpu/errors.js';
import { Kernel, parseInterface, type BindingSpec, type Scalar } from '../gpu/kernel.js';
import { registerShaders } from '../gpu/shaders.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { valuesAwayFrom, isActivation } from '../graph/activation.js';
import { numericalGradient, relError, sampleIndices } from '../graph/gradcheck.js';
import type { Model } from '../graph/model.js';
import type { AnyOp } from '../graph/op.js';
import { Conv, conv2dAttrsFor, convAttrs, type ConvAttrs } from '../graph/ops/conv.js';
import { GlobalAveragePool } from '../graph/ops/global-average-pool.js';
import { MaxPool, poolAttrs, poolStages, separatedValues, type PoolAttrs } from '../graph/ops/max-pool.js';
import { Relu } from '../graph/ops/relu.js';
import type { BackwardRule } from '../graph/tape.js';
import { host, type HostTensor } from '../kernels/host.js';
import { resolvePoolAttributes, type ResolvedPoolAttributes } from '../kernels/pool.js';
import { channelAbsMax } from '../kernels/technique.js';
import { classScoreGradient, predictedClassGradient, type GradientOptions } from '../techniques/gradient.js';
import { Rng } from '../util/rng.js';
import { CONV1X1, CONV3X3, GLOBAL_AVERAGE_POOL, MAX_POOL, RELU } from './exercise-kernels.js';

export type ExerciseId = 'relu' | 'maxpool' | 'conv1x1' | 'conv3x3' | 'globalavgpool';
export const EXERCISE_IDS: readonly ExerciseId[] = ['relu', 'maxpool', 'conv1x1', 'conv3x3', 'globalavgpool'];

/**
 * A submission passes when max|dx − ref| / max|ref| ≤ this, against the float64 backward and against finite
 * differences alike — the project's backward bound (test/helpers.ts). Float32 sums of at most 4·3·3·3 = 108 terms
 * (the 3×3 check) are off by ~1e-6 relative; every classic mistake is off by O(1).
 */
export const EXERCISE_BOUND = 1e-4;
/** Threads per workgroup of every exercise kernel (their `@workgroup_size(64)`). */
const WORKGROUP = 64;

/**
 * Loop iterations one invocation of a submitted backward may run, all its loops together: the reference solutions need
 * at most ~2,600 in SqueezeNet (a 3×3 conv's 256 output channels × 9 taps, plus the channel loop), so this is far above
 * any honest kernel and ends an endless one after a fraction of a second per thousand invocations.
 */
export const LOOP_BUDGET = 1 << 16;

/** The one line a kernel that ran out of LOOP_BUDGET gets. */
export const LOOP_BUDGET_MESSAGE = `your kernel did not finish: an invocation ran more than ${LOOP_BUDGET} loop iterations — an infinite loop? (pixelprop stops every loop there)`;

/** Where a backward binding's tensor comes from: dy, an input of the forward, or its output. */
type Source = 'dy' | { input: number } | 'output';

/** The shapes and attributes of one application of an op, as a check case and a tape node both have them. */
interface Application {
  inputShapes: readonly Shape[];
  outputShape: Shape;
  attrs: unknown;
}

interface ExerciseDefinition {
  id: ExerciseId;
  title: string;
  /** the engine op whose backward the student writes: its float64 reference is the truth, its doc the story */
  op: AnyOp;
  forward: { entry: string; wgsl: string; bindings: Record<string, { input: number } | 'output'> };
  backward: { entry: string; stub: string; solution: string; bindings: Record<string, Source> };
  /** the fields of the uniform struct `p`, in order (all u32) */
  params: readonly string[];
  sizes(a: Application): Record<string, number>;
  /** why the student's kernel cannot compute this application (a 5×5 conv for the 3×3 exercise), or null */
  unsupported(a: Application): string | null;
  /** the check's inputs, attributes and finite-difference step */
  checkCase(): { inputs: HostTensor[]; attrs: unknown; h: number };
  hint: string;
}

/** What the page and the tests read of an exercise. */
export interface Exercise {
  id: ExerciseId;
  title: string;
  /** the engine op (its ONNX name) */
  opName: string;
  forwardWgsl: string;
  stub: string;
  solution: string;
  hint: string;
  /** the op's derivation of its backward (src/graph/ops/), shown after a pass */
  derivation: string;
}

const u32Params = (names: readonly string[]): Record<string, Scalar> => Object.fromEntries(names.map((n) => [n, 'u32' as Scalar]));

const planeOf = (s: Shape): number => (s[2] ?? 1) * (s[3] ?? 1);

/** ONNX Conv attributes of a node or check case, with the kernel size read from w. */
function convGeometry(a: Application): { k: readonly number[]; strides: readonly number[]; pads: readonly number[]; dilations: readonly number[]; group: number } {
  const attrs = conv2dAttrsFor(a.attrs as ConvAttrs, a.inputShapes[0]!, a.inputShapes[1]!);
  return { k: a.inputShapes[1]!.slice(2), strides: attrs.strides, pads: attrs.pads, dilations: attrs.dilations, group: attrs.group };
}

function convUnsupported(a: Application, k: number): string | null {
  const g = convGeometry(a);
  if (isActivation((a.attrs as ConvAttrs).activation)) return 'a fused activation';
  if (g.k[0] !== k || g.k[1] !== k) return `a ${g.k.join('×')} kernel`;
  if (g.group !== 1) return `group ${g.group}`;
  if (g.dilations.some((d) => d !== 1)) return 'dilation';
  if (g.strides[0] !== g.strides[1]) return 'unequal strides';
  if (g.pads.some((p) => p !== g.pads[0])) return 'unequal pads';
  if (k === 1 && (g.strides[0] !== 1 || g.pads[0] !== 0)) return 'a stride or padding';
  return null;
}

/** A max pool's window with every default filled in (auto_pad resolved for this input). */
const poolWindow = (a: Application): ResolvedPoolAttributes =>
  resolvePoolAttributes('MaxPool', poolStages('MaxPool', a.attrs as PoolAttrs, a.inputShapes[0]!).stages[0]!.attrs); // 2-D: one stage

const uniforms = (shape: number[], seed: number): HostTensor => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

const DEFINITIONS: readonly ExerciseDefinition[] = [
  {
    id: 'relu',
    title: 'ReLU',
    op: Relu,
    forward: { entry: 'relu_forward', wgsl: RELU.forward, bindings: { x: { input: 0 }, y: 'output' } },
    backward: { entry: 'relu_backward', stub: RELU.stub, solution: RELU.solution, bindings: { dy: 'dy', y: 'output', dx: { input: 0 } } },
    params: ['n'],
    sizes: (a) => ({ n: a.outputShape.reduce((p, d) => p * d, 1) }),
    unsupported: () => null,
    // at least 0.05 from the kink at 0, so that no difference of step 1e-3 straddles it
    checkCase: () => ({ inputs: [host([2, 3, 5, 7], valuesAwayFrom([0], 210, 41))], attrs: Relu.with({}), h: 1e-3 }),
    hint:
      'y = max(x, 0) has slope 1 where x > 0 and 0 where x < 0. So dx = dy where the unit fired and 0 elsewhere — and y ' +
      'tells you where it fired: y > 0 exactly where x > 0. WGSL’s select(f, t, cond) picks t when cond is true.',
  },
  {
    id: 'maxpool',
    title: 'Max pooling',
    op: MaxPool,
    forward: { entry: 'max_pool_forward', wgsl: MAX_POOL.forward, bindings: { x: { input: 0 }, y: 'output' } },
    backward: { entry: 'max_pool_backward', stub: MAX_POOL.stub, solution: MAX_POOL.solution, bindings: { dy: 'dy', x: { input: 0 }, dx: { input: 0 } } },
    params: ['planes', 'height', 'width', 'out_height', 'out_width', 'kernel', 'stride', 'pad_top', 'pad_left'],
    sizes: (a) => {
      const [n, c, h, w] = a.inputShapes[0]! as number[];
      const g = poolWindow(a);
      return {
        planes: n! * c!,
        height: h!,
        width: w!,
        out_height: a.outputShape[2]!,
        out_width: a.outputShape[3]!,
        kernel: g.kernelShape[0],
        stride: g.strides[0],
        pad_top: g.pads[0],
        pad_left: g.pads[1],
      };
    },
    unsupported: (a) => {
      const g = poolWindow(a);
      if (g.kernelShape[0] !== g.kernelShape[1]) return `a ${g.kernelShape.join('×')} window`;
      if (g.strides[0] !== g.strides[1]) return 'unequal strides';
      if (g.dilations.some((d) => d !== 1)) return 'dilation';
      return null;
    },
    // 3×3 windows, stride 2, ceil mode (SqueezeNet's pools): they overlap, and the last ones hang over the edge.
    // Distinct values ≥ 2/n apart, so that no difference of step 1e-4 changes a window's largest.
    checkCase: () => ({ inputs: [separatedValues([2, 3, 7, 6], 42)], attrs: poolAttrs({ kernelShape: [3, 3], strides: [2, 2], ceilMode: true }), h: 1e-4 }),
    hint:
      'Within a window, y is one of the x — the largest — so ∂y/∂x is 1 for that one and 0 for the others. Each dy goes, ' +
      'whole, to where its window’s maximum came from. Think from dx’s side: loop over the windows that contain x[i], and ' +
      'add a window’s dy only when window_argmax of that window is i. Windows overlap (stride 2 < 3), so x[i] may collect ' +
      'several dy.',
  },
  {
    id: 'conv1x1',
    title: '1×1 convolution',
    op: Conv,
    forward: { entry: 'conv1x1_forward', wgsl: CONV1X1.forward, bindings: { x: { input: 0 }, w: { input: 1 }, y: 'output' } },
    backward: { entry: 'conv1x1_backward', stub: CONV1X1.stub, solution: CONV1X1.solution, bindings: { dy: 'dy', w: { input: 1 }, dx: { input: 0 } } },
    params: ['batch', 'in_channels', 'out_channels', 'pixels'],
    sizes: (a) => ({ batch: a.inputShapes[0]![0]!, in_channels: a.inputShapes[0]![1]!, out_channels: a.outputShape[1]!, pixels: planeOf(a.inputShapes[0]!) }),
    unsupported: (a) => convUnsupported(a, 1),
    // 6 channels in, 4 out: a kernel that reads w without transposing it reads the wrong weights (not out of range)
    checkCase: () => ({ inputs: [uniforms([2, 6, 4, 5], 43), uniforms([4, 6, 1, 1], 44)], attrs: convAttrs(), h: 1e-3 }),
    hint:
      'At every pixel a 1×1 convolution is a matrix product, y = W·x with W of shape [out_channels, in_channels]. The ' +
      'backward of a matrix product is the transpose: dx = Wᵀ·dy, i.e. dx[ci] = Σ_co w[co, ci] · dy[co]. Mind which ' +
      'index of w runs.',
  },
  {
    id: 'conv3x3',
    title: '3×3 convolution',
    op: Conv,
    forward: { entry: 'conv3x3_forward', wgsl: CONV3X3.forward, bindings: { x: { input: 0 }, w: { input: 1 }, y: 'output' } },
    backward: { entry: 'conv3x3_backward', stub: CONV3X3.stub, solution: CONV3X3.solution, bindings: { dy: 'dy', w: { input: 1 }, dx: { input: 0 } } },
    params: ['batch', 'in_channels', 'out_channels', 'height', 'width', 'out_height', 'out_width', 'stride', 'pad'],
    sizes: (a) => {
      const g = convGeometry(a);
      const [n, c, h, w] = a.inputShapes[0]! as number[];
      return { batch: n!, in_channels: c!, out_channels: a.outputShape[1]!, height: h!, width: w!, out_height: a.outputShape[2]!, out_width: a.outputShape[3]!, stride: g.strides[0]!, pad: g.pads[0]! };
    },
    unsupported: (a) => convUnsupported(a, 3),
    // stride 2 and padding 1: a kernel must handle both (SqueezeNet's conv1 has stride 2, its expand3x3 padding 1)
    checkCase: () => ({ inputs: [uniforms([2, 3, 7, 6], 45), uniforms([4, 3, 3, 3], 46)], attrs: convAttrs({ strides: [2, 2], pads: [1, 1, 1, 1] }), h: 1e-3 }),
    hint:
      'Go from dx’s side: x[ih, iw] was read by output (oh, ow) at tap (kh, kw) exactly when oh·stride − pad + kh = ih. ' +
      'So for each tap, oh = (ih + pad − kh) / stride — when that divides and lands inside y. Note the sign of kh: the ' +
      'backward slides the kernel flipped. Writing ih − pad + kh, the forward’s way, is the classic mistake.',
  },
  {
    id: 'globalavgpool',
    title: 'Global average pooling',
    op: GlobalAveragePool,
    forward: { entry: 'global_average_pool_forward', wgsl: GLOBAL_AVERAGE_POOL.forward, bindings: { x: { input: 0 }, y: 'output' } },
    backward: {
      entry: 'global_average_pool_backward',
      stub: GLOBAL_AVERAGE_POOL.stub,
      solution: GLOBAL_AVERAGE_POOL.solution,
      bindings: { dy: 'dy', dx: { input: 0 } },
    },
    params: ['planes', 'pixels'],
    sizes: (a) => ({ planes: a.inputShapes[0]![0]! * a.inputShapes[0]![1]!, pixels: planeOf(a.inputShapes[0]!) }),
    unsupported: () => null,
    checkCase: () => ({ inputs: [uniforms([2, 5, 3, 4], 47)], attrs: {}, h: 1e-3 }),
    hint: 'y is a mean of H·W pixels: each pixel’s share in it is 1/(H·W). So every pixel of a plane gets the same dx, dy of its plane divided by H·W.',
  },
];

function definition(id: ExerciseId): ExerciseDefinition {
  const d = DEFINITIONS.find((e) => e.id === id);
  if (!d) throw new PixelpropError(`unknown exercise '${id}' (exercises: ${EXERCISE_IDS.join(', ')})`);
  return d;
}

export function exercise(id: ExerciseId): Exercise {
  const d = definition(id);
  const { attrs } = d.checkCase();
  const doc = typeof d.op.doc === 'function' ? d.op.doc(attrs) : d.op.doc;
  return {
    id,
    title: d.title,
    opName: d.op.name,
    forwardWgsl: d.forward.wgsl,
    stub: d.backward.stub,
    solution: d.backward.solution,
    hint: d.hint,
    derivation: doc.backward,
  };
}

export const exercises = (): Exercise[] => EXERCISE_IDS.map(exercise);

// ---------------------------------------------------------------------------------------------------------------
// Compiling a submission.

export interface CompileError {
  /** 1-based line of the source; null for an error about the whole kernel (a missing binding, a layout mismatch) */
  line: number | null;
  column: number | null;
  message: string;
}

/**
 * A compiled exercise kernel: dispatches itself with tensors bound by name. A submission's kernel is compiled with its
 * loops bounded (boundLoops) and sets `overrun[0]` to 1 when it runs out of LOOP_BUDGET; its caller binds that flag.
 */
interface CompiledKernel {
  run(bind: Readonly<Record<string, Tensor>>, sizes: Readonly<Record<string, number>>, threads: number, overrun?: Tensor): void;
}

/** The source with each comment replaced by as many spaces (newlines kept), so that positions stay those of the source. */
function blankComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, ' '));
}

/** The WGSL names boundLoops adds to a submission. */
const STEPS_VAR = 'pixelprop_loop_steps';
const OVERRUN_VAR = 'pixelprop_overrun';

/**
 * `source` with every loop (`loop`, `while`, `for`) bounded: at the start of each loop body a per-invocation counter
 * is raised, and past LOOP_BUDGET (or once another invocation ran out) the loop sets the overrun flag (a storage
 * binding at `overrunSlot`) and breaks.
 * Every loop breaks at its next iteration once the budget is spent, so nested loops end too. The guard is inserted on
 * the line of the body's `{` and the declarations are appended at the end, so line numbers stay the student's.
 */
export function boundLoops(source: string, overrunSlot: number): string {
  const text = blankComments(source);
  const bodies: number[] = [];
  for (const m of text.matchAll(/\b(?:loop|while|for)\b/g)) {
    // the body's '{' is the first one outside the parentheses of a for's header or a while's condition
    let depth = 0;
    for (let i = m.index + m[0].length; i < text.length; i++) {
      const c = text[i];
      if (c === '(') depth++;
      else if (c === ')') depth--;
      else if (c === '{' && depth === 0) {
        bodies.push(i + 1);
        break;
      } else if (c === ';' && depth === 0) break; // not a loop statement (a `for` in a comment was blanked already)
    }
  }
  // Once one invocation has raised the flag, the others leave at their next check (the first iteration and every
  // 1024th): an endless loop in a large tensor's backward then costs ~1024 iterations per invocation, not the budget.
  const guard =
    ` ${STEPS_VAR} += 1u; if (${STEPS_VAR} > ${LOOP_BUDGET}u || ((${STEPS_VAR} & 1023u) == 1u && ${OVERRUN_VAR}[0] != 0.0))` +
    ` { ${OVERRUN_VAR}[0] = 1.0; break; }`;
  let out = source;
  for (const at of bodies.reverse()) out = out.slice(0, at) + guard + out.slice(at);
  return (
    `${out}\n// added by pixelprop: the loop bound (see src/teaching/exercises.ts, boundLoops)\n` +
    `var<private> ${STEPS_VAR}: u32;\n@group(0) @binding(${overrunSlot}) var<storage, read_write> ${OVERRUN_VAR}: array<f32>;\n`
  );
}

type Compiled = { kernel: CompiledKernel; errors?: undefined } | { kernel?: undefined; errors: CompileError[] };

/** FNV-1a of the source: the name a submission's module is registered and cached under. */
function sourceHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

const compiledCache = new WeakMap<Gpu, Map<string, Promise<Compiled>>>();

/**
 * Compiles `source` as an exercise kernel with the given interface. WGSL errors come from the shader module's
 * compilation info (with lines); then the interface is checked by name (src/gpu/kernel.ts); then the pipeline is made
 * with an explicit layout of exactly those bindings. Errors are caught in error scopes, so that a student's mistake
 * never reaches the device's uncaptured-error handler (which would fail the engine's next operation).
 */
function compile(
  gpu: Gpu,
  what: string,
  source: string,
  entry: string,
  bindings: Record<string, BindingSpec>,
  params: readonly string[],
  bounded: boolean,
): Promise<Compiled> {
  let cache = compiledCache.get(gpu);
  if (!cache) compiledCache.set(gpu, (cache = new Map()));
  const name = `exercise_${what}_${sourceHash(source)}`;
  let compiled = cache.get(name);
  if (!compiled) {
    compiled = compileUncached(gpu, name, source, entry, bindings, params, bounded);
    cache.set(name, compiled);
  }
  return compiled;
}

async function compileUncached(
  gpu: Gpu,
  name: string,
  source: string,
  entry: string,
  bindings: Record<string, BindingSpec>,
  params: readonly string[],
  bounded: boolean,
): Promise<Compiled> {
  const device = gpu.device;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: source, label: name });
  const info = await module.getCompilationInfo();
  const scoped = await device.popErrorScope();
  const errors: CompileError[] = info.messages
    .filter((m) => m.type === 'error')
    .map((m) => ({ line: m.lineNum > 0 ? m.lineNum : null, column: m.linePos > 0 ? m.linePos : null, message: m.message }));
  if (errors.length > 0) return { errors };
  if (scoped) return { errors: [{ line: null, column: null, message: scoped.message }] };

  registerShaders({ [name]: source });
  const spec = { shader: name, entry, bindings, params: u32Params(params) };
  let slots: Map<string, number>;
  try {
    slots = new Kernel(spec).check([name]);
  } catch (e) {
    // "kernel exercise_relu_…: binding 'y' is …": the module's internal name says nothing to a student
    return { errors: [{ line: null, column: null, message: (e as Error).message.replace(/^kernel \S+: /, '') }] };
  }
  const entries: GPUBindGroupLayoutEntry[] = [...slots].map(([binding, slot]) => {
    const access = binding === 'p' ? 'uniform' : bindings[binding]!.replace('?', '');
    const type: GPUBufferBindingType = access === 'uniform' ? 'uniform' : access === 'read' ? 'read-only-storage' : 'storage';
    return { binding: slot, visibility: 0x4 /* GPUShaderStage.COMPUTE */, buffer: { type } };
  });
  // the module that runs: the student's with its loops bounded, the flag one slot past every binding it declares
  // (the errors above came from the source as written, so their lines and columns are the student's)
  const overrunSlot = bounded ? 1 + Math.max(...[...parseInterface(source).vars.values()].map((v) => v.slot)) : null;
  if (overrunSlot !== null) entries.push({ binding: overrunSlot, visibility: 0x4 /* GPUShaderStage.COMPUTE */, buffer: { type: 'storage' } });
  let pipeline: GPUComputePipeline;
  device.pushErrorScope('validation');
  try {
    const layout = device.createPipelineLayout({ bindGroupLayouts: [device.createBindGroupLayout({ entries })] });
    const running = overrunSlot === null ? module : device.createShaderModule({ code: boundLoops(source, overrunSlot), label: `${name}_bounded` });
    pipeline = await device.createComputePipelineAsync({ label: name, layout, compute: { module: running, entryPoint: entry } });
  } catch (e) {
    await device.popErrorScope();
    return { errors: [{ line: null, column: null, message: (e as Error).message }] };
  }
  const layoutError = await device.popErrorScope();
  if (layoutError) return { errors: [{ line: null, column: null, message: layoutError.message }] };

  const kernel: CompiledKernel = {
    run(bind, sizes, threads, overrun) {
      if ((overrunSlot !== null) !== (overrun !== undefined)) throw new PixelpropError(`${entry}: the loop bound's flag is bound exactly to a bounded kernel`);
      const groups = Math.ceil(threads / WORKGROUP);
      if (groups > gpu.limits.maxComputeWorkgroupsPerDimension) {
        throw new PixelpropError(`${entry}: ${threads} elements are more than one row of workgroups of ${WORKGROUP} covers on this device`);
      }
      const slotted: (Binding | undefined)[] = [];
      const values: Param[] = params.map((p) => ({ t: 'u32', v: sizes[p]! }));
      slotted[slots.get('p')!] = gpu.uniform(values);
      for (const b of Object.keys(bindings)) slotted[slots.get(b)!] = bind[b]!.binding;
      if (overrunSlot !== null) slotted[overrunSlot] = overrun!.binding;
      gpu.dispatch(entry, pipeline, slotted, [Math.max(1, groups)]);
    },
  };
  return { kernel };
}

const forwardSpec = (d: ExerciseDefinition): Record<string, BindingSpec> =>
  Object.fromEntries(Object.entries(d.forward.bindings).map(([name, s]) => [name, s === 'output' ? 'read_write' : 'read']));
const backwardSpec = (d: ExerciseDefinition): Record<string, BindingSpec> =>
  Object.fromEntries(Object.keys(d.backward.bindings).map((name) => [name, name === 'dx' ? 'read_write' : 'read']));

function compileBackward(gpu: Gpu, d: ExerciseDefinition, source: string): Promise<Compiled> {
  return compile(gpu, `${d.id}_backward`, source, d.backward.entry, backwardSpec(d), d.params, true);
}

async function compileForward(gpu: Gpu, d: ExerciseDefinition): Promise<CompiledKernel> {
  // the forward is the project's own kernel: no loop bound
  const c = await compile(gpu, `${d.id}_forward`, d.forward.wgsl, d.forward.entry, forwardSpec(d), d.params, false);
  if (!c.kernel) throw new PixelpropError(`the ${d.title} forward of the exercises does not compile: ${c.errors.map((e) => `line ${e.line}: ${e.message}`).join('; ')}`);
  return c.kernel;
}

/** Dispatches the student's backward: dx of input `dx`'s source from dy and the forward's tensors. */
function runBackward(d: ExerciseDefinition, kernel: CompiledKernel, a: Application, dy: Tensor, inputs: readonly Tensor[], output: Tensor, overrun: Tensor): Tensor {
  const dxSource = d.backward.bindings.dx as { input: number };
  // zeros, not garbage: an element the kernel forgets to write reads 0 every time
  const dx = Tensor.zeros(dy.gpu, [...a.inputShapes[dxSource.input]!], `exercise.${d.id}.dx`);
  const bind: Record<string, Tensor> = { dx };
  for (const [name, s] of Object.entries(d.backward.bindings)) {
    if (name === 'dx') continue;
    bind[name] = s === 'dy' ? dy : s === 'output' ? output : inputs[s.input]!;
  }
  kernel.run(bind, d.sizes(a), dx.size, overrun);
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// Checking a submission.

/** One element of dx: its flat index, its NCHW position, the student's value and the float64 reference's. */
export interface ElementReport {
  index: number;
  position: number[];
  got: number;
  expected: number;
}

export interface CheckResult {
  exercise: ExerciseId;
  compiled: boolean;
  compileErrors: CompileError[];
  passed: boolean;
  /** max|dx − ref| / max|ref| over all of dx (Infinity for a NaN or infinite element); null when not compiled */
  maxRelError: number | null;
  /** where that largest error is */
  largestError: ElementReport | null;
  /** the first element (in memory order) off by more than EXERCISE_BOUND · max|ref| */
  firstMismatch: ElementReport | null;
  /** max|Δ| / max|FD| of dx against centered finite differences of the float64 forward, on sampled elements */
  fdAgreement: number | null;
  /** the exercise's forward kernel against the float64 forward (it is shown to the student, so it is checked too) */
  forwardError: number | null;
  bound: number;
  /** the kernel ran out of LOOP_BUDGET (an endless loop, most likely): no numbers, the message says so */
  loopBudgetExceeded: boolean;
  /** one line for the student: what passed, or the largest error and the first element that differs */
  message: string;
}

function positionOf(index: number, shape: Shape): number[] {
  const pos: number[] = [];
  let rest = index;
  for (let k = shape.length - 1; k >= 0; k--) {
    pos.unshift(rest % shape[k]!);
    rest = Math.floor(rest / shape[k]!);
  }
  return pos;
}

const fmt = (v: number): string => (Number.isFinite(v) ? (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4) || v === 0 ? String(Number(v.toPrecision(4))) : v.toExponential(3) : String(v));
const at = (e: ElementReport): string => `dx[${e.position.join(',')}] (got ${fmt(e.got)}, expected ${fmt(e.expected)})`;

function compare(got: ArrayLike<number>, expected: HostTensor): { maxRelError: number; largest: ElementReport; first: ElementReport | null } {
  let scale = 0;
  for (const v of expected.data) scale = Math.max(scale, Math.abs(v));
  const report = (i: number): ElementReport => ({ index: i, position: positionOf(i, expected.shape), got: got[i]!, expected: expected.data[i]! });
  let worst = 0;
  let worstAt = 0;
  let first: number | null = null;
  for (let i = 0; i < expected.data.length; i++) {
    const diff = Number.isFinite(got[i]!) ? Math.abs(got[i]! - expected.data[i]!) : Infinity;
    if (diff > worst) [worst, worstAt] = [diff, i];
    if (first === null && diff > EXERCISE_BOUND * scale) first = i;
  }
  const maxRelError = worst === 0 ? 0 : scale === 0 ? Infinity : worst / scale;
  return { maxRelError, largest: report(worstAt), first: first === null ? null : report(first) };
}

/** The gradient's agreement with finite differences, as the message says it. */
const fdPhrase = (fd: number): string => `finite differences agree to ${fmt(fd)}`;

/**
 * Compiles `source` as the backward of exercise `id`, runs it on the exercise's fixed inputs and a fixed random dy,
 * and compares dx with the op's float64 backward and with centered finite differences of its float64 forward.
 */
export async function checkSubmission(gpu: Gpu, id: ExerciseId, source: string): Promise<CheckResult> {
  const d = definition(id);
  const base = {
    exercise: id,
    bound: EXERCISE_BOUND,
    maxRelError: null,
    largestError: null,
    firstMismatch: null,
    fdAgreement: null,
    forwardError: null,
    loopBudgetExceeded: false,
  };
  const compiled = await compileBackward(gpu, d, source);
  if (!compiled.kernel) {
    const e = compiled.errors[0]!;
    const where = e.line !== null ? `line ${e.line}${e.column !== null ? `:${e.column}` : ''}: ` : '';
    return { ...base, compiled: false, compileErrors: compiled.errors, passed: false, message: `does not compile: ${where}${e.message}` };
  }
  const forward = await compileForward(gpu, d);
  const c = d.checkCase();
  const inputs = c.inputs.map((t) => host(t.shape, Float64Array.from(Float32Array.from(t.data))));
  const refY = d.op.reference.forward(inputs, c.attrs)[0]!;
  const a: Application = { inputShapes: inputs.map((t) => t.shape), outputShape: refY.shape, attrs: c.attrs };
  const r = Float64Array.from(Float32Array.from(new Rng(7).uniforms(refY.data.length)));
  const expected = d.op.reference.backward([host(refY.shape, r)], inputs, [refY], c.attrs, inputs.map((_, i) => i === 0))[0]!;

  const xs = inputs.map((t, i) => Tensor.from(gpu, t.shape, Float32Array.from(t.data), `exercise.${id}.in${i}`));
  const y = Tensor.empty(gpu, refY.shape, `exercise.${id}.y`);
  const dy = Tensor.from(gpu, refY.shape, Float32Array.from(r), `exercise.${id}.dy`);
  const overrun = Tensor.zeros(gpu, [1], `exercise.${id}.overrun`);
  let dx: Tensor | null = null;
  let got: Float32Array;
  let gotY: Float32Array;
  try {
    const fwd: Record<string, Tensor> = { y };
    for (const [name, s] of Object.entries(d.forward.bindings)) if (s !== 'output') fwd[name] = xs[s.input]!;
    forward.run(fwd, d.sizes(a), y.size);
    gpu.device.pushErrorScope('validation');
    dx = runBackward(d, compiled.kernel, a, dy, xs, y, overrun);
    const runError = await gpu.device.popErrorScope();
    if (runError) throw new PixelpropError(`the ${d.title} backward could not run: ${runError.message}`);
    if ((await overrun.read())[0] !== 0) return { ...base, compiled: true, compileErrors: [], passed: false, loopBudgetExceeded: true, message: LOOP_BUDGET_MESSAGE };
    gotY = await y.read();
    got = await dx.read();
  } finally {
    for (const t of [...xs, y, dy, dx, overrun]) t?.dispose();
  }
  const forwardError = relError(gotY, refY.data);
  const { maxRelError, largest, first } = compare(got, expected);
  const idx = sampleIndices(inputs[0]!.data.length, 40);
  const numeric = numericalGradient((ins) => d.op.reference.forward(ins, c.attrs)[0]!, inputs, 0, r, c.h, idx);
  const gotAt = idx.map((i) => (Number.isFinite(got[i]!) ? got[i]! : Infinity));
  const fdAgreement = relError(gotAt, idx.map((i) => numeric[i]!));
  const passed = maxRelError <= EXERCISE_BOUND && fdAgreement <= EXERCISE_BOUND && forwardError <= EXERCISE_BOUND;
  const message = passed
    ? `correct: largest error ${fmt(maxRelError)} (max|Δ|/max|ref|, bound ${EXERCISE_BOUND}), ${fdPhrase(fdAgreement)}`
    : `wrong: largest error ${fmt(maxRelError)} (max|Δ|/max|ref|, bound ${EXERCISE_BOUND}) at ${at(largest)}` +
      (first ? `; first element that differs: ${at(first)}` : '') +
      `; ${fdPhrase(fdAgreement)}`;
  return { ...base, compiled: true, compileErrors: [], passed, maxRelError, largestError: largest, firstMismatch: first, fdAgreement, forwardError, message };
}

// ---------------------------------------------------------------------------------------------------------------
// The student's kernel inside the model's backward.

export interface SaliencyComparison {
  exercise: ExerciseId;
  classIndex: number;
  height: number;
  width: number;
  /** max_c |∂s_y/∂x| with the engine's kernels, and with the student's kernel in place of the op's backward */
  engineMap: Float32Array;
  studentMap: Float32Array;
  /** max|student − engine| / max|engine| of the maps */
  mapError: number;
  /** nodes of the op whose backward was the student's kernel */
  substituted: number;
  /** nodes of the op the kernel cannot compute (a 5×5 conv for the 3×3 exercise), left to the engine, with why */
  kept: { node: string; why: string }[];
}

/**
 * The saliency map of x [1, 3, H, W] at `classIndex` (default: the predicted class) twice: with the engine's own
 * backward, and with the student's kernel as the backward of every node of the exercise's op that it can compute. The
 * model must keep that op as nodes of its own (see the module's comment).
 */
export async function compareSaliency(model: Model, x: Tensor, id: ExerciseId, source: string, classIndex?: number): Promise<SaliencyComparison> {
  const d = definition(id);
  const compiled = await compileBackward(model.gpu, d, source);
  if (!compiled.kernel) throw new PixelpropError(`the ${d.title} backward does not compile: ${compiled.errors[0]!.message}`);
  const kernel = compiled.kernel;
  const [height, width] = [x.shape[2]!, x.shape[3]!];
  let substituted = 0;
  const kept: { node: string; why: string }[] = [];
  // one flag for every dispatch of the student's kernel in the run
  const overrun = Tensor.zeros(model.gpu, [1], `exercise.${id}.overrun`);
  // the backward of every node of the op, on the tape of the student's run (as guided backprop's and LRP's rules are)
  const rule: BackwardRule = (ctx, node) => {
    const a: Application = { inputShapes: node.inputShapes, outputShape: node.outputShapes[0]!, attrs: node.attrs };
    const why = ctx.needs.some((need, i) => need && i !== 0) ? 'a weight gradient' : d.unsupported(a);
    if (why) {
      kept.push({ node: node.name, why });
      return node.op.backward(ctx);
    }
    substituted++;
    // the tape retains every node's inputs and outputs for this run (retainValues): the kernel binds them by name
    const inputs = node.inputs.map((_, i) => node.saved[`input${i}`]!);
    const dx = runBackward(d, kernel, a, ctx.dys[0]!, inputs, node.saved.output0!, overrun);
    return node.inputs.map((_, i) => (i === 0 ? dx : null));
  };

  const engine = await saliencyOf(model, x, classIndex, {});
  let student: Awaited<ReturnType<typeof saliencyOf>>;
  try {
    student = await saliencyOf(model, x, engine.classIndex, { rules: new Map([[d.op.name, rule]]), tape: { retainValues: true } });
    // a kernel that finished the check's small case may still loop without end on the network's larger tensors
    if ((await overrun.read())[0] !== 0) throw new PixelpropError(`in the network's backward, ${LOOP_BUDGET_MESSAGE}`);
  } finally {
    overrun.dispose();
  }
  if (substituted === 0) {
    throw new PixelpropError(
      `no ${d.op.name} node of this model is one the ${d.title} kernel computes` +
        (kept.length ? ` (${kept[0]!.node}: ${kept[0]!.why})` : ': the op is fused into others; load the model with { fuseActivations: false, fuseConcats: false }'),
    );
  }
  return {
    exercise: id,
    classIndex: engine.classIndex,
    height,
    width,
    engineMap: engine.map,
    studentMap: student.map,
    mapError: relError(student.map, engine.map),
    substituted,
    kept,
  };
}

async function saliencyOf(
  model: Model,
  x: Tensor,
  classIndex: number | undefined,
  options: GradientOptions,
): Promise<{ classIndex: number; map: Float32Array }> {
  const g = classIndex === undefined ? await predictedClassGradient(model, x, options) : { ...classScoreGradient(model, x, [classIndex], options), classes: [classIndex] };
  const { scores, grad, layers } = g;
  const map = channelAbsMax(grad, 'exercise.saliency');
  try {
    return { classIndex: g.classes[0]!, map: await map.read() };
  } finally {
    for (const t of [scores, grad, map]) t.dispose();
    for (const l of layers.values()) [l.activation, l.grad].forEach((t) => t.dispose());
  }
}
