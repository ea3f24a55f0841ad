/** Gradient checks of Concat for `npm run gradcheck`: channel concat as in SqueezeNet's Fire modules, and others. */
import type { OpCheck } from '../opcheck.js';
import { concat } from '../ops/concat.js';
import { concatRef } from '../../kernels/concat.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { sizeOf } from '../../gpu/tensor.js';
import { Rng } from '../../util/rng.js';

function randomInput(shape: number[], seed: number): HostTensor {
  return host(shape, new Rng(seed).uniforms(sizeOf(shape)));
}

function concatCheck(name: string, shapes: number[][], axis: number, wrt = shapes.map((_, i) => i)): OpCheck {
  return {
    name,
    inputs: shapes.map((s, i) => randomInput(s, 10 + i)),
    wrt,
    reference: (xs) => concatRef(xs, axis),
    run: (xs) => concat(xs, axis),
  };
}

export const checks: OpCheck[] = [
  concatCheck('Concat channels [2,3,4,5]+[2,5,4,5]', [[2, 3, 4, 5], [2, 5, 4, 5]], 1),
  concatCheck('Concat axis -1, three inputs [3,2,1]+[3,2,4]+[3,2,2]', [[3, 2, 1], [3, 2, 4], [3, 2, 2]], -1),
  concatCheck('Concat axis 0 [1,6]+[2,6], gradient of input 1 only', [[1, 6], [2, 6]], 0, [1]),
];
