// Activation functions y = f(z), element by element, and their derivatives — one definition, used twice: by the
// element-wise activation ops (shaders/activation_ops.wgsl; src/graph/activation.ts) and as the epilogue of the
// convolutions (shaders/conv2d.wgsl and conv2d_tiled.wgsl call `activate` on each result before storing it). This
// file declares no bindings, so that any kernel can link it.
//
// Which function a pipeline computes is the override constant ACTIVATION, so a compiled pipeline contains one
// function and no branch (the switch folds away at pipeline creation). Its parameters (Clip's bounds, HardSigmoid's
// α and β) are the override constants ACT_ALPHA and ACT_BETA. The codes below are the one
// definition of the numbering: the TypeScript side looks each up by its name here (src/graph/activation.ts).
//
// Derivatives at the kinks follow PyTorch, so that gradients compare with autograd: ReLU and Clip pass nothing at
// their corners (Clip's gradient is 1 strictly between its bounds, as for PyTorch's ReLU6 and Hardtanh).

const ACT_NONE: u32 = 0u;          // y = z
const ACT_RELU: u32 = 1u;          // y = max(z, 0)
const ACT_CLIP: u32 = 2u;          // y = min(max(z, α), β); ReLU6 is Clip(0, 6)
const ACT_SIGMOID: u32 = 3u;       // y = 1 / (1 + e^(−z))
const ACT_HARD_SIGMOID: u32 = 4u;  // y = max(0, min(1, α·z + β))
const ACT_HARD_SWISH: u32 = 5u;    // y = z · max(0, min(1, z/6 + 1/2))
const ACT_SILU: u32 = 6u;          // y = z · sigmoid(z)   (PyTorch exports it as Sigmoid then Mul; the fusion pass joins them)
const ACT_LEAKY_RELU: u32 = 7u;    // y = z if z ≥ 0 else α·z

override ACTIVATION: u32 = ACT_NONE;
override ACT_ALPHA: f32 = 0.0;
override ACT_BETA: f32 = 0.0;
// Whether the backward reads z (true) or y (false): set from each function's declaration in TypeScript.
override GRAD_FROM_Z: bool = false;

fn sigmoid(z: f32) -> f32 {
  return 1.0 / (1.0 + exp(-z));
}

fn activate(z: f32) -> f32 {
  switch ACTIVATION {
    case ACT_RELU: { return max(z, 0.0); }
    case ACT_CLIP: { return min(max(z, ACT_ALPHA), ACT_BETA); }
    case ACT_SIGMOID: { return sigmoid(z); }
    case ACT_HARD_SIGMOID: { return clamp(ACT_ALPHA * z + ACT_BETA, 0.0, 1.0); }
    case ACT_HARD_SWISH: { return z * clamp(z / 6.0 + 0.5, 0.0, 1.0); }
    case ACT_SILU: { return z * sigmoid(z); }
    case ACT_LEAKY_RELU: { return select(ACT_ALPHA * z, z, z >= 0.0); }
    default: { return z; }
  }
}

// ∂y/∂z, from z and y = f(z). Where y alone decides it, only y is read, so that a fused convolution, which never
// stores z, can take its gradient from its output: ReLU's gate y > 0, Clip's lo < y < hi, the sigmoid's y·(1 − y).
// HardSwish, SiLU and LeakyRelu read z (their definitions in src/graph/ops/ say so, and set GRAD_FROM_Z).
fn activation_grad(z: f32, y: f32) -> f32 {
  switch ACTIVATION {
    case ACT_RELU: { return select(0.0, 1.0, y > 0.0); }
    case ACT_CLIP: { return select(0.0, 1.0, y > ACT_ALPHA && y < ACT_BETA); }
    case ACT_SIGMOID: { return y * (1.0 - y); }
    case ACT_HARD_SIGMOID: { return select(0.0, ACT_ALPHA, y > 0.0 && y < 1.0); }
    case ACT_HARD_SWISH: {
      if (z < -3.0) { return 0.0; }
      if (z > 3.0) { return 1.0; }
      return z / 3.0 + 0.5;
    }
    case ACT_SILU: {
      let s = sigmoid(z);
      return s * (1.0 + z * (1.0 - s));
    }
    case ACT_LEAKY_RELU: { return select(ACT_ALPHA, 1.0, z > 0.0); }
    default: { return 1.0; }
  }
}
