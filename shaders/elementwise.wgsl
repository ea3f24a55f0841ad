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

// out = a + b
@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i];
}
