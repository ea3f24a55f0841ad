// 2-D convolution with ONNX Conv semantics, NCHW float32: the forward, and the backward to the input, the weights and
// the bias. The dispatch wrappers, shape rules and float64 references are in src/kernels/conv2d.ts.
//
// The forward, for an input x [N, C, H, W], weights w [O, Cg, KH, KW] and bias b [O]:
//
//   y[n,o,oh,ow] = b[o] + Σ_{c < Cg} Σ_{kh < KH} Σ_{kw < KW} w[o,c,kh,kw] · x[n, g·Cg + c, ih, iw]
//   with ih = oh·sh − pt + kh·dh,  iw = ow·sw − pl + kw·dw,  and x = 0 outside the image (the padding)
//
// where (sh, sw) are the strides, (dh, dw) the dilations, (pt, pl) the top and left pads, and g = o / Og is the group
// of output channel o: with `group` groups, each has Cg = C / group input channels and Og = O / group output
// channels, and an output channel reads only the input channels of its own group (group = 1 is the ordinary
// convolution, group = C a depthwise one).
//
// These are the "direct" kernels: one invocation per element of the result, each computing its sum as the loops of
// the definition. Simple and obviously correct, they are the baseline a tiled implicit-GEMM version is checked against.
//
// Index math is u32 throughout. Where an input position may fall into the padding, the range of taps that land inside
// the image is computed once (`inside_range`) instead of testing every iteration, so no subtraction can wrap.
//
// Linked as ['common', 'activation', 'conv2d']: the forward applies the activation epilogue of activation.wgsl
// (ACTIVATION, e.g. the ReLU that follows every SqueezeNet conv) to each result before storing it. Each entry point
// binds the subset of the tensors below it needs.

override HAS_BIAS: bool = false; // forward: add b[o]

struct Params {
  total: u32,         // elements of the result = invocations that do work
  batch: u32,         // N
  in_channels: u32,   // C
  in_h: u32,          // H
  in_w: u32,          // W
  out_channels: u32,  // O
  out_h: u32,         // OH
  out_w: u32,         // OW
  k_h: u32,           // KH
  k_w: u32,           // KW
  group_in: u32,      // Cg = C / group: input channels per group (= w's dimension 1)
  group_out: u32,     // Og = O / group: output channels per group
  stride_h: u32,
  stride_w: u32,
  dil_h: u32,
  dil_w: u32,
  pad_top: u32,
  pad_left: u32,      // (the bottom and right pads only decide OH and OW, computed on the CPU)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;      // input        [N, C, H, W]
@group(0) @binding(2) var<storage, read> w: array<f32>;      // weights      [O, Cg, KH, KW]
@group(0) @binding(3) var<storage, read> bias: array<f32>;   // bias         [O]
@group(0) @binding(4) var<storage, read> dy: array<f32>;     // ∂L/∂y        [N, O, OH, OW]
@group(0) @binding(5) var<storage, read_write> out: array<f32>; // y, dx, dw or db

// The positions i in [0, count) for which i·step + offset − pad lies in [0, size), as [lo, hi): the kernel taps of
// one output row that read the image rather than the padding (forward), or the output rows one kernel tap reaches
// from inside the image (weight gradient). Needs size ≥ 1 and step ≥ 1.
fn inside_range(offset: u32, step: u32, pad: u32, size: u32, count: u32) -> vec2u {
  // lower end: i·step + offset ≥ pad
  var lo = 0u;
  if (offset < pad) {
    lo = (pad - offset + step - 1u) / step;
  }
  // upper end: i·step + offset ≤ size − 1 + pad
  let last = size - 1u + pad;
  if (offset > last) {
    return vec2u(0u, 0u);
  }
  let hi = min(count, (last - offset) / step + 1u);
  return vec2u(lo, max(lo, hi));
}

// y = activate(conv(x, w) (+ b)), one invocation per output element y[n,o,oh,ow].
@compute @workgroup_size(WG)
fn conv2d_forward_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.total) { return; }
  // i = ((n·O + o)·OH + oh)·OW + ow
  let ow = i % p.out_w;
  let oh = (i / p.out_w) % p.out_h;
  let no = i / (p.out_w * p.out_h);
  let o = no % p.out_channels;
  let n = no / p.out_channels;
  let g = o / p.group_out;

  let plane = p.in_h * p.in_w;  // x's stride from one channel to the next
  let taps = p.k_h * p.k_w;     // w's stride from one input channel to the next
  let x_base = (n * p.in_channels + g * p.group_in) * plane;  // x[n, g·Cg, 0, 0]
  let w_base = o * p.group_in * taps;                          // w[o, 0, 0, 0]
  let row0 = oh * p.stride_h;  // ih = row0 + kh·dh − pt
  let col0 = ow * p.stride_w;
  let rows = inside_range(row0, p.dil_h, p.pad_top, p.in_h, p.k_h);
  let cols = inside_range(col0, p.dil_w, p.pad_left, p.in_w, p.k_w);

  var acc = 0.0;
  for (var kh = rows.x; kh < rows.y; kh++) {
    let ih = row0 + kh * p.dil_h - p.pad_top;
    for (var kw = cols.x; kw < cols.y; kw++) {
      let iw = col0 + kw * p.dil_w - p.pad_left;
      var xi = x_base + ih * p.in_w + iw;
      var wi = w_base + kh * p.k_w + kw;
      for (var c = 0u; c < p.group_in; c++) {
        acc += x[xi] * w[wi];
        xi += plane;
        wi += taps;
      }
    }
  }
  if (HAS_BIAS) { acc += bias[o]; }
  out[i] = activate(acc);
}

