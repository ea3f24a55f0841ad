// Pooling on NCHW float32 tensors: MaxPool, AveragePool (ONNX semantics) and GlobalAveragePool, forward and backward.
// The shape rules, the attribute checks and the float64 references are in src/kernels/pool.ts.
//
// Geometry, the same along each spatial axis. Output position o looks at the input positions
//
//     pos(o, k) = o·stride − pad_begin + k·dilation,   k = 0 … kernel − 1   (the window's "taps")
//
// and a tap outside [0, in) lies in the padding. The N·C planes are independent, so every index below is
// (plane, y, x) with plane = n·C + c.
//
// Two versions, as in llm.c. Version 1 (the first kernels below) is one invocation per element of the result, its
// backward in the *gather* form: one invocation per input element adds up the contributions of the windows that
// contain it (inverting pos(o, k) for a fixed tap k gives the window o directly, see covering_window). A naive scatter
// (one invocation per window adding into dx) would need atomic float adds, which WGSL does not have. Version 2 (at the
// end; what the engine runs) indexes by a 3-D grid, and its max-pool backward *does* scatter — through the argmax the
// forward saved, one phase of non-overlapping windows per dispatch, so that no two invocations add into one element.
//
// Linked after common.wgsl. Each entry point binds what it uses: x (the forward's input), dy (the gradient of the
// output), out, and for max pooling's version 2 the saved argmax.

struct Params {
  n: u32,            // invocations: output elements (forward), input elements (backward), planes (global forward)
  in_h: i32,
  in_w: i32,
  out_h: i32,
  out_w: i32,
  kernel_h: i32,
  kernel_w: i32,
  stride_h: i32,
  stride_w: i32,
  dilation_h: i32,
  dilation_w: i32,
  pad_top: i32,
  pad_left: i32,
  pad_bottom: i32,
  pad_right: i32,
  count_include_pad: u32, // AveragePool only: 1 = padding taps count in the divisor
  planes: u32,       // N·C (the version-2 kernels loop over planes along the grid's z)
  phase_y: i32,      // max_pool_backward_scatter: this dispatch's windows are oy = phase_y + step_y·i, ...
  phase_x: i32,
  step_y: i32,
  step_x: i32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// The argmax of each window as its index within the plane, stored as an f32 (exact below 2^24, which the CPU side
// checks), written by max_pool_forward_grid when SAVE_ARGMAX and read by max_pool_backward_scatter.
@group(0) @binding(4) var<storage, read_write> argmax: array<f32>;
@group(0) @binding(5) var<storage, read> argmax_in: array<f32>;

override SAVE_ARGMAX: bool = false;
// The window size as pipeline constants (0: read it from Params). With them the window loops have constant trip
// counts, which the shader compiler unrolls: on lavapipe, max pooling's forward then runs about 3x faster (a loop
// with a run-time bound costs exec-mask bookkeeping on every iteration, for every lane).
override KERNEL_H: u32 = 0u;
override KERNEL_W: u32 = 0u;

fn kernel_h() -> i32 {
  return select(p.kernel_h, i32(KERNEL_H), KERNEL_H > 0u);
}

fn kernel_w() -> i32 {
  return select(p.kernel_w, i32(KERNEL_W), KERNEL_W > 0u);
}

// Where flat index i lies in a tensor whose planes are h × w.
struct Site {
  plane: i32,
  row: i32,
  col: i32,
}

fn site(i: u32, h: i32, w: i32) -> Site {
  let plane_size = u32(h * w);
  let r = i32(i % plane_size);
  return Site(i32(i / plane_size), r / w, r % w);
}

// The window along one axis whose tap k sits on input position i, or −1 if there is none:
//     i = o·stride − pad + k·dilation  ⇔  o = (i + pad − k·dilation) / stride,
// a window only when the division is exact and 0 ≤ o < out. (Checking t < 0 first keeps % away from negatives.)
fn covering_window(i: i32, k: i32, stride: i32, pad: i32, dilation: i32, out_size: i32) -> i32 {
  let t = i + pad - k * dilation;
  if (t < 0 || t % stride != 0) { return -1; }
  let o = t / stride;
  return select(-1, o, o < out_size);
}

// ---------------------------------------------------------------------------------------------------------------
// MaxPool

// The flat index in x of the largest value of window (oy, ox) of `plane`. Taps are scanned in row-major order
// (ky outer, kx inner) and the running best is replaced only when a value is strictly greater, so among equal values
// the FIRST tap in row-major window order wins. Padding taps are skipped, which is the same as padding with −∞: they
// never win, and a window of negative values yields its largest value, not 0. The shape rules guarantee that every
// window has at least one tap on the input, so the result is never −1.
//
// Forward and backward both call this function on the same x, so the backward routes dy to exactly the element the
// forward output, ties included.
fn window_argmax(plane: i32, oy: i32, ox: i32) -> i32 {
  let base = plane * p.in_h * p.in_w;
  var best_index = -1;
  var best = 0.0;
  for (var ky = 0; ky < kernel_h(); ky++) {
    let iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
    if (iy < 0 || iy >= p.in_h) { continue; }
    for (var kx = 0; kx < kernel_w(); kx++) {
      let ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
      if (ix < 0 || ix >= p.in_w) { continue; }
      let j = base + iy * p.in_w + ix;
      let v = x[j];
      if (best_index < 0 || v > best) {
        best = v;
        best_index = j;
      }
    }
  }
  return best_index;
}

// y[plane, oy, ox] = max over the window's taps on the input. One invocation per output element.
@compute @workgroup_size(WG)
fn max_pool_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let o = site(i, p.out_h, p.out_w);
  out[i] = x[window_argmax(o.plane, o.row, o.col)];
}

