// Weight fetch of conv2d_tiled.wgsl with subgroups (needs a subgroup size of at least 8, checked on the CPU):
// lanes 0..7 each load one of the 8 rows of a half-tile and subgroupBroadcast hands every lane all 8. Two loads per
// lane instead of 16; on lavapipe, where every per-lane load is a scalar loop over the SIMD lanes, this halves the
// kernel's time.
enable subgroups;

@compute @workgroup_size(WG)
fn conv2d_tiled(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
  @builtin(subgroup_invocation_id) sub_lane: u32,
) {
  conv2d_tile(wid, nwg, lane, sub_lane);
}

// W[m0 + r, ·] for r = 0..15, where row m's weight is at `at + m·w_stride_m`; rows past m_count repeat the last one
// (their results are never stored).
fn weights16(at: u32, m0: u32, sub_lane: u32) -> array<real, 16> {
  let r = sub_lane & 7u;
  let lo = w[at + min(m0 + r, p.m_count - 1u) * p.w_stride_m];
  let hi = w[at + min(m0 + 8u + r, p.m_count - 1u) * p.w_stride_m];
  return array<real, 16>(
    subgroupBroadcast(lo, 0u), subgroupBroadcast(lo, 1u), subgroupBroadcast(lo, 2u), subgroupBroadcast(lo, 3u),
    subgroupBroadcast(lo, 4u), subgroupBroadcast(lo, 5u), subgroupBroadcast(lo, 6u), subgroupBroadcast(lo, 7u),
    subgroupBroadcast(hi, 0u), subgroupBroadcast(hi, 1u), subgroupBroadcast(hi, 2u), subgroupBroadcast(hi, 3u),
    subgroupBroadcast(hi, 4u), subgroupBroadcast(hi, 5u), subgroupBroadcast(hi, 6u), subgroupBroadcast(hi, 7u),
  );
}
