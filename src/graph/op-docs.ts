/**
 * How each op of the tape computes its backward, in words a student can follow: the one place this text lives. The
 * op wrappers in src/graph/ops/*.ts point here instead of repeating it, and the web page's tape inspector shows it
 * beside each recorded op. Keys are the names ops record on the tape (TapeNode.op). The kernels' own derivations, index
 * by index, stay in the .wgsl files and src/kernels/*.ts.
 *
 * Notation: y is the op's output, dy = ∂L/∂y the gradient the backward receives, dx = ∂L/∂x what it returns for an
 * input x. The chain rule for one op is always dx_i = Σ_j dy_j · ∂y_j/∂x_i; each text says what that sum becomes.
 */

export interface OpDoc {
  /** what the forward computes */
  forward: string;
  /** how the backward turns dy into the inputs' gradients */
  backward: string;
  /** what the backward reads besides dy: what the tape keeps alive from the forward until then */
  saves: string;
}

// Shared pieces: the fused ops are compositions, and their text is composed from the parts' text rather than retold.

const CONV_FORWARD =
  'y[n,o,h,w] = b[o] + Σ_{c,i,j} w[o,c,i,j] · x[n,c,h·s+i−p,w·s+j−p] (ONNX Conv, NCHW; out-of-image taps read 0).';

const CONV_BACKWARD =
  'Each x element is read by every output position whose window covers it, with weight w[o,c,i,j]; summing dy over those ' +
  'positions gives dx = conv_transpose(dz, w): the same weights, spatially flipped, slid over dz (with stride s, dz is ' +
  'spread out by s first). Likewise dw[o,c,i,j] = Σ_{n,h,w} dz[n,o,h,w] · x[n,c,h·s+i−p,w·s+j−p] correlates dz with x, and ' +
  'db[o] = Σ_{n,h,w} dz[n,o,h,w]. Only the gradients asked for are computed: for a saliency map, the pixels need dx ' +
  'alone, so the weights cost nothing.';

/** The ReLU's backward, for an activation named `z` whose gradient is `dz`. */
const reluGate = (z: string, dz: string): string =>
  `The ReLU is y = max(${z}, 0): ∂y/∂${z} is 1 where ${z} > 0 and 0 elsewhere, so its backward is a gate, ${dz} = dy · [y > 0] — ` +
  `the gradient flows only through units that fired (y > 0 ⇔ ${z} > 0, so y itself tells which).`;

const CONCAT_BACKWARD =
  'Concat only places each input in its own slice of y, so ∂y/∂x is the identity on that slice and zero elsewhere: each ' +
  'input’s gradient is its slice of dy, copied out.';

const FUSED_CONCAT =
  'The convolutions write their channel slices of y in place, so no concatenation runs forward, and backward each conv ' +
  'reads its slice of dz where it lies. An input read by several parts (a Fire module’s squeeze output feeds both expand ' +
  'convs) receives the sum of their gradients — the multivariate chain rule — accumulated by the kernels into one tensor.';

const SOFTMAX_FORWARD = 'y_j = exp(x_j) / Σ_k exp(x_k) over the last axis (the max is subtracted first, which changes nothing but overflow).';

