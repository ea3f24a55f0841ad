/**
 * The step-through backward debugger (src/teaching/debugger.ts) on SqueezeNet 1.1 and the page's default sample:
 * the steps cover the tape, op for op, with the shapes the model infers and readable layer names; every kept tensor
 * reads back; the element check's three numbers agree at several depths (the input pixels' gradient included); the
 * tiles have the sizes the tensors give; dispose frees everything.
 *
 * Bounds, relative to the tensor's scale max|float64| (the project's max|Δ|/max|ref| measure, at one element):
 * - GPU vs float64, a forward value: FORWARD_BOUND (1e-5) — float32 rounding through at most 23 ops;
 * - GPU vs float64, a gradient: GPU_GRADIENT (1e-3). One element of an intermediate gradient is a float32 sum of many
 *   terms of both signs (fire5's squeeze gets 128 + 128·9 per element) that cancel, so its rounding, relative to the
 *   tensor's largest element, is above the 1e-4 the whole input gradient meets (test/saliency.test.ts): measured
 *   1.8e-4 at fire5, 2.6e-7 at the pixels. 1e-3 is the page-vs-Node bound of test/web.e2e.test.ts;
 * - finite difference vs float64: 1e-6 — both float64; the difference's truncation error is zero where the score is
 *   linear around the element (h = 1e-6·max|v| crosses no kink at the elements chosen, which the one-sided differences
 *   confirm), and its rounding is about eps·|s| / h ≈ 1e-16·20 / 1e-6 = 2e-9 of the gradient, times the tensor scale.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { Tape } from '../src/graph/tape.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { BackwardDebugger, layerNames, type ElementCheck, type TensorRole } from '../src/teaching/debugger.js';
import { colorOf } from '../src/image/colormap.js';
import { channelTiles, elementIndex } from '../src/teaching/tiles.js';
import { oneHotSeed } from '../src/techniques/gradient.js';
import { FORWARD_BOUND, useGpu } from './helpers.js';
import { MODEL_PATH, SHARED_DIR, repoRoot } from './shared-data.js';

const FD_VS_FLOAT64 = 1e-6;
const MOBILENET = join(SHARED_DIR, 'weights', 'mobilenetv2', 'mobilenetv2-1.0-224.onnx');
const GPU_GRADIENT = 1e-3;

describe('the step-through backward debugger on SqueezeNet 1.1', () => {
  const gpu = useGpu();
  let model: Model;
  let x: Tensor;
  let dbg: BackwardDebugger;
  let predicted: number;
  let buffersBefore: number;

  beforeAll(async () => {
    model = Model.load(gpu(), readFileSync(MODEL_PATH));
    x = Tensor.from(gpu(), [1, 3, 224, 224], preprocess(await readImage(join(repoRoot, 'samples', 'chelsea.png'))), 'chelsea');
    const out = model.forward(x);
    const scores = await out.read();
    out.dispose();
    predicted = scores.indexOf(Math.max(...scores));
    oneHotSeed(model, [predicted]); // cached by the library: made before counting buffers
    buffersBefore = gpu().memory().inUseBuffers;
    dbg = await BackwardDebugger.record(model, x, predicted);
  });
  afterAll(() => {
    dbg?.dispose();
    x?.dispose();
    model?.dispose();
  });

  it('has one forward step per tape op, then one backward step per op in reverse, with the model\'s shapes', async () => {
    const tape = new Tape();
    x.requiresGrad = true;
    tape.record(() => model.forward(x)).dispose();
    x.requiresGrad = false;
    const nodes = tape.nodes.map((n) => ({ op: n.op.name, name: n.name }));
    tape.dispose();
    expect(nodes.length).toBe(23); // SqueezeNet 1.1 after fusion: conv1, 3 max pools, 8 × (squeeze, expands), conv10, pool10, flatten
    expect(dbg.nodeCount).toBe(nodes.length);
    const forward = dbg.steps.filter((s) => s.direction === 'forward');
    const backward = dbg.steps.filter((s) => s.direction === 'backward');
    expect(forward.map((s) => ({ op: s.op, name: s.name }))).toEqual(nodes);
    expect(backward.map((s) => s.node)).toEqual(forward.map((s) => s.node).reverse());
    dbg.steps.forEach((s, i) => expect(s.index).toBe(i));
    for (const s of dbg.steps) {
      expect(s.outputShapes[0]).toEqual(model.shapes.get(s.name));
      expect(s.doc.backward.length).toBeGreaterThan(20);
      const roles = s.tensors.map((t) => t.role);
      expect(roles.filter((r) => r === 'output')).toHaveLength(1);
      expect(roles.filter((r) => r === 'input')).toHaveLength(1); // one data input each; the weights are not shown
      if (s.direction === 'backward') expect(roles.filter((r) => r === 'dy' || r === 'dx')).toHaveLength(2);
      else expect(roles.some((r) => r === 'dy' || r === 'dx')).toBe(false);
      for (const t of s.tensors) {
        const values = await dbg.read(s.index, t.role, t.slot);
        expect(values.length, `${s.layer} ${t.role}`).toBe(t.shape.reduce((a, b) => a * b, 1));
      }
    }
    // the graph: each op's data input comes from the op before it (SqueezeNet is a chain once the Fire modules fuse)
    forward.forEach((s, i) => expect(s.producers[0]).toBe(i === 0 ? null : i - 1));
  });

  it('names the layers as the SqueezeNet paper and its Caffe model do', () => {
    const names = layerNames(model);
    expect(names.slice(0, 6)).toEqual(['conv1', 'pool1', 'fire2/squeeze1x1', 'fire2/expand1x1+expand3x3', 'fire3/squeeze1x1', 'fire3/expand1x1+expand3x3']);
    expect(names.slice(-4)).toEqual(['fire9/expand1x1+expand3x3', 'conv10', 'pool10', 'flatten10']);
    expect(new Set(names).size).toBe(names.length);
    expect(dbg.steps[0]!.layer).toBe('conv1');
  });

  /** The backward step of the op named `layer`. */
  const backwardOf = (layer: string): number => dbg.steps.find((s) => s.direction === 'backward' && s.layer === layer)!.index;
  /** The element of largest |value| of a step's tensor (GPU), where the gradient has something to say. */
  const largest = async (step: number, role: TensorRole, slot = 0): Promise<number> => {
    const v = await dbg.read(step, role, slot);
    let best = 0;
    for (let i = 1; i < v.length; i++) if (Math.abs(v[i]!) > Math.abs(v[best]!)) best = i;
    return best;
  };
  const expectAgree = (c: ElementCheck, what: string): void => {
    console.log(
      `${what} ${c.role}${c.position}: gpu ${c.gpu.toExponential(6)}, float64 ${c.float64.toExponential(6)}, fd ${c.finiteDifference?.toExponential(6) ?? '—'} ` +
        `(rel. to the scale ${c.scale.toExponential(2)}: gpu ${c.relErrors.gpuVsFloat64.toExponential(2)}, fd ${c.relErrors.finiteDifferenceVsFloat64?.toExponential(2) ?? '—'})`,
    );
    if (c.finiteDifference === null) {
      expect(c.relErrors.gpuVsFloat64, `${what}: GPU vs float64`).toBeLessThanOrEqual(FORWARD_BOUND);
      return;
    }
    expect(c.relErrors.gpuVsFloat64, `${what}: GPU vs float64`).toBeLessThanOrEqual(GPU_GRADIENT);
    expect(c.relErrors.finiteDifferenceVsFloat64!, `${what}: finite difference vs float64`).toBeLessThanOrEqual(FD_VS_FLOAT64);
    // no kink inside ±h: the one-sided differences agree as closely as the centered one does
    expect(Math.abs(c.oneSided![0] - c.oneSided![1]) / c.scale, `${what}: one-sided differences`).toBeLessThanOrEqual(10 * FD_VS_FLOAT64);
    expect(Math.abs(c.float64), `${what}: a non-zero gradient element`).toBeGreaterThan(0.01 * c.scale);
  };

  it('checks elements at four depths: GPU, float64 and finite differences agree', async () => {
    // the input pixels' gradient: conv1's dx, every op rerun in float64 for the difference
    const pixels = backwardOf('conv1');
    expectAgree(await dbg.checkElement(pixels, 'dx', 0, await largest(pixels, 'dx')), 'conv1 (the pixels)');
    // a squeeze output read twice by the fused expands: the difference perturbs both reads
    const expand = backwardOf('fire5/expand1x1+expand3x3');
    const twice = await dbg.checkElement(expand, 'dx', 0, await largest(expand, 'dx'));
    expect(twice.perturbed).toContain('all 2 of its reads');
    expectAgree(twice, 'fire5 expands');
    // the incoming gradient at a middle max pool's output (every later op reruns)
    const pool = backwardOf('pool5');
    expectAgree(await dbg.checkElement(pool, 'dy', 0, await largest(pool, 'dy')), 'pool5');
    // the classifier conv's output: the gradient is the class's channel alone
    const conv10 = backwardOf('conv10');
    expectAgree(await dbg.checkElement(conv10, 'dy', 0, await largest(conv10, 'dy')), 'conv10');
    // a value of the forward: GPU vs float64 only
    const fire9 = dbg.steps.find((s) => s.layer === 'fire9/squeeze1x1')!.index;
    const value = await dbg.checkElement(fire9, 'output', 0, await largest(fire9, 'output'));
    expect(value.finiteDifference).toBeNull();
    expectAgree(value, 'fire9/squeeze1x1 value');
  });

  it('refuses a tensor a step does not show and an element outside it, in one line', async () => {
    const first = dbg.steps[0]!.index; // a forward step: no gradients yet
    expect(() => dbg.read(first, 'dy', 0)).toThrow(/shows no dy 0/);
    await expect(dbg.checkElement(first, 'output', 0, 64 * 111 * 111)).rejects.toThrow(/outside the tensor \[1,64,111,111\]/);
  });

  it('draws a step\'s tensors as tiles of the right sizes, with a shared value range', async () => {
    const conv1 = dbg.steps[0]!;
    const set = await dbg.tiles(conv1.index, 'output', 0, { maxTiles: 16 });
    expect(set.layout).toBe('channels');
    expect(set.channels).toBe(64);
    expect(set.tiles).toHaveLength(16);
    expect(set.cmap).toBe('hot'); // after the fused ReLU: no negative value
    const values = await dbg.read(conv1.index, 'output', 0);
    expect(set.max).toBe(values.reduce((a, b) => Math.max(a, b), -Infinity));
    expect(set.range).toEqual([0, set.max]);
    for (const t of set.tiles) {
      expect([t.image.width, t.image.height]).toEqual([111, 111]);
      expect(t.image.data.length).toBe(111 * 111 * 3);
      expect(t.max).toBeLessThanOrEqual(set.max);
    }
    // the one-hot gradient at the scores: one grid of 1000 values, 32 wide
    const scores = dbg.steps.find((s) => s.direction === 'backward' && s.layer === 'flatten10')!;
    const grid = await dbg.tiles(scores.index, 'dy', 0);
    expect(grid.layout).toBe('vector');
    expect([grid.width, grid.height]).toEqual([32, 32]);
    expect(grid.tiles).toHaveLength(1);
    expect(elementIndex(grid, 0, predicted % 32, Math.floor(predicted / 32))).toBe(predicted);
    // the gradient at conv10's output lives in the class's channel: that is the tile drawn first, in 'bwr' or 'hot'
    const conv10 = dbg.steps.find((s) => s.direction === 'backward' && s.layer === 'conv10')!;
    const dy = await dbg.tiles(conv10.index, 'dy', 0, { maxTiles: 1 });
    expect(dy.tiles.map((t) => t.channel)).toEqual([predicted]);
    expect(elementIndex(dy, predicted, 5, 7)).toBe((predicted * 13 + 7) * 13 + 5);
  });

  it('picks the channels of largest magnitude, signed tensors in bwr around 0', () => {
    const values = Float32Array.from([0, 0, 0, 0, -3, 1, 0, 0, 0.5, 0, 0, 0]); // [1, 3, 2, 2]
    const set = channelTiles(values, [1, 3, 2, 2], { maxTiles: 2 });
    expect(set.tiles.map((t) => t.channel)).toEqual([1, 2]);
    expect(set.cmap).toBe('bwr');
    expect(set.range).toEqual([-3, 3]);
    expect(set.tiles[0]!).toMatchObject({ min: -3, max: 1 });
    expect(Array.from(set.tiles[1]!.image.data.slice(3, 6))).toEqual(colorOf('bwr', 0.5)); // channel 2's second value, 0: the middle colour
  });

  it('frees every tensor it kept on dispose', async () => {
    const again = await BackwardDebugger.record(model, x, predicted);
    expect(gpu().memory().inUseBuffers).toBeGreaterThan(buffersBefore);
    again.dispose();
    dbg.dispose();
    expect(gpu().memory().inUseBuffers).toBe(buffersBefore);
  });
});

