/**
 * The WGSL of the "write the backward yourself" exercises (src/teaching/exercises.ts): for each op, the forward the
 * page shows (and the checker runs, so that what a student reads is tested code), the backward's starting point, and
 * the reference solution behind the page's button.
 *
 * The kernels are written to be read, not to be fast: one invocation per output element, plain loops, no shared
 * memory. Each is a whole module — its struct, its bindings, its entry point — so that a compile error's line number
 * is the line the student sees in the editor. The interface every backward keeps (names, access modes, the uniform
 * struct's fields) is declared beside each exercise and checked by name before anything runs.
 */

/** The header shared by the stubs: how a backward kernel is launched. */
const LAUNCH = `// One invocation per element of dx: workgroups of 64, id.x is dx's flat (row-major NCHW) index.`;

export const RELU = {
  forward: `// ReLU forward: y = max(x, 0), element by element.
struct Sizes { n: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn relu_forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.n) { return; }
  y[i] = max(x[i], 0.0);
}
`,
  stub: `// ReLU backward: dy = dL/dy arrives; write dx = dL/dx.
${LAUNCH}
// y is the forward's output, kept for the backward.
struct Sizes { n: u32 }
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn relu_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.n) { return; }
  dx[i] = 0.0; // your chain rule here
}
`,
  solution: `// ReLU backward: dx = dy · [y > 0] (at x = 0 ReLU has no derivative; we take 0, as PyTorch does).
${LAUNCH}
struct Sizes { n: u32 }
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn relu_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.n) { return; }
  dx[i] = select(0.0, dy[i], y[i] > 0.0);
}
`,
};

const POOL_SIZES = `struct Sizes {
  planes: u32, height: u32, width: u32,   // x is [planes = N·C, height, width]
  out_height: u32, out_width: u32,        // y is [planes, out_height, out_width]
  kernel: u32, stride: u32,               // square windows
  pad_top: u32, pad_left: u32,            // window (oh, ow) starts at row oh·stride − pad_top, column ow·stride − pad_left
}`;

/** The first largest tap of a window (padding is no tap, so it never wins): the forward's choice, and the backward's. */
const WINDOW_ARGMAX = `// The flat index in x of the largest value of window (top, left) of a plane; the first one at a tie.
fn window_argmax(plane: u32, top: i32, left: i32) -> u32 {
  var best_index = 0u;
  var best = 0.0;
  var found = false;
  for (var kh = 0; kh < i32(p.kernel); kh++) {
    for (var kw = 0; kw < i32(p.kernel); kw++) {
      let h = top + kh;
      let w = left + kw;
      if (h < 0 || h >= i32(p.height) || w < 0 || w >= i32(p.width)) { continue; }
      let j = (plane * p.height + u32(h)) * p.width + u32(w);
      if (!found || x[j] > best) { best = x[j]; best_index = j; found = true; }
    }
  }
  return best_index;
}`;

const POOL_BACKWARD_HEAD = `${POOL_SIZES}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Sizes;

${WINDOW_ARGMAX}`;

export const MAX_POOL = {
  forward: `// Max pooling forward: y = the largest x of each kernel×kernel window.
${POOL_SIZES}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Sizes;

${WINDOW_ARGMAX}

@compute @workgroup_size(64)
fn max_pool_forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let o = id.x;
  let outs = p.out_height * p.out_width;
  if (o >= p.planes * outs) { return; }
  let plane = o / outs;
  let top = i32(((o % outs) / p.out_width) * p.stride) - i32(p.pad_top);
  let left = i32((o % p.out_width) * p.stride) - i32(p.pad_left);
  y[o] = x[window_argmax(plane, top, left)];
}
`,
  stub: `// Max pooling backward: dy = dL/dy arrives; write dx = dL/dx.
${LAUNCH}
// x is the forward's input, kept for the backward; window_argmax is the forward's own choice of the largest.
${POOL_BACKWARD_HEAD}

@compute @workgroup_size(64)
fn max_pool_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.planes * p.height * p.width) { return; }
  dx[i] = 0.0; // your chain rule here
}
`,
  solution: `// Max pooling backward: each dy goes, whole, to its window's largest x; an x that is the largest of several
// (overlapping) windows receives the sum of their dy.
${LAUNCH}
${POOL_BACKWARD_HEAD}

@compute @workgroup_size(64)
fn max_pool_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  let plane_size = p.height * p.width;
  if (i >= p.planes * plane_size) { return; }
  let plane = i / plane_size;
  let ih = i32((i % plane_size) / p.width);
  let iw = i32(i % p.width);
  var sum = 0.0;
  for (var oh = 0u; oh < p.out_height; oh++) {
    let top = i32(oh * p.stride) - i32(p.pad_top);
    if (ih < top || ih >= top + i32(p.kernel)) { continue; }
    for (var ow = 0u; ow < p.out_width; ow++) {
      let left = i32(ow * p.stride) - i32(p.pad_left);
      if (iw < left || iw >= left + i32(p.kernel)) { continue; }
      // window (oh, ow) holds x[i]: its dy comes here only if x[i] is that window's largest
      if (window_argmax(plane, top, left) == i) {
        sum += dy[(plane * p.out_height + oh) * p.out_width + ow];
      }
    }
  }
  dx[i] = sum;
}
`,
};

