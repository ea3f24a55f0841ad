// Class activation maps (src/kernels/cam.ts): from a layer's activations A [N, K, h, w] and the class score's gradient
// G = ∂s_y/∂A of the same shape, a map [N, h, w] of where the layer's evidence for class y lies; then that map
// resized to the input's [N, H, W]. Linked after common.wgsl.

// Per channel weights of the weighted CAMs, one invocation per (image, channel):
//   Grad-CAM (Selvaraju et al. 2017):      w_k = (1/hw) Σ_ij G_k^ij                          the mean gradient
//   Grad-CAM++ (Chattopadhay et al. 2018): w_k = Σ_ij α_k^ij · ReLU(G_k^ij),
//                                          α_k^ij = G² / (2G² + Σ_ab A_k^ab · G³)  (0 where the denominator is 0)
// (Grad-CAM++'s α is the closed form for an exponential of the score; with the raw score, as pytorch-grad-cam and
// the paper's code compute it, the higher derivatives are taken as powers of the first.)
const CAM_GRADCAM: u32 = 0u;
const CAM_GRADCAM_PLUS_PLUS: u32 = 1u;
override WEIGHTS: u32 = CAM_GRADCAM;

// How the map combines the channels, one invocation per (image, pixel):
//   WEIGHTED:  M^ij = ReLU(Σ_k w_k A_k^ij)           Grad-CAM, Grad-CAM++
//   LAYERCAM:  M^ij = ReLU(Σ_k ReLU(G_k^ij) A_k^ij)   LayerCAM (Jiang et al. 2021): a weight per pixel
//   HIRESCAM:  M^ij = ReLU(Σ_k G_k^ij A_k^ij)        HiResCAM (Draelos & Carin 2020): the gradient itself, per pixel
const COMBINE_WEIGHTED: u32 = 0u;
const COMBINE_LAYERCAM: u32 = 1u;
const COMBINE_HIRESCAM: u32 = 2u;
override COMBINE: u32 = COMBINE_WEIGHTED;

struct Layer {
  n: u32,         // invocations: N·K for the weights, N·h·w for the combination
  channels: u32,  // K
  plane: u32,     // h·w
}

struct Resize {
  n: u32,         // N·H·W
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
}

@group(0) @binding(0) var<uniform> layer: Layer;
@group(0) @binding(0) var<uniform> resize: Resize;
@group(0) @binding(1) var<storage, read> activation: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(1) var<storage, read> coarse: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn cam_channel_weights(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);  // i = n·K + k
  if (i >= layer.n) { return; }
  let base = i * layer.plane;
  if (WEIGHTS == CAM_GRADCAM) {
    var s = 0.0;
    for (var p = 0u; p < layer.plane; p++) { s += grad[base + p]; }
    out[i] = s / f32(layer.plane);
    return;
  }
  var sum_a = 0.0;
  for (var p = 0u; p < layer.plane; p++) { sum_a += activation[base + p]; }
  var w = 0.0;
  for (var p = 0u; p < layer.plane; p++) {
    let g = grad[base + p];
    let g2 = g * g;
    let denominator = 2.0 * g2 + sum_a * g2 * g;
    let alpha = select(0.0, g2 / denominator, denominator != 0.0);
    w += alpha * max(g, 0.0);
  }
  out[i] = w;
}

@compute @workgroup_size(WG)
fn cam_combine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);  // i = n·hw + p
  if (i >= layer.n) { return; }
  let image = i / layer.plane;
  let p = i - image * layer.plane;
  var m = 0.0;
  for (var k = 0u; k < layer.channels; k++) {
    let at = (image * layer.channels + k) * layer.plane + p;
    let a = activation[at];
    if (COMBINE == COMBINE_WEIGHTED) {
      m += weights[image * layer.channels + k] * a;
    } else if (COMBINE == COMBINE_LAYERCAM) {
      m += max(grad[at], 0.0) * a;
    } else {
      m += grad[at] * a;
    }
  }
  out[i] = max(m, 0.0);
}

// Bilinear resize [N, h, w] → [N, H, W] with half-pixel centres (PyTorch's interpolate(mode='bilinear',
// align_corners=False), OpenCV's resize): output pixel (y, x) samples the input at
// ((y + ½)·h/H − ½, (x + ½)·w/W − ½), clamped to the edge, mixing its four neighbours by distance.
@compute @workgroup_size(WG)
fn bilinear_resize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= resize.n) { return; }
  let x = i % resize.out_w;
  let y = (i / resize.out_w) % resize.out_h;
  let image = i / (resize.out_w * resize.out_h);
  let sy = clamp((f32(y) + 0.5) * f32(resize.in_h) / f32(resize.out_h) - 0.5, 0.0, f32(resize.in_h - 1u));
  let sx = clamp((f32(x) + 0.5) * f32(resize.in_w) / f32(resize.out_w) - 0.5, 0.0, f32(resize.in_w - 1u));
  let y0 = u32(floor(sy));
  let x0 = u32(floor(sx));
  let y1 = min(y0 + 1u, resize.in_h - 1u);
  let x1 = min(x0 + 1u, resize.in_w - 1u);
  let fy = sy - f32(y0);
  let fx = sx - f32(x0);
  let base = image * resize.in_h * resize.in_w;
  let top = mix(coarse[base + y0 * resize.in_w + x0], coarse[base + y0 * resize.in_w + x1], fx);
  let bottom = mix(coarse[base + y1 * resize.in_w + x0], coarse[base + y1 * resize.in_w + x1], fx);
  out[i] = mix(top, bottom, fy);
}
