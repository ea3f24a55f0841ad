/**
 * Sub: y = a − b with numpy broadcasting (a decomposed LayerNorm's x − mean; normalization constants).
 *
 * Backward. ∂y/∂a = 1 and ∂y/∂b = −1: a receives dy and b receives −dy, each summed over the axes it was broadcast
 * along (the mean [N,H,W,1] of x − mean gets −Σ_c dy).
 */
import { binaryBackwardDoc, defineBinary } from '../binary.js';

export const Sub = defineBinary({
  name: 'Sub',
  code: 'SUB',
  f: (a, b) => a - b,
  da: () => 1,
  db: () => -1,
  reads: { a: [], b: [] },
  doc: {
    forward: 'y = a − b, element by element over the broadcast shape.',
    backward: binaryBackwardDoc('∂y/∂a = 1 and ∂y/∂b = −1'),
    saves: 'nothing but the shapes.',
  },
});
