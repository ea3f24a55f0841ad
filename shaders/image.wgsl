// Image kernels on NCHW tensors (src/kernels/image.ts): circular shift (the class visualization's jitter) and one
// axis of a separable Gaussian blur. One invocation per output element, i = global id folded over a 2-D grid.
// Bindings: 0 = Params, 1 = x, 2 = blur weights, 3 = out.

override WG: u32 = 256;
override ALONG_W: bool = false;  // gaussian_blur_1d: filter along W (the rows) instead of along H (the columns)

struct Params {
  n: u32,        // elements of x (and of out)
  height: u32,   // H
  width: u32,    // W
  shift_h: u32,  // roll: the offset along H, reduced to [0, H)
  shift_w: u32,  // roll: the offset along W, reduced to [0, W)
  radius: u32,   // blur: the filter has 2·radius + 1 taps
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// numpy.roll / torch.roll on the last two axes: out[.., (h + oy) mod H, (w + ox) mod W] = x[.., h, w]. Written as a
// gather (each output finds its source) so that every output is written exactly once:
//   out[.., h, w] = x[.., (h − oy) mod H, (w − ox) mod W],
// with the offsets already reduced to [0, H) and [0, W), so that adding H − shift keeps everything unsigned.
// Backward: roll is a permutation P of the elements, y = P x, so dx = Pᵀ dy = P⁻¹ dy: the roll by (−ox, −oy).
@compute @workgroup_size(WG)
fn roll(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let w = i % p.width;
  let h = (i / p.width) % p.height;
  let plane = i - h * p.width - w;  // index of element (.., 0, 0) of this image plane
  let src_h = (h + p.height - p.shift_h) % p.height;
  let src_w = (w + p.width - p.shift_w) % p.width;
  out[i] = x[plane + src_h * p.width + src_w];
}

// scipy.ndimage's mode 'reflect' (half-sample symmetric, d c b a | a b c d | d c b a): the extended signal is
// periodic with period 2n, and within one period the second half mirrors the first. Valid for any offset, also when
// the filter is wider than the image (a 3-pixel image under a 9-tap filter reflects more than once).
fn reflect(i: i32, n: i32) -> i32 {
  let period = 2 * n;
  var j = i % period;          // WGSL's % keeps the sign of i
  if (j < 0) { j += period; }
  if (j >= n) { j = period - 1 - j; }
  return j;
}

// One axis of the separable Gaussian: out[.., h, w] = Σ_k weights[k] · x[.., reflect(h + k − r), w]   (along H)
//                                  or                 Σ_k weights[k] · x[.., h, reflect(w + k − r)]   (along W).
// The weights are symmetric, so this correlation equals scipy's convolution.
@compute @workgroup_size(WG)
fn gaussian_blur_1d(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let w = i % p.width;
  let h = (i / p.width) % p.height;
  let plane = i - h * p.width - w;
  let r = i32(p.radius);
  var acc = 0.0;
  for (var k = 0; k <= 2 * r; k++) {
    var src: u32;
    if (ALONG_W) {
      src = plane + h * p.width + u32(reflect(i32(w) + k - r, i32(p.width)));
    } else {
      src = plane + u32(reflect(i32(h) + k - r, i32(p.height))) * p.width + w;
    }
    acc += weights[k] * x[src];
  }
  out[i] = acc;
}
