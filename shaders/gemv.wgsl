// Products whose A' has at most 4 rows (src/kernels/gemm.ts): Y = alpha·A'·B' (+ beta·C) for a classifier at batch
// ≤ 4, and its backward to the input. The tiled kernel of gemm.wgsl computes a 16 × 16 block of Y per workgroup: with
// one row of Y, 15 of its 16 rows of invocations load tiles and multiply zeros. Here each invocation carries all (≤ 4)
// rows at once in a vec4, so every element of B' is read once and used for every row: the product is one stream
// through B, as fast as memory delivers it (VGG16's classifier weight is 392 MiB; this is what makes it usable).
//
// Two ways through B', chosen by how B is stored, so that consecutive invocations read consecutive elements:
//   gemv_split_k  (TRANS_B: B [N, K], column n of B' a contiguous row of B): one workgroup per column n; its
//                 invocations split the reduction over k and add their partial sums in workgroup memory.
//   gemv_columns  (B [K, N]): one invocation per column n, looping over k; neighbours read neighbouring columns.
//
// Linked as ['gemm', 'gemv']: Params, the bindings, a_at and b_at (with the offsets and leading dimensions that let
// src/kernels/gemm.ts run a product in windows) are gemm.wgsl's.

// Add beta·C: an override, since C is bound in every case (a placeholder where there is none).
override HAS_C: bool = false;

const GEMV_WG: u32 = 64u;
var<workgroup> partial: array<vec4f, GEMV_WG>;

// The ≤ 4 rows of A' at reduction index kk (rows past M read 0).
fn a_column(kk: u32) -> vec4f {
  return vec4f(a_at(p.a_offset, 0u, kk), a_at(p.a_offset, 1u, kk), a_at(p.a_offset, 2u, kk), a_at(p.a_offset, 3u, kk));
}

fn store_column(col: u32, acc: vec4f) {
  for (var r = 0u; r < min(p.m, 4u); r++) {
    let i = p.y_offset + r * p.ldy + col;
    var v = p.alpha * acc[r];
    if (HAS_C) { v += p.beta * c[p.c_offset + r * p.c_row_stride + col * p.c_col_stride]; }
    if (ACCUMULATE) {
      y[i] += v;
    } else {
      y[i] = v;
    }
  }
}

@compute @workgroup_size(GEMV_WG)
fn gemv_split_k(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let col = wid.x + wid.y * nwg.x;  // uniform across the workgroup, so the early return keeps the barriers uniform
  if (col >= p.n) { return; }
  var acc = vec4f(0.0);
  for (var kk = lid; kk < p.k; kk += GEMV_WG) {
    acc += a_column(kk) * b_at(p.b_offset, kk, col);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var half = GEMV_WG / 2u; half > 0u; half = half / 2u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    store_column(col, partial[0]);
  }
}

@compute @workgroup_size(GEMV_WG)
fn gemv_columns(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let col = gid.x + gid.y * nwg.x * GEMV_WG;
  if (col >= p.n) { return; }
  var acc = vec4f(0.0);
  for (var kk = 0u; kk < p.k; kk++) {
    acc += a_column(kk) * b_at(p.b_offset, kk, col);
  }
  store_column(col, acc);
}
