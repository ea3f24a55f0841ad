/**
 * LeakyRelu, the op added by docs/adding-an-op.md's walk-through. Its gradient checks (alone and as a conv epilogue)
 * run from its definition in test/ops.test.ts; here, what those do not show: the values at and around the kink match
 * PyTorch's convention, and an ONNX model that uses it loads, fuses it into the conv before it, and runs on the GPU
 * as its float64 CPU path does.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { classScoreGradient } from '../src/techniques/gradient.js';
import { buildModel } from '../src/graph/onnx/build-fixture.js';
import { LeakyRelu } from '../src/graph/ops/leaky-relu.js';
import type { ConvAttrs } from '../src/graph/ops/conv.js';
import { Tape } from '../src/graph/tape.js';
import { Rng } from '../src/util/rng.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, useGpu } from './helpers.js';

const gpu = useGpu();

describe('LeakyRelu', () => {
  it('y and dy/dz at −2, 0, 3 with α = 0.1: the α side at 0, as torch.nn.functional.leaky_relu', async () => {
    const x = Tensor.from(gpu(), [3], [-2, 0, 3], 'z');
    x.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => LeakyRelu.apply(x, { alpha: 0.1 }, 'y'));
    expect(Array.from(await y.read())).toEqual([Math.fround(-0.2), 0, 3]);
    const [dx] = tape.backward(y, [x], { seed: Tensor.from(gpu(), [3], [1, 1, 1]) });
    expect(Array.from(await dx!.read())).toEqual([Math.fround(0.1), Math.fround(0.1), 1]);
    for (const t of [x, y, dx!]) t.dispose();
  });

  it('an ONNX Conv → LeakyRelu → GlobalAveragePool model: fused, and GPU = CPU path forward and backward', async () => {
    const rng = new Rng(9);
    const bytes = buildModel({
      irVersion: 8,
      opset: 16,
      inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
      outputs: [{ name: 'scores', dims: [1, 5] }],
      initializers: [
        { name: 'w', dims: [5, 3, 3, 3], data: Float32Array.from(rng.uniforms(135)) },
        { name: 'b', dims: [5], data: Float32Array.from(rng.uniforms(5)) },
        { name: 'shape', dims: [2], type: 'int64', data: [1, 5] },
      ],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'leaky', opType: 'LeakyRelu', inputs: ['z'], outputs: ['a'], attrs: { alpha: 0.2 } },
        { name: 'gap', opType: 'GlobalAveragePool', inputs: ['a'], outputs: ['p'] },
        { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
      ],
    });
    const model = Model.load(gpu(), bytes);
    try {
      const conv = model.graph.nodes.find((n) => n.op.name === 'Conv')!;
      expect((conv.attrs as ConvAttrs).activation.op).toBe('LeakyRelu');
      expect(model.graph.nodes.map((n) => n.op.name)).not.toContain('LeakyRelu');
      const image = Float32Array.from(new Rng(10).uniforms(2 * 3 * 64));
      const x = Tensor.from(gpu(), [2, 3, 8, 8], image, 'x');
      const { scores, grad } = classScoreGradient(model, x, [1, 4]);
      const ref = model.referenceClassScoreGradient({ shape: [2, 3, 8, 8], data: Float64Array.from(image) }, [1, 4]);
      expectClose(await scores.read(), ref.scores.data, FORWARD_BOUND, 'scores');
      expectClose(await grad.read(), ref.grad.data, BACKWARD_BOUND, 'gradient');
      for (const t of [x, scores, grad]) t.dispose();
    } finally {
      model.dispose();
    }
  });
});
