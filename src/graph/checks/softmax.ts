/** Gradient checks of Softmax and LogSoftmax for `npm run gradcheck`, including a 1000-class row. */
import type { OpCheck } from '../opcheck.js';
import { logSoftmax, softmax } from '../ops/softmax.js';
import { logSoftmaxRef, softmaxRef } from '../../kernels/softmax.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { sizeOf } from '../../gpu/tensor.js';
import { Rng } from '../../util/rng.js';

function randomInput(shape: number[], seed: number, spread: number): HostTensor {
  return host(shape, new Rng(seed).uniforms(sizeOf(shape), -spread, spread));
}

export const checks: OpCheck[] = [
  { name: 'Softmax [3,7]', inputs: [randomInput([3, 7], 41, 2)], wrt: [0], reference: ([x]) => softmaxRef(x!), run: ([x]) => softmax(x!) },
  { name: 'Softmax [2,1000], logits ±8', inputs: [randomInput([2, 1000], 42, 8)], wrt: [0], reference: ([x]) => softmaxRef(x!), run: ([x]) => softmax(x!) },
  { name: 'LogSoftmax [3,7]', inputs: [randomInput([3, 7], 43, 2)], wrt: [0], reference: ([x]) => logSoftmaxRef(x!), run: ([x]) => logSoftmax(x!) },
  { name: 'LogSoftmax [2,1000], logits ±8', inputs: [randomInput([2, 1000], 44, 8)], wrt: [0], reference: ([x]) => logSoftmaxRef(x!), run: ([x]) => logSoftmax(x!) },
];
