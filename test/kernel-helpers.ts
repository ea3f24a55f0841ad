/**
 * Test plumbing for the kernel layer: every kernel module imported (so that each `defineKernel` has run), and the
 * shaders loaded from disk, without a GPU.
 */
import '../src/kernels/activation.js';
import '../src/kernels/attribution.js';
import '../src/kernels/batchnorm.js';
import '../src/kernels/broadcast.js';
import '../src/kernels/cam.js';
import '../src/kernels/concat.js';
import '../src/kernels/conv2d-depthwise.js';
import '../src/kernels/conv2d-tiled.js';
import '../src/kernels/conv2d.js';
import '../src/kernels/elementwise.js';
import '../src/kernels/gemm.js';
import '../src/kernels/image.js';
import '../src/kernels/layer-norm.js';
import '../src/kernels/layout.js';
import '../src/kernels/lrn.js';
import '../src/kernels/path.js';
import '../src/kernels/peak.js';
import '../src/kernels/pool.js';
import '../src/kernels/reduce.js';
import '../src/kernels/softmax.js';
import '../src/kernels/technique.js';
import { loadShadersFromDisk, shaderSource } from '../src/gpu/shaders.js';

await loadShadersFromDisk();

/** Whether shaders/activation.wgsl defines `const ACT_<code>`. */
export function activationCodeExists(code: string): boolean {
  return new RegExp(`const\\s+ACT_${code}\\s*:`).test(shaderSource('activation'));
}