export const OP_DOCS: Readonly<Record<string, OpDoc>> = {
  Conv: {
    forward: CONV_FORWARD,
    backward: `With dz = dy (no activation): ${CONV_BACKWARD}`,
    saves: 'w (for dx) and x (for dw), only those the gradients asked for need.',
  },
  'Conv+Relu': {
    forward: `z = Conv(x, w, b), y = max(z, 0) in one kernel; z is never stored. ${CONV_FORWARD}`,
    backward: `First through the ReLU. ${reluGate('z', 'dz')} Then the convolution, from dz: ${CONV_BACKWARD}`,
    saves: 'y (the ReLU gate), w for dx, x for dw.',
  },
  'Conv‖Concat': {
    forward: `y = Concat_channels(Conv(x₁, w₁, b₁), …, Conv(x_k, w_k, b_k)). ${CONV_FORWARD}`,
    backward: `${CONCAT_BACKWARD} ${FUSED_CONCAT} Each part's convolution backward, from its slice dz = dy_k: ${CONV_BACKWARD}`,
    saves: 'each part’s w (for dx) and x (for dw), as needed.',
  },
  'Conv+Relu‖Concat': {
    forward: `y = Concat_channels(max(Conv(x₁, w₁, b₁), 0), …): a Fire module’s expand layer in one op. ${CONV_FORWARD}`,
    backward:
      `First through the ReLU, once for all of y. ${reluGate('z', 'dz')} Then the concat: ${CONCAT_BACKWARD} ${FUSED_CONCAT} ` +
      `Each part's convolution backward, from its slice of dz: ${CONV_BACKWARD}`,
    saves: 'y (the ReLU gate), each part’s w for dx and x for dw.',
  },
  Relu: {
    forward: 'y = max(x, 0), element by element.',
    backward: reluGate('x', 'dx'),
    saves: 'y.',
  },
  MaxPool: {
    forward: 'y = the largest x in each k×k window (stride s).',
    backward:
      'Within a window, y equals one input — its largest (the first in row-major order at a tie) — so ∂y/∂x is 1 for that ' +
      'input and 0 for the others: each dy goes, whole, to the position its window’s maximum came from, and a position that ' +
      'is the maximum of several overlapping windows (SqueezeNet’s 3×3 stride-2 pools overlap) sums their dy.',
    saves: 'the argmax of each window, written by the forward (not x).',
  },
  AveragePool: {
    forward: 'y = the mean of x over each k×k window (stride s), with or without the padded taps in the count.',
    backward:
      'y_o = (1/d_o) Σ_{i ∈ window o} x_i, so ∂y_o/∂x_i = 1/d_o for each input of the window: dy_o is spread evenly, ' +
      'dy_o/d_o to each, and an input in several windows sums what it gets.',
    saves: 'nothing but x’s shape.',
  },
  GlobalAveragePool: {
    forward: 'y[n,c] = the mean of x[n,c,·,·] over the whole H×W plane.',
    backward:
      'Every element of a plane contributes 1/(H·W) of its mean: dx[n,c,h,w] = dy[n,c] / (H·W), the same value over the ' +
      'plane. SqueezeNet’s class scores are such means of conv10’s maps, so the score of class y sends gradient into ' +
      'channel y only.',
    saves: 'nothing but x’s shape.',
  },
  Reshape: {
    forward: 'the same values seen with another shape (Reshape, Flatten): no kernel, no copy.',
    backward: 'Reshaping relabels indices without moving values, so dx is dy seen with x’s shape — again no copy.',
    saves: 'nothing but x’s shape.',
  },
  Concat: {
    forward: 'y = the inputs placed side by side along one axis.',
    backward: CONCAT_BACKWARD,
    saves: 'nothing but the inputs’ shapes.',
  },
  Add: {
    forward: 'y = a + b (b may be broadcast along axes of size 1).',
    backward:
      '∂y/∂a = ∂y/∂b = 1: both inputs receive dy unchanged (a broadcast input sums dy over the axes it was repeated along).',
    saves: 'nothing.',
  },
  Scale: {
    forward: 'y = s · x for a constant s.',
    backward: '∂y/∂x = s: dx = s · dy.',
    saves: 'nothing.',
  },
  Sum: {
    forward: 'y = Σ x, one number.',
    backward: '∂(Σ x)/∂x_i = 1: every element receives dy.',
    saves: 'nothing but x’s shape.',
  },
  SumOfSquares: {
    forward: 'y = Σ x² (the λ‖I‖² regularizer).',
    backward: '∂(Σ x²)/∂x_i = 2·x_i: dx = 2 · x · dy.',
    saves: 'x.',
  },
  Roll: {
    forward: 'y = x shifted circularly by (ox, oy) pixels (numpy.roll): the jitter of the class visualization.',
    backward: 'A roll is a permutation of the pixels, so the gradient is rolled back: dx = roll(dy, −ox, −oy).',
    saves: 'nothing.',
  },
  Gemm: {
    forward: 'Y = α·A′·B′ + β·C (ONNX Gemm: A′, B′ optionally transposed, C broadcast): a fully connected layer.',
    backward:
      'Y_mn = α Σ_k A′_mk B′_kn, so ∂L/∂A′_mk = α Σ_n dY_mn B′_kn, i.e. dA′ = α · dY · B′ᵀ, and dB′ = α · A′ᵀ · dY (each ' +
      'transposed back when the operand was); dC = β · dY summed over the axes C was broadcast along.',
    saves: 'A and B.',
  },
  MatMul: {
    forward: 'Y = A · B (2-D, or batches of matrices).',
    backward: 'As for any matrix product: dA = dY · Bᵀ and dB = Aᵀ · dY (per batch).',
    saves: 'A and B.',
  },
  Softmax: {
    forward: SOFTMAX_FORWARD,
    backward:
      '∂y_j/∂x_i = y_j (δ_ij − y_i), so dx_i = Σ_j dy_j y_j (δ_ij − y_i) = y_i (dy_i − Σ_j dy_j y_j): every input moves ' +
      'every output, through the shared normalization.',
    saves: 'y.',
  },
  LogSoftmax: {
    forward: `y_j = log softmax(x)_j = x_j − log Σ_k exp(x_k). (${SOFTMAX_FORWARD})`,
    backward: '∂y_j/∂x_i = δ_ij − softmax(x)_i, so dx_i = dy_i − exp(y_i) · Σ_j dy_j.',
    saves: 'y.',
  },
};

/** The explanation of a recorded op; one that has none says so rather than failing the inspector. */
export function opDoc(op: string): OpDoc {
  return (
    OP_DOCS[op] ?? {
      forward: `${op}: no explanation is written for this op yet (src/graph/op-docs.ts).`,
      backward: 'See the op’s wrapper in src/graph/ops/ and its kernels in src/kernels/.',
      saves: '—',
    }
  );
}
