// The techniques' own kernels (src/kernels/technique.ts): what turns a gradient into a saliency map, and the few
// element-wise steps of SmoothGrad and of the class visualization that elementwise.wgsl does not have. One invocation
// per output element (linked after common.wgsl). None of these runs on the tape: their outputs are what the user
// looks at (a map) or an update of the image being optimized, never something a gradient flows back through.

struct ChannelAbsMax {
  n: u32,         // pixels of the map: N·H·W
  channels: u32,  // C
  plane: u32,     // H·W, the distance between one pixel's channels
}

struct Count {
  n: u32,
}

struct NoisyCopies {
  n: u32,       // elements of all copies: B·C·H·W
  sample: u32,  // elements of one image: C·H·W
  offset: u32,  // the first element of the source image in x
  sigma: f32,   // the noise's standard deviation σ
}

struct SampleMean {
  n: u32,        // elements of one sample
  samples: u32,  // B, the samples summed
  offset: u32,   // the first element of the running sum in acc
  scale: f32,    // 1 / (total samples), so that after the last chunk acc holds the mean
}

struct Scaled {
  n: u32,
  factor: f32,
}

@group(0) @binding(0) var<uniform> cam: ChannelAbsMax;
@group(0) @binding(0) var<uniform> count: Count;
@group(0) @binding(0) var<uniform> copies: NoisyCopies;
@group(0) @binding(0) var<uniform> mean: SampleMean;
@group(0) @binding(0) var<uniform> scaled: Scaled;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> noise: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// The saliency map of Simonyan et al.: M[n, h, w] = max_c |x[n, c, h, w]|, with x = ∂s_y/∂image. One invocation per
// pixel of the map reads the C values of its pixel, which sit H·W apart.
@compute @workgroup_size(WG)
fn channel_abs_max(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= cam.n) { return; }
  let pixel = i % cam.plane;
  let first = (i / cam.plane) * cam.channels * cam.plane + pixel;  // element (n, 0, h, w)
  var m = 0.0;
  for (var c = 0u; c < cam.channels; c++) {
    m = max(m, abs(x[first + c * cam.plane]));
  }
  out[i] = m;
}

// M[n, h, w] = Σ_c x[n, c, h, w]: an attribution that sums to a score difference (Integrated Gradients, gradient ×
// input) keeps its sign and its total when its channels are added up.
@compute @workgroup_size(WG)
fn channel_sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= cam.n) { return; }
  let pixel = i % cam.plane;
  let first = (i / cam.plane) * cam.channels * cam.plane + pixel;
  var s = 0.0;
  for (var c = 0u; c < cam.channels; c++) {
    s += x[first + c * cam.plane];
  }
  out[i] = s;
}

// out = x ⊙ b: gradient × input (Shrikumar et al.), the first-order Taylor term of each pixel's contribution to the
// score relative to the all-zero (mean-colour) image.
@compute @workgroup_size(WG)
fn multiply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= count.n) { return; }
  out[i] = x[i] * b[i];
}

// SmoothGrad's batch of noisy copies of one image: out[k, j] = x[offset + j] + σ · noise[k, j], with standard normal
// noise drawn on the CPU (seeded, so the same on every adapter). j = i mod (elements per sample) broadcasts the one
// source image over the B copies.
@compute @workgroup_size(WG)
fn noisy_copies(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= copies.n) { return; }
  out[i] = x[copies.offset + i % copies.sample] + copies.sigma * noise[i];
}

// out[offset + j] += scale · Σ_k x[k, j] over the B samples of x, in place: SmoothGrad's running mean over chunks of
// noisy copies. One invocation per element j of one sample adds its B values serially: B is a chunk size (≤ a few
// dozen), far too short for the error of a serial sum to matter.
@compute @workgroup_size(WG)
fn accumulate_sample_mean(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = index(gid, nwg);
  if (j >= mean.n) { return; }
  var s = 0.0;
  for (var k = 0u; k < mean.samples; k++) {
    s += x[k * mean.n + j];
  }
  out[mean.offset + j] += mean.scale * s;
}

// out *= factor, in place: the weight decay x ← (1 − θ_decay)·x of Yosinski et al.'s class visualization.
// (elementwise.wgsl's scale writes a new tensor; an in-place form needs the buffer bound once, read_write.)
@compute @workgroup_size(WG)
fn scale_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= scaled.n) { return; }
  out[i] *= scaled.factor;
}
