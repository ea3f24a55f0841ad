// Layout ops: values moved, not computed (src/kernels/layout.ts). Transpose, Slice, Pad, Tile and Expand are all one
// kernel, `map_gather`: every output element reads one input element (or, for a constant pad, the constant), at a
// position that is an affine function of its own, dimension by dimension. Split is Concat's backward and needs no
// kernel here; Gather and GatherElements (ONNX's, along one axis) have their own pairs at the end.
//
// The index map. The output has `rank` dimensions; for output dimension d the geometry buffer holds five integers
//
//     size_d    the output's size along d
//     scale_d   how far the source moves per output step          (Slice: its step; Expand: 0 on a broadcast dim)
//     offset_d  where output position 0 reads                      (Slice: its start; Pad: −pad_begin)
//     in_d      the input's size along the dimension d reads        (Transpose: the input's dim perm[d])
//     stride_d  that input dimension's row-major stride
//
// so output element (o_0, …, o_{rank−1}) reads input coordinate c_d = o_d·scale_d + offset_d along each dimension,
// at linear position Σ_d c_d·stride_d. Transpose permutes the strides, Slice scales and offsets, Pad offsets and lets
// c_d leave [0, in_d) — what then is read depends on the mode (the override constant MODE):
//
//     MAP_INSIDE    every c_d is inside (Transpose, Slice, Expand): no test
//     MAP_CONSTANT  outside reads the constant p.value (Pad, mode 'constant')
//     MAP_REFLECT   c mirrored at the border without repeating it: −1 → 1, in → in − 2 (Pad, mode 'reflect')
//     MAP_EDGE      c clamped to the border (Pad, mode 'edge')
//     MAP_WRAP      c taken modulo in: the input repeated (Pad, mode 'wrap'; Tile; Expand, whose broadcast
//                   dimensions have in = 1)
//
// Backward. The maps of Transpose and Slice are one-to-one (no two outputs read the same input), so ∂y_i/∂x_j is 1
// where i reads j and 0 elsewhere, and dx_j = dy_i for the i that reads j, or 0 for an x_j that no output reads:
// `map_scatter` writes each dy_i to its source in a dx cleared to 0 — no two invocations write one element. Transpose's
// backward is cheaper as the inverse permutation (a gather, nothing to clear). Pad's is derived above `pad_fold`.
//
// Linked after common.wgsl (WG, index()).

const MAP_INSIDE: u32 = 0u;
const MAP_CONSTANT: u32 = 1u;
const MAP_REFLECT: u32 = 2u;
const MAP_EDGE: u32 = 3u;
const MAP_WRAP: u32 = 4u;
override MODE: u32 = 0u;

struct MapParams {
  n: u32,      // output elements
  rank: u32,
  value: f32,  // what MAP_CONSTANT reads outside the input
}

struct FoldParams {
  n: u32,       // elements of the result: outer · size · inner
  inner: u32,   // product of the sizes after the folded dimension
  size: u32,    // the unpadded size along it
  padded: u32,  // the padded size along it
  begin: i32,   // the pad before it
}

struct ElementsParams {
  n: u32,     // elements of the result
  rank: u32,
  axis: u32,
}

struct GatherParams {
  n: u32,      // elements of the result
  inner: u32,  // product of the data's sizes after the axis
  axis: u32,   // the data's size along the axis
  count: u32,  // number of indices
}

@group(0) @binding(0) var<uniform> p: MapParams;
@group(0) @binding(0) var<uniform> fold: FoldParams;
@group(0) @binding(0) var<uniform> g: GatherParams;
@group(0) @binding(0) var<uniform> ge: ElementsParams;
@group(0) @binding(1) var<storage, read> geometry: array<i32>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(4) var<storage, read> dims: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// The source of output element i: its linear position in the input, or −1 for a constant pad's outside.
fn source(i: u32) -> i32 {
  var rest = i;
  var at = 0;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let k = u32(d) * 5u;
    let size = u32(geometry[k]);
    let o = i32(rest % size);
    rest = rest / size;
    var c = o * geometry[k + 1u] + geometry[k + 2u];
    let n = geometry[k + 3u];
    if (MODE == MAP_CONSTANT) {
      if (c < 0 || c >= n) { return -1; }
    } else if (MODE == MAP_REFLECT) {
      if (c < 0) { c = -c; } else if (c >= n) { c = 2 * (n - 1) - c; }
    } else if (MODE == MAP_EDGE) {
      c = clamp(c, 0, n - 1);
    } else if (MODE == MAP_WRAP) {
      c = ((c % n) + n) % n;
    }
    at += c * geometry[k + 4u];
  }
  return at;
}

@compute @workgroup_size(WG)
fn map_gather(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let j = source(i);
  dst[i] = select(p.value, src[max(j, 0)], j >= 0);
}

// dx_{source(i)} = dy_i, into a dx cleared to 0 (one-to-one maps only: Slice's backward).
@compute @workgroup_size(WG)
fn map_scatter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  dst[source(i)] = src[i];
}

