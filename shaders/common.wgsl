// What the element-wise kernels share, linked in front of their file (a kernel lists ['common', 'its file'] as its
// shader; see src/gpu/kernel.ts).

// Invocations per workgroup of the one-invocation-per-element kernels; every adapter allows 256.
override WG: u32 = 256;

// The element an invocation handles: its global id, with the grid folded into y when x alone would pass the device's
// limit of workgroups per dimension (Gpu.grid in src/gpu/device.ts does the folding).
fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}
