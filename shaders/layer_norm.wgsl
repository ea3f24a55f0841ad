// Layer normalization (src/kernels/layer-norm.ts; ONNX LayerNormalization): x seen as [rows, cols], cols the product of
// the normalized axes (the last ones). Each row is normalized by its own mean and variance, then scaled and shifted
// per column:
//
//   μ = (1/n) Σ_j x_j,   σ² = (1/n) Σ_j (x_j − μ)²,   r = 1/√(σ² + ε),   x̂_j = (x_j − μ)·r,   y_j = γ_j·x̂_j + β_j
//
// One workgroup per row (its invocations stride over the columns, then a tree in workgroup memory), as softmax.wgsl.
// The variance is the mean of squared deviations from the mean already computed (two passes over the row): the
// one-pass E[x²] − μ² cancels catastrophically when |μ| ≫ σ.

override WG: u32 = 256;          // invocations per row (or per column), a power of two; see layer-norm.ts
override HAS_BIAS: bool = true;  // whether β is bound (ONNX's B is optional)
override HAS_DSTATS: bool = false; // whether gradients reach the statistics (ONNX's Mean and InvStdDev outputs)

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
// Per row: μ at 2·row and r = 1/√(σ² + ε) at 2·row + 1, written by the forward for the backward.
@group(0) @binding(5) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
// The parameters' gradients, one per column.
@group(0) @binding(6) var<storage, read_write> dbias: array<f32>;
// Per row, the gradients reaching the statistics as outputs: ∂L/∂μ at 2·row, ∂L/∂r at 2·row + 1.
@group(0) @binding(6) var<storage, read> dstats: array<f32>;

var<workgroup> scratch: array<f32, WG>;

fn group_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// The sum of `value` over the workgroup, returned to every invocation.
fn workgroup_sum(t: u32, value: f32) -> f32 {
  scratch[t] = value;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (t < width) { scratch[t] += scratch[t + width]; }
    workgroupBarrier();
  }
  let result = scratch[0];
  workgroupBarrier(); // everyone has read scratch[0] before it is written again
  return result;
}

@compute @workgroup_size(WG)
fn layer_norm_forward(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
                      @builtin(num_workgroups) nwg: vec3u) {
  let row = group_index(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let n = f32(p.cols);
  var s = 0.0;
  for (var j = t; j < p.cols; j += WG) { s += x[base + j]; }
  let mean = workgroup_sum(t, s) / n;
  var q = 0.0;
  for (var j = t; j < p.cols; j += WG) {
    let d = x[base + j] - mean;
    q += d * d;
  }
  let r = 1.0 / sqrt(workgroup_sum(t, q) / n + p.eps);
  for (var j = t; j < p.cols; j += WG) {
    var v = (x[base + j] - mean) * r * scale[j];
    if (HAS_BIAS) { v += bias[j]; }
    out[base + j] = v;
  }
  if (t == 0u) {
    stats_out[2u * row] = mean;
    stats_out[2u * row + 1u] = r;
  }
}

// Backward to x. With g_j = dy_j·γ_j (the gradient reaching x̂_j):
//   ∂x̂_k/∂x_j = r·(δ_jk − 1/n) − x̂_k·x̂_j·r/n      (x_j moves x̂_k directly, through μ, and through σ)
// so
//   dx_j = Σ_k g_k ∂x̂_k/∂x_j = r · (g_j − mean_k(g_k) − x̂_j · mean_k(g_k·x̂_k)).
// Two sums per row (Σ g and Σ g·x̂), then one pass writing dx.
// When μ and r are outputs too (dμ = ∂L/∂μ, dr = ∂L/∂r reach them), their own paths add
//   ∂μ/∂x_j = 1/n   and   ∂r/∂x_j = −½·r³·∂σ²/∂x_j = −r³·(x_j − μ)/n = −r²·x̂_j/n
// (∂σ²/∂x_j = 2(x_j − μ)/n: the Σ_k (x_k − μ) term of ∂μ vanishes), so dx_j += dμ/n − dr·r²·x̂_j/n.
@compute @workgroup_size(WG)
fn layer_norm_backward(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
                       @builtin(num_workgroups) nwg: vec3u) {
  let row = group_index(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let n = f32(p.cols);
  let mean = stats[2u * row];
  let r = stats[2u * row + 1u];
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = t; j < p.cols; j += WG) {
    let g = dy[base + j] * scale[j];
    sg += g;
    sgx += g * (x[base + j] - mean) * r;
  }
  let mean_g = workgroup_sum(t, sg) / n;
  let mean_gx = workgroup_sum(t, sgx) / n;
  var dmean = 0.0;
  var dr = 0.0;
  if (HAS_DSTATS) {
    dmean = dstats[2u * row];
    dr = dstats[2u * row + 1u];
  }
  for (var j = t; j < p.cols; j += WG) {
    let xhat = (x[base + j] - mean) * r;
    out[base + j] = r * (dy[base + j] * scale[j] - mean_g - xhat * mean_gx) + (dmean - dr * r * r * xhat) / n;
  }
}

// Backward to γ and β: y_j = γ_j·x̂_j + β_j in every row, so dγ_j = Σ_rows dy_j·x̂_j and dβ_j = Σ_rows dy_j. One
// workgroup per column, its invocations striding over the rows (out receives dγ, dbias dβ).
@compute @workgroup_size(WG)
fn layer_norm_backward_params(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
                              @builtin(num_workgroups) nwg: vec3u) {
  let col = group_index(wid, nwg);
  if (col >= p.cols) { return; }
  var sgx = 0.0;
  var sg = 0.0;
  for (var row = t; row < p.rows; row += WG) {
    let i = row * p.cols + col;
    sgx += dy[i] * (x[i] - stats[2u * row]) * stats[2u * row + 1u];
    sg += dy[i];
  }
  let total_gx = workgroup_sum(t, sgx);
  let total_g = workgroup_sum(t, sg);
  if (t == 0u) {
    out[col] = total_gx;
    dbias[col] = total_g;
  }
}
