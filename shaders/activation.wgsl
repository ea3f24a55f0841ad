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
const ACT_SQRT: u32 = 8u;          // y = √z            (NaN below 0)
const ACT_EXP: u32 = 9u;           // y = e^z
const ACT_LOG: u32 = 10u;          // y = ln z          (−∞ at 0, NaN below)
const ACT_NEG: u32 = 11u;          // y = −z
const ACT_RECIPROCAL: u32 = 12u;   // y = 1/z
const ACT_TANH: u32 = 13u;         // y = tanh z
const ACT_ABS: u32 = 14u;          // y = |z|
const ACT_ERF: u32 = 15u;          // y = erf z = 2/√π ∫₀^z e^(−t²) dt   (GELU as PyTorch exports it: x/2 · (1 + erf(x/√2)))

override ACTIVATION: u32 = ACT_NONE;
override ACT_ALPHA: f32 = 0.0;
override ACT_BETA: f32 = 0.0;
// Whether the backward reads z (true) or y (false): set from each function's declaration in TypeScript.
override GRAD_FROM_Z: bool = false;

fn sigmoid(z: f32) -> f32 {
  return 1.0 / (1.0 + exp(-z));
}

// tanh without overflow: (1 − e^(−2|z|)) / (1 + e^(−2|z|)) with z's sign, which never forms e^(+2|z|) (inf/inf = NaN
// for |z| > 44 in the textbook (e^2z − 1)/(e^2z + 1)); below |z| = 2^−4 the Taylor series x − x³/3 + 2x⁵/15, where
// 1 − e^(−2|z|) would cancel most of its bits.
fn tanh_f32(z: f32) -> f32 {
  let x = abs(z);
  if (x < 0.0625) {
    let x2 = z * z;
    return z * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0)));
  }
  let e = exp(-2.0 * x);
  return sign(z) * (1.0 - e) / (1.0 + e);
}

// erf in float32 (WGSL has none). Below |z| = 0.5 its Maclaurin series to z¹¹, 2/√π · (z − z³/3 + z⁵/10 − z⁷/42 + z⁹/216
// − z¹¹/1320), whose first omitted term is < 3e-8 of erf(z) there; beyond, 1 − erfc(|z|) with the sign of z, erfc by the
// Chebyshev fit of Numerical Recipes (erfcc: erfc(x) ≈ t·exp(−x² + P(t)), t = 1/(1 + x/2), relative error < 1.2e-7).
// Together: |error| < 1.5e-7 against the float64 erf (test/math-ops.test.ts sweeps [−7, 7]).
fn erf_f32(z: f32) -> f32 {
  let x = abs(z);
  if (x < 0.5) {
    let x2 = z * z;
    return z * (1.1283791671 + x2 * (-0.37612638903 + x2 * (0.11283791671 + x2 * (-0.026866170645 + x2 * (0.0052239776254 + x2 * -0.00085483270235)))));
  }
  let t = 1.0 / (1.0 + 0.5 * x);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
          t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return sign(z) * (1.0 - t * exp(-x * x + p));
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
    case ACT_SQRT: { return sqrt(z); }
    case ACT_EXP: { return exp(z); }
    case ACT_LOG: { return log(z); }
    case ACT_NEG: { return -z; }
    case ACT_RECIPROCAL: { return 1.0 / z; }
    case ACT_TANH: { return tanh_f32(z); }
    case ACT_ABS: { return abs(z); }
    case ACT_ERF: { return erf_f32(z); }
    default: { return z; }
  }
}

// ∂y/∂z, from z and y = f(z). Where y alone decides it, only y is read, so that a fused convolution, which never
// stores z, can take its gradient from its output: ReLU's gate y > 0, Clip's lo < y < hi, the sigmoid's y·(1 − y).
// HardSwish, SiLU, LeakyRelu, Log, Abs and Erf read z (their definitions in src/graph/ops/ say so, and set GRAD_FROM_Z).
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
    case ACT_SQRT: { return 0.5 / y; }                          // d√z/dz = 1/(2√z), from y: +∞ at z = 0, as PyTorch
    case ACT_EXP: { return y; }                                 // de^z/dz = e^z = y
    case ACT_LOG: { return 1.0 / z; }                           // d ln z/dz = 1/z
    case ACT_NEG: { return -1.0; }
    case ACT_RECIPROCAL: { return -y * y; }                     // d(1/z)/dz = −1/z² = −y²
    case ACT_TANH: { return 1.0 - y * y; }                      // d tanh z/dz = 1 − tanh² z = 1 − y²
    case ACT_ABS: { return sign(z); }                           // ±1, and 0 at z = 0 (PyTorch's sgn)
    case ACT_ERF: { return 1.1283791671 * exp(-z * z); }        // d erf z/dz = 2/√π · e^(−z²)
    default: { return 1.0; }
  }
}
