/**
 * Layout ops and shape-subgraph folding in real PyTorch exports (test/torch_layout.py: Debian's python3-torch exports
 * three small networks at opsets 11, 13 and 17 with a symbolic batch, and records its own outputs and input
 * gradients for a batch of 1 and of 3):
 *
 * - every Shape/Gather/Unsqueeze/Concat/Cast/ConstantOfShape node folds away while the model is built — the GPU runs
 *   only computing ops;
 * - forward, at batch 1 and 3 (the Reshape targets folded at batch 1 follow the real batch): PyTorch's outputs to
 *   ≤ 1e-5 (max|Δ|/max|ref|);
 * - backward to the pixels through the tape: PyTorch's autograd to ≤ 1e-4.
 *
 * Skipped, saying why, where python3 has no torch (scripts/setup.sh installs it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { Tape } from '../src/graph/tape.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, useGpu } from './helpers.js';
import { pythonWith } from './python.js';

const python = pythonWith('torch', 'the PyTorch layout exports');
/** Each network, and the layout ops its graph must still run on the GPU once the shape arithmetic is folded. */
const NETWORKS: Record<string, string[]> = {
  viewflatten: ['Reshape'],
  shuffle: ['Slice', 'Reshape', 'Transpose', 'Pad'],
  layouts: ['Pad', 'Transpose', 'Split', 'Slice', 'Gather', 'Unsqueeze', 'Squeeze', 'Expand', 'Tile'],
};
const OPSETS = [11, 13, 17];
/** Ops that exist only for shape arithmetic: none may be left for the GPU. */
const SHAPE_ARITHMETIC = new Set(['Shape', 'ConstantOfShape', 'Range', 'Cast']);

interface Case {
  input: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
  seed: number[];
  grad: number[];
}

describe.skipIf(!python)('PyTorch exports: layout ops and folded shape arithmetic, forward and backward', () => {
  const gpu = useGpu();
  const dir = mkdtempSync(join(tmpdir(), 'pixelprop-torch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let exported = false;
  const exportAll = (): void => {
    if (exported) return;
    const r = spawnSync(python!, [join(__dirname, 'torch_layout.py'), dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`test/torch_layout.py failed: ${r.stderr}`);
    exported = true;
  };

  for (const [net, layoutOps] of Object.entries(NETWORKS)) {
    for (const opset of OPSETS) {
      it(`${net}, opset ${opset}`, async () => {
        exportAll();
        const cases = JSON.parse(readFileSync(join(dir, `${net}.json`), 'utf8')) as Record<string, Case>;
        const model = Model.load(gpu(), readFileSync(join(dir, `${net}-${opset}.onnx`)));
        try {
          const imported = model.stages[0]!.graph.nodes.map((n) => n.sources[0]!.opType);
          expect(imported.some((t) => t === 'Shape' || t === 'ConstantOfShape'), 'the export has shape arithmetic to fold').toBe(true);
          const onGpu = model.graph.nodes.map((n) => n.op.name);
          expect(onGpu.filter((t) => SHAPE_ARITHMETIC.has(t)), 'shape arithmetic left for the GPU').toEqual([]);
          for (const op of layoutOps) expect(onGpu, `${op} on the GPU`).toContain(op);
          for (const batch of ['1', '3']) {
            const c = cases[batch]!;
            const x = Tensor.from(gpu(), c.input.shape, c.input.data, 'input');
            x.requiresGrad = true;
            const tape = new Tape();
            const y = tape.record(() => model.forward(x));
            expect([...y.shape]).toEqual(c.output.shape);
            const forward = expectClose(await y.read(), c.output.data, FORWARD_BOUND, `${net} opset ${opset} batch ${batch}: forward vs PyTorch`);
            const seed = Tensor.from(gpu(), y.shape, c.seed, 'seed');
            const [dx] = tape.backward(y, [x], { seed });
            const backward = expectClose(await dx!.read(), c.grad, BACKWARD_BOUND, `${net} opset ${opset} batch ${batch}: input gradient vs PyTorch autograd`);
            console.log(`${net} opset ${opset} batch ${batch}: forward ${forward.toExponential(1)}, input gradient ${backward.toExponential(1)}`);
            for (const t of [x, y, seed, dx!]) t.dispose();
          }
        } finally {
          model.dispose();
        }
      }, 120_000);
    }
  }
});

