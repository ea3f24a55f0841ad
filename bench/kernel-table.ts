/**
 * The kernel table, at SqueezeNet 1.1's layer shapes, and MobileNetV2's depthwise and ResNeXt-50's grouped convolutions
 * (`npm run bench:kernels`): for each kernel, every version side by side (as in llm.c: v1 is the simple kernel kept as a reference, v2 the optimized one), the median GPU time and the
 * arithmetic rate (GFLOP/s, 2 per multiply-add), memory rate (GB/s, bytes read + written) and arithmetic intensity
 * (FLOP/byte), all from the work counted from the shapes (bench/counting.ts). `npm run bench` places these rows on a
 * roofline (bench/roofline.ts). Shared by the command lines (kernels.ts, model.ts) and the benchmark page
 * (web/bench-worker.ts): no Node imports here.
 */
import { kernels, Tensor, type Gpu } from '../src/index.js';
import { timeGpu, type OnStep } from './harness.js';
import {
  convBackwardInputWork,
  convForwardWork,
  globalAveragePoolWork,
  intensity,
  l2NormWork,
  maxPoolBackwardWork,
  maxPoolForwardWork,
  movementWork,
  bytesOnlyWork,
  reluBackwardWork,
  type Work,
} from './counting.js';

const { conv2d, pool, concat, activation, softmax, reduce, image } = kernels;
const RELU: kernels.activation.ActivationFn = { code: 'RELU', alpha: 0, beta: 0, gradFromZ: false };

export interface KernelRow {
  kernel: string;
  version: string;
  shape: string;
  medianMs: number;
  gflops?: number;
  gbps?: number;
  clock: string;
  /** the work counted from the shapes (bench/counting.ts): FLOPs (absent where the kernel does no arithmetic), bytes */
  flops?: number;
  bytes?: number;
  /** flops / bytes: the kernel's x on the roofline */
  intensity?: number;
}

function randomTensor(gpu: Gpu, shape: number[], name: string, seed = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  return Tensor.from(gpu, shape, data, name);
}

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  attrs: { strides?: [number, number]; pads?: [number, number, number, number]; group?: number };
}

