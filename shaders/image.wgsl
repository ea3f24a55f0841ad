// Image kernels on NCHW tensors (src/kernels/image.ts): circular shift (the class visualization's jitter) and one
// axis of a separable Gaussian blur. One invocation per output pixel and column of planes (see below).

override TILE_W: u32 = 64;       // invocations per workgroup, along W
override ALONG_W: bool = false;  // gaussian_blur_1d: filter along W (the rows) instead of along H (the columns)

struct Roll {
  height: u32,   // H
  width: u32,    // W
  shift_h: u32,  // the offset along H, reduced to [0, H)
  shift_w: u32,  // the offset along W, reduced to [0, W)
  planes: u32,   // N·C
}

struct Blur {
  height: u32,
  width: u32,
  radius: u32,   // the filter has 2·radius + 1 taps
  planes: u32,
}

@group(0) @binding(0) var<uniform> p: Roll;
@group(0) @binding(0) var<uniform> blur: Blur;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// numpy.roll / torch.roll on the last two axes: out[.., (h + oy) mod H, (w + ox) mod W] = x[.., h, w]. Written as a
// gather (each output finds its source) so that every output is written exactly once:
//   out[.., h, w] = x[.., (h − oy) mod H, (w − ox) mod W],
// with the offsets already reduced to [0, H) and [0, W), so that adding H − shift keeps everything unsigned.
// Backward: roll is a permutation P of the elements, y = P x, so dx = Pᵀ dy = P⁻¹ dy: the roll by (−ox, −oy).
// The image kernels run on a 3-D grid — x along W, y along H, z over the N·C planes (stepping by the grid's z past
// 65535) — so that no invocation divides to find its pixel: on a CPU adapter an integer division is eight scalar
// divisions, and these kernels do little else.

// out[.., h, w] = x[.., (h − shift_h) mod H, (w − shift_w) mod W]: numpy's roll by (shift_h, shift_w).
@compute @workgroup_size(TILE_W)
fn roll(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = gid.x;
  let h = gid.y;
  if (w >= p.width || h >= p.height) { return; }
  // shifts are reduced to [0, size), so one conditional subtraction replaces the modulo
  var src_h = h + p.height - p.shift_h;
  if (src_h >= p.height) { src_h -= p.height; }
  var src_w = w + p.width - p.shift_w;
  if (src_w >= p.width) { src_w -= p.width; }
  let plane_size = p.height * p.width;
  for (var plane = gid.z; plane < p.planes; plane += nwg.z) {
    out[plane * plane_size + h * p.width + w] = x[plane * plane_size + src_h * p.width + src_w];
  }
}

fn reflect(i: i32, n: i32) -> i32 {
  if (i >= 0 && i < n) { return i; }  // the common case, inside the image: no modulo
  let period = 2 * n;
  var j = i % period;          // WGSL's % keeps the sign of i
  if (j < 0) { j += period; }
  if (j >= n) { j = period - 1 - j; }
  return j;
}

// One axis of the separable Gaussian: out[.., h, w] = Σ_k weights[k] · x[.., reflect(h + k − r), w]   (along H)
//                                  or                 Σ_k weights[k] · x[.., h, reflect(w + k − r)]   (along W).
// The weights are symmetric, so this correlation equals scipy's convolution.
@compute @workgroup_size(TILE_W)
fn gaussian_blur_1d(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = gid.x;
  let h = gid.y;
  if (w >= blur.width || h >= blur.height) { return; }
  let r = i32(blur.radius);
  let plane_size = blur.height * blur.width;
  for (var plane = gid.z; plane < blur.planes; plane += nwg.z) {
    let base = plane * plane_size;
    var acc = 0.0;
    for (var k = 0; k <= 2 * r; k++) {
      var src: u32;
      if (ALONG_W) {
        src = base + h * blur.width + u32(reflect(i32(w) + k - r, i32(blur.width)));
      } else {
        src = base + u32(reflect(i32(h) + k - r, i32(blur.height))) * blur.width + w;
      }
      acc += weights[k] * x[src];
    }
    out[base + h * blur.width + w] = acc;
  }
}
