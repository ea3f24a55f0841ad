// Local response normalization across channels (src/kernels/lrn.ts; ONNX LRN, as AlexNet and GoogLeNet use it).
// x is seen as [N, C, inner] (inner = the product of the spatial dims); each element is divided by a power of the
// energy of its channel neighbourhood at the same position:
//
//   s_c = bias + (α/size) · Σ_{i ∈ W(c)} x_i²,    y_c = x_c · s_c^(−β),
//
// W(c) = [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉] ∩ [0, C) (ONNX's window; for an even size it reaches one further up).
// One invocation per element.

override SAVE_SCALE: bool = false;  // the forward also stores s for the backward

struct Params {
  n: u32,                // elements
  channels: u32,         // C
  inner: u32,            // elements per channel of one sample (H·W)
  size: u32,
  alpha_over_size: f32,  // α/size
  beta: f32,
  bias: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> scale_out: array<f32>;

// Below c and above c: how far the window W(c) reaches.
fn reach_down() -> u32 { return (p.size - 1u) / 2u; }
fn reach_up() -> u32 { return p.size / 2u; }   // ⌈(size − 1)/2⌉ = ⌊size/2⌋

@compute @workgroup_size(WG)
fn lrn_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = (i / p.inner) % p.channels;
  let first = i - c * p.inner;  // channel 0 of this sample, same position
  let lo = c - min(c, reach_down());
  let hi = min(p.channels - 1u, c + reach_up());
  var energy = 0.0;
  for (var k = lo; k <= hi; k++) {
    let v = x[first + k * p.inner];
    energy += v * v;
  }
  let s = p.bias + p.alpha_over_size * energy;
  out[i] = x[i] * pow(s, -p.beta);
  if (SAVE_SCALE) { scale_out[i] = s; }
}

// Backward. y_k = x_k · s_k^(−β) depends on x_c directly (k = c) and through s_k for every k whose window holds c:
//   ∂y_k/∂x_c = δ_kc · s_k^(−β) − β · x_k · s_k^(−β−1) · (α/size) · 2x_c      (c ∈ W(k))
// so, with x_k · s_k^(−β−1) = y_k / s_k,
//   dx_c = dy_c · s_c^(−β) − (2αβ/size) · x_c · Σ_{k : c ∈ W(k)} dy_k · y_k / s_k.
// c ∈ W(k) ⟺ k − ⌊(size−1)/2⌋ ≤ c ≤ k + ⌈(size−1)/2⌉ ⟺ c − ⌈(size−1)/2⌉ ≤ k ≤ c + ⌊(size−1)/2⌋: the window mirrored.
@compute @workgroup_size(WG)
fn lrn_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = (i / p.inner) % p.channels;
  let first = i - c * p.inner;
  let lo = c - min(c, reach_up());
  let hi = min(p.channels - 1u, c + reach_down());
  var through_scales = 0.0;
  for (var k = lo; k <= hi; k++) {
    let at = first + k * p.inner;
    through_scales += dy[at] * y[at] / scale[at];
  }
  out[i] = dy[i] * pow(scale[i], -p.beta) - 2.0 * p.alpha_over_size * p.beta * x[i] * through_scales;
}
