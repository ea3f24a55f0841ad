// conv2d, version 2: a register-tiled implicit GEMM.
//
// A convolution is a matrix product in disguise (im2col without the copy):
//
//     out[m, q] = Σ_{n, a, b} W[m, n, a, b] · in[n, pixel(q, a, b)]
//
// with m the output channel (GEMM row), q the output pixel n·OH·OW + i·OW + j (GEMM column) and (n, a, b) the
// reduction: input channel and kernel tap. Each invocation computes a 16 × 4 tile (or 32 × 4, TILE_ROWS): 16
// consecutive rows m0..m0+15 (the same for the whole workgroup) and 4 pixels q, q + WG, q + 2·WG, q + 3·WG. Every
// input value it loads is used 16 (32) times and every weight 4 times; that reuse is the whole point, because on a CPU
// adapter (lavapipe) a load costs several times an FMA, and on a GPU the loads are what the memory system cannot keep
// up with.
//
// The weights of the 16 rows are the same for all invocations of a workgroup. With subgroups (16 rows = 2 loads per
// lane + 16 broadcasts, shaders/conv2d_weights_subgroup.wgsl) they are fetched cooperatively; without, each
// invocation loads all 16 (shaders/conv2d_weights_plain.wgsl). One of the two files is linked in front of this one:
// it defines `weights16` and the entry point (WGSL cannot switch an `enable` directive or a builtin on and off with
// an override constant). activation.wgsl is linked between them: the forward applies its ACTIVATION to each result
// (the ReLU after every SqueezeNet conv, MobileNet's ReLU6), so the activation costs no pass of its own.
//
// The same kernel serves two passes, through the affine index maps in Params:
//   forward:        in = x,  W[m=o, n=c, a=kh, b=kw],   input row  = i·stride + a·dilation − pad_top
//   backward to x:  in = dy, W[m=c, n=o, a, b] with kh = kh0 + s·a, input row = i + off − a, and the output written at
//                   row rh + s·i: the transposed convolution, split into s² phases (one dispatch each) so that every
//                   tap a contributes (the derivation is in src/kernels/conv2d-tiled.ts).
// Grouped convolutions (ResNeXt's): output channel o of group g reads only that group's Cg input channels. A tile's 16
// rows read one block of channels, found from its first row m0: block b = m0 / group_rows starts at channel
// b·n_group_offset of `in`. Where a group has at least 16 rows (a multiple of 16) a tile lies inside one group and
// its block is that group's channels; where a group has fewer (4 or 8), a tile holds several whole groups and its
// block is all their channels, the weights between a row and another group's channels packed as zeros
// (shaders/conv2d_group.wgsl). An ungrouped convolution is one block.
// A reduction over an explicit list of channels (CHANNEL_LIST) skips channels whose gradient is known to be zero:
// the classifier's backward for one requested class reads one channel of dy instead of 1000. Channel offsets on
// both sides let several convolutions share one concatenated tensor: each forward writes its slice of a Fire
// module's output in place, and each backward reads its slice of the gradient (no concat copies either way).

override WG: u32 = 64;
override HAS_BIAS: bool = false;
override CHANNEL_LIST: bool = false;
// Add the tile into `out` instead of overwriting it: the second of two convolutions that read the same input adds its
// gradient to the first's (SqueezeNet's two expand convs both read the squeeze output) without a separate add pass.
override ACCUMULATE: bool = false;
// Phase-packed backward (PHASES = sh·sw > 1): the rows of the GEMM are (phase, channel) pairs, m = phase·C + c, and
// row m's results land at output row i·sh + phase / sw, column j·sw + phase % sw. See conv2d-tiled.ts.
override PHASES: u32 = 1;
// GEMM rows per tile: 16, or 32 where the CPU side finds that it pays (conv2d-tiled.ts, tileRows). 32 rows load 4
// weights and 4 inputs per channel for 128 multiply-adds instead of 2 and 4 for 64: on lavapipe each load is a
// scalar loop over the 8 SIMD lanes (an exec-mask test and a bounds check per lane), and those loops are most of the
// kernel's instructions, so the loads each multiply-add needs are what its time is.
override TILE_ROWS: u32 = 16;