function convCases(batch: number): ConvCase[] {
  const b = (s: number[]): number[] => [batch, ...s.slice(1)];
  return [
    { name: 'conv1 3×3 s2', x: b([1, 3, 224, 224]), w: [64, 3, 3, 3], attrs: { strides: [2, 2] } },
    { name: 'fire2 squeeze 1×1', x: b([1, 64, 55, 55]), w: [16, 64, 1, 1], attrs: {} },
    { name: 'fire2 expand 1×1', x: b([1, 16, 55, 55]), w: [64, 16, 1, 1], attrs: {} },
    { name: 'fire2 expand 3×3', x: b([1, 16, 55, 55]), w: [64, 16, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
    { name: 'fire5 expand 3×3', x: b([1, 32, 27, 27]), w: [128, 32, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
    { name: 'fire9 expand 3×3', x: b([1, 64, 13, 13]), w: [256, 64, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
    { name: 'conv10 1×1', x: b([1, 512, 13, 13]), w: [1000, 512, 1, 1], attrs: {} },
  ];
}

/** MobileNetV2's depthwise and ResNeXt-50 32×4d's grouped 3×3 convolutions (TF "SAME" stride 2: pads [0,0,1,1]). */
function groupedCases(batch: number): ConvCase[] {
  const dw = (c: number, hw: number, s: 1 | 2): ConvCase => ({
    name: `depthwise ${c}ch s${s} ${hw}²`,
    x: [batch, c, hw, hw],
    w: [c, 1, 3, 3],
    attrs: { strides: [s, s], pads: s === 1 ? [1, 1, 1, 1] : [0, 0, 1, 1], group: c },
  });
  const rx = (c: number, hw: number, s: 1 | 2): ConvCase => ({
    name: `grouped g32 ${c / 32}/group s${s} ${hw}²`,
    x: [batch, c, hw, hw],
    w: [c, c / 32, 3, 3],
    attrs: { strides: [s, s], pads: [1, 1, 1, 1], group: 32 },
  });
  return [dw(32, 112, 1), dw(96, 112, 2), dw(144, 56, 1), dw(192, 28, 2), dw(384, 14, 1), dw(960, 7, 1), rx(128, 56, 1), rx(256, 28, 1), rx(512, 14, 1), rx(1024, 7, 1)];
}

const fmtShape = (s: readonly number[]): string => `[${s.join(',')}]`;

export interface KernelBenchOptions {
  batch: number;
  smoke: boolean;
  /** only the convolutions whose name has one of these (and no other kernel) */
  only?: readonly string[];
  onStep?: OnStep;
}

export async function kernelBenchmark(gpu: Gpu, options: KernelBenchOptions): Promise<KernelRow[]> {
  const step = options.onStep ?? ((): void => {});
  const runs = options.smoke ? 1 : 7;
  const warmup = options.smoke ? 0 : 2;
  const rows: KernelRow[] = [];
  const time = (run: () => Tensor | Tensor[]) => timeGpu(gpu, run, { runs, warmup });
  /** A row: GFLOP/s where the kernel does arithmetic, GB/s always, both from the counted work over the median. */
  const add = (kernel: string, version: string, shape: string, t: { medianMs: number; clock: string }, work: Work): void => {
    rows.push({
      kernel,
      version,
      shape,
      medianMs: t.medianMs,
      ...(work.flops ? { gflops: work.flops / (t.medianMs * 1e6) } : {}),
      gbps: work.bytes / (t.medianMs * 1e6),
      clock: t.clock,
      ...(work.flops ? { flops: work.flops } : {}),
      bytes: work.bytes,
      intensity: intensity(work),
    });
  };

  const grouped = groupedCases(options.batch);
  const cases = options.smoke ? [...convCases(options.batch).slice(1, 3), grouped[2]!, grouped[7]!] : [...convCases(options.batch), ...grouped];
  const only = options.only;
  for (const c of only ? cases.filter((c) => only.some((o) => c.name.includes(o))) : cases) {
    step(`kernel: conv2d ${c.name}`);
    const x = randomTensor(gpu, c.x, 'x');
    const w = randomTensor(gpu, c.w, 'w', 2);
    const bias = randomTensor(gpu, [c.w[0]!], 'b', 3);
    const y0 = conv2d.conv2dForward(x, w, bias, c.attrs);
    const dy = randomTensor(gpu, y0.shape as number[], 'dy', 4);
    const shape = `${fmtShape(c.x)}*${fmtShape(c.w)}`;
    for (const version of [1, 2] as const) {
      const t = await time(() => conv2d.conv2dForward(x, w, bias, c.attrs, { activation: RELU, version }));
      add(`conv2d forward+relu ${c.name}`, `v${version}`, shape, t, convForwardWork(c.x, c.w, c.attrs));
    }
    for (const version of [1, 2] as const) {
      const t = await time(() => conv2d.conv2dBackwardInput(dy, w, c.x, c.attrs, { name: 'dx', version }));
      add(`conv2d backward-input ${c.name}`, `v${version}`, shape, t, convBackwardInputWork(c.x, c.w, c.attrs));
    }
    if (c.name.startsWith('conv10')) {
      // The classifier's backward for one class: dy is one-hot over the channels, and v2 reads only that channel.
      const t = await time(() => conv2d.conv2dBackwardInput(dy, w, c.x, c.attrs, { name: 'dx', version: 2, dyChannels: [76] }));
      add(`conv2d backward-input ${c.name}, 1 class`, 'v2', shape, t, convBackwardInputWork(c.x, c.w, c.attrs, 1));
    }
    for (const t of [x, w, bias, y0, dy]) t.dispose();
  }

  if (only) return rows; // --only selects convolutions
  const poolCases: [string, number[]][] = options.smoke ? [['pool1', [options.batch, 64, 111, 111]]] : [
    ['pool1', [options.batch, 64, 111, 111]],
    ['pool3', [options.batch, 128, 55, 55]],
    ['pool5', [options.batch, 256, 27, 27]],
  ];
  for (const [name, shape] of poolCases) {
    step(`kernel: maxpool ${name}`);
    const attrs = { kernelShape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] };
    const x = randomTensor(gpu, shape, 'x');
    const withArgmax = pool.maxPoolForward(x, attrs, 'y', true);
    const dy = randomTensor(gpu, withArgmax.y.shape as number[], 'dy', 2);
    const y = withArgmax.y.shape;
    const forward = maxPoolForwardWork(shape, y, attrs.kernelShape);
    add(`maxpool forward ${name}`, 'v1', fmtShape(shape), await time(() => pool.maxPoolForwardV1(x, attrs)), forward);
    add(`maxpool forward ${name}`, 'v2', fmtShape(shape), await time(() => pool.maxPoolForward(x, attrs).y), forward);
    add(`maxpool backward ${name}`, 'v1', fmtShape(shape), await time(() => pool.maxPoolBackward(dy, x, attrs)), maxPoolBackwardWork(shape, y, 'input'));
    add(
      `maxpool backward ${name}`,
      'v2',
      fmtShape(shape),
      await time(() => pool.maxPoolBackwardFromArgmax(dy, withArgmax.argmax!, shape, attrs)),
      maxPoolBackwardWork(shape, y, 'argmax'),
    );
    for (const t of [x, withArgmax.y, withArgmax.argmax!, dy]) t.dispose();
  }

  {
    step('kernel: concat, relu backward');
    const shape = [options.batch, 64, 55, 55];
    const a = randomTensor(gpu, shape, 'a');
    const b = randomTensor(gpu, shape, 'b', 2);
    const moved = movementWork(2 * a.size);
    add('concat forward fire2', 'v1', `2×${fmtShape(shape)}`, await time(() => concat.concatForwardV1([a, b], 1)), moved);
    add('concat forward fire2', 'v2', `2×${fmtShape(shape)}`, await time(() => concat.concatForward([a, b], 1)), moved);
    const y = activation.activationForward(a, RELU);
    add('relu backward fire2', 'vec4', fmtShape(shape), await time(() => activation.activationBackward(b, { y }, RELU)), reluBackwardWork(shape));
    for (const t of [a, b, y]) t.dispose();
  }
  {
    step('kernel: global average pool');
    const x = randomTensor(gpu, [options.batch, 1000, 13, 13], 'x');
    const work = globalAveragePoolWork(x.shape);
    add('global average pool', 'v1', fmtShape(x.shape), await time(() => pool.globalAveragePoolForwardV1(x)), work);
    add('global average pool', 'v2', fmtShape(x.shape), await time(() => pool.globalAveragePoolForward(x)), work);
    x.dispose();
  }
  {
    step('kernel: softmax, l2 norm, blur, roll');
    const logits = randomTensor(gpu, [options.batch, 1000], 'logits');
    add('softmax', 'v1', fmtShape(logits.shape), await time(() => softmax.softmaxForward(logits)), bytesOnlyWork(logits.size));
    logits.dispose();
    const img = randomTensor(gpu, [options.batch, 3, 224, 224], 'img');
    add('l2 norm', 'v1', fmtShape(img.shape), await time(() => reduce.l2Norm(img)), l2NormWork(img.shape));
    add('gaussian blur σ=0.5', 'v1', fmtShape(img.shape), await time(() => image.gaussianBlur(img, 0.5)), bytesOnlyWork(img.size));
    add('roll (jitter)', 'v1', fmtShape(img.shape), await time(() => image.roll(img, 7, -5)), movementWork(img.size));
    img.dispose();
  }
  return rows;
}
