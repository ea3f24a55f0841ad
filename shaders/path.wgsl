// The path methods' two steps (src/kernels/path.ts; src/techniques/attribution/paths.ts): points along straight paths
// from baselines b_k to one image x, and the per-point products w_k · (x − b_k) ⊙ ∇s at those points, whose sum is
// the attribution (w_k: the quadrature's weight of point k, or 1/m for a mean). Linked after common.wgsl.
// S = elements of one image; the chunk's K points use baselines[k mod B].

struct Path {
  n: u32,       // elements of the chunk: K·S
  sample: u32,  // S
  offset: u32,  // the image's first element in x
  baselines: u32,  // B, the baselines in `baseline` (1: one for every point)
}

@group(0) @binding(0) var<uniform> path: Path;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> baseline: array<f32>;
@group(0) @binding(3) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// out[k, j] = b_k[j] + α_k · (x[j] − b_k[j]): the k-th point of the chunk.
@compute @workgroup_size(WG)
fn path_points(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= path.n) { return; }
  let k = i / path.sample;
  let j = i - k * path.sample;
  let b = baseline[(k % path.baselines) * path.sample + j];
  out[i] = b + alpha[k] * (x[path.offset + j] - b);
}

// out[k, j] = w_k · (x[j] − b_k[j]) · grad[k, j]: one term of the attribution's sum.
@compute @workgroup_size(WG)
fn path_products(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= path.n) { return; }
  let k = i / path.sample;
  let j = i - k * path.sample;
  out[i] = weight[k] * (x[path.offset + j] - baseline[(k % path.baselines) * path.sample + j]) * grad[i];
}
