// Batch normalization in inference form (ONNX BatchNormalization; src/kernels/batchnorm.ts has the dispatches and the
// float64 references). For x [N, C, D1, …] and per-channel γ (scale), β (bias), μ (mean), σ² (variance):
//
//   y[n,c,…] = (x[n,c,…] − μ[c]) · γ[c] / √(σ²[c] + ε) + β[c]
//
// The statistics are constants of the trained network (the running averages), not computed from the batch. Where a
// Conv feeds the normalization alone, the model builder folds it into the conv's weights instead
// (src/graph/passes/fold-batchnorm.ts); these kernels run the rest (DenseNet normalizes the output of a Concat).
//
// Linked as ['common', 'batchnorm'].

struct Params {
  total: u32,     // elements of x (= of y, dy, dx)
  channels: u32,  // C
  plane: u32,     // elements of one channel of one sample: D1·D2·… (1 for x [N, C])
  batch: u32,     // N
  epsilon: f32,   // ε
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;     // γ [C]
@group(0) @binding(3) var<storage, read> beta: array<f32>;      // β [C]
@group(0) @binding(4) var<storage, read> mean: array<f32>;      // μ [C]
@group(0) @binding(5) var<storage, read> variance: array<f32>;  // σ² [C]
@group(0) @binding(6) var<storage, read> dy: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>; // y, dx, or the parameters' gradients [4, C]

// γ / √(σ² + ε): the factor channel c's values are multiplied by.
fn gain(c: u32) -> f32 {
  return gamma[c] / sqrt(variance[c] + p.epsilon);
}

// y = (x − μ)·γ/√(σ²+ε) + β, one invocation per element.
@compute @workgroup_size(WG)
fn batchnorm_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.total) { return; }
  let c = (i / p.plane) % p.channels;
  out[i] = (x[i] - mean[c]) * gain(c) + beta[c];
}

// dx = ∂L/∂x, one invocation per element.
//
// Derivation. y[n,c,…] depends on x[n,c,…] alone, linearly, with slope ∂y/∂x = γ[c]/√(σ²[c]+ε). So
//
//   dx[n,c,…] = dy[n,c,…] · γ[c] / √(σ²[c] + ε)
//
// — a per-channel scaling of dy; a channel where dy is zero stays zero.
@compute @workgroup_size(WG)
fn batchnorm_backward_input(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.total) { return; }
  let c = (i / p.plane) % p.channels;
  out[i] = dy[i] * gain(c);
}

// The gradients of the four parameters, one workgroup per channel c, written to out as rows of [4, C]:
// out[0·C + c] = dγ, out[1·C + c] = dβ, out[2·C + c] = dμ, out[3·C + c] = dσ².
//
// Derivation. Write s = 1/√(σ²+ε) and x̂ = (x − μ)·s, so y = γ·x̂ + β. Each parameter of channel c enters every
// y[n,c,…] of that channel, so its gradient sums over n and the plane (Σ below):
//
//   ∂y/∂β  = 1                          dβ  = Σ dy
//   ∂y/∂γ  = x̂ = (x − μ)·s              dγ  = s · Σ dy·(x − μ)
//   ∂y/∂μ  = −γ·s                       dμ  = −γ·s · Σ dy            = −γ·s · dβ
//   ∂y/∂σ² = γ·(x − μ)·∂s/∂σ²,  ∂s/∂σ² = −½·(σ²+ε)^(−3/2) = −½·s³
//                                       dσ² = −½·γ·s³ · Σ dy·(x − μ)
//
// So two sums per channel, Σ dy and Σ dy·(x − μ), give all four. The workgroup's invocations each sum a strided share
// of the channel's N·plane values, then halve the partial sums in workgroup memory (WG is a power of two).
var<workgroup> partial_dy: array<f32, WG>;
var<workgroup> partial_dyx: array<f32, WG>;

@compute @workgroup_size(WG)
fn batchnorm_backward_params(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let c = wid.x + wid.y * nwg.x;  // uniform across the workgroup, so the early return keeps barriers uniform
  if (c >= p.channels) { return; }
  let mu = mean[c];
  var sum_dy = 0.0;
  var sum_dyx = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let base = (n * p.channels + c) * p.plane;
    for (var j = lid; j < p.plane; j += WG) {
      let g = dy[base + j];
      sum_dy += g;
      sum_dyx += g * (x[base + j] - mu);
    }
  }
  partial_dy[lid] = sum_dy;
  partial_dyx[lid] = sum_dyx;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half = half / 2u) {
    if (lid < half) {
      partial_dy[lid] += partial_dy[lid + half];
      partial_dyx[lid] += partial_dyx[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let s = 1.0 / sqrt(variance[c] + p.epsilon);
    let g = gamma[c];
    out[c] = s * partial_dyx[0];
    out[p.channels + c] = partial_dy[0];
    out[2u * p.channels + c] = -g * s * partial_dy[0];
    out[3u * p.channels + c] = -0.5 * g * s * s * s * partial_dyx[0];
  }
}
