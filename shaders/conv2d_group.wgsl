// The weights of a grouped convolution laid out for conv2d version 2 (src/kernels/conv2d-tiled.ts) when a 16-row
// tile of the implicit GEMM spans several groups: ResNeXt-50's first stages have 4 and 8 channels per group, so a tile
// of 16 output channels holds 4 or 2 whole groups. The tile then sums over the input channels of all its groups, and
// the weight between a row and a channel of another group is zero:
//
//   W′[m, k, t] = w[o, c′, t]  where channel k of the tile's window belongs to row m's own group, else 0
//
// Forward (rows m = output channels o, groups of Og rows, Cg input channels each): the window of the tile whose first
// row is m0 starts at input channel g0·Cg, g0 = m0 / Og; channel k of it is input channel g0·Cg + k, of group
// g0 + k / Cg, and is w's channel c′ = k mod Cg of that group.
// Backward to the input (rows m = input channels c, groups of Cg rows): the window starts at output channel g0·Og,
// g0 = m0 / Cg; channel k of it is output channel o = g0·Og + k, of group o / Og, and row c is w's channel c − g·Cg.
//
// Linked as ['common', 'conv2d_group']; one invocation per element of W′ [rows, n_count, taps].

override BACKWARD: bool = false;

struct Params {
  total: u32,         // elements of W′
  n_count: u32,       // its window of channels per tile
  taps: u32,          // KH·KW
  group_in: u32,      // Cg
  group_out: u32,     // Og
  out_channels: u32,  // O
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;          // w [O, Cg, KH, KW]
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // W′ [rows, n_count, KH, KW]

@compute @workgroup_size(WG)
fn conv2d_group_pack(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.total) { return; }
  // i = (m·n_count + k)·taps + t
  let t = i % p.taps;
  let mk = i / p.taps;
  let k = mk % p.n_count;
  let m = mk / p.n_count;
  let m0 = (m / 16u) * 16u;  // the tile's first row
  var v = 0.0;
  if (BACKWARD) {
    let g = m / p.group_in;
    let o = (m0 / p.group_in) * p.group_out + k;
    if (o < p.out_channels && o / p.group_out == g) {
      v = w[(o * p.group_in + (m - g * p.group_in)) * p.taps + t];
    }
  } else {
    let g = m / p.group_out;
    if (m0 / p.group_out + k / p.group_in == g) {
      v = w[(m * p.group_in + k % p.group_in) * p.taps + t];
    }
  }
  out[i] = v;
}