// Backward, version 1. Each output is y_o = x_{a(o)} with a(o) = window_argmax(o), so ∂y_o/∂x_j = [a(o) = j] (almost
// everywhere: the max is piecewise linear, and at a tie we take the derivative of the branch the forward took).
// The chain rule gives
//
//     dx_j = Σ_o dy_o · ∂y_o/∂x_j = Σ_{o : j in window o, a(o) = j} dy_o.
//
// One invocation per input element j: for each tap (ky, kx), the window that has that tap on j (covering_window),
// and if that window's argmax — recomputed from x — is j, its dy is added. Recomputing keeps the forward a
// one-output kernel, at kernel_h·kernel_w reads per covering window (about 20 per element for SqueezeNet's 3×3
// stride-2 pools). Version 2 (max_pool_backward_scatter, what the engine runs) saves the argmax in the forward
// instead and scatters through it.
@compute @workgroup_size(WG)
fn max_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = index(gid, nwg);
  if (j >= p.n) { return; }
  let e = site(j, p.in_h, p.in_w);
  var g = 0.0;
  for (var ky = 0; ky < p.kernel_h; ky++) {
    let oy = covering_window(e.row, ky, p.stride_h, p.pad_top, p.dilation_h, p.out_h);
    if (oy < 0) { continue; }
    for (var kx = 0; kx < p.kernel_w; kx++) {
      let ox = covering_window(e.col, kx, p.stride_w, p.pad_left, p.dilation_w, p.out_w);
      if (ox < 0) { continue; }
      if (window_argmax(e.plane, oy, ox) == i32(j)) {
        g += dy[(e.plane * p.out_h + oy) * p.out_w + ox];
      }
    }
  }
  out[j] = g;
}

// ---------------------------------------------------------------------------------------------------------------
// AveragePool

// How many taps of window o along one axis count in the divisor. count_include_pad = 0: the taps on the input,
// [0, in). count_include_pad = 1: the taps inside the explicitly padded input, [−pad_begin, in + pad_end) — the
// pads count as zeros, but the part of a ceil_mode window that runs past the padded edge does not (PyTorch's rule;
// see src/kernels/pool.ts for the sources).
fn taps_counted(o: i32, kernel: i32, stride: i32, dilation: i32, pad_begin: i32, pad_end: i32, size: i32) -> i32 {
  let include_pad = p.count_include_pad != 0u;
  let lo = select(0, -pad_begin, include_pad);
  let hi = select(size, size + pad_end, include_pad);
  var count = 0;
  for (var k = 0; k < kernel; k++) {
    let pos = o * stride - pad_begin + k * dilation;
    if (pos >= lo && pos < hi) { count++; }
  }
  return count;
}

