/**
 * torchvision's classification CNNs as users make them: random (seeded) weights, exported by torch.onnx.export at
 * opsets 11 to 17, some with a symbolic batch (scripts/torchvision/export.py). For each architecture, at batch 2:
 *
 * - it loads;
 * - pixelprop's GPU forward agrees with onnxruntime's (onnxruntime-web's wasm build, an independent implementation of
 *   ONNX) within 1e-4, max|Δ|/max|ref| over the scores. Not the per-op 1e-5: these are 8 to 160 layers deep, and the
 *   two engines sum every conv in different orders (onnxruntime in MLAS's blocked GEMMs, pixelprop in its tiles); each
 *   layer's float32 rounding (~1e-7 relative) is amplified by the layers after it. Measured: 1.2e-7 to 1.1e-6 (the table
 *   the test prints; README);
 * - pixelprop's GPU input gradient of each image's class score (the argmax of the float64 scores) agrees with PyTorch's
 *   autograd in float64 within the float32 band, image by image: error ≤ max(K × band, FLOOR). The band is how far
 *   PyTorch's own float32 gradients lie from float64: at the input, and at JITTER_DRAWS copies of it moved by ±1e-6 per
 *   pixel (export.py --reference). Rounding alone puts float32 gradients ~1e-6 off; but a ReLU pre-activation or a
 *   max-pool pair within float32 noise of a tie goes one way in one float32 computation and the other way in another,
 *   and such a flip moves the gradient by far more (ResNet-50 at 64×64, image 2: one unit of layer3.0's conv1 at
 *   |z| = 1.9e-6, where the layer's float32 error is 1.7e-5, moves it by 1.2%; docs/onnx-ops.md). The jittered copies
 *   flip such units as rounding does, so the band holds flips PyTorch's float32 could have made as well as rounding.
 *   K = 10: two float32 implementations sum in different orders (PyTorch's im2col/Winograd/MKL-DNN vs pixelprop's tiles),
 *   so their rounding errors are of the same order, not equal; FLOOR = 1e-4 (the project's backward bound) for networks
 *   where PyTorch's float32 happens to land very near float64.
 *
 * Exports are cached in node_modules/.cache/pixelprop/torchvision/, keyed by the export script's content and the
 * arguments: a second run exports nothing. Input sides: AlexNet and VGG at 224 (their adaptive pooling to 6×6 and
 * 7×7 exports only where the map is a multiple of it), the others at a smaller side (64, Inception v3 at 75, its
 * smallest) — their classifier follows a global pooling, so the graph and every op are the same as at 224, and each
 * run costs a tenth.
 *
 * Plain `npm test` runs a representative subset (one of each family of ops: plain/residual/grouped/depthwise/
 * concat/SE/LayerNorm), printing which it leaves out; PIXELPROP_TORCHVISION=all (set by .ci/run) runs all of them.
 * Needs a python3 with torch and torchvision (test/python.ts); without one the file is skipped, saying so.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { relError } from '../src/graph/gradcheck.js';
import { Model } from '../src/graph/model.js';
import { classScoreGradient } from '../src/techniques/gradient.js';
import { Tensor } from '../src/gpu/tensor.js';
import { BACKWARD_BOUND, useGpu } from './helpers.js';
import { pythonWith } from './python.js';

const gpu = useGpu();
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXPORT_SCRIPT = join(repoRoot, 'scripts', 'torchvision', 'export.py');
const CACHE = join(repoRoot, 'node_modules', '.cache', 'pixelprop', 'torchvision');

/** Scores: two float32 engines, 8 to 160 layers deep (see the file comment). */
const FORWARD_VS_ORT = 1e-4;
/** Gradient: error ≤ max(GRAD_K × PyTorch float32's error, GRAD_FLOOR) (see the file comment). */
const GRAD_K = 10;
const GRAD_FLOOR = BACKWARD_BOUND;
const BATCH = 2;

interface Arch {
  name: string;
  opset: number;
  /** the batch dimension symbolic in the file */
  dynamic: boolean;
  side: number;
  /** in plain `npm test` (all run with PIXELPROP_TORCHVISION=all) */
  subset: boolean;
}