describe.skipIf(!existsSync(MOBILENET))(`the debugger on MobileNetV2${existsSync(MOBILENET) ? '' : ' (skipped: ../shared/weights/mobilenetv2 not found)'}`, () => {
  const gpu = useGpu();
  let model: Model;
  let x: Tensor;
  let dbg: BackwardDebugger;

  beforeAll(async () => {
    model = Model.load(gpu(), readFileSync(MOBILENET));
    x = Tensor.from(gpu(), [1, 3, 224, 224], preprocess(await readImage(join(repoRoot, 'samples', 'chelsea.png'))), 'chelsea');
    dbg = await BackwardDebugger.record(model, x, 285);
  });
  afterAll(() => {
    dbg?.dispose();
    x?.dispose();
    model?.dispose();
  });

  it('steps through every tape op and back, residual connections included, every tensor drawn as tiles', async () => {
    const tape = new Tape();
    x.requiresGrad = true;
    tape.record(() => model.forward(x)).dispose();
    x.requiresGrad = false;
    const count = tape.nodes.length;
    tape.dispose();
    expect(dbg.nodeCount).toBe(count);
    expect(dbg.steps).toHaveLength(2 * count);
    const names = dbg.steps.filter((s) => s.direction === 'forward').map((s) => s.layer);
    expect(new Set(names).size).toBe(names.length);
    const adds = dbg.steps.filter((s) => s.direction === 'forward' && s.op === 'Add');
    expect(adds.length).toBe(10); // MobileNetV2's residual connections
    for (const a of adds) expect(a.producers.filter((p) => p !== null && p < a.node - 1).length, a.layer).toBe(1);
    for (const s of dbg.steps) {
      for (const t of s.tensors) {
        const set = await dbg.tiles(s.index, t.role, t.slot, { maxTiles: 8 });
        expect(set.tiles.length, `${s.layer} ${t.role}`).toBeGreaterThanOrEqual(1);
        for (const tile of set.tiles) expect(tile.image.data.length).toBe(set.width * set.height * 3);
      }
    }
    console.log(`MobileNetV2: ${count} tape ops; layers ${names.slice(0, 4).join(', ')} … ${names.slice(-3).join(', ')}`);
  });

  it('checks the input pixels\' gradient: GPU, float64 and finite difference agree', async () => {
    const first = dbg.steps.find((s) => s.direction === 'backward' && s.node === 0)!.index;
    const g = await dbg.read(first, 'dx', 0);
    let best = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[best]!)) best = i;
    const c = await dbg.checkElement(first, 'dx', 0, best);
    console.log(`MobileNetV2 pixels ${c.position}: gpu ${c.gpu}, float64 ${c.float64}, fd ${c.finiteDifference} (rel. gpu ${c.relErrors.gpuVsFloat64.toExponential(2)}, fd ${c.relErrors.finiteDifferenceVsFloat64!.toExponential(2)})`);
    expect(c.relErrors.gpuVsFloat64).toBeLessThanOrEqual(GPU_GRADIENT);
    expect(c.relErrors.finiteDifferenceVsFloat64!).toBeLessThanOrEqual(FD_VS_FLOAT64);
  });
});
