// Element-wise kernels: one invocation per element, i = global id folded over a 2-D grid (see Gpu.grid).
// Bindings: 0 = Params, then the tensors in the order the dispatch wrapper (src/kernels/elementwise.ts) passes them.
// In-place kernels bind the updated tensor once, read_write: WebGPU forbids binding one buffer both read-only and
// writable in the same dispatch.

override WG: u32 = 256;

struct Params {
  n: u32,      // number of elements
  alpha: f32,  // scale factor of scale/axpy
  beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// The same bindings seen as vec4s, for the `…4` entry points (tensors whose size is a multiple of 4): one vector load
// instead of four scalar ones, which on a CPU adapter is most of an element-wise kernel's time (a storage access is
// a loop over the SIMD lanes there).
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// y = max(x, 0)
@compute @workgroup_size(WG)
fn relu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = max(a[i], 0.0);
}

// dx = dy · [y > 0], with a = dy and b = y (the forward's output). Testing y rather than x lets a conv with a fused
// ReLU, which never materializes x, use the same backward; y > 0 ⇔ x > 0, and at x = 0 the gradient is 0 both ways.
@compute @workgroup_size(WG)
fn relu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = select(0.0, a[i], b[i] > 0.0);
}

// relu_backward on vec4s; p.n counts vec4s.
@compute @workgroup_size(WG)
fn relu_backward4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out4[i] = select(vec4f(0.0), a4[i], b4[i] > vec4f(0.0));
}

// add on vec4s; p.n counts vec4s.
@compute @workgroup_size(WG)
fn add4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out4[i] = a4[i] + b4[i];
}

// out = a + b
@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i];
}

// ---- scaling and the techniques' update steps (src/kernels/elementwise.ts) ---------------------------------------

// out = alpha · a. Backward: ∂(αa)/∂a = α, so da = α · dy — this same kernel.
@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.alpha * a[i];
}

// out += alpha · a, in place (out is the updated tensor, bound once, read_write).
@compute @workgroup_size(WG)
fn axpy_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] += p.alpha * a[i];
}

// out += alpha / (b[0] + beta) · a, in place: with alpha = lr, b = ‖g‖₂ (a 1-element tensor computed on the GPU) and
// beta = eps, the normalized gradient step X += lr · g / ‖g‖₂ of the fooling loop, with no read-back of ‖g‖₂.
// Every invocation reads the same b[0]; the division is per invocation but costs nothing next to the memory traffic.
@compute @workgroup_size(WG)
fn axpy_by_norm_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] += (p.alpha / (b[0] + p.beta)) * a[i];
}

// Per-channel bounds of clamp_channels_in_place, in their own uniform so that Params (shared by every entry point
// above) stays 16 bytes. Uniform arrays need 16-byte elements, hence vec4s: channel c is lo[c / 4][c % 4].
const MAX_CLAMP_CHANNELS: u32 = 64u;
struct ChannelBounds {
  channels: u32,  // C of the NCHW tensor
  plane: u32,     // H·W: elements per channel of one sample
  lo: array<vec4f, MAX_CLAMP_CHANNELS / 4u>,
  hi: array<vec4f, MAX_CLAMP_CHANNELS / 4u>,
}
@group(0) @binding(4) var<uniform> bounds: ChannelBounds;

// out[n, c, h, w] = clamp(out[n, c, h, w], lo[c], hi[c]), in place: keeps an image inside the range that valid
// pixels take after normalization, channel by channel (the class visualization's clamp after each step).
@compute @workgroup_size(WG)
fn clamp_channels_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = (i / bounds.plane) % bounds.channels;
  out[i] = clamp(out[i], bounds.lo[c / 4u][c % 4u], bounds.hi[c / 4u][c % 4u]);
}

// out[i] = a[index[i]], or 0 where index[i] is 0xffffffff: a rearrangement of a tensor by a precomputed map (the
// phase-packed weights of conv2d v2's strided backward; src/kernels/conv2d-tiled.ts builds the map on the CPU).
@group(0) @binding(4) var<storage, read> index_map: array<u32>;

@compute @workgroup_size(WG)
fn gather_or_zero(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let k = index_map[i];
  out[i] = select(0.0, a[min(k, arrayLength(&a) - 1u)], k != 0xffffffffu);
}
