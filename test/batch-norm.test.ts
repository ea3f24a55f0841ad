/**
 * BatchNormalization beyond the generic op checks (test/ops.test.ts checks its forward and all five gradients): the
 * ONNX attributes it refuses, and the fold-batchnorm pass — a model with its normalizations folded into the convs
 * against the same model built without the pass, forward and gradient to the pixels:
 *
 * - a small generated network (build-fixture.ts, batchNormNetSpec) with a BN in each place an exporter puts one: after
 *   a conv with a bias, after a grouped conv without one (both folded), after a Concat and after a conv whose output
 *   is read twice (both kept);
 * - a torchvision ResNet-18 with random weights and random BN statistics, exported by PyTorch with its 20
 *   BatchNormalization nodes kept (scripts/torchvision/export.py --keep-batchnorm --random-batchnorm --reference),
 *   against what PyTorch computes for the same input.
 *   Needs a python3 with torch and torchvision (Debian's python3-torch); without one these tests are skipped, saying so.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Model } from '../src/graph/model.js';
import { batchNormNetSpec, buildModel, type ModelSpec } from '../src/graph/onnx/build-fixture.js';
import { host, type HostTensor } from '../src/kernels/host.js';
import { classScoreGradient } from '../src/techniques/gradient.js';
import { relError } from '../src/graph/gradcheck.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, expectPixelpropError, rand, toGpu, useGpu } from './helpers.js';
import { pythonWith } from './python.js';

const gpu = useGpu();
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const count = (m: Model, op: string): number => m.graph.nodes.filter((n) => n.op.name === op).length;

/** GPU scores and ∂s_k/∂x for class k of each image. */
async function scoresAndGradient(model: Model, x: HostTensor, classes: number[]): Promise<{ scores: Float32Array; grad: Float32Array }> {
  const xt = toGpu(gpu(), x, 'x');
  const r = classScoreGradient(model, xt, classes);
  const out = { scores: await r.scores.read(), grad: await r.grad.read() };
  for (const t of [xt, r.scores, r.grad]) t.dispose();
  return out;
}

