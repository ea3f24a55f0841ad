// General matrix multiply (src/kernels/gemm.ts), ONNX Gemm and MatMul:
//
//   Y = alpha · A' · B' + beta · C,   A' = transA ? Aᵀ : A  [M, K],   B' = transB ? Bᵀ : B  [K, N],   Y [M, N],
//
// and a batch of such products (MatMul [.., M, K] × [.., K, N]) along the grid's z axis.
//
// Tiling: each workgroup computes a TILE×TILE block of Y, one element per invocation. The K axis is walked in steps
// of TILE: the workgroup copies a TILE×TILE tile of A' and one of B' into workgroup memory (each invocation loads
// one element of each), waits, and every invocation then reads its row of the A' tile and its column of the B' tile
// from there. Each element of A and B is thus loaded from global memory N/TILE and M/TILE times instead of N and M.
// Elements outside the matrices load as 0, which adds nothing, so M, N and K need not be multiples of TILE.
//
// Bindings: 0 = Params, 1 = A, 2 = B, 3 = C (gemm_with_c only), 4 = Y.
//
// Each matrix is addressed as BLAS does, by an element offset and a leading dimension (the stride between stored rows),
// so that a dispatch can compute one block of a product: VGG16's classifier weight, [4096, 25088] in float32 (392 MiB),
// is larger than one storage binding may be (128 MiB on lavapipe), and src/kernels/gemm.ts runs such a product in
// chunks, each binding a window of the big matrix's rows (the offset inside the window is what a_offset … y_offset
// say) and writing a block of Y, or adding one chunk of the reduction into Y (ACCUMULATE).

const TILE: u32 = 16u;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Y += alpha · A' · B' instead of Y = …: the chunks after the first of a reduction split in chunks.
override ACCUMULATE: bool = false;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  alpha: f32,
  beta: f32,
  c_row_stride: u32,    // C[m, n] = c[m · c_row_stride + n · c_col_stride]: a stride of 0 broadcasts C along
  c_col_stride: u32,    //   that axis ([N] and [1, N] have row stride 0, [M, 1] column stride 0, a scalar both)
  a_batch_stride: u32,  // elements between consecutive matrices of a batch; 0 uses one matrix for every batch
  b_batch_stride: u32,
  lda: u32,             // elements between stored rows of A ([M, K] stored: usually K; transposed [K, M]: usually M)
  ldb: u32,
  ldy: u32,
  a_offset: u32,        // element of the bound A (B, C, Y) where the matrix starts
  b_offset: u32,
  c_offset: u32,
  y_offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> tile_a: array<f32, TILE * TILE>;  // tile_a[r · TILE + kk] = A'(row0 + r, k0 + kk)
var<workgroup> tile_b: array<f32, TILE * TILE>;  // tile_b[kk · TILE + c] = B'(k0 + kk, col0 + c)

// A'(row, col) of the matrix at `base`, 0 outside [M, K]. A is stored [M, K], or [K, M] when transposed.
fn a_at(base: u32, row: u32, col: u32) -> f32 {
  if (row >= p.m || col >= p.k) { return 0.0; }
  if (TRANS_A) { return a[base + col * p.lda + row]; }
  return a[base + row * p.lda + col];
}

// B'(row, col), 0 outside [K, N]. B is stored [K, N], or [N, K] when transposed.
fn b_at(base: u32, row: u32, col: u32) -> f32 {
  if (row >= p.k || col >= p.n) { return 0.0; }
  if (TRANS_B) { return b[base + col * p.ldb + row]; }
  return b[base + row * p.ldb + col];
}

// Σ_k A'(row, k) · B'(k, col) for this invocation's (row, col) = (wid.y·TILE + lid.y, wid.x·TILE + lid.x) of matrix
// wid.z of the batch. Every invocation runs every step, also those whose (row, col) is outside Y: they load their
// share of the tiles and must reach the barriers.
fn tiled_product(lid: vec3u, wid: vec3u) -> f32 {
  let row = wid.y * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  let a_base = p.a_offset + wid.z * p.a_batch_stride;
  let b_base = p.b_offset + wid.z * p.b_batch_stride;
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.k; k0 += TILE) {
    tile_a[lid.y * TILE + lid.x] = a_at(a_base, row, k0 + lid.x);
    tile_b[lid.y * TILE + lid.x] = b_at(b_base, k0 + lid.y, col);
    workgroupBarrier();
    for (var kk = 0u; kk < TILE; kk++) {
      acc += tile_a[lid.y * TILE + kk] * tile_b[kk * TILE + lid.x];
    }
    workgroupBarrier(); // the tiles are read by all before the next step overwrites them
  }
  return acc;
}

// Y = alpha · A' · B' (MatMul, a Gemm without C, and every backward product).
@compute @workgroup_size(TILE, TILE)
fn gemm(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let acc = tiled_product(lid, wid);
  let row = wid.y * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  if (row < p.m && col < p.n) {
    let i = p.y_offset + (wid.z * p.m + row) * p.ldy + col;
    if (ACCUMULATE) {
      y[i] += p.alpha * acc;
    } else {
      y[i] = p.alpha * acc;
    }
  }
}

// Y = alpha · A' · B' + beta · C. A separate entry point rather than an override: an entry point that mentions C at
// all needs it bound, whether or not a constant switches the read off.
@compute @workgroup_size(TILE, TILE)
fn gemm_with_c(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let acc = tiled_product(lid, wid);
  let row = wid.y * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  if (row < p.m && col < p.n) {
    y[p.y_offset + (wid.z * p.m + row) * p.ldy + col] = p.alpha * acc + p.beta * c[p.c_offset + row * p.c_row_stride + col * p.c_col_stride];
  }
}
