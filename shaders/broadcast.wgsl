// Broadcasting binary ops y = a ∘ b (Add, Sub, Mul, Div, Pow), their gradients, and reductions over axes
// (src/kernels/broadcast.ts). Linked as ['common', 'strides', 'broadcast']: strides.wgsl supplies the index spaces and
// `walk`, in which tensor 0 is a (or x), tensor 1 is b, tensor 2 is dy.
//
// The forward walks the result's shape; each position reads a and b at their broadcast offsets (stride 0 along the
// axes an operand is repeated on).
//
// The backward. y = f(a, b) element by element, so for an operand of the result's own shape
//   da_i = dy_i · ∂f/∂a (a_i, b_i)                                   (binary_grad: one invocation per element)
// and for an operand that was broadcast — a_k was read by every position i of the result that maps to k —
//   da_k = Σ_{i ↦ k} dy_i · ∂f/∂a (a_k, b_i)                         (reduce_to_shape: one workgroup per element of a)
// because a_k entered each of those y_i, and the chain rule adds the contributions of every use. Summing dy over the
// broadcast axes is "reduce to shape", the adjoint of broadcasting; with the term dy alone it is also ReduceSum's
// forward (and ReduceMean's, scaled by 1/count).
//
// The local derivatives (local_derivative below):
//   Add  ∂/∂a = 1        ∂/∂b = 1
//   Sub  ∂/∂a = 1        ∂/∂b = −1
//   Mul  ∂/∂a = b        ∂/∂b = a
//   Div  ∂/∂a = 1/b      ∂/∂b = −a/b²
//   Pow  ∂/∂a = b·a^(b−1) (0 where b = 0, as PyTorch)     ∂/∂b = a^b · ln a (0 where a = 0 and b ≥ 0, as PyTorch)

const BIN_NONE: u32 = 0u;  // y = a (the term of a plain sum: reduce_to_shape of dy)
const BIN_ADD: u32 = 1u;
const BIN_SUB: u32 = 2u;
const BIN_MUL: u32 = 3u;
const BIN_DIV: u32 = 4u;
const BIN_POW: u32 = 5u;

override OP: u32 = BIN_NONE;
// The operand a gradient kernel differentiates with respect to: 0 for a, 1 for b.
override WRT: u32 = 0u;

struct Params {
  n: u32,           // positions of the outer space (vec4s of it for the …4 entry points), or of x (reduce_max_backward)
  inner_size: u32,  // positions of the inner space: the terms of each sum
  scale: f32,       // multiplies each sum (1/count for a mean) or each broadcast value
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
// The same buffers as vec4s: one vector load instead of four scalar ones (on a CPU adapter most of an element-wise
// kernel's time). A …4 entry point handles 4 consecutive positions of the innermost dim, which the host makes sure is a
// multiple of 4 long and walked with stride 1 by each vec4 operand (stride 0 operands are read once and splatted).
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out4: array<vec4f>;
// ReduceMax: its input x, output y, and how many elements of each window reached the max.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(5) var<storage, read> count: array<f32>;
@group(0) @binding(5) var<storage, read_write> count_out: array<f32>;

var<workgroup> scratch: array<f32, WG>;

// a^b as ONNX (C's pow) defines it: 1 for b = 0 (even 0^0), |a|^b with the sign of a^b for a negative a and an integral b,
// and for a negative a and a fractional b the log2 of a negative number (NaN on IEEE hardware; undefined in ONNX).
// The common exponents are exact products: 2 (x.pow(2) of a decomposed LayerNorm), 1, and 0.5 is a square root.
fn power(a: f32, b: f32) -> f32 {
  if (b == 2.0) { return a * a; }
  if (b == 1.0) { return a; }
  if (b == 0.0) { return 1.0; }
  if (b == 0.5) { return sqrt(a); }
  if (a >= 0.0) { return exp2(b * log2(a)); }        // a = 0: exp2(±∞) = ∞ or 0 as b < 0 or b > 0
  if (floor(b) != b) { return exp2(b * log2(a)); }   // a < 0, b fractional: not a real number
  let magnitude = exp2(b * log2(-a));
  return select(magnitude, -magnitude, fract(0.5 * b) != 0.0);  // odd b keeps a's sign
}

fn binary(av: f32, bv: f32) -> f32 {
  switch OP {
    case BIN_ADD: { return av + bv; }
    case BIN_SUB: { return av - bv; }
    case BIN_MUL: { return av * bv; }
    case BIN_DIV: { return av / bv; }
    case BIN_POW: { return power(av, bv); }
    default: { return av; }
  }
}

fn binary4(av: vec4f, bv: vec4f) -> vec4f {
  switch OP {
    case BIN_ADD: { return av + bv; }
    case BIN_SUB: { return av - bv; }
    case BIN_MUL: { return av * bv; }
    case BIN_DIV: { return av / bv; }
    case BIN_POW: { return vec4f(power(av.x, bv.x), power(av.y, bv.y), power(av.z, bv.z), power(av.w, bv.w)); }
    default: { return av; }
  }
}

// ∂(a ∘ b)/∂a or ∂(a ∘ b)/∂b (as WRT says) at (a, b): the table at the top of the file.
fn local_derivative(av: f32, bv: f32) -> f32 {
  let wrt_a = WRT == 0u;
  switch OP {
    case BIN_SUB: { return select(-1.0, 1.0, wrt_a); }
    case BIN_MUL: { return select(av, bv, wrt_a); }
    case BIN_DIV: {
      if (wrt_a) { return 1.0 / bv; }
      return -av / (bv * bv);
    }
    case BIN_POW: {
      if (wrt_a) { return select(bv * power(av, bv - 1.0), 0.0, bv == 0.0); }
      return select(power(av, bv) * log(av), 0.0, av == 0.0 && bv >= 0.0);
    }
    default: { return 1.0; }  // Add, and the plain sum
  }
}

fn local_derivative4(av: vec4f, bv: vec4f) -> vec4f {
  return vec4f(local_derivative(av.x, bv.x), local_derivative(av.y, bv.y), local_derivative(av.z, bv.z), local_derivative(av.w, bv.w));
}

// ---- forward: out[i] = a[offset_a(i)] ∘ b[offset_b(i)] over the result's shape ----------------------------------------

@compute @workgroup_size(WG)
fn binary_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let off = outer_offsets(i);
  out[i] = binary(a[off.x], b[off.y]);
}

