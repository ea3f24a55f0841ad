/**
 * Element-wise arithmetic on whole tensors (shaders/elementwise.wgsl): the glue of the tape (gradient accumulation)
 * and of the techniques' update steps.
 */
import { Tensor } from '../gpu/tensor.js';
import { runElementwise, sameDevice, sameShape, u32 } from './common.js';
import { host, type HostTensor } from './host.js';

/** a + b. Backward: d(a+b)/da = d(a+b)/db = 1, so both inputs receive dy unchanged. */
export function add(a: Tensor, b: Tensor, name = 'add'): Tensor {
  sameShape(a, b, 'add');
  const gpu = sameDevice([a, b], 'add');
  const out = Tensor.empty(gpu, a.shape, name);
  runElementwise(gpu, 'elementwise', 'add', a.size, [u32(a.size)], [a, b, out]);
  return out;
}

export function addRef(a: HostTensor, b: HostTensor): HostTensor {
  return host(a.shape, a.data.map((v, i) => v + b.data[i]!));
}
