/**
 * Every engine op, one line each: registering an op is adding its line here (docs/adding-an-op.md). The registry
 * (index.ts) reads this module's exports; nothing else lists the ops.
 */
export { Add } from './add.js';
export { AveragePool } from './average-pool.js';
export { BatchNormalization } from './batch-norm.js';
export { Clip } from './clip.js';
export { Concat } from './concat.js';
export { Conv } from './conv.js';
export { ConvConcat } from './conv-concat.js';
export { Gemm } from './gemm.js';
export { GlobalAveragePool } from './global-average-pool.js';
export { HardSigmoid } from './hard-sigmoid.js';
export { HardSwish } from './hard-swish.js';
export { Identity } from './identity.js';
export { LeakyRelu } from './leaky-relu.js';
export { LogSoftmax, Softmax } from './softmax.js';
export { MatMul } from './matmul.js';
export { MaxPool } from './max-pool.js';
export { Relu } from './relu.js';
export { Reshape } from './reshape.js';
export { Roll } from './roll.js';
export { Scale } from './scale.js';
export { Sigmoid } from './sigmoid.js';
export { Silu } from './silu.js';
export { Sum, SumOfSquares } from './sum.js';
