// Weight fetch of conv2d_tiled.wgsl without subgroups: every invocation loads the 16 rows itself.

@compute @workgroup_size(WG)
fn conv2d_tiled(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  conv2d_tile(wid, nwg, lane, 0u);
}

// W[m0 + r, ·] for r = 0..15, where row m's weight is at `at + m·w_stride_m`; rows past m_count repeat the last one
// (their results are never stored).
fn weights16(at: u32, m0: u32, sub_lane: u32) -> array<real, 16> {
  var ws: array<real, 16>;
  let last = p.m_count - 1u;
  ws[0] = w[at + min(m0 + 0u, last) * p.w_stride_m];
  ws[1] = w[at + min(m0 + 1u, last) * p.w_stride_m];
  ws[2] = w[at + min(m0 + 2u, last) * p.w_stride_m];
  ws[3] = w[at + min(m0 + 3u, last) * p.w_stride_m];
  ws[4] = w[at + min(m0 + 4u, last) * p.w_stride_m];
  ws[5] = w[at + min(m0 + 5u, last) * p.w_stride_m];
  ws[6] = w[at + min(m0 + 6u, last) * p.w_stride_m];
  ws[7] = w[at + min(m0 + 7u, last) * p.w_stride_m];
  ws[8] = w[at + min(m0 + 8u, last) * p.w_stride_m];
  ws[9] = w[at + min(m0 + 9u, last) * p.w_stride_m];
  ws[10] = w[at + min(m0 + 10u, last) * p.w_stride_m];
  ws[11] = w[at + min(m0 + 11u, last) * p.w_stride_m];
  ws[12] = w[at + min(m0 + 12u, last) * p.w_stride_m];
  ws[13] = w[at + min(m0 + 13u, last) * p.w_stride_m];
  ws[14] = w[at + min(m0 + 14u, last) * p.w_stride_m];
  ws[15] = w[at + min(m0 + 15u, last) * p.w_stride_m];
  return ws;
}
