// The element-wise activation ops: y = f(z) and dz = dy · f'(z) for the function of shaders/activation.wgsl that the
// override constant ACTIVATION names (linked as ['common', 'activation', 'activation_ops']; src/graph/activation.ts).

struct ActivationParams {
  n: u32,  // elements (or vec4s, for the …4 entry points)
}

@group(0) @binding(0) var<uniform> p: ActivationParams;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
// The same buffers seen as vec4s, for tensors whose size is a multiple of 4: one vector load instead of four scalar
// ones, which on a CPU adapter is most of an element-wise kernel's time (a storage access is a loop over lanes there).
@group(0) @binding(1) var<storage, read> z4: array<vec4f>;
@group(0) @binding(2) var<storage, read> y4: array<vec4f>;
@group(0) @binding(3) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out4: array<vec4f>;

// out = f(z)
@compute @workgroup_size(WG)
fn activation_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = activate(z[i]);
}

// out = dy · f'(z): the chain rule through an element-wise function is a product, element by element. Reads z or y,
// as GRAD_FROM_Z says (the other binding is a placeholder that is never read).
@compute @workgroup_size(WG)
fn activation_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  var zi = 0.0;
  var yi = 0.0;
  if (GRAD_FROM_Z) { zi = z[i]; } else { yi = y[i]; }
  out[i] = dy[i] * activation_grad(zi, yi);
}

// activation_backward on vec4s; p.n counts vec4s.
@compute @workgroup_size(WG)
fn activation_backward4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  var zv = vec4f(0.0);
  var yv = vec4f(0.0);
  if (GRAD_FROM_Z) { zv = z4[i]; } else { yv = y4[i]; }
  let g = vec4f(activation_grad(zv.x, yv.x), activation_grad(zv.y, yv.y), activation_grad(zv.z, yv.z), activation_grad(zv.w, yv.w));
  out4[i] = dy4[i] * g;
}

// Modified backward rules of the visualization methods, for a rectifier f (src/techniques/attribution/rules.ts):
//   guided backprop (Springenberg et al. 2015):  out = max(dy · f'(z), 0)  — the gradient's gate, and only what is positive
//   deconvnet (Zeiler & Fergus 2014):            out = max(dy, 0)         — the forward's gate ignored
// Not gradients: they define what these methods display. For ReLU, guided is dy·[y > 0]·[dy > 0].
const RULE_GUIDED: u32 = 0u;
const RULE_DECONVNET: u32 = 1u;
override RULE: u32 = RULE_GUIDED;

@compute @workgroup_size(WG)
fn activation_backward_rule(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  if (RULE == RULE_DECONVNET) {
    out[i] = max(dy[i], 0.0);
    return;
  }
  var zi = 0.0;
  var yi = 0.0;
  if (GRAD_FROM_Z) { zi = z[i]; } else { yi = y[i]; }
  out[i] = max(dy[i] * activation_grad(zi, yi), 0.0);
}