const CONV1X1_SIZES = `struct Sizes { batch: u32, in_channels: u32, out_channels: u32, pixels: u32 } // pixels = height·width`;

export const CONV1X1 = {
  forward: `// 1×1 convolution forward (no bias): y[n,co,q] = Σ_ci w[co,ci] · x[n,ci,q] at every pixel q.
${CONV1X1_SIZES}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;       // [out_channels, in_channels]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn conv1x1_forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let o = id.x;
  if (o >= p.batch * p.out_channels * p.pixels) { return; }
  let n = o / (p.out_channels * p.pixels);
  let co = (o / p.pixels) % p.out_channels;
  let q = o % p.pixels;
  var sum = 0.0;
  for (var ci = 0u; ci < p.in_channels; ci++) {
    sum += w[co * p.in_channels + ci] * x[(n * p.in_channels + ci) * p.pixels + q];
  }
  y[o] = sum;
}
`,
  stub: `// 1×1 convolution backward (to the input): dy = dL/dy arrives; write dx = dL/dx.
${LAUNCH}
// w is the weight, [out_channels, in_channels], kept for the backward.
${CONV1X1_SIZES}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn conv1x1_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.batch * p.in_channels * p.pixels) { return; }
  dx[i] = 0.0; // your chain rule here
}
`,
  solution: `// 1×1 convolution backward: at every pixel the forward is y = W·x, so dx = Wᵀ·dy: dx[n,ci,q] = Σ_co w[co,ci] · dy[n,co,q].
${LAUNCH}
${CONV1X1_SIZES}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn conv1x1_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.batch * p.in_channels * p.pixels) { return; }
  let n = i / (p.in_channels * p.pixels);
  let ci = (i / p.pixels) % p.in_channels;
  let q = i % p.pixels;
  var sum = 0.0;
  for (var co = 0u; co < p.out_channels; co++) {
    sum += w[co * p.in_channels + ci] * dy[(n * p.out_channels + co) * p.pixels + q];
  }
  dx[i] = sum;
}
`,
};

const CONV3X3_SIZES = `struct Sizes {
  batch: u32, in_channels: u32, out_channels: u32,
  height: u32, width: u32,            // x's plane
  out_height: u32, out_width: u32,    // y's plane
  stride: u32, pad: u32,              // output (oh, ow) reads rows oh·stride − pad + kh, columns ow·stride − pad + kw
}`;

