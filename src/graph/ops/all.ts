/**
 * Every engine op, one line each: registering an op is adding its line here (docs/adding-an-op.md). The registry
 * (index.ts) reads this module's exports; nothing else lists the ops.
 */
export { Add } from './add.js';
export { AveragePool } from './average-pool.js';
export { Cast } from './cast.js';
export { Clip } from './clip.js';
export { Concat } from './concat.js';
export { ConstantOfShape } from './constant-of-shape.js';
export { Conv } from './conv.js';
export { ConvConcat } from './conv-concat.js';
export { DepthToSpace } from './depth-to-space.js';
export { Expand } from './expand.js';
export { Gather } from './gather.js';
export { GatherElements } from './gather-elements.js';
export { Gemm } from './gemm.js';
export { GlobalAveragePool } from './global-average-pool.js';
export { HardSigmoid } from './hard-sigmoid.js';
export { HardSwish } from './hard-swish.js';
export { Identity } from './identity.js';
export { LeakyRelu } from './leaky-relu.js';
export { LogSoftmax, Softmax } from './softmax.js';
export { MatMul } from './matmul.js';
export { MaxPool } from './max-pool.js';
export { Pad } from './pad.js';
export { Range } from './range.js';
export { Relu } from './relu.js';
export { Reshape } from './reshape.js';
export { Roll } from './roll.js';
export { Scale } from './scale.js';
export { Shape } from './shape.js';
export { Sigmoid } from './sigmoid.js';
export { Silu } from './silu.js';
export { Slice } from './slice.js';
export { SpaceToDepth } from './space-to-depth.js';
export { Split } from './split.js';
export { Squeeze } from './squeeze.js';
export { SumOfSquares } from './sum-of-squares.js';
export { Tile } from './tile.js';
export { Transpose } from './transpose.js';
export { Unsqueeze } from './unsqueeze.js';