describe('BatchNormalization attributes', () => {
  const withBn = (edit: (spec: ModelSpec) => void): Uint8Array => {
    const spec = batchNormNetSpec();
    edit(spec);
    return buildModel(spec);
  };
  const bnA = (spec: ModelSpec) => spec.nodes.find((n) => n.name === 'bn_a')!;

  it('refuses the training outputs, training_mode 1 and spatial 0, naming the node', () => {
    expectPixelpropError(
      () => Model.load(gpu(), withBn((s) => bnA(s).outputs.push('saved_mean', 'saved_var'))),
      /node 'bn_a' \(BatchNormalization\): the training outputs .* not supported/,
    );
    expectPixelpropError(
      () => Model.load(gpu(), withBn((s) => (bnA(s).attrs = { training_mode: 1 }))),
      /node 'bn_a' \(BatchNormalization\): training_mode 1 .* not supported/,
    );
    const opset7 = batchNormNetSpec({ opset: 7 });
    opset7.nodes.find((n) => n.name === 'bn_a')!.attrs!.spatial = 0;
    expectPixelpropError(() => Model.load(gpu(), buildModel(opset7)), /node 'bn_a' \(BatchNormalization\): spatial 0 .* not supported/);
  });

  it('refuses statistics of the wrong length at load time', () => {
    const bytes = withBn((s) => {
      const mean = s.initializers!.find((t) => t.name === 'bn_c.running_mean')!;
      mean.dims = [15];
      mean.data = (mean.data as Float32Array).slice(0, 15);
    });
    expectPixelpropError(() => Model.load(gpu(), bytes), /node 'bn_c' \(BatchNormalization\): .*mean \[15\] does not match the input's 16 channels/);
  });
});

describe('fold-batchnorm on a small network', () => {
  for (const opset of [7, 9, 13, 15]) {
    it(`opset ${opset}: folds the two BNs that follow a conv alone, keeps the others, and changes no result`, async () => {
      const bytes = buildModel(batchNormNetSpec({ opset, batch: 'N' }));
      const folded = Model.load(gpu(), bytes);
      const plain = Model.load(gpu(), bytes, { foldBatchNorms: false });
      try {
        const passes = folded.stages.map((s) => s.pass);
        expect(passes.slice(0, 3)).toEqual(['import', 'fold', 'fold-batchnorm']);
        expect(count(plain, 'BatchNormalization')).toBe(4);
        expect(count(folded, 'BatchNormalization')).toBe(2);
        expect(folded.graph.nodes.filter((n) => n.op.name === 'BatchNormalization').map((n) => n.name)).toEqual(['bn_c', 'bn_e']);
        const convA = folded.graph.nodes.find((n) => n.name === 'conv_a')!;
        expect(convA.sources.map((s) => s.name)).toEqual(['conv_a', 'bn_a', 'bn_a_relu']);
        expect(folded.describePasses()).toContain('after fold-batchnorm');

        const x = rand([2, 3, 12, 12], 3);
        const classes = [4, 7];
        const f = await scoresAndGradient(folded, x, classes);
        const p = await scoresAndGradient(plain, x, classes);
        const fwd = expectClose(f.scores, p.scores, FORWARD_BOUND, 'folded vs unfolded scores');
        const bwd = expectClose(f.grad, p.grad, BACKWARD_BOUND, 'folded vs unfolded gradient');
        // and both against the float64 CPU path of the unfolded graph (every BN through its reference)
        const ref = plain.referenceClassScoreGradient(x, classes);
        expectClose(f.scores, ref.scores.data, FORWARD_BOUND, 'folded GPU vs float64 CPU path');
        expectClose(f.grad, ref.grad.data, BACKWARD_BOUND, 'folded GPU gradient vs float64 CPU path');
        expectClose(p.grad, ref.grad.data, BACKWARD_BOUND, 'unfolded GPU gradient vs float64 CPU path');
        console.log(`opset ${opset}: folded vs unfolded scores ${fwd.toExponential(2)}, gradient ${bwd.toExponential(2)}`);
      } finally {
        folded.dispose();
        plain.dispose();
      }
    });
  }

  it('gives the conv output hidden by the fold when asked for it by name', async () => {
    const model = Model.load(gpu(), buildModel(batchNormNetSpec()));
    try {
      expect(model.graph.hidden.has('conv_a')).toBe(true);
      const x = rand([1, 3, 12, 12], 4);
      const xt = toGpu(gpu(), x, 'x');
      const { output, kept } = model.forward(xt, { keep: ['conv_a'] });
      const z = kept.get('conv_a')!;
      expect(z.shape).toEqual([1, 8, 12, 12]);
      // conv_a's output is the unnormalized convolution: with its BN between, it must differ from bn_a's output.
      const { output: o2, kept: k2 } = model.forward(xt, { keep: ['bn_a'] });
      expect(relError(await z.read(), await k2.get('bn_a')!.read())).toBeGreaterThan(0.1);
      for (const t of [xt, output, z, o2, ...k2.values()]) t.dispose();
    } finally {
      model.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// torchvision's ResNet-18 through PyTorch's own exporter.

const PYTHON = pythonWith('torch, torchvision', 'the torchvision ResNet-18 export');

describe.skipIf(!PYTHON)('torchvision ResNet-18, random weights, exported by PyTorch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelprop-resnet18-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const SIZE = 64;
  let exported = false;
  const exportOnce = (): void => {
    if (exported) return;
    const script = join(repoRoot, 'scripts', 'torchvision', 'export.py');
    const args = ['resnet18', '13', join(dir, 'model.onnx'), '--size', String(SIZE), '--keep-batchnorm', '--random-batchnorm', '--reference', dir];
    const r = spawnSync(PYTHON!, [script, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`export failed: ${r.stderr}`);
    exported = true;
  };
  const floats = (name: string): Float32Array => {
    const b = readFileSync(join(dir, name));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  /** PyTorch's autograd on a float64 copy of the network (export.py --reference) */
  const grad64 = (): Float64Array => new Float64Array(Uint8Array.from(readFileSync(join(dir, 'grad64.bin'))).buffer);

  it('folds all 20 BatchNormalizations and agrees with PyTorch and with the unfolded graph, forward and gradient', async () => {
    exportOnce();
    const bytes = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
    const folded = Model.load(gpu(), bytes);
    const plain = Model.load(gpu(), bytes, { foldBatchNorms: false });
    try {
      expect(count(plain, 'BatchNormalization')).toBe(20);
      expect(count(folded, 'BatchNormalization')).toBe(0);
      expect(count(folded, 'Conv')).toBe(20);
      const x = host([1, 3, SIZE, SIZE], floats('input.bin'));
      const k = Number(readFileSync(join(dir, 'classes.txt'), 'utf8'));
      const f = await scoresAndGradient(folded, x, [k]);
      const p = await scoresAndGradient(plain, x, [k]);
      const errors = {
        foldedVsTorch: expectClose(f.scores, floats('logits.bin'), FORWARD_BOUND, 'folded vs PyTorch logits'),
        unfoldedVsTorch: expectClose(p.scores, floats('logits.bin'), FORWARD_BOUND, 'unfolded vs PyTorch logits'),
        foldedVsUnfolded: expectClose(f.scores, p.scores, FORWARD_BOUND, 'folded vs unfolded logits'),
        gradFoldedVsTorch: expectClose(f.grad, grad64(), BACKWARD_BOUND, 'folded vs PyTorch float64 gradient'),
        gradUnfoldedVsTorch: expectClose(p.grad, grad64(), BACKWARD_BOUND, 'unfolded vs PyTorch float64 gradient'),
        gradFoldedVsUnfolded: expectClose(f.grad, p.grad, BACKWARD_BOUND, 'folded vs unfolded gradient'),
      };
      console.log(`ResNet-18 (${SIZE}×${SIZE}, class ${k}):`, Object.entries(errors).map(([n, e]) => `${n} ${e.toExponential(2)}`).join(', '));
    } finally {
      folded.dispose();
      plain.dispose();
    }
  });
});
