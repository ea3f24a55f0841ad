// The adapter's ceilings (src/kernels/peak.ts; bench/ceiling.ts): a kernel that does nothing but fused multiply-adds,
// and two that do nothing but stream memory. A kernel's achieved rate is only meaningful beside these: they are the
// roofline's two roofs, measured on the same adapter in the same run.

struct Params {
  n: u32,           // invocations (fma_peak) or vec4 elements (stream_read, stream_copy)
  iterations: u32,  // loop trips of fma_peak: each does FMA_TRIP · 8 vec4 FMAs
  m: f32,           // the chains' multiplier and addend: uniforms, so that no compiler can fold the loop away
  c: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4f>;

// 8 independent vec4 chains per invocation: each FMA depends on its chain's previous one only, so a core (or a
// SIMD lane of lavapipe's LLVM code, which runs 8 invocations per AVX register) always has 8 · 4 FMAs in flight —
// enough to hide the FMA latency (4-5 cycles) on CPUs and GPUs alike. With |m| < 1 the chains converge to c/(1 − m):
// no overflow, no denormals, whatever the iteration count.
//
// Each trip of the loop runs FMA_TRIP rounds through an inner loop of constant length, which the compiler unrolls.
// Why: lavapipe runs a shader loop for 8 invocations at once as one SIMD loop and, at the end of every trip, blends
// each value the loop carries with the mask of lanes still running (a vblendvps per register), whether or not the
// trip count is uniform. With one round per trip that is 32 blends beside 32 multiplies and 32 adds (lavapipe emits
// WGSL's fma as vmulps + vaddps): a third of the work, and what the ceiling then measured was the blend, not the
// multiply-add. 4 rounds per trip measured 1.75× the rate of 1 (8 rounds: spills, slower again).
const FMA_TRIP: u32 = 4u;

@compute @workgroup_size(WG)
fn fma_peak(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let s = f32(i & 1023u) * 1e-3;
  var a0 = vec4f(s, s + 0.1, s + 0.2, s + 0.3);
  var a1 = a0 + 1.0;
  var a2 = a0 + 2.0;
  var a3 = a0 + 3.0;
  var a4 = a0 + 4.0;
  var a5 = a0 + 5.0;
  var a6 = a0 + 6.0;
  var a7 = a0 + 7.0;
  let m = vec4f(p.m);
  let c = vec4f(p.c);
  for (var k = 0u; k < p.iterations; k++) {
    for (var r = 0u; r < FMA_TRIP; r++) {
      a0 = fma(a0, m, c);
      a1 = fma(a1, m, c);
      a2 = fma(a2, m, c);
      a3 = fma(a3, m, c);
      a4 = fma(a4, m, c);
      a5 = fma(a5, m, c);
      a6 = fma(a6, m, c);
      a7 = fma(a7, m, c);
    }
  }
  // The sum is written so that none of the chains is dead code.
  dst[i] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}

// Reads n vec4s, writes one vec4 per 8 read (each invocation sums 8 elements a grid-width apart, so that neighbouring
// invocations read neighbouring addresses): bytes moved ≈ reads, as a STREAM "sum" does.
@compute @workgroup_size(WG)
fn stream_read(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  let stride = p.n / 8u;
  if (i >= stride) { return; }
  var acc = vec4f(0.0);
  for (var k = 0u; k < 8u; k++) {
    acc += src[i + k * stride];
  }
  dst[i] = acc;
}

// dst = src, one vec4 per invocation: STREAM "copy", every byte read once and written once.
@compute @workgroup_size(WG)
fn stream_copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  dst[i] = src[i];
}