export const CONV3X3 = {
  forward: `// 3×3 convolution forward (no bias): y[n,co,oh,ow] = Σ_ci Σ_kh Σ_kw w[co,ci,kh,kw] · x[n,ci,oh·s−pad+kh,ow·s−pad+kw].
${CONV3X3_SIZES}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;       // [out_channels, in_channels, 3, 3]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn conv3x3_forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let o = id.x;
  let out_plane = p.out_height * p.out_width;
  if (o >= p.batch * p.out_channels * out_plane) { return; }
  let n = o / (p.out_channels * out_plane);
  let co = (o / out_plane) % p.out_channels;
  let oh = (o % out_plane) / p.out_width;
  let ow = o % p.out_width;
  var sum = 0.0;
  for (var ci = 0u; ci < p.in_channels; ci++) {
    for (var kh = 0u; kh < 3u; kh++) {
      for (var kw = 0u; kw < 3u; kw++) {
        let ih = i32(oh * p.stride + kh) - i32(p.pad);
        let iw = i32(ow * p.stride + kw) - i32(p.pad);
        if (ih < 0 || ih >= i32(p.height) || iw < 0 || iw >= i32(p.width)) { continue; }
        sum += w[((co * p.in_channels + ci) * 3u + kh) * 3u + kw] * x[((n * p.in_channels + ci) * p.height + u32(ih)) * p.width + u32(iw)];
      }
    }
  }
  y[o] = sum;
}
`,
  stub: `// 3×3 convolution backward (to the input): dy = dL/dy arrives; write dx = dL/dx.
${LAUNCH}
// w is the weight, [out_channels, in_channels, 3, 3], kept for the backward.
${CONV3X3_SIZES}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn conv3x3_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.batch * p.in_channels * p.height * p.width) { return; }
  dx[i] = 0.0; // your chain rule here
}
`,
  solution: `// 3×3 convolution backward: x[ih,iw] was read by output (oh, ow) at tap (kh, kw) where oh·s − pad + kh = ih, so
// dx[n,ci,ih,iw] = Σ_co Σ_kh Σ_kw w[co,ci,kh,kw] · dy[n,co,(ih+pad−kh)/s,(iw+pad−kw)/s] over the taps that divide:
// a convolution of dy with the kernel flipped (kh runs against ih).
${LAUNCH}
${CONV3X3_SIZES}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn conv3x3_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  let plane = p.height * p.width;
  if (i >= p.batch * p.in_channels * plane) { return; }
  let n = i / (p.in_channels * plane);
  let ci = (i / plane) % p.in_channels;
  let ih = i32((i % plane) / p.width);
  let iw = i32(i % p.width);
  var sum = 0.0;
  for (var co = 0u; co < p.out_channels; co++) {
    for (var kh = 0u; kh < 3u; kh++) {
      for (var kw = 0u; kw < 3u; kw++) {
        let sh = ih + i32(p.pad) - i32(kh);
        let sw = iw + i32(p.pad) - i32(kw);
        if (sh < 0 || sw < 0 || sh % i32(p.stride) != 0 || sw % i32(p.stride) != 0) { continue; }
        let oh = u32(sh) / p.stride;
        let ow = u32(sw) / p.stride;
        if (oh >= p.out_height || ow >= p.out_width) { continue; }
        sum += w[((co * p.in_channels + ci) * 3u + kh) * 3u + kw] * dy[((n * p.out_channels + co) * p.out_height + oh) * p.out_width + ow];
      }
    }
  }
  dx[i] = sum;
}
`,
};

const GAP_SIZES = `struct Sizes { planes: u32, pixels: u32 } // x is [planes = N·C, pixels = H·W], y is [planes]`;

export const GLOBAL_AVERAGE_POOL = {
  forward: `// Global average pooling forward: y[plane] = the mean of x over the plane's H·W pixels.
${GAP_SIZES}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn global_average_pool_forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let plane = id.x;
  if (plane >= p.planes) { return; }
  var sum = 0.0;
  for (var q = 0u; q < p.pixels; q++) {
    sum += x[plane * p.pixels + q];
  }
  y[plane] = sum / f32(p.pixels);
}
`,
  stub: `// Global average pooling backward: dy = dL/dy arrives (one value per plane); write dx = dL/dx.
${LAUNCH}
${GAP_SIZES}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn global_average_pool_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.planes * p.pixels) { return; }
  dx[i] = 0.0; // your chain rule here
}
`,
  solution: `// Global average pooling backward: every pixel contributes 1/(H·W) of its plane's mean, so dx = dy[plane] / (H·W).
${LAUNCH}
${GAP_SIZES}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> p: Sizes;

@compute @workgroup_size(64)
fn global_average_pool_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.planes * p.pixels) { return; }
  dx[i] = dy[i / p.pixels] / f32(p.pixels);
}
`,
};
