/** Small models the attribution and evaluation tests share. */
import { buildModel } from '../src/graph/onnx/build-fixture.js';
import { Rng } from '../src/util/rng.js';

/**
 * conv 3→4 (3×3, pad 1) → tanh → conv 4→5 (3×3) → sigmoid → global average pool → scores [N, 5], seeded weights. No
 * kinks anywhere (no ReLU, no max): float32 and float64 take the same path at every input, so GPU results can be held
 * to float64 point by point wherever an input lies. `size` is the image side (≥ 3).
 */
export function smoothNet(size = 12): Uint8Array {
  const rng = new Rng(21);
  const weights = (name: string, dims: number[]) => ({ name, dims, data: Float32Array.from(rng.normals(dims.reduce((a, b) => a * b, 1), 0.3)) });
  return buildModel({
    irVersion: 8,
    opset: 13,
    inputs: [{ name: 'x', dims: ['N', 3, size, size] }],
    outputs: [{ name: 's', dims: ['N', 5] }],
    initializers: [
      weights('w1', [4, 3, 3, 3]),
      weights('b1', [4]),
      weights('w2', [5, 4, 3, 3]),
      weights('b2', [5]),
      { name: 'shape', dims: [2], type: 'int64', data: [-1, 5] },
    ],
    nodes: [
      { name: 'conv1', opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['z1'], attrs: { pads: [1, 1, 1, 1] } },
      { name: 'tanh', opType: 'Tanh', inputs: ['z1'], outputs: ['a1'] },
      { name: 'conv2', opType: 'Conv', inputs: ['a1', 'w2', 'b2'], outputs: ['z2'] },
      { name: 'sigmoid', opType: 'Sigmoid', inputs: ['z2'], outputs: ['a2'] },
      { name: 'gap', opType: 'GlobalAveragePool', inputs: ['a2'], outputs: ['p'] },
      { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['s'] },
    ],
  });
}