// dx = ∂L/∂x, one invocation per input element x[n,c,ih,iw] (the "gather" form of the transposed convolution).
//
// Derivation. x[n,c,ih,iw] appears in the forward sum of y[n,o,oh,ow] for every output channel o of its group
// g = c / Cg and every tap (kh, kw) with ih = oh·sh − pt + kh·dh and iw = ow·sw − pl + kw·dw, each time multiplied by
// w[o, c − g·Cg, kh, kw]. By the chain rule ∂L/∂x = Σ over those terms of ∂L/∂y · ∂y/∂x:
//
//   dx[n,c,ih,iw] = Σ_{o in group g} Σ_{kh,kw} w[o, c − g·Cg, kh, kw] · dy[n, o, oh, ow]
//   where oh = (ih + pt − kh·dh) / sh and ow = (iw + pl − kw·dw) / sw,
//
// a term existing only when both divisions are exact and land inside the output. That is a convolution of dy with
// the kernel flipped and input/output channels swapped (the transposed convolution). Each invocation gathers its own
// sum, so no two write the same element: no atomics, and the result does not depend on scheduling.
@compute @workgroup_size(WG)
fn conv2d_backward_input_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.total) { return; }
  // i = ((n·C + c)·H + ih)·W + iw
  let iw = i % p.in_w;
  let ih = (i / p.in_w) % p.in_h;
  let nc = i / (p.in_w * p.in_h);
  let c = nc % p.in_channels;
  let n = nc / p.in_channels;
  let g = c / p.group_in;
  let cg = c - g * p.group_in;  // c's index inside its group, = w's dimension 1

  let plane = p.out_h * p.out_w;      // dy's stride from one output channel to the next
  let taps = p.k_h * p.k_w;
  let w_step = p.group_in * taps;     // w's stride from one output channel to the next
  let o0 = g * p.group_out;           // the group's first output channel
  let w_base = (o0 * p.group_in + cg) * taps;             // w[o0, cg, 0, 0]
  let dy_base = (n * p.out_channels + o0) * plane;        // dy[n, o0, 0, 0]
  let row = ih + p.pad_top;   // = oh·sh + kh·dh
  let col = iw + p.pad_left;  // = ow·sw + kw·dw

  var acc = 0.0;
  for (var kh = 0u; kh < p.k_h; kh++) {
    let reach_h = kh * p.dil_h;
    if (reach_h > row) { break; }  // oh would be negative, for this kh and every larger one
    let row_s = row - reach_h;     // = oh·sh
    if (row_s % p.stride_h != 0u) { continue; }
    let oh = row_s / p.stride_h;
    if (oh >= p.out_h) { continue; }
    for (var kw = 0u; kw < p.k_w; kw++) {
      let reach_w = kw * p.dil_w;
      if (reach_w > col) { break; }
      let col_s = col - reach_w;
      if (col_s % p.stride_w != 0u) { continue; }
      let ow = col_s / p.stride_w;
      if (ow >= p.out_w) { continue; }
      var wi = w_base + kh * p.k_w + kw;
      var di = dy_base + oh * p.out_w + ow;
      for (var og = 0u; og < p.group_out; og++) {
        acc += w[wi] * dy[di];
        wi += w_step;
        di += plane;
      }
    }
  }
  out[i] = acc;
}

