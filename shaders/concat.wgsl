// Concat along one axis, and its backward, the slice of a gradient back into one part (src/kernels/concat.ts).
//
// Any rank and axis reduce to three dimensions: a row-major tensor of shape [d0, …, d_axis, …, d_last] is the same
// memory as [outer, d_axis, inner] with outer = d0·…·d_(axis−1) and inner = d_(axis+1)·…·d_last. The output is
// [outer, whole_axis, inner]; part k is [outer, part_axis, inner] and occupies the output's axis positions
// [offset, offset + part_axis). One dispatch per part; every invocation handles one element of the part.
//
// Linked after common.wgsl. The forward binds the part and the output; the backward the whole (dy) and the output.

struct Params {
  n: u32,          // elements of the part: outer · part_axis · inner
  inner: u32,
  part_axis: u32,  // the part's size along the axis
  whole_axis: u32, // the concatenation's size along the axis
  offset: u32,     // where the part starts along the axis of the whole
  outer: u32,      // product of the sizes before the axis
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read> whole: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Element i = (o, a, r) of the part is element (o, offset + a, r) of the whole.
fn whole_index(i: u32) -> u32 {
  let r = i % p.inner;
  let a = (i / p.inner) % p.part_axis;
  let o = i / (p.inner * p.part_axis);
  return (o * p.whole_axis + p.offset + a) * p.inner + r;
}

// Forward: copy the part into its place in the whole. The parts tile the whole's axis, so together the dispatches
// write every output element exactly once.
@compute @workgroup_size(WG)
fn concat_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[whole_index(i)] = part[i];
}

// Backward. Each output element is a copy of exactly one element of one part, y[whole_index(i)] = part_k[i], so
// ∂y/∂part_k is a 0/1 selection and the chain rule gives d part_k[i] = dy[whole_index(i)]: the part's own slice of dy.
@compute @workgroup_size(WG)
fn concat_slice(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = whole[whole_index(i)];
}

override GRID_WG: u32 = 64;

// Version 2: the same copies indexed by a 3-D grid (inner, position along the axis, outer) instead of a flat index
// taken apart with division and modulo, which a CPU adapter executes lane by lane (see shaders/pool.wgsl). z walks
// `outer` in steps of the grid's z, in case it exceeds the 65535 workgroups a dimension allows.
@compute @workgroup_size(GRID_WG)
fn concat_place_grid(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  if (gid.x >= p.inner) { return; }
  for (var o = gid.z; o < p.outer; o += nwg.z) {
    out[(o * p.whole_axis + p.offset + gid.y) * p.inner + gid.x] = part[(o * p.part_axis + gid.y) * p.inner + gid.x];
  }
}

@compute @workgroup_size(GRID_WG)
fn concat_slice_grid(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  if (gid.x >= p.inner) { return; }
  for (var o = gid.z; o < p.outer; o += nwg.z) {
    out[(o * p.part_axis + gid.y) * p.inner + gid.x] = whole[(o * p.whole_axis + p.offset + gid.y) * p.inner + gid.x];
  }
}