// The window is a product of its two axes, and so is its divisor.
fn divisor(oy: i32, ox: i32) -> f32 {
  let ny = taps_counted(oy, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom, p.in_h);
  let nx = taps_counted(ox, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, p.pad_right, p.in_w);
  return f32(ny * nx);
}

// y[plane, oy, ox] = (Σ of the window's taps on the input) / divisor(oy, ox); padding taps add 0.
@compute @workgroup_size(WG)
fn avg_pool_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let o = site(i, p.out_h, p.out_w);
  let base = o.plane * p.in_h * p.in_w;
  var s = 0.0;
  for (var ky = 0; ky < p.kernel_h; ky++) {
    let iy = o.row * p.stride_h - p.pad_top + ky * p.dilation_h;
    if (iy < 0 || iy >= p.in_h) { continue; }
    for (var kx = 0; kx < p.kernel_w; kx++) {
      let ix = o.col * p.stride_w - p.pad_left + kx * p.dilation_w;
      if (ix < 0 || ix >= p.in_w) { continue; }
      s += x[base + iy * p.in_w + ix];
    }
  }
  out[i] = s / divisor(o.row, o.col);
}

// Backward. y_o = Σ_{j in window o} x_j / D_o with a divisor D_o that does not depend on x, so
// ∂y_o/∂x_j = 1/D_o when j is a tap of window o (and 0 otherwise), and
//
//     dx_j = Σ_{o : j in window o} dy_o / D_o.
//
// One invocation per input element, gathering over the windows that contain it. x is not read.
@compute @workgroup_size(WG)
fn avg_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = index(gid, nwg);
  if (j >= p.n) { return; }
  let e = site(j, p.in_h, p.in_w);
  var g = 0.0;
  for (var ky = 0; ky < p.kernel_h; ky++) {
    let oy = covering_window(e.row, ky, p.stride_h, p.pad_top, p.dilation_h, p.out_h);
    if (oy < 0) { continue; }
    for (var kx = 0; kx < p.kernel_w; kx++) {
      let ox = covering_window(e.col, kx, p.stride_w, p.pad_left, p.dilation_w, p.out_w);
      if (ox < 0) { continue; }
      g += dy[(e.plane * p.out_h + oy) * p.out_w + ox] / divisor(oy, ox);
    }
  }
  out[j] = g;
}

// ---------------------------------------------------------------------------------------------------------------
// GlobalAveragePool: y[plane] = (1 / (H·W)) Σ_{y,x} x[plane, y, x]. Uses in_h, in_w, and n = number of planes.

var<workgroup> partial: array<f32, WG>;

// One workgroup per plane: each invocation sums a strided part of the plane, then a tree reduction in workgroup
// memory adds the WG partial sums (log2(WG) steps; WG is a power of two). A plane of 13×13 or of 224×224 takes one
// workgroup either way, and the pairwise tree also rounds better than one long running sum.
@compute @workgroup_size(WG)
fn global_avg_pool_forward(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let plane = wid.x + wid.y * nwg.x; // the same for the whole workgroup, so the early return keeps barriers uniform
  if (plane >= p.n) { return; }
  let size = u32(p.in_h * p.in_w);
  var s = 0.0;
  for (var i = lid; i < size; i += WG) {
    s += x[plane * size + i];
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) { partial[lid] += partial[lid + width]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[plane] = partial[0] / f32(size); }
}

// Backward: ∂y_plane/∂x_j = 1/(H·W) for every element j of the plane, so dx_j = dy_plane / (H·W): each input
// element receives an equal share of its plane's gradient. One invocation per input element; n = N·C·H·W.
@compute @workgroup_size(WG)
fn global_avg_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = index(gid, nwg);
  if (j >= p.n) { return; }
  let size = u32(p.in_h * p.in_w);
  out[j] = dy[j / size] / f32(size);
}