// Opsets spread over 11-17, a symbolic batch for about half.
const ARCHS: Arch[] = [
  { name: 'alexnet', opset: 11, dynamic: false, side: 224, subset: false },
  { name: 'vgg11', opset: 13, dynamic: true, side: 224, subset: false },
  { name: 'resnet18', opset: 12, dynamic: true, side: 64, subset: true },
  { name: 'resnet50', opset: 14, dynamic: false, side: 64, subset: false },
  { name: 'resnext50_32x4d', opset: 15, dynamic: true, side: 64, subset: false },
  { name: 'wide_resnet50_2', opset: 16, dynamic: false, side: 64, subset: false },
  { name: 'squeezenet1_0', opset: 17, dynamic: true, side: 64, subset: false },
  { name: 'squeezenet1_1', opset: 11, dynamic: false, side: 64, subset: true },
  { name: 'densenet121', opset: 13, dynamic: true, side: 64, subset: false },
  { name: 'googlenet', opset: 12, dynamic: false, side: 64, subset: true },
  { name: 'inception_v3', opset: 14, dynamic: true, side: 75, subset: false },
  { name: 'mobilenet_v2', opset: 15, dynamic: false, side: 64, subset: true },
  { name: 'mobilenet_v3_small', opset: 16, dynamic: true, side: 64, subset: true },
  { name: 'mobilenet_v3_large', opset: 17, dynamic: false, side: 64, subset: false },
  { name: 'mnasnet1_0', opset: 11, dynamic: true, side: 64, subset: false },
  { name: 'shufflenet_v2_x1_0', opset: 13, dynamic: false, side: 64, subset: true },
  { name: 'efficientnet_b0', opset: 14, dynamic: true, side: 64, subset: false },
  { name: 'regnet_y_400mf', opset: 15, dynamic: false, side: 64, subset: true },
  { name: 'convnext_tiny', opset: 17, dynamic: true, side: 64, subset: true },
];

const ALL = process.env.PIXELPROP_TORCHVISION === 'all';
const only = process.env.PIXELPROP_TORCHVISION_ONLY?.split(',');
const chosen = ARCHS.filter((a) => (only ? only.includes(a.name) : ALL || a.subset));
if (!ALL) {
  const left = ARCHS.filter((a) => !chosen.includes(a)).map((a) => a.name);
  console.warn(
    `torchvision architectures: running ${chosen.length} of ${ARCHS.length}` +
      (only ? ` (PIXELPROP_TORCHVISION_ONLY)` : '') +
      `; left out: ${left.join(', ')}. PIXELPROP_TORCHVISION=all runs every one (CI does).`,
  );
}

/** The export's folder in the cache, made on first use: model.onnx and the reference of export.py --reference. */
function exported(python: string, a: Arch): string {
  const args = [a.name, String(a.opset), '--size', String(a.side), '--batch', String(BATCH), ...(a.dynamic ? ['--dynamic-batch'] : ['--export-batch', String(BATCH)])];
  const key = createHash('sha256').update(readFileSync(EXPORT_SCRIPT)).update(JSON.stringify(args)).digest('hex').slice(0, 16);
  const dir = join(CACHE, `${a.name}-${a.opset}${a.dynamic ? '-dyn' : ''}-${a.side}-${key}`);
  if (existsSync(join(dir, 'model.onnx'))) return dir;
  // Exports of an older script or of other arguments for this architecture and opset are stale: remove them (VGG's is
  // half a gigabyte).
  const prefix = `${a.name}-${a.opset}`;
  if (existsSync(CACHE)) {
    for (const old of readdirSync(CACHE)) if (old.startsWith(`${prefix}-`) && /-[0-9a-f]{16}$/.test(old)) rmSync(join(CACHE, old), { recursive: true, force: true });
  }
  // Written beside and renamed into place, so that an interrupted export is never taken for a finished one.
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const [arch, opset, ...flags] = args;
  const r = spawnSync(python, [EXPORT_SCRIPT, arch!, opset!, join(partial, 'model.onnx'), ...flags, '--reference', partial], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`export of ${a.name} failed: ${r.stderr}`);
  renameSync(partial, dir);
  return dir;
}

/** The part of onnxruntime-web's API used here. */
interface Ort {
  env: { wasm: { numThreads?: number } };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
  InferenceSession: {
    create(model: Uint8Array, options: { executionProviders: string[] }): Promise<{
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
      release(): Promise<void>;
    }>;
  };
}

async function onnxruntimeScores(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const ort = (await import('onnxruntime-web')) as unknown as Ort;
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    const out = await session.run({ input: new ort.Tensor('float32', input, dims) });
    return Float32Array.from(out.output!.data as Float32Array);
  } finally {
    await session.release();
  }
}

interface Row {
  arch: string;
  opset: string;
  forward: number;
  gradient: number;
  torch32: number;
  band: number;
  /** export (0 when cached), onnxruntime, pixelprop (load, forward and backward) */
  seconds: { export: number; ort: number; pixelprop: number };
}
const rows: Row[] = [];

const PYTHON = pythonWith('torch, torchvision', 'the torchvision architectures');