// Pad's backward for the modes that read the input more than once, one padded dimension at a time (the map is a
// product of one-dimensional maps, so the chain rule can undo them one by one). Along the dimension, padded position
// q reads c(q) = q − begin, reflected or clamped into [0, size). So
//
//     dx[c] = Σ_{q : c(q) = c} dy[q]:
//
// the position it was copied to in the middle, q = c + begin, and the pad positions that copied it —
//     reflect: q = begin − c       (left mirror, when 1 ≤ c ≤ begin)
//              q = begin + 2(size − 1) − c   (right mirror, when c ≤ size − 2 and q < padded)
//     edge:    q < begin            (every left pad position, when c = 0)
//              q ≥ begin + size     (every right pad position, when c = size − 1)
//     wrap:    every q ≡ c + begin (mod size): q₀ = (c + begin) mod size, q₀ + size, … below padded — the middle one
//              among them (Tile: the copies; Expand: all `padded` positions of a broadcast axis, size being 1)
// (reflect pads are below size, so no position is mirrored twice). One invocation per element of the result sums
// its own preimages: a gather, no two invocations write one element.
@compute @workgroup_size(WG)
fn pad_fold(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= fold.n) { return; }
  let r = i % fold.inner;
  let c = i32((i / fold.inner) % fold.size);
  let o = i / (fold.inner * fold.size);
  let row = o * fold.padded;
  let size = i32(fold.size);
  let padded = i32(fold.padded);
  if (MODE == MAP_WRAP) {
    var total = 0.0;
    for (var q = ((c + fold.begin) % size + size) % size; q < padded; q += size) { total += src[(row + u32(q)) * fold.inner + r]; }
    dst[i] = total;
    return;
  }
  var sum = src[(row + u32(c + fold.begin)) * fold.inner + r];
  if (MODE == MAP_REFLECT) {
    let left = fold.begin - c;
    if (c >= 1 && left >= 0) { sum += src[(row + u32(left)) * fold.inner + r]; }
    let right = fold.begin + 2 * (size - 1) - c;
    if (c <= size - 2 && right < padded) { sum += src[(row + u32(right)) * fold.inner + r]; }
  } else if (MODE == MAP_EDGE) {
    if (c == 0) {
      for (var q = 0; q < fold.begin; q++) { sum += src[(row + u32(q)) * fold.inner + r]; }
    }
    if (c == size - 1) {
      for (var q = fold.begin + size; q < padded; q++) { sum += src[(row + u32(q)) * fold.inner + r]; }
    }
  }
  dst[i] = sum;
}

// ONNX Gather along one axis, data seen as [outer, axis, inner] and the result as [outer, count, inner]:
//     y[o, j, r] = x[o, indices[j], r]          (indices already in [0, axis))
@compute @workgroup_size(WG)
fn gather_axis(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= g.n) { return; }
  let r = i % g.inner;
  let j = (i / g.inner) % g.count;
  let o = i / (g.inner * g.count);
  dst[i] = src[(o * g.axis + u32(indices[j])) * g.inner + r];
}

// Backward: ∂y[o,j,r]/∂x[o,k,r] = 1 when indices[j] = k, so dx[o,k,r] = Σ_{j : indices[j] = k} dy[o,j,r] — an index
// that appears twice receives both gradients, one that never appears receives 0. One invocation per dx element
// looks through the (few) indices: a gather again.
@compute @workgroup_size(WG)
fn gather_axis_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= g.n) { return; }
  let r = i % g.inner;
  let k = i32((i / g.inner) % g.axis);
  let o = i / (g.inner * g.axis);
  var sum = 0.0;
  for (var j = 0u; j < g.count; j++) {
    if (indices[j] == k) { sum += src[(o * g.count + j) * g.inner + r]; }
  }
  dst[i] = sum;
}

// ONNX GatherElements along `axis`: the indices tensor has the data's rank and the result's shape, and
//     y[i_0, …, i_{r−1}] = x[i_0, …, indices[i_0, …, i_{r−1}], …, i_{r−1}]      (the index replaces coordinate `axis`)
// `dims` holds four integers per dimension d: the data's size and stride, the indices' size and stride.
@compute @workgroup_size(WG)
fn gather_elements(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= ge.n) { return; }
  var rest = i;
  var at = 0;
  for (var d = i32(ge.rank) - 1; d >= 0; d--) {
    let k = u32(d) * 4u;
    let size = u32(dims[k + 2u]);
    let o = i32(rest % size);
    rest = rest / size;
    at += select(o, indices[i], u32(d) == ge.axis) * dims[k + 1u];
  }
  dst[i] = src[at];
}

// Backward: ∂y[j]/∂x[p] = 1 when y[j] read x[p], so dx[p] = Σ dy[j] over the j that read p — those with p's
// coordinates off the axis and indices[j] = p's coordinate on it. One invocation per dx element walks its line of
// the indices along the axis (a gather; a position read twice receives both gradients, one never read 0).
@compute @workgroup_size(WG)
fn gather_elements_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= ge.n) { return; }
  var rest = i;
  var line = 0;       // where p's line starts in the indices (the axis coordinate 0)
  var wanted = 0;     // p's coordinate on the axis
  var outside = false;
  for (var d = i32(ge.rank) - 1; d >= 0; d--) {
    let k = u32(d) * 4u;
    let size = u32(dims[k]);
    let c = i32(rest % size);
    rest = rest / size;
    if (u32(d) == ge.axis) { wanted = c; }
    else if (c >= dims[k + 2u]) { outside = true; }
    else { line += c * dims[k + 3u]; }
  }
  var sum = 0.0;
  if (!outside) {
    let k = ge.axis * 4u;
    for (var j = 0; j < dims[k + 2u]; j++) {
      let at = line + j * dims[k + 3u];
      if (indices[at] == wanted) { sum += src[at]; }
    }
  }
  dst[i] = sum;
}
