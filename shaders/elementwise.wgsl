// Element-wise arithmetic (src/kernels/elementwise.ts): the tape's gradient accumulation and the techniques' update
// steps. One invocation per element (linked after common.wgsl, which defines WG and `index`). In-place kernels bind
// the updated tensor once, read_write: WebGPU forbids binding one buffer both read-only and writable in a dispatch.

struct Count {
  n: u32,  // elements (vec4s for the …4 entry points)
}

struct Scaled {
  n: u32,
  alpha: f32,  // the factor
}

struct NormalizedStep {
  n: u32,
  lr: f32,   // the step length
  eps: f32,  // added to the norm, so that a zero gradient gives a zero step rather than NaN
}

// Per-channel bounds of clamp_channels_in_place, a uniform of their own (cached by content, so the same bounds every
// iteration cost no upload). Uniform arrays need 16-byte elements, hence vec4s: channel c is lo[c / 4][c % 4].
const MAX_CLAMP_CHANNELS: u32 = 64u;
struct ChannelBounds {
  channels: u32,  // C
  plane: u32,     // H·W: elements per channel of one sample
  lo: array<vec4f, MAX_CLAMP_CHANNELS / 4u>,
  hi: array<vec4f, MAX_CLAMP_CHANNELS / 4u>,
}

@group(0) @binding(0) var<uniform> count: Count;
@group(0) @binding(0) var<uniform> scaled: Scaled;
@group(0) @binding(0) var<uniform> step: NormalizedStep;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// The same bindings seen as vec4s, for tensors whose size is a multiple of 4: one vector load instead of four scalar
// ones, which on a CPU adapter is most of an element-wise kernel's time (a storage access is a loop over the lanes).
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;
// The norm ‖g‖₂ of the fooling step, a 1-element tensor computed on the GPU (src/kernels/reduce.ts, l2Norm).
@group(0) @binding(2) var<storage, read> norm: array<f32>;
// The map of gather_or_zero.
@group(0) @binding(2) var<storage, read> index_map: array<u32>;
@group(0) @binding(2) var<uniform> bounds: ChannelBounds;

// out = a + b
@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= count.n) { return; }
  out[i] = a[i] + b[i];
}

// add on vec4s; count.n counts vec4s.
@compute @workgroup_size(WG)
fn add4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= count.n) { return; }
  out4[i] = a4[i] + b4[i];
}

// out = alpha · a. Backward: ∂(αa)/∂a = α, so da = α · dy — this same kernel.
@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= scaled.n) { return; }
  out[i] = scaled.alpha * a[i];
}

// out += alpha · a, in place (out is the updated tensor, bound once, read_write).
@compute @workgroup_size(WG)
fn axpy_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= scaled.n) { return; }
  out[i] += scaled.alpha * a[i];
}

// out += lr / (‖g‖₂ + eps) · a, in place, with a = g: the normalized gradient step X += lr · g / ‖g‖₂ of the fooling
// loop, with no read-back of ‖g‖₂. Every invocation reads the same norm[0]; the division is per invocation but costs
// nothing next to the memory traffic.
@compute @workgroup_size(WG)
fn axpy_by_norm_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= step.n) { return; }
  out[i] += (step.lr / (norm[0] + step.eps)) * a[i];
}

// out[n, c, h, w] = clamp(out[n, c, h, w], lo[c], hi[c]), in place: keeps an image inside the range that valid
// pixels take after normalization, channel by channel (the class visualization's clamp after each step).
@compute @workgroup_size(WG)
fn clamp_channels_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= count.n) { return; }
  let c = (i / bounds.plane) % bounds.channels;
  out[i] = clamp(out[i], bounds.lo[c / 4u][c % 4u], bounds.hi[c / 4u][c % 4u]);
}

// out[i] = a[index_map[i]], or 0 where index_map[i] is NO_SOURCE: a rearrangement of a tensor by a precomputed map
// (the phase-packed weights of conv2d v2's strided backward; src/kernels/conv2d-tiled.ts builds the map on the CPU).
const NO_SOURCE: u32 = 0xffffffffu;

@compute @workgroup_size(WG)
fn gather_or_zero(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= count.n) { return; }
  let k = index_map[i];
  out[i] = select(0.0, a[min(k, arrayLength(&a) - 1u)], k != NO_SOURCE);
}