// ---------------------------------------------------------------------------------------------------------------
// Version 2 of the hot kernels: the same math, indexed by a 3-D grid instead of a flat index.
//
// Why: the version-1 kernels above recover (plane, y, x) from a flat index with integer division and modulo. Vector
// units have no integer division, so on a CPU adapter each becomes eight scalar divisions, and for kernels that do
// little else that is most of the time (max pooling took 14 ms on 111×111×64, mostly dividing). Here the workgroup
// grid supplies the indices: x and y cover the plane in 8 × 8 tiles, z walks the planes (in steps of the grid's z,
// so that N·C may exceed the 65535 workgroups a dimension allows).

// y[plane, oy, ox] = max of window (oy, ox); with SAVE_ARGMAX also its argmax (for max_pool_backward_scatter).
@compute @workgroup_size(8, 8)
fn max_pool_forward_grid(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let ox = i32(gid.x);
  let oy = i32(gid.y);
  if (ox >= p.out_w || oy >= p.out_h) { return; }
  for (var plane = gid.z; plane < p.planes; plane += nwg.z) {
    let j = window_argmax(i32(plane), oy, ox);
    let o = (i32(plane) * p.out_h + oy) * p.out_w + ox;
    out[o] = x[j];
    if (SAVE_ARGMAX) { argmax[o] = f32(j - i32(plane) * p.in_h * p.in_w); }
  }
}

// Backward as a scatter, which the saved argmax makes cheap: dx_{a(o)} += dy_o for every window o (the same sum as
// max_pool_backward's gather, dx_j = Σ_{o : a(o) = j} dy_o, visited from the windows' side). Two windows of one plane
// can share an argmax only if they overlap, and windows step_y = ⌈span_y / stride_y⌉ apart never do, so each
// dispatch takes one phase (phase_y, phase_x) of the windows and no two of its invocations touch the same element:
// no atomics, and every element's sum is accumulated in the same order (phase by phase) on every run. dx starts
// zeroed. SqueezeNet's 3×3 stride-2 pools need 4 phases; each visits a quarter of the windows once.
@compute @workgroup_size(8, 8)
fn max_pool_backward_scatter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let oy = p.phase_y + p.step_y * i32(gid.y);
  let ox = p.phase_x + p.step_x * i32(gid.x);
  if (ox >= p.out_w || oy >= p.out_h) { return; }
  for (var plane = gid.z; plane < p.planes; plane += nwg.z) {
    let o = (i32(plane) * p.out_h + oy) * p.out_w + ox;
    let j = u32(i32(plane) * p.in_h * p.in_w) + u32(argmax_in[o]);
    out[j] += dy[o];
  }
}

// GlobalAveragePool forward, one invocation per plane summing it serially (4 interleaved partial sums). For
// SqueezeNet's 13 × 13 planes a workgroup-wide tree reduction spends its time in barriers, not in adding.
@compute @workgroup_size(64)
fn global_avg_pool_forward_serial(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let plane = gid.x + gid.y * nwg.x * 64u;
  if (plane >= p.planes) { return; }
  let size = u32(p.in_h * p.in_w);
  let base = plane * size;
  var s = vec4f(0.0);
  var i = 0u;
  for (; i + 4u <= size; i += 4u) {
    s += vec4f(x[base + i], x[base + i + 1u], x[base + i + 2u], x[base + i + 3u]);
  }
  for (; i < size; i++) { s.x += x[base + i]; }
  out[plane] = (s.x + s.y + s.z + s.w) / f32(size);
}

// dx[plane, ·] = dy[plane] / (H·W): x of the grid runs over the plane, z over the planes.
@compute @workgroup_size(64)
fn global_avg_pool_backward_grid(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let size = u32(p.in_h * p.in_w);
  if (gid.x >= size) { return; }
  for (var plane = gid.z; plane < p.planes; plane += nwg.z) {
    out[plane * size + gid.x] = dy[plane] / f32(size);
  }
}