// Both operands walk the innermost dim with stride 1 (equal shapes; a bias [C] onto [N,H,W,C]).
@compute @workgroup_size(WG)
fn binary_forward4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let off = outer_offsets(4u * i);
  out4[i] = binary4(a4[off.x / 4u], b4[off.y / 4u]);
}

// a is constant along the innermost dim (an SE block's scale [N,C,1,1] times the features [N,C,H,W]).
@compute @workgroup_size(WG)
fn binary_forward4_splat_a(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let off = outer_offsets(4u * i);
  out4[i] = binary4(vec4f(a[off.x]), b4[off.y / 4u]);
}

// b is constant along the innermost dim (the features times the scale; a scalar constant).
@compute @workgroup_size(WG)
fn binary_forward4_splat_b(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let off = outer_offsets(4u * i);
  out4[i] = binary4(a4[off.x / 4u], vec4f(b[off.y]));
}

// ---- backward, operand of the result's shape: out[i] = dy[i] · ∂f/∂(a or b) ---------------------------------------------
// The operand differentiated has the result's shape, so its element i is position i (and so is dy's); the other operand
// may be broadcast. An operand the derivative does not read may be bound to a placeholder.

@compute @workgroup_size(WG)
fn binary_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let off = outer_offsets(i);
  out[i] = dy[i] * local_derivative(a[off.x], b[off.y]);
}

@compute @workgroup_size(WG)
fn binary_grad4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let off = outer_offsets(4u * i);
  out4[i] = dy4[i] * local_derivative4(a4[off.x / 4u], b4[off.y / 4u]);
}

@compute @workgroup_size(WG)
fn binary_grad4_splat_a(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let off = outer_offsets(4u * i);
  out4[i] = dy4[i] * local_derivative4(vec4f(a[off.x]), b4[off.y / 4u]);
}

@compute @workgroup_size(WG)
fn binary_grad4_splat_b(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let off = outer_offsets(4u * i);
  out4[i] = dy4[i] * local_derivative4(a4[off.x / 4u], vec4f(b[off.y]));
}

// ---- reduce to shape: out[o] = scale · Σ_j dy[·] · ∂f/∂(a or b) over the inner space -----------------------------------
// The outer space is the shape of the result (out), the inner space the axes summed over; position (o, j) reads each
// tensor at outer_offsets(o) + inner_offsets(j). One workgroup per output: its invocations stride over the terms, each
// adding its share serially, then the workgroup adds its partial sums as a tree (error ~log2 of the count, not ~count;
// see shaders/reduce.wgsl). With OP = BIN_NONE the term is dy itself: ReduceSum, and ReduceMean with scale = 1/count.

fn group_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// The sum (take_max false) or max of `value` over the workgroup, returned to every invocation.
fn workgroup_reduce(t: u32, value: f32, take_max: bool) -> f32 {
  scratch[t] = value;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (t < width) {
      let other = scratch[t + width];
      scratch[t] = select(scratch[t] + other, max(scratch[t], other), take_max);
    }
    workgroupBarrier();
  }
  let result = scratch[0];
  workgroupBarrier(); // everyone has read scratch[0] before it is written again
  return result;
}

@compute @workgroup_size(WG)
fn reduce_to_shape(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
                   @builtin(num_workgroups) nwg: vec3u) {
  let o = group_index(wid, nwg);
  if (o >= p.n) { return; }
  let base = outer_offsets(o);
  var acc = 0.0;
  for (var j = t; j < p.inner_size; j += WG) {
    let off = base + inner_offsets(j);
    if (OP == BIN_NONE) {
      acc += dy[off.z];
    } else {
      acc += dy[off.z] * local_derivative(a[off.x], b[off.y]);
    }
  }
  let total = workgroup_reduce(t, acc, false);
  if (t == 0u) { out[o] = p.scale * total; }
}

