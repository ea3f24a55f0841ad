// Strided index spaces (src/kernels/strides.ts builds them): how a kernel that walks one shape finds the matching
// elements of tensors of other, broadcast shapes. Linked after common.wgsl and before the kernels that use it
// (['common', 'strides', 'broadcast']).
//
// numpy broadcasting in one line: aligned from the right, a tensor whose dim is 1 where the result's is d is read at
// index 0 along that axis for all d positions. In strides: its stride along that axis is 0. So a position with
// coordinates (c_0, …, c_r−1) of the result reads tensor t at offset Σ_k c_k · stride_t[k], with stride_t[k] = 0 on
// the axes t is broadcast along. The host collapses the shapes first (axes of size 1 dropped, neighbouring axes that
// every tensor walks contiguously merged), so an SE block's [N,C,1,1] · [N,C,H,W] is a 2-D walk over [N·C, H·W] and two
// equal shapes are a 1-D one.
//
// Two index spaces: the outer one, which the invocations (or workgroups) enumerate, and the inner one, which a
// reduction sums over within each position of the outer one (empty, rank 0, for element-wise kernels). Each space has
// its dims, innermost last, and per tensor (at most three: 0, 1, 2 — which is which, the kernel says) a stride per dim.
//
// The ranks are override constants, so a pipeline is compiled for its ranks: a 1-D walk (equal shapes; the H·W of a
// per-channel sum) costs one multiplication per tensor and no division, and the decode loops have a known trip count.

override OUTER_RANK: u32 = 0u;
override INNER_RANK: u32 = 0u;

struct Strides {
  outer_dims: array<vec4u, 2>,                   // dim k is outer_dims[k / 4][k % 4]
  outer_strides: array<array<vec4u, 2>, 3>,      // outer_strides[t][k / 4][k % 4]: tensor t's stride along outer dim k
  inner_dims: array<vec4u, 2>,
  inner_strides: array<array<vec4u, 2>, 3>,
}

@group(0) @binding(7) var<uniform> walk: Strides;

// The offsets in tensors 0, 1, 2 of position i of the outer space (row-major: the last dim varies fastest). One
// division per dim peels off the coordinate c_k = i mod d_k, innermost first; a 1-D space is its own coordinate.
fn outer_offsets(i: u32) -> vec3u {
  if (OUTER_RANK == 0u) { return vec3u(0u); }
  if (OUTER_RANK == 1u) { return i * vec3u(walk.outer_strides[0][0].x, walk.outer_strides[1][0].x, walk.outer_strides[2][0].x); }
  var rest = i;
  var off = vec3u(0u);
  for (var k = i32(OUTER_RANK) - 1; k >= 0; k--) {
    let q = k / 4;
    let r = k % 4;
    let d = walk.outer_dims[q][r];
    let c = rest % d;
    rest = rest / d;
    off += c * vec3u(walk.outer_strides[0][q][r], walk.outer_strides[1][q][r], walk.outer_strides[2][q][r]);
  }
  return off;
}

// The same for position j of the inner space.
fn inner_offsets(j: u32) -> vec3u {
  if (INNER_RANK == 0u) { return vec3u(0u); }
  if (INNER_RANK == 1u) { return j * vec3u(walk.inner_strides[0][0].x, walk.inner_strides[1][0].x, walk.inner_strides[2][0].x); }
  var rest = j;
  var off = vec3u(0u);
  for (var k = i32(INNER_RANK) - 1; k >= 0; k--) {
    let q = k / 4;
    let r = k % 4;
    let d = walk.inner_dims[q][r];
    let c = rest % d;
    rest = rest / d;
    off += c * vec3u(walk.inner_strides[0][q][r], walk.inner_strides[1][q][r], walk.inner_strides[2][q][r]);
  }
  return off;
}
