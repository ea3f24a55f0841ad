// Precision 'mixed' (see precision_f32.wgsl for what a precision file defines): half-precision weights and products,
// summed in f32 — the usual mixed precision of training frameworks. Each product rounds once, at 11 bits; the sum does
// not accumulate rounding as an f16 sum does.
enable f16;

alias real = f16;
alias accum = f32;

fn madd(w: real, x: vec4<real>, acc: vec4<accum>) -> vec4<accum> {
  return acc + vec4<accum>(vec4<real>(w) * x);
}