// reduce_to_shape over a 1-D inner space that dy walks contiguously and whose length is a multiple of 4 (a sum over
// H·W, an SE scale's gradient): 4 terms per load. The operand being reduced to is constant along the inner space
// (that is what being broadcast means), so it is read once per output and splatted; the other operand, when the
// derivative reads it, is walked with stride 1 (…_vec_a, …_vec_b name which one that is). p.inner_size counts vec4s.
fn reduce4_total(t: u32, acc: vec4f) -> f32 {
  return workgroup_reduce(t, (acc.x + acc.y) + (acc.z + acc.w), false);
}

@compute @workgroup_size(WG)
fn reduce_to_shape4(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
                    @builtin(num_workgroups) nwg: vec3u) {
  let o = group_index(wid, nwg);
  if (o >= p.n) { return; }
  let first = outer_offsets(o).z / 4u;
  var acc = vec4f(0.0);
  for (var j = t; j < p.inner_size; j += WG) { acc += dy4[first + j]; }
  let total = reduce4_total(t, acc);
  // Used where the derivative reads no operand: the plain sum, Add (1) and Sub (±1), constants that multiply the total.
  if (t == 0u) { out[o] = p.scale * local_derivative(0.0, 0.0) * total; }
}

// The gradient of a (WRT = 0) with b walked contiguously: Σ dy · ∂f/∂a(a, b).
@compute @workgroup_size(WG)
fn reduce_to_shape4_vec_b(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
                          @builtin(num_workgroups) nwg: vec3u) {
  let o = group_index(wid, nwg);
  if (o >= p.n) { return; }
  let base = outer_offsets(o);
  let av = vec4f(a[base.x]);
  var acc = vec4f(0.0);
  for (var j = t; j < p.inner_size; j += WG) { acc += dy4[base.z / 4u + j] * local_derivative4(av, b4[base.y / 4u + j]); }
  let total = reduce4_total(t, acc);
  if (t == 0u) { out[o] = p.scale * total; }
}

// The gradient of b (WRT = 1) with a walked contiguously: Σ dy · ∂f/∂b(a, b).
@compute @workgroup_size(WG)
fn reduce_to_shape4_vec_a(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
                          @builtin(num_workgroups) nwg: vec3u) {
  let o = group_index(wid, nwg);
  if (o >= p.n) { return; }
  let base = outer_offsets(o);
  let bv = vec4f(b[base.y]);
  var acc = vec4f(0.0);
  for (var j = t; j < p.inner_size; j += WG) { acc += dy4[base.z / 4u + j] * local_derivative4(a4[base.x / 4u + j], bv); }
  let total = reduce4_total(t, acc);
  if (t == 0u) { out[o] = p.scale * total; }
}

// out[i] = scale · a[offset_a(i)]: a broadcast to the outer space's shape. The backward of ReduceSum (scale 1) and of
// ReduceMean (scale 1/count): ∂(Σ_j x_j)/∂x_j = 1, so every term of a sum receives the sum's gradient.
@compute @workgroup_size(WG)
fn broadcast_to(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.scale * a[outer_offsets(i).x];
}

// ---- ReduceMax --------------------------------------------------------------------------------------------------------
// out[o] = max_j x[·] over the inner space, and count_out[o] = how many terms equal it (1 unless there are ties), which
// the backward reads.

@compute @workgroup_size(WG)
fn reduce_max(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3u,
              @builtin(num_workgroups) nwg: vec3u) {
  let o = group_index(wid, nwg);
  if (o >= p.n) { return; }
  let base = outer_offsets(o).x;
  var m = x[base]; // term 0 exists (inner_size ≥ 1) and is a valid start for any invocation's max
  for (var j = t; j < p.inner_size; j += WG) { m = max(m, x[base + inner_offsets(j).x]); }
  let best = workgroup_reduce(t, m, true);
  var ties = 0.0;
  for (var j = t; j < p.inner_size; j += WG) { ties += select(0.0, 1.0, x[base + inner_offsets(j).x] == best); }
  let total = workgroup_reduce(t, ties, false);
  if (t == 0u) {
    out[o] = best;
    count_out[o] = total;
  }
}

// Backward of y_o = max_j x_j: ∂y_o/∂x_j is 1 for the maximum and 0 for the others; where several terms tie for the
// maximum the gradient is shared evenly among them (PyTorch's amax does the same), so
//   dx_j = dy_o / count_o if x_j = y_o, else 0.
// One invocation per element of x (outer space = x's shape; tensor 0 = y, dy and count, which share the reduced shape).
@compute @workgroup_size(WG)
fn reduce_max_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let o = outer_offsets(i).x;
  out[i] = select(0.0, dy[o] / count[o], x[i] == y[o]);
}
