/**
 * Class activation maps from a layer's activations A and gradients G (shaders/cam.wgsl; the equations are there), the
 * bilinear resize of a coarse map to the input's size, and the float64 references of both.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, sameShape } from './common.js';
import { host, nchw, type HostTensor } from './host.js';

/** The CAMs of src/techniques/attribution/cam.ts, as the kernels compute them. */
export type CamKind = 'gradcam' | 'gradcam++' | 'layercam' | 'hirescam';

const shader = ['common', 'cam'];
const constants = { WG: ELEMENTWISE_WG };
const layerParams = { n: 'u32', channels: 'u32', plane: 'u32' } as const;
const kernels = {
  weights: defineKernel({
    shader,
    entry: 'cam_channel_weights',
    constants,
    paramsVar: 'layer',
    params: layerParams,
    bindings: { activation: 'read', grad: 'read', out: 'read_write' },
  }),
  combine: defineKernel({
    shader,
    entry: 'cam_combine',
    constants,
    paramsVar: 'layer',
    params: layerParams,
    bindings: { activation: 'read', grad: 'read?', weights: 'read?', out: 'read_write' },
  }),
  resize: defineKernel({
    shader,
    entry: 'bilinear_resize',
    constants,
    paramsVar: 'resize',
    params: { n: 'u32', in_h: 'u32', in_w: 'u32', out_h: 'u32', out_w: 'u32' },
    bindings: { coarse: 'read', out: 'read_write' },
  }),
};

/** The weights and combination codes of the shader, by name (its `const CAM_…` and `COMBINE_…`). */
const WEIGHTS: Record<CamKind, number> = { gradcam: 0, 'gradcam++': 1, layercam: 0, hirescam: 0 };
const COMBINE: Record<CamKind, number> = { gradcam: 0, 'gradcam++': 0, layercam: 1, hirescam: 2 };

function checkLayer(a: { shape: readonly number[] }, g: { shape: readonly number[] }, what: string): [number, number, number, number] {
  const dims = nchw(a, what);
  sameShape(a, g, `${what} (activation vs gradient)`);
  return dims;
}

/** The coarse map [N, h, w] of `kind` from A and G [N, K, h, w]. */
export function camMap(kind: CamKind, activation: Tensor, grad: Tensor, name = 'cam'): Tensor {
  const [n, k, h, w] = checkLayer(activation, grad, `${kind}`);
  const gpu = activation.gpu;
  const map = Tensor.empty(gpu, [n, h, w], name);
  const layer = { channels: k, plane: h * w };
  if (COMBINE[kind] === 0) {
    const weights = Tensor.empty(gpu, [n, k], `${name}.weights`);
    kernels.weights.dispatch(gpu, {
      bind: { activation, grad, out: weights },
      params: { n: n * k, ...layer },
      grid: { threads: n * k },
      constants: { WEIGHTS: WEIGHTS[kind] },
    });
    kernels.combine.dispatch(gpu, { bind: { activation, weights, out: map }, params: { n: n * h * w, ...layer }, grid: { threads: n * h * w }, constants: { COMBINE: 0 } });
    weights.dispose();
  } else {
    kernels.combine.dispatch(gpu, {
      bind: { activation, grad, out: map },
      params: { n: n * h * w, ...layer },
      grid: { threads: n * h * w },
      constants: { COMBINE: COMBINE[kind] },
    });
  }
  return map;
}

/** A map [N, h, w] resized bilinearly (half-pixel centres) to [N, H, W]. */
export function bilinearResize(coarse: Tensor, height: number, width: number, name = 'resized'): Tensor {
  check(coarse.shape.length === 3, () => `bilinear resize: expected maps [N,h,w], got ${fmtShape(coarse.shape)}`);
  check(Number.isInteger(height) && height > 0 && Number.isInteger(width) && width > 0, () => `bilinear resize: size ${height}×${width}`);
  const [n, h, w] = coarse.shape as [number, number, number];
  const out = Tensor.empty(coarse.gpu, [n, height, width], name);
  kernels.resize.dispatch(coarse.gpu, {
    bind: { coarse, out },
    params: { n: out.size, in_h: h, in_w: w, out_h: height, out_w: width },
    grid: { threads: out.size },
  });
  return out;
}

// ---- float64 references: the equations of shaders/cam.wgsl as loops --------------------------------------------

export function camMapRef(kind: CamKind, a: HostTensor, g: HostTensor): HostTensor {
  const [n, k, h, w] = checkLayer(a, g, `${kind} reference`);
  const plane = h * w;
  const map = host([n, h, w]);
  for (let image = 0; image < n; image++) {
    const weights = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      const base = (image * k + c) * plane;
      if (kind === 'gradcam') {
        let s = 0;
        for (let p = 0; p < plane; p++) s += g.data[base + p]!;
        weights[c] = s / plane;
      } else if (kind === 'gradcam++') {
        let sumA = 0;
        for (let p = 0; p < plane; p++) sumA += a.data[base + p]!;
        let wc = 0;
        for (let p = 0; p < plane; p++) {
          const gv = g.data[base + p]!;
          const denominator = 2 * gv * gv + sumA * gv * gv * gv;
          const alpha = denominator !== 0 ? (gv * gv) / denominator : 0;
          wc += alpha * Math.max(gv, 0);
        }
        weights[c] = wc;
      }
    }
    for (let p = 0; p < plane; p++) {
      let m = 0;
      for (let c = 0; c < k; c++) {
        const at = (image * k + c) * plane + p;
        const av = a.data[at]!;
        const gv = g.data[at]!;
        m += kind === 'layercam' ? Math.max(gv, 0) * av : kind === 'hirescam' ? gv * av : weights[c]! * av;
      }
      map.data[image * plane + p] = Math.max(m, 0);
    }
  }
  return map;
}

export function bilinearResizeRef(coarse: HostTensor, height: number, width: number): HostTensor {
  const [n, h, w] = coarse.shape as [number, number, number];
  const out = host([n, height, width]);
  for (let image = 0; image < n; image++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const sy = Math.min(Math.max(((y + 0.5) * h) / height - 0.5, 0), h - 1);
        const sx = Math.min(Math.max(((x + 0.5) * w) / width - 0.5, 0), w - 1);
        const [y0, x0] = [Math.floor(sy), Math.floor(sx)];
        const [y1, x1] = [Math.min(y0 + 1, h - 1), Math.min(x0 + 1, w - 1)];
        const [fy, fx] = [sy - y0, sx - x0];
        const at = (yy: number, xx: number): number => coarse.data[(image * h + yy) * w + xx]!;
        const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
        const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        out.data[(image * height + y) * width + x] = top * (1 - fy) + bottom * fy;
      }
  return out;
}
