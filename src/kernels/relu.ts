/**
 * ReLU, y = max(x, 0).
 *
 * Backward: ∂y/∂x = 1 where x > 0 and 0 where x < 0; at x = 0 the function has no derivative and we take 0 (as
 * PyTorch and TF do), so dx = dy · [y > 0]. It reads y, not x: y > 0 exactly where x > 0.
 */
import { Tensor } from '../gpu/tensor.js';
import { runElementwise, runElementwise4, sameShape, u32 } from './common.js';
import { host, type HostTensor } from './host.js';

export function reluForward(x: Tensor, name = 'relu'): Tensor {
  const y = Tensor.empty(x.gpu, x.shape, name);
  runElementwise(x.gpu, 'elementwise', 'relu_forward', x.size, [u32(x.size)], [x, undefined, y]);
  return y;
}

export function reluBackward(dy: Tensor, y: Tensor): Tensor {
  sameShape(dy, y, 'relu backward');
  const dx = Tensor.empty(y.gpu, y.shape, 'relu.dx');
  runElementwise4(y.gpu, 'elementwise', 'relu_backward', y.size, [], [dy, y, dx]);
  dx.nonzeroChannels = dy.nonzeroChannels; // a mask keeps zeros zero
  return dx;
}

export function reluRef(x: HostTensor): HostTensor {
  return host(x.shape, x.data.map((v) => Math.max(v, 0)));
}

export function reluBackwardRef(dy: HostTensor, y: HostTensor): HostTensor {
  return host(y.shape, dy.data.map((g, i) => (y.data[i]! > 0 ? g : 0)));
}
