// Precision 'f16' (see precision_f32.wgsl for what a precision file defines): half-precision weights, products and
// sums, where the adapter offers `shader-f16`. The linker (src/gpu/shaders.ts) moves the `enable` in front of the
// whole module. Sums of thousands of products round at every step at 11 significant bits: the error against float64
// is 10-30× that of 'mixed' (docs/performance.md), the price of the GPUs' double-rate half arithmetic.
enable f16;

alias real = f16;
alias accum = f16;

fn madd(w: real, x: vec4<real>, acc: vec4<accum>) -> vec4<accum> {
  return fma(vec4<real>(w), x, acc);
}
