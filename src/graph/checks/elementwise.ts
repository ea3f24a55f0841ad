/** Gradient checks of the element-wise and small ops for `npm run gradcheck`: add, scale, sum, Σx², roll. */
import type { OpCheck } from '../opcheck.js';
import { add, roll, scale, sum, sumOfSquares } from '../ops/elementwise.js';
import { addRef, scaleRef } from '../../kernels/elementwise.js';
import { rollRef } from '../../kernels/image.js';
import { reduceAllRef } from '../../kernels/reduce.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { sizeOf } from '../../gpu/tensor.js';
import { Rng } from '../../util/rng.js';

function randomInput(shape: number[], seed: number): HostTensor {
  return host(shape, new Rng(seed).uniforms(sizeOf(shape)));
}

export const checks: OpCheck[] = [
  {
    name: 'Add [2,3,4]',
    inputs: [randomInput([2, 3, 4], 51), randomInput([2, 3, 4], 52)],
    wrt: [0, 1],
    reference: ([a, b]) => addRef(a!, b!),
    run: ([a, b]) => add(a!, b!),
  },
  { name: 'Scale [2,3,4] by -0.75', inputs: [randomInput([2, 3, 4], 53)], wrt: [0], reference: ([x]) => scaleRef(x!, -0.75), run: ([x]) => scale(x!, -0.75) },
  { name: 'Sum [2,3,4,5]', inputs: [randomInput([2, 3, 4, 5], 54)], wrt: [0], reference: ([x]) => reduceAllRef(x!, 'sum'), run: ([x]) => sum(x!) },
  {
    name: 'SumOfSquares [2,3,4,5]',
    inputs: [randomInput([2, 3, 4, 5], 55)],
    wrt: [0],
    reference: ([x]) => reduceAllRef(x!, 'sumOfSquares'),
    run: ([x]) => sumOfSquares(x!),
  },
  { name: 'Roll [2,3,5,7] by (2, -3)', inputs: [randomInput([2, 3, 5, 7], 56)], wrt: [0], reference: ([x]) => rollRef(x!, 2, -3), run: ([x]) => roll(x!, 2, -3) },
  { name: 'Roll [1,2,4,3] by (-7, 9)', inputs: [randomInput([1, 2, 4, 3], 57)], wrt: [0], reference: ([x]) => rollRef(x!, -7, 9), run: ([x]) => roll(x!, -7, 9) },
];
