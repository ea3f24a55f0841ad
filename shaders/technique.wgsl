// The techniques' own kernels (src/kernels/technique.ts): what turns a gradient into a saliency map, and the few
// element-wise steps of SmoothGrad and of the class visualization that elementwise.wgsl does not have.
// One invocation per output element, i = global id folded over a 2-D grid (see Gpu.grid).
// Bindings: 0 = Params, 1 = a, 2 = b, 3 = out. None of these runs on the tape: their outputs are what the user looks
// at (a map) or an update of the image being optimized, never something a gradient flows back through.

override WG: u32 = 256;

struct Params {
  n: u32,       // invocations: elements of out written
  count: u32,   // channel_abs_max: channels C; accumulate_sample_mean: samples B
  stride: u32,  // channel_abs_max: H·W between channels; accumulate_sample_mean, noisy_copies: elements per sample
  offset: u32,  // noisy_copies: first element of the source image in a; accumulate_sample_mean: first element of out
  alpha: f32,   // noisy_copies: the noise's standard deviation; accumulate_sample_mean: 1 / samples; scale_in_place
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// The saliency map of Simonyan et al.: M[n, h, w] = max_c |a[n, c, h, w]|, with a = ∂s_y/∂x. One invocation per
// pixel of the map reads the C values of its pixel, which sit H·W apart.
@compute @workgroup_size(WG)
fn channel_abs_max(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let pixel = i % p.stride;
  let first = (i / p.stride) * p.count * p.stride + pixel;  // element (n, 0, h, w)
  var m = 0.0;
  for (var c = 0u; c < p.count; c++) {
    m = max(m, abs(a[first + c * p.stride]));
  }
  out[i] = m;
}

// out = a ⊙ b: gradient × input (Shrikumar et al.), the first-order Taylor term of each pixel's contribution to the
// score relative to the all-zero (mean-colour) image.
@compute @workgroup_size(WG)
fn multiply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = a[i] * b[i];
}

// SmoothGrad's batch of noisy copies of one image: out[k, j] = a[offset + j] + alpha · b[k, j], with b standard
// normal noise drawn on the CPU (seeded, so the same on every adapter) and alpha = σ. j = i mod (elements per sample)
// broadcasts the one source image over the B copies.
@compute @workgroup_size(WG)
fn noisy_copies(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = a[p.offset + i % p.stride] + p.alpha * b[i];
}

// out[offset + j] += alpha · Σ_k a[k, j] over the B = count samples of a, in place: SmoothGrad's running mean over
// chunks of noisy copies, with alpha = 1 / (total samples), so that after the last chunk out holds the mean. One
// invocation per element j of one sample adds its B values serially: B is a chunk size (≤ a few dozen), far too short
// for the error of a serial sum to matter.
@compute @workgroup_size(WG)
fn accumulate_sample_mean(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = index(gid, nwg);
  if (j >= p.n) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.count; k++) {
    s += a[k * p.stride + j];
  }
  out[p.offset + j] += p.alpha * s;
}

// out *= alpha, in place: the weight decay x ← (1 − θ_decay)·x of Yosinski et al.'s class visualization.
// (elementwise.wgsl's scale writes a new tensor; an in-place form needs the buffer bound once, read_write.)
@compute @workgroup_size(WG)
fn scale_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] *= p.alpha;
}
