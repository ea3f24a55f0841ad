/**
 * Identity and Dropout (the identity at inference): y = x. The model's alias pass removes them wherever it can; this op
 * runs only where one produces a graph output, as a view of its input under the output's name, so that gradients pass
 * through it (dx = dy).
 */
import { host, type HostTensor } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { defineOp } from '../op.js';

export const Identity = defineOp<Record<string, never>>({
  name: 'Identity',
  onnx: {
    types: ['Identity', 'Dropout'],
    arity: [1, 1],
    // Dropout's ratio and training_mode inputs (opset 12) change nothing at inference.
    attrInputs: [1, 2],
    attrs: (r) => {
      if (r.node.outputs[1]) r.fail('the dropout mask output is not supported');
      return {};
    },
  },
  shape: ([x]) => [x!],
  forward: ([x], _, ctx) => ({ outputs: [x!.reshape(x!.shape, ctx.name)] }),
  backward: ({ dys: [dy], name }) => [dy!.reshape(dy!.shape, `grad(${name})`)],
  keepsChannels: true,
  reference: {
    forward: ([x]) => [x as HostTensor],
    backward: ([dy]) => [dy as HostTensor],
  },
  doc: { forward: 'y = x.', backward: 'dx = dy.', saves: 'nothing.' },
  checks: [{ name: 'Identity [3,4]', inputs: () => [host([3, 4], new Rng(42).uniforms(12))], attrs: {} }],
});
