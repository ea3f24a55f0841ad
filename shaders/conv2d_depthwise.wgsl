// conv2d version 2 for depthwise convolutions (src/kernels/conv2d-depthwise.ts): every output channel reads one input
// channel (w [O, 1, KH, KW], group = C, O = C·mult), so a result is a small stencil over one plane,
//
//     out[n, m, row(i), col(j)] = Σ_{k < n_count} Σ_{a < TAPS_H, b < TAPS_W} W[m, k, a, b] · in[n, ch(m, k), i·sh + a·dh + oh, j·sw + b·dw + ow]
//
// with 9 multiply-adds per result for a 3×3 kernel — too few for the tiled implicit GEMM, whose reuse comes from
// summing over many input channels. What can be reused here is the input window: an invocation computes PIX = 4
// adjacent results of one row, and the 4 results' taps in one kernel row read overlapping input columns — at stride 1
// a window of 4 + 3 − 1 = 6 values serves all 12 taps. The invocation loads each row's window once, and its channel's
// weights once per row (they are the same for all of its results), then runs the multiply-adds from registers: about
// 7 loads per result at stride 1 instead of the direct kernel's 18.
//
// The same kernel serves two passes through the index maps in Params (src/kernels/conv2d-depthwise.ts derives them):
//   forward:        in = x, ch(m, k) = m / mult, W = w[m, kh = a, kw = b], row = i·stride + a·dilation − pad;
//   backward to x:  in = dy, ch(m, k) = m·mult + k summed over the mult output channels of input channel m, the kernel
//                   flipped (W index steps backwards), and the s² stride phases one dispatch each, each phase's results
//                   landing on rows rh + s·i — the transposed convolution, as conv2d-tiled.ts splits it.
//
// The loop bounds are override constants, so each shape's pipeline has its loops unrolled and the window in registers.
// Linked as ['common', 'activation', 'conv2d_depthwise'] (the forward applies the activation epilogue).

override HAS_BIAS: bool = false;
override TAPS_H: u32 = 3u;
override TAPS_W: u32 = 3u;
override IN_STRIDE_W: u32 = 1u;  // input columns between adjacent results
override TAP_STEP_W: u32 = 1u;   // input columns between adjacent taps (the dilation)
// The input columns the PIX results of one row read: from col0 to col0 + WINDOW − 1.
override WINDOW: u32 = (PIX - 1u) * IN_STRIDE_W + (TAPS_W - 1u) * TAP_STEP_W + 1u;

const PIX: u32 = 4u;
const MAX_WINDOW: u32 = 32u;  // the host picks the direct kernel for wider windows

struct Params {
  total: u32,          // invocations that do work: N · M · grid_h · tiles_w
  channels: u32,       // M: channels of the result
  grid_h: u32,         // results of this dispatch per channel: grid_h rows of grid_w columns
  grid_w: u32,
  tiles_w: u32,        // ⌈grid_w / PIX⌉
  in_channels: u32,    // channels of `src`
  in_h: u32,
  in_w: u32,
  in_stride_h: u32,    // input row = i·in_stride_h + a·tap_step_h + in_off_h
  tap_step_h: u32,
  in_off_h: i32,
  in_off_w: i32,       // input column = j·IN_STRIDE_W + b·TAP_STEP_W + in_off_w
  ch_div: u32,         // input channel of result channel m, reduction k: (m / ch_div)·ch_mul + k
  ch_mul: u32,
  n_count: u32,        // reduction channels per result (1 forward, mult backward)
  w_mul: u32,          // weight channel of (m, k): m·w_mul + k
  w_taps: u32,         // weights per channel: KH·KW
  w_base: i32,         // W[·, ·, a, b] = w[channel·w_taps + w_base + a·w_stride_a + b·w_stride_b]
  w_stride_a: i32,
  w_stride_b: i32,
  out_channels: u32,   // the result tensor's shape
  out_h: u32,
  out_w: u32,
  out_stride_h: u32,   // result row = i·out_stride_h + out_off_h, column j·out_stride_w + out_off_w
  out_stride_w: u32,
  out_off_h: u32,
  out_off_w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;   // x (forward) or dy (backward)
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn store(n: u32, m: u32, i: u32, j: u32, v: f32) {
  if (j >= p.grid_w) { return; }  // the last tile of a row may overhang it
  let row = i * p.out_stride_h + p.out_off_h;
  let col = j * p.out_stride_w + p.out_off_w;
  var r = v;
  if (HAS_BIAS) { r += bias[m]; }
  out[((n * p.out_channels + m) * p.out_h + row) * p.out_w + col] = activate(r);
}

@compute @workgroup_size(WG)
fn conv2d_depthwise(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = index(gid, nwg);
  if (t >= p.total) { return; }
  // t = ((n·M + m)·grid_h + i)·tiles_w + tile
  let tile = t % p.tiles_w;
  let rest = t / p.tiles_w;
  let i = rest % p.grid_h;
  let nm = rest / p.grid_h;
  let m = nm % p.channels;
  let n = nm / p.channels;
  let j0 = tile * PIX;
  let row0 = i32(i * p.in_stride_h) + p.in_off_h;
  let col0 = i32(j0 * IN_STRIDE_W) + p.in_off_w;

  var acc = vec4f(0.0);
  for (var k = 0u; k < p.n_count; k++) {
    let plane = (n * p.in_channels + (m / p.ch_div) * p.ch_mul + k) * p.in_h * p.in_w;
    let w0 = i32((m * p.w_mul + k) * p.w_taps) + p.w_base;
    for (var a = 0u; a < TAPS_H; a++) {
      let ih = row0 + i32(a * p.tap_step_h);
      if (ih < 0 || ih >= i32(p.in_h)) { continue; }  // a row of padding adds nothing
      let row = plane + u32(ih) * p.in_w;
      // The window: input columns col0 … col0 + WINDOW − 1 of this row, zero where they fall into the padding.
      var win: array<f32, MAX_WINDOW>;
      for (var q = 0u; q < WINDOW; q++) {
        let iw = col0 + i32(q);
        let inside = iw >= 0 && iw < i32(p.in_w);
        win[q] = select(0.0, src[row + u32(select(0, iw, inside))], inside);
      }
      let wa = w0 + i32(a) * p.w_stride_a;
      for (var b = 0u; b < TAPS_W; b++) {
        let wv = w[u32(wa + i32(b) * p.w_stride_b)];
        let c = b * TAP_STEP_W;  // result r reads window column r·IN_STRIDE_W + c
        acc = fma(vec4f(wv), vec4f(win[c], win[c + IN_STRIDE_W], win[c + 2u * IN_STRIDE_W], win[c + 3u * IN_STRIDE_W]), acc);
      }
    }
  }
  store(n, m, i, j0, acc.x);
  store(n, m, i, j0 + 1u, acc.y);
  store(n, m, i, j0 + 2u, acc.z);
  store(n, m, i, j0 + 3u, acc.w);
}