describe.skipIf(!PYTHON)('torchvision architectures, random weights, batch 2', () => {
  afterAll(() => {
    const e = (v: number): string => v.toExponential(1);
    const lines = [
      '| architecture | opset | forward vs onnxruntime | gradient vs torch float64 | torch float32 vs float64 | float32 band | pixelprop s | onnxruntime s | export s |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.arch} | ${r.opset} | ${e(r.forward)} | ${e(r.gradient)} | ${e(r.torch32)} | ${e(r.band)} | ${r.seconds.pixelprop.toFixed(1)} | ${r.seconds.ort.toFixed(1)} | ${r.seconds.export.toFixed(0)} |`),
    ];
    console.log(`torchvision architectures (max|Δ|/max|ref|, the worse image of 2; pixelprop's seconds: load, forward and backward; export 0 when cached):\n${lines.join('\n')}`);
  });

  for (const a of chosen) {
    it(`${a.name}, opset ${a.opset}${a.dynamic ? ', symbolic batch' : ''}, ${a.side}×${a.side}`, { timeout: 900_000 }, async () => {
      const t0 = performance.now();
      const dir = exported(PYTHON!, a);
      const t1 = performance.now();
      const floats = (name: string): Float32Array => {
        const b = readFileSync(join(dir, name));
        return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      };
      const grad64 = ((b) => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)))(readFileSync(join(dir, 'grad64.bin')));
      const classes = readFileSync(join(dir, 'classes.txt'), 'utf8').trim().split('\n').map(Number);
      const dims = [BATCH, 3, a.side, a.side];
      const input = floats('input.bin');
      const bytes = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
      const ortScores = await onnxruntimeScores(bytes, input, dims);
      const t2 = performance.now();

      const model = Model.load(gpu(), bytes);
      const x = Tensor.from(gpu(), dims, input, 'input');
      try {
        const r = classScoreGradient(model, x, classes);
        const scores = await r.scores.read();
        const grad = await r.grad.read();
        const t3 = performance.now();
        r.scores.dispose();
        r.grad.dispose();
        // Image by image: a near-tie flip in one image must not hide behind the other's larger band.
        const size = grad.length / BATCH;
        const image = (a: ArrayLike<number>, i: number, offset = 0): number[] => Array.prototype.slice.call(a, offset + i * size, offset + (i + 1) * size);
        const jittered = floats('grad32-jittered.bin');
        const grad32 = floats('grad32.bin');
        const perImage = Array.from({ length: BATCH }, (_, i) => {
          const ref = image(grad64, i);
          const torch32 = relError(image(grad32, i), ref);
          let band = torch32;
          for (let d = 0; d < jittered.length / grad.length; d++) band = Math.max(band, relError(image(jittered, i, d * grad.length), ref));
          return { gradient: relError(image(grad, i), ref), torch32, band };
        });
        const worst = (k: 'gradient' | 'torch32' | 'band'): number => Math.max(...perImage.map((p) => p[k]));
        const row: Row = {
          arch: a.name,
          opset: `${a.opset}${a.dynamic ? ' (symbolic batch)' : ''}`,
          forward: relError(scores, ortScores),
          gradient: worst('gradient'),
          torch32: worst('torch32'),
          band: worst('band'),
          seconds: { export: (t1 - t0) / 1000, ort: (t2 - t1) / 1000, pixelprop: (t3 - t2) / 1000 },
        };
        rows.push(row);
        const e = (v: number): string => v.toExponential(2);
        console.log(
          `${a.name}: forward vs onnxruntime ${e(row.forward)}; gradient vs torch float64 per image ` +
            perImage.map((p) => `${e(p.gradient)} (torch float32 ${e(p.torch32)}, band ${e(p.band)})`).join(', ') +
            `; seconds: export ${row.seconds.export.toFixed(1)}, onnxruntime ${row.seconds.ort.toFixed(1)}, pixelprop ${row.seconds.pixelprop.toFixed(1)}`,
        );
        // PyTorch's float32 scores beside onnxruntime's: the export itself is faithful.
        expect(relError(floats('logits.bin'), ortScores), 'PyTorch vs onnxruntime scores').toBeLessThanOrEqual(FORWARD_VS_ORT);
        expect(row.forward, 'pixelprop vs onnxruntime scores').toBeLessThanOrEqual(FORWARD_VS_ORT);
        perImage.forEach((p, i) =>
          expect(p.gradient, `image ${i}: pixelprop gradient vs torch float64 (band ${e(p.band)})`).toBeLessThanOrEqual(Math.max(GRAD_K * p.band, GRAD_FLOOR)),
        );
      } finally {
        x.dispose();
        model.dispose();
      }
    });
  }
});
