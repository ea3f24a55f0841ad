// Reductions (src/kernels/reduce.ts): sums — optionally of squares, optionally square-rooted — over strided index
// ranges, their backward, and argmax over the last axis.
//
// Why a tree: adding 1.2M float32 values one after another loses ~log2(n) bits as the running total grows past the
// terms (the error of a serial sum grows like n·ε in the worst case, 1.2M · 6e-8 ≈ 7%). Summed as a balanced tree,
// each value passes through only log2(n) additions, so the error grows like log2(n)·ε — ~1e-6 for 1.2M. Each
// invocation adds PER_THREAD values serially (a short chain), then the workgroup adds its WG partial sums pairwise;
// when one sum is too long for one workgroup, the host runs this again over the per-workgroup partial sums.
//
// Linked after common.wgsl, whose WG (invocations per workgroup) must be a power of two here: the tree halves it.

override PER_THREAD: u32 = 4;   // values each invocation adds before the tree
override SQUARE: bool = false;  // sum_strided: add x² instead of x
override SQRT: bool = false;    // sum_strided: take the square root of the (scaled) total: an L2 norm

struct Sums {
  outputs: u32,     // O: how many independent sums
  length: u32,      // L: terms in each sum
  out_stride: u32,  // term j of sum o is x[o * out_stride + j * in_stride]
  in_stride: u32,
  chunks: u32,      // workgroups per sum in this pass, ceil(L / (WG · PER_THREAD))
  scale: f32,       // multiplies each total (1 except in the last pass)
}

// The backward kernels and argmax see x as rows: [outputs, length], contiguous.
struct Rows {
  outputs: u32,
  length: u32,
}

@group(0) @binding(0) var<uniform> p: Sums;
@group(0) @binding(0) var<uniform> rows: Rows;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

var<workgroup> partial: array<f32, WG>;
var<workgroup> partial_index: array<u32, WG>;

// The linear workgroup number of a grid folded into 2-D by Gpu.grid. Built from workgroup_id, so it is uniform
// across the workgroup and an early return on it keeps the barriers below in uniform control flow.
fn group_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// One workgroup adds the terms [chunk·WG·PER_THREAD, (chunk+1)·WG·PER_THREAD) of sum o and writes the partial sum to
// out[o · chunks + chunk] — which is out[group], so the partials of one sum are contiguous for the next pass.
@compute @workgroup_size(WG)
fn sum_strided(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
               @builtin(num_workgroups) nwg: vec3u) {
  let group = group_index(wid, nwg);
  if (group >= p.outputs * p.chunks) { return; }
  let o = group / p.chunks;
  let chunk = group % p.chunks;
  var acc = 0.0;
  // Consecutive invocations read consecutive terms (coalesced when in_stride is 1).
  let first = chunk * WG * PER_THREAD + t;
  for (var k = 0u; k < PER_THREAD; k++) {
    let j = first + k * WG;
    if (j < p.length) {
      let v = x[o * p.out_stride + j * p.in_stride];
      acc += select(v, v * v, SQUARE);
    }
  }
  partial[t] = acc;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (t < width) { partial[t] += partial[t + width]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    let total = partial[0] * p.scale;
    out[group] = select(total, sqrt(total), SQRT);
  }
}

// Backward of s_o = Σ_j x[o·L + j] (contiguous sums, O = outputs, L = length):
//   ∂s_o/∂x[o·L + j] = 1, so dx[i] = dy[i / L]: every term receives its sum's gradient unchanged.
// One invocation per element of x.
@compute @workgroup_size(WG)
fn sum_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= rows.outputs * rows.length) { return; }
  out[i] = dy[i / rows.length];
}

// Backward of q_o = Σ_j x[o·L + j]²:
//   ∂q_o/∂x[i] = 2·x[i], so dx[i] = 2·x[i]·dy[i / L].
@compute @workgroup_size(WG)
fn sum_of_squares_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= rows.outputs * rows.length) { return; }
  out[i] = 2.0 * x[i] * dy[i / rows.length];
}

// The better of two (value, index) candidates: the larger value, and on a tie the smaller index — the first maximum,
// as numpy.argmax and torch.argmax report it. NONE marks "no candidate yet" (an invocation past the row's end).
const NONE: u32 = 0xffffffffu;
fn better(v: f32, i: u32, best_v: f32, best_i: u32) -> bool {
  return best_i == NONE || (i != NONE && (v > best_v || (v == best_v && i < best_i)));
}

// argmax over the last axis of x viewed as [outputs, length]: one workgroup per row; out[row] = the index, as f32
// (exact below 2^24, far above any class count).
@compute @workgroup_size(WG)
fn argmax_rows(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
               @builtin(num_workgroups) nwg: vec3u) {
  let row = group_index(wid, nwg);
  if (row >= rows.outputs) { return; }
  let base = row * rows.length;
  var best_v = 0.0;
  var best_i = NONE;
  // Columns are visited in increasing order, so a strict ">" keeps this invocation's first maximum.
  for (var j = t; j < rows.length; j += WG) {
    let v = x[base + j];
    if (better(v, j, best_v, best_i)) { best_v = v; best_i = j; }
  }
  partial[t] = best_v;
  partial_index[t] = best_i;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (t < width && better(partial[t + width], partial_index[t + width], partial[t], partial_index[t])) {
      partial[t] = partial[t + width];
      partial_index[t] = partial_index[t + width];
    }
    workgroupBarrier();
  }
  if (t == 0u) { out[row] = f32(partial_index[0]); }
}