struct Params {
  pixels: u32,          // GEMM columns: N · grid_h · grid_w
  grid_h: u32,          // output pixels of this dispatch, per image
  grid_w: u32,
  m_count: u32,         // GEMM rows
  n_count: u32,         // reduction channels (or entries of the channel list)
  taps_h: u32,
  taps_w: u32,
  in_h: u32,
  in_w: u32,
  in_batch_stride: u32, // elements from one image of `in` to the next
  in_channel_offset: u32, // reduction channel n reads channel n + in_channel_offset of `in` (a slice of a concat)
  in_stride_h: i32,     // input row = i·in_stride_h + a·tap_step_h + in_off_h
  in_stride_w: i32,
  tap_step_h: i32,
  tap_step_w: i32,
  in_off_h: i32,
  in_off_w: i32,
  w_base: u32,          // W index = w_base + m·w_stride_m + n·w_stride_n + a·w_stride_a + b·w_stride_b
  w_stride_m: u32,
  w_stride_n: u32,
  w_stride_a: u32,
  w_stride_b: u32,
  out_h: u32,           // the output tensor's spatial size
  out_w: u32,
  out_channels: u32,    // its channel count (≥ m_count + out_channel_offset)
  out_channel_offset: u32,
  out_stride_h: u32,    // output row = i·out_stride_h + out_off_h
  out_stride_w: u32,
  out_off_h: u32,
  out_off_w: u32,
  phase_channels: u32,  // PHASES > 1: the output's channels per phase (C)
  group_rows: u32,      // grouped convolutions: rows m share a block of channels of `in` while m / group_rows is equal
  n_group_offset: u32,  // block b's reduction channels start at channel b·n_group_offset of `in`
  w_group_offset: u32,  // and its weights at b·w_group_offset
  n_limit: u32,         // channels of `in` the reduction may read: the last block's window stops there
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;      // x (forward) or dy (backward)
@group(0) @binding(2) var<storage, read> w: array<real>;  // f32 or f16 (the precision file linked in front)
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> channels: array<u32>; // the channel list, when CHANNEL_LIST
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

// Where a tile's pixels write: the first element of their image in `out`, and their row and column there.
struct Destination {
  image: vec4u,
  row: vec4u,
  col: vec4u,
  live: vec4<bool>,
}

// Row r of the tile goes to out[n, off + m0 + r, row, col] for the four pixels; pixels past the end are dropped.
fn store_row(r: u32, m0: u32, v_in: vec4<accum>, d: Destination) {
  let m = m0 + r;
  if (m >= p.m_count) { return; }
  var v = vec4f(v_in);
  if (HAS_BIAS) { v += vec4f(bias[m]); }
  if (ACTIVATION != ACT_NONE) { v = vec4f(activate(v.x), activate(v.y), activate(v.z), activate(v.w)); }
  var channel = p.out_channel_offset + m;
  var row = d.row;
  var col = d.col;
  var live = d.live;
  if (PHASES > 1u) {
    let phase = m / p.phase_channels;
    channel = m - phase * p.phase_channels;
    row += vec4u(phase / p.out_stride_w);
    col += vec4u(phase % p.out_stride_w);
    live = live & (row < vec4u(p.out_h)) & (col < vec4u(p.out_w));
  }
  let o = d.image + vec4u(channel * p.out_h * p.out_w) + row * p.out_w + col;
  if (ACCUMULATE) {
    if (live.x) { out[o.x] += v.x; }
    if (live.y) { out[o.y] += v.y; }
    if (live.z) { out[o.z] += v.z; }
    if (live.w) { out[o.w] += v.w; }
  } else {
    if (live.x) { out[o.x] = v.x; }
    if (live.y) { out[o.y] = v.y; }
    if (live.z) { out[o.z] = v.z; }
    if (live.w) { out[o.w] = v.w; }
  }
}

// The body of the entry point `conv2d_tiled`, which the weights file defines (it knows whether there is a
// subgroup_invocation_id to pass).
fn conv2d_tile(wid: vec3u, nwg: vec3u, lane: u32, sub_lane: u32) {
  let m0 = wid.y * TILE_ROWS;
  // Pixel blocks run along x, folded into z when there are more than a grid dimension allows.
  let q0 = (wid.x + wid.z * nwg.x) * (4u * WG) + lane;

  // Where each of the 4 pixels reads (row/column of its first tap, image base) and writes.
  let per_image = p.grid_h * p.grid_w;
  var row0: vec4i;
  var col0: vec4i;
  var base: vec4i;
  var dst: Destination;
  for (var s = 0u; s < 4u; s++) {
    let q = q0 + s * WG;
    dst.live[s] = q < p.pixels;
    let qc = min(q, p.pixels - 1u);
    let img = qc / per_image;
    let rest = qc - img * per_image;
    let i = rest / p.grid_w;
    let j = rest - i * p.grid_w;
    row0[s] = i32(i) * p.in_stride_h + p.in_off_h;
    col0[s] = i32(j) * p.in_stride_w + p.in_off_w;
    base[s] = i32(img * p.in_batch_stride);
    dst.image[s] = img * p.out_channels * p.out_h * p.out_w;
    dst.row[s] = i * p.out_stride_h + p.out_off_h;
    dst.col[s] = j * p.out_stride_w + p.out_off_w;
  }
  let in_plane = p.in_h * p.in_w;
  let block = m0 / p.group_rows;
  let n_first = block * p.n_group_offset + p.in_channel_offset;
  let w_first = block * p.w_group_offset;
  let n_count = min(p.n_count, p.n_limit - block * p.n_group_offset);

  var acc0 = vec4<accum>(0.0); var acc1 = vec4<accum>(0.0); var acc2 = vec4<accum>(0.0); var acc3 = vec4<accum>(0.0);
  var acc4 = vec4<accum>(0.0); var acc5 = vec4<accum>(0.0); var acc6 = vec4<accum>(0.0); var acc7 = vec4<accum>(0.0);
  var acc8 = vec4<accum>(0.0); var acc9 = vec4<accum>(0.0); var acc10 = vec4<accum>(0.0); var acc11 = vec4<accum>(0.0);
  var acc12 = vec4<accum>(0.0); var acc13 = vec4<accum>(0.0); var acc14 = vec4<accum>(0.0); var acc15 = vec4<accum>(0.0);
  // Rows 16..31 of a 32-row tile (unused, and removed by the compiler, when TILE_ROWS is 16).
  var acc16 = vec4<accum>(0.0); var acc17 = vec4<accum>(0.0); var acc18 = vec4<accum>(0.0); var acc19 = vec4<accum>(0.0);
  var acc20 = vec4<accum>(0.0); var acc21 = vec4<accum>(0.0); var acc22 = vec4<accum>(0.0); var acc23 = vec4<accum>(0.0);
  var acc24 = vec4<accum>(0.0); var acc25 = vec4<accum>(0.0); var acc26 = vec4<accum>(0.0); var acc27 = vec4<accum>(0.0);
  var acc28 = vec4<accum>(0.0); var acc29 = vec4<accum>(0.0); var acc30 = vec4<accum>(0.0); var acc31 = vec4<accum>(0.0);

  for (var a = 0u; a < p.taps_h; a++) {
    let ih = row0 + vec4i(i32(a) * p.tap_step_h);
    for (var b = 0u; b < p.taps_w; b++) {
      let iw = col0 + vec4i(i32(b) * p.tap_step_w);
      // Taps outside the input read zero padding: the load goes to element 0 and the value is discarded.
      let inside = (ih >= vec4i(0)) & (ih < vec4i(i32(p.in_h))) & (iw >= vec4i(0)) & (iw < vec4i(i32(p.in_w)));
      let at = vec4u(select(vec4i(0), base + ih * i32(p.in_w) + iw, inside));
      let w_tap = p.w_base + w_first + a * p.w_stride_a + b * p.w_stride_b;
      for (var k = 0u; k < n_count; k++) {
        var n = k;
        if (CHANNEL_LIST) { n = channels[k]; }
        let xo = at + vec4u((n + n_first) * in_plane);
        let xv = select(vec4<real>(0.0), vec4<real>(vec4f(src[xo.x], src[xo.y], src[xo.z], src[xo.w])), inside);
        let ws = weights16(w_tap + n * p.w_stride_n, m0, sub_lane);
        acc0 = madd(ws[0], xv, acc0);
        acc1 = madd(ws[1], xv, acc1);
        acc2 = madd(ws[2], xv, acc2);
        acc3 = madd(ws[3], xv, acc3);
        acc4 = madd(ws[4], xv, acc4);
        acc5 = madd(ws[5], xv, acc5);
        acc6 = madd(ws[6], xv, acc6);
        acc7 = madd(ws[7], xv, acc7);
        acc8 = madd(ws[8], xv, acc8);
        acc9 = madd(ws[9], xv, acc9);
        acc10 = madd(ws[10], xv, acc10);
        acc11 = madd(ws[11], xv, acc11);
        acc12 = madd(ws[12], xv, acc12);
        acc13 = madd(ws[13], xv, acc13);
        acc14 = madd(ws[14], xv, acc14);
        acc15 = madd(ws[15], xv, acc15);
        // An override is a constant by the time the shader is compiled: this is no branch at run time.
        if (TILE_ROWS == 32u) {
          let ws2 = weights16(w_tap + n * p.w_stride_n, m0 + 16u, sub_lane);
          acc16 = madd(ws2[0], xv, acc16);
          acc17 = madd(ws2[1], xv, acc17);
          acc18 = madd(ws2[2], xv, acc18);
          acc19 = madd(ws2[3], xv, acc19);
          acc20 = madd(ws2[4], xv, acc20);
          acc21 = madd(ws2[5], xv, acc21);
          acc22 = madd(ws2[6], xv, acc22);
          acc23 = madd(ws2[7], xv, acc23);
          acc24 = madd(ws2[8], xv, acc24);
          acc25 = madd(ws2[9], xv, acc25);
          acc26 = madd(ws2[10], xv, acc26);
          acc27 = madd(ws2[11], xv, acc27);
          acc28 = madd(ws2[12], xv, acc28);
          acc29 = madd(ws2[13], xv, acc29);
          acc30 = madd(ws2[14], xv, acc30);
          acc31 = madd(ws2[15], xv, acc31);
        }
      }
    }
  }

  store_row(0u, m0, acc0, dst);
  store_row(1u, m0, acc1, dst);
  store_row(2u, m0, acc2, dst);
  store_row(3u, m0, acc3, dst);
  store_row(4u, m0, acc4, dst);
  store_row(5u, m0, acc5, dst);
  store_row(6u, m0, acc6, dst);
  store_row(7u, m0, acc7, dst);
  store_row(8u, m0, acc8, dst);
  store_row(9u, m0, acc9, dst);
  store_row(10u, m0, acc10, dst);
  store_row(11u, m0, acc11, dst);
  store_row(12u, m0, acc12, dst);
  store_row(13u, m0, acc13, dst);
  store_row(14u, m0, acc14, dst);
  store_row(15u, m0, acc15, dst);
  if (TILE_ROWS == 32u) {
    store_row(16u, m0, acc16, dst);
    store_row(17u, m0, acc17, dst);
    store_row(18u, m0, acc18, dst);
    store_row(19u, m0, acc19, dst);
    store_row(20u, m0, acc20, dst);
    store_row(21u, m0, acc21, dst);
    store_row(22u, m0, acc22, dst);
    store_row(23u, m0, acc23, dst);
    store_row(24u, m0, acc24, dst);
    store_row(25u, m0, acc25, dst);
    store_row(26u, m0, acc26, dst);
    store_row(27u, m0, acc27, dst);
    store_row(28u, m0, acc28, dst);
    store_row(29u, m0, acc29, dst);
    store_row(30u, m0, acc30, dst);
    store_row(31u, m0, acc31, dst);
  }
}
