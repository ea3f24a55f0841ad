// f32 → f16, two values per invocation: the weights of a convolution run at precision 'f16' (conv2d-tiled.ts). Pairs,
// so that a buffer of n halves is ⌈n/2⌉ words and no two invocations write into one 32-bit word.
// Linked after common.wgsl (WG, `index`).
enable f16;

struct Params {
  n: u32,   // f32 values to convert
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<f16>>;

@compute @workgroup_size(WG)
fn convert_f16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (2u * i >= p.n) { return; }
  let hi = select(0.0, src[2u * i + 1u], 2u * i + 1u < p.n);
  out[i] = vec2<f16>(f16(src[2u * i]), f16(hi));
}