// dw = ∂L/∂w, one invocation per weight w[o,c,kh,kw].
//
// Derivation. w[o,c,kh,kw] multiplies x[n, g·Cg + c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw] in the sum of every output
// y[n,o,oh,ow] of channel o (g = o / Og), wherever that input position is inside the image (padding contributes 0).
// By the chain rule, summing over everything the weight touched:
//
//   dw[o,c,kh,kw] = Σ_n Σ_{oh,ow} dy[n,o,oh,ow] · x[n, g·Cg + c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw]
//
// the correlation of dy with x. The output positions whose input lies inside the image form a rectangle, found once.
@compute @workgroup_size(WG)
fn conv2d_backward_weight_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.total) { return; }
  // i = ((o·Cg + c)·KH + kh)·KW + kw
  let kw = i % p.k_w;
  let kh = (i / p.k_w) % p.k_h;
  let oc = i / (p.k_w * p.k_h);
  let c = oc % p.group_in;
  let o = oc / p.group_in;
  let g = o / p.group_out;

  let in_plane = p.in_h * p.in_w;
  let out_plane = p.out_h * p.out_w;
  let reach_h = kh * p.dil_h;  // ih = oh·sh + reach_h − pt
  let reach_w = kw * p.dil_w;
  let rows = inside_range(reach_h, p.stride_h, p.pad_top, p.in_h, p.out_h);
  let cols = inside_range(reach_w, p.stride_w, p.pad_left, p.in_w, p.out_w);

  var acc = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let x_base = (n * p.in_channels + g * p.group_in + c) * in_plane;  // x[n, g·Cg + c, 0, 0]
    let dy_base = (n * p.out_channels + o) * out_plane;                // dy[n, o, 0, 0]
    for (var oh = rows.x; oh < rows.y; oh++) {
      let ih = oh * p.stride_h + reach_h - p.pad_top;
      let x_row = x_base + ih * p.in_w;
      let dy_row = dy_base + oh * p.out_w;
      for (var ow = cols.x; ow < cols.y; ow++) {
        let iw = ow * p.stride_w + reach_w - p.pad_left;
        acc += dy[dy_row + ow] * x[x_row + iw];
      }
    }
  }
  out[i] = acc;
}

// db = ∂L/∂b, one workgroup per output channel o.
//
// Derivation. b[o] is added once to every output y[n,o,oh,ow] of channel o, with ∂y/∂b[o] = 1, so
//
//   db[o] = Σ_n Σ_{oh,ow} dy[n,o,oh,ow].
//
// A channel holds N·OH·OW values (12 321 for SqueezeNet's conv1 at batch 1): the workgroup's invocations each sum a
// strided share, then halve the partial sums in workgroup memory (WG is a power of two).
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn conv2d_backward_bias(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let o = wid.x + wid.y * nwg.x;  // uniform across the workgroup, so the early return keeps barriers uniform
  if (o >= p.out_channels) { return; }
  let plane = p.out_h * p.out_w;
  var acc = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let base = (n * p.out_channels + o) * plane;
    for (var j = lid; j < plane; j += WG) {
      acc += dy[base + j];
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half = half / 2u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[o] = partial[0];
  }
}
