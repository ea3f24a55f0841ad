// The arithmetic of the kernels that offer a choice of precision (conv2d_tiled.wgsl), linked in front of such a
// kernel: `real` is the type its weights are stored and multiplied in, `accum` the type it sums in, and madd(w, x, acc)
// = acc + w·x, fused. This file is the default, f32 throughout; precision_f16.wgsl and precision_mixed.wgsl are the
// others (src/kernels/conv2d-tiled.ts, ConvPrecision).
alias real = f32;
alias accum = f32;

fn madd(w: real, x: vec4<real>, acc: vec4<accum>) -> vec4<accum> {
  return fma(vec4<real>(w), x, acc);
}
