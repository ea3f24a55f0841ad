/**
 * Mul: y = a · b with numpy broadcasting — the squeeze-and-excitation gate (a scale [N,C,1,1] times the features
 * [N,C,H,W]: EfficientNet, MobileNetV3, RegNet), SiLU as PyTorch exports it (x · sigmoid(x)), ConvNeXt's layer scale,
 * GELU's 0.5 · x · (…).
 *
 * Backward. ∂y/∂a = b and ∂y/∂b = a: da = dy · b and db = dy · a, each summed over the axes that operand was broadcast
 * along. The SE scale's gradient is thus Σ_{h,w} dy · x per channel: how much the loss wants each channel louder.
 */
import { binaryBackwardDoc, defineBinary } from '../binary.js';

export const Mul = defineBinary({
  name: 'Mul',
  code: 'MUL',
  f: (a, b) => a * b,
  da: (_a, b) => b,
  db: (a) => a,
  reads: { a: ['b'], b: ['a'] },
  doc: {
    forward: 'y = a · b, element by element over the broadcast shape.',
    backward: binaryBackwardDoc('∂y/∂a = b and ∂y/∂b = a'),
    saves: 'the other operand of each gradient asked for (b for da, a for db).',
  },
});
