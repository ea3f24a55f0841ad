/**
 * `node dist/scripts/torchvision/near-ties.js DIR`: where does pixelprop's float32 input gradient part from float64,
 * and why. DIR is what `scripts/torchvision/export.py ARCH OPSET DIR/model.onnx --reference DIR` writes (the input,
 * its classes, PyTorch's float32 and float64 gradients).
 *
 * For every ReLU of the network it compares the pre-activation z the GPU computes (float32) with the float64 CPU path's
 * (pixelprop's own references, node by node): the relative error of z, and the units whose sign differs — each with
 * |z| in float64 and the layer's max|Δz|, so a sign flip of a unit within float32 noise of zero (a near-tie) is told
 * apart from a wrong value. Then it recomputes the float64 gradient with every ReLU's backward taking the GPU's mask
 * (z > 0 as the GPU computed it) in place of its own: if the GPU gradient's distance from float64 is the near-ties',
 * this masked float64 gradient agrees with the GPU's to float32 rounding; a defect in a kernel would leave it apart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDevice } from '../../src/gpu/device.js';
import { Tensor } from '../../src/gpu/tensor.js';
import { relError } from '../../src/graph/gradcheck.js';
import { Model } from '../../src/graph/model.js';
import type { ReferenceOpRule } from '../../src/graph/op.js';
import { host, type HostTensor } from '../../src/kernels/host.js';
import { classScoreGradient } from '../../src/techniques/gradient.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node dist/scripts/torchvision/near-ties.js DIR   (DIR from export.py --reference DIR)');
  process.exit(2);
}
const bytes = (name: string): Buffer => readFileSync(join(dir, name));
const f32 = (name: string): Float32Array => new Float32Array(Uint8Array.from(bytes(name)).buffer);
const grad64Torch = new Float64Array(Uint8Array.from(bytes('grad64.bin')).buffer);
const grad32Torch = f32('grad32.bin');
const classes = bytes('classes.txt').toString().trim().split('\n').map(Number);
const input = f32('input.bin');

const gpu = await createDevice();
const model = Model.load(gpu, new Uint8Array(bytes('model.onnx')));
const n = classes.length;
const shape = [n, ...model.inputShape(1).slice(1)];
// The pre-activations: a ReLU node's input, or the conv output a fused ReLU hides.
const unfusedReluInputs = model.graph.nodes.flatMap((node) => {
  if (node.op.name === 'Relu') return [node.inputs[0]!];
  const act = (node.attrs as { activation?: { op: string } }).activation;
  return act?.op === 'Relu' ? [...model.graph.hidden].filter(([, owner]) => owner === node.sources[0]?.name).map(([value]) => value) : [];
});
console.log(`${unfusedReluInputs.length} ReLUs; batch ${n}, classes ${classes.join(', ')}`);

const x = Tensor.from(gpu, shape, input, 'input');
const g = classScoreGradient(model, x, classes);
const gpuGrad = await g.grad.read();
const { output, kept } = model.forward(x, { keep: unfusedReluInputs });
const gpuZ = new Map<string, Float32Array>();
for (const [name, t] of kept) gpuZ.set(name, await t.read());

const xh: HostTensor = host(shape, Float64Array.from(input));
let t0 = performance.now();
const ref = model.referenceClassScoreGradient(xh, classes, { layers: unfusedReluInputs });
console.log(`float64 CPU path: ${((performance.now() - t0) / 1000).toFixed(0)} s`);

const perImage = (a: ArrayLike<number>, b: ArrayLike<number>): string => {
  const m = a.length / n;
  return Array.from({ length: n }, (_, i) => relError(Array.prototype.slice.call(a, i * m, (i + 1) * m), Array.prototype.slice.call(b, i * m, (i + 1) * m)).toExponential(2)).join(', ');
};
console.log(`gradient, per image: GPU vs pixelprop float64 ${perImage(gpuGrad, ref.grad.data)}; GPU vs torch float64 ${perImage(gpuGrad, grad64Torch)}; torch float32 vs torch float64 ${perImage(grad32Torch, grad64Torch)}; pixelprop float64 vs torch float64 ${perImage(ref.grad.data, grad64Torch)}`);

console.log('layer | max|Δz|/max|z| | sign flips (|z| f64 of the largest flip, max|Δz|)');
let first: string | null = null;
let flipsTotal = 0;
for (const name of unfusedReluInputs) {
  const z64 = ref.layers.get(name)!.activation.data;
  const z32 = gpuZ.get(name)!;
  let maxDelta = 0;
  let flips = 0;
  let largestFlip = 0;
  for (let i = 0; i < z64.length; i++) {
    maxDelta = Math.max(maxDelta, Math.abs(z32[i]! - z64[i]!));
    if (z32[i]! > 0 !== z64[i]! > 0) {
      flips++;
      largestFlip = Math.max(largestFlip, Math.abs(z64[i]!));
    }
  }
  flipsTotal += flips;
  if (flips && !first) first = name;
  console.log(`${name} | ${relError(z32, z64).toExponential(2)} | ${flips}${flips ? ` (${largestFlip.toExponential(2)}, ${maxDelta.toExponential(2)})` : ''}`);
}
console.log(`${flipsTotal} sign flips in all; the first in ${first ?? 'none'}`);

// The float64 gradient again, each ReLU's backward taking the GPU's mask.
const gpuMask: ReferenceOpRule = (dys, inputs, _outputs, _attrs, needs, node) => {
  const z = gpuZ.get(node.inputNames[0]!)!;
  const dy = dys[0]!;
  const dx = host(dy.shape);
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = z[i]! > 0 ? dy.data[i]! : 0;
  return needs.map((need) => (need ? dx : null)).slice(0, inputs.length);
};
t0 = performance.now();
const masked = model.referenceClassScoreGradient(xh, classes, { layers: unfusedReluInputs, rule: { ops: new Map([['Relu', gpuMask]]) } });
console.log(`float64 with the GPU's ReLU masks (${((performance.now() - t0) / 1000).toFixed(0)} s): GPU vs it, per image ${perImage(gpuGrad, masked.grad.data)}; it vs plain float64 ${perImage(masked.grad.data, ref.grad.data)}`);
for (const t of [x, g.grad, g.scores, output, ...kept.values()]) t.dispose();
model.dispose();
gpu.destroy();
