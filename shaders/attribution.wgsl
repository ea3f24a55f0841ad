// The attribution methods' own kernels (src/kernels/attribution.ts; src/techniques/attribution/): Guided Grad-CAM's
// per-pixel scaling, LRP's stabilized ratio, occlusion's patched copies, the deletion/insertion curves' mixes. One
// invocation per output element, linked after common.wgsl. None runs on the tape.

struct PerPixel {
  n: u32,         // elements of out
  channels: u32,  // C
  plane: u32,     // H·W
}

struct Stabilized {
  n: u32,
  eps: f32,  // ε: how much a small denominator is pushed away from 0, in its own sign's direction
}

struct Occlusion {
  n: u32,          // elements of the chunk: K·C·H·W
  sample: u32,     // C·H·W
  plane: u32,      // H·W
  width: u32,      // W
  offset: u32,     // the image's first element in x
  first: u32,      // the chunk's first patch
  side: u32,       // the patch's side, pixels
  stride: u32,     // between patches
  columns: u32,    // patches per row
}

struct Reveal {
  n: u32,       // elements of the chunk: K·C·H·W
  sample: u32,  // C·H·W
  plane: u32,   // H·W
  offset: u32,  // the image's first element in `from` and `to`
}

@group(0) @binding(0) var<uniform> per_pixel: PerPixel;
@group(0) @binding(0) var<uniform> stabilized: Stabilized;
@group(0) @binding(0) var<uniform> occlusion: Occlusion;
@group(0) @binding(0) var<uniform> reveal: Reveal;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> map: array<f32>;
@group(0) @binding(2) var<storage, read> fill: array<f32>;
@group(0) @binding(1) var<storage, read> from_image: array<f32>;
@group(0) @binding(2) var<storage, read> to_image: array<f32>;
@group(0) @binding(4) var<storage, read> rank: array<u32>;
@group(0) @binding(5) var<storage, read> counts: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// out[n, c, h, w] = x[n, c, h, w] · map[n, h, w]: a per-pixel map applied to every channel (Guided Grad-CAM's product
// of the guided-backprop gradient with the upsampled Grad-CAM).
@compute @workgroup_size(WG)
fn scale_by_map(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= per_pixel.n) { return; }
  let pixel = i % per_pixel.plane;
  let image = i / (per_pixel.channels * per_pixel.plane);
  out[i] = x[i] * map[image * per_pixel.plane + pixel];
}

// out = x / (b + ε·sign(b)), 0 where that denominator is 0: the stabilized ratio R_j / z_j of LRP's ε-rule
// (src/techniques/attribution/rules.ts), with x = the relevance arriving at a layer's outputs and b = their z.
@compute @workgroup_size(WG)
fn stabilized_ratio(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= stabilized.n) { return; }
  let z = b[i];
  let d = z + select(-stabilized.eps, stabilized.eps, z >= 0.0);
  out[i] = select(x[i] / d, 0.0, d == 0.0);
}

// Occlusion's inputs (M. Zeiler, R. Fergus, ECCV 2014): copy k of the chunk is image x with square patch first + k
// (row-major over the grid of patches) replaced by the fill value of each channel.
@compute @workgroup_size(WG)
fn occlude(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= occlusion.n) { return; }
  let k = i / occlusion.sample;
  let j = i - k * occlusion.sample;
  let c = j / occlusion.plane;
  let pixel = j - c * occlusion.plane;
  let row = pixel / occlusion.width;
  let col = pixel - row * occlusion.width;
  let q = occlusion.first + k;  // the patch
  let top = (q / occlusion.columns) * occlusion.stride;
  let left = (q % occlusion.columns) * occlusion.stride;
  let inside = row >= top && row < top + occlusion.side && col >= left && col < left + occlusion.side;
  out[i] = select(x[occlusion.offset + j], fill[c], inside);
}

// The deletion and insertion curves' inputs (Petsiuk et al., RISE, BMVC 2018): copy k shows `to_image` at the
// counts[k] pixels ranked first by the attribution (rank[p] < counts[k]) and `from_image` everywhere else. Deletion
// goes from the image to a blank one, insertion from a blurred image to the image.
@compute @workgroup_size(WG)
fn reveal_pixels(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= reveal.n) { return; }
  let k = i / reveal.sample;
  let j = i - k * reveal.sample;
  let pixel = j % reveal.plane;
  let shown = rank[pixel] < counts[k];
  out[i] = select(from_image[reveal.offset + j], to_image[reveal.offset + j], shown);
}
