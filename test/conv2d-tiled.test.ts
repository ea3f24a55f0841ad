import { Relu } from '../src/graph/ops/relu.js';
/**
 * conv2d version 2 (the tiled implicit GEMM) against the float64 references, with and without subgroups, on
 * SqueezeNet's shapes and on the shapes that exercise its index maps: strides (the backward's phases), asymmetric
 * pads, dilation, tiles that overhang the channel count and the pixel count, batches, and a channel list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevice, type Gpu } from '../src/gpu/device.js';
import { Tensor } from '../src/gpu/tensor.js';
import {
  conv2dBackwardInput,
  conv2dBackwardInputRef,
  conv2dForward,
  conv2dRef,
  type Conv2dAttrsInput,
} from '../src/kernels/conv2d.js';
import { host } from '../src/kernels/host.js';
import { DEFAULT_TUNING, tileRows, tiledWorkgroupSize } from '../src/kernels/conv2d-tiled.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, fromGpu, rand, toGpu } from './helpers.js';

interface Case {
  name: string;
  x: number[];
  w: number[];
  attrs: Conv2dAttrsInput;
  bias?: boolean;
  relu?: boolean;
}

const cases: Case[] = [
  { name: 'conv1 3→64 3×3 s2 on 224²', x: [1, 3, 224, 224], w: [64, 3, 3, 3], attrs: { strides: [2, 2] }, bias: true, relu: true },
  { name: 'fire2 squeeze 64→16 1×1 on 55²', x: [1, 64, 55, 55], w: [16, 64, 1, 1], attrs: {}, bias: true, relu: true },
  { name: 'fire2 expand3×3 16→64 p1 on 55²', x: [1, 16, 55, 55], w: [64, 16, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true, relu: true },
  { name: 'fire9 expand3×3 64→256 p1 on 13², batch 2', x: [2, 64, 13, 13], w: [256, 64, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: 'conv10 512→1000 1×1 on 13²', x: [1, 512, 13, 13], w: [1000, 512, 1, 1], attrs: {}, bias: true, relu: true },
  { name: 'odd: 5→7 3×2 s[2,3] pads[0,1,2,0] on 9×11, batch 3', x: [3, 5, 9, 11], w: [7, 5, 3, 2], attrs: { strides: [2, 3], pads: [0, 1, 2, 0] } },
  { name: 'odd: 3→19 3×3 dilation 2 p2 on 10×7', x: [1, 3, 10, 7], w: [19, 3, 3, 3], attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] }, bias: true },
  { name: 'odd: 1×1 image, 6→17 3×3 p1', x: [2, 6, 1, 1], w: [17, 6, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true, relu: true },
  { name: 'odd: 4→3 1×1 stride 2 on 7×8', x: [1, 4, 7, 8], w: [3, 4, 1, 1], attrs: { strides: [2, 2] } },
  { name: 'odd: 2→33 5×5 s3 p[2,1,0,2] on 12×13', x: [2, 2, 12, 13], w: [33, 2, 5, 5], attrs: { strides: [3, 3], pads: [2, 1, 0, 2] } },
];

for (const subgroups of [true, false]) {
  describe(`conv2d v2 ${subgroups ? 'with' : 'without'} subgroups`, () => {
    let gpu: Gpu;
    beforeAll(async () => {
      gpu = await createDevice({ noSubgroups: !subgroups });
    });
    afterAll(() => gpu.destroy());

    it('uses the variant it claims', () => {
      if (subgroups) expect(gpu.subgroupsOf8, 'lavapipe offers subgroups of 8').toBe(true);
      else expect(gpu.subgroupsOf8).toBe(false);
    });

    for (const c of cases) {
      it(`forward and backward to the input: ${c.name}`, async () => {
        const x = rand(c.x, 1);
        const w = rand(c.w, 2, -0.5, 0.5);
        const b = c.bias ? rand([c.w[0]!], 3) : null;
        const xg = toGpu(gpu, x, 'x');
        const wg = toGpu(gpu, w, 'w');
        const bg = b ? toGpu(gpu, b, 'b') : null;
        const y = conv2dForward(xg, wg, bg, c.attrs, { ...(c.relu && { activation: Relu.with({}).fn }), version: 2 });
        let ref = conv2dRef(x, w, b, c.attrs);
        if (c.relu) ref = host(ref.shape, ref.data.map((v) => Math.max(v, 0)));
        expectClose((await fromGpu(y)).data, ref.data, FORWARD_BOUND, `${c.name} forward`);

        const dy = rand(ref.shape, 4);
        const dyg = toGpu(gpu, dy, 'dy');
        // version 2's backward does not take dilation: that case checks the fallback to version 1 instead
        const dx = conv2dBackwardInput(dyg, wg, c.x, c.attrs, { name: 'dx', ...(!c.attrs.dilations && { version: 2 as const }) });
        expectClose((await fromGpu(dx)).data, conv2dBackwardInputRef(dy, w, c.x, c.attrs).data, BACKWARD_BOUND, `${c.name} backward`);
        for (const t of [xg, wg, y, dyg, dx, ...(bg ? [bg] : [])]) t.dispose();
      });
    }

    it("packs conv1's four stride phases into one GEMM, and keeps wide layers phase by phase", async () => {
      const count = (xShape: number[], wShape: number[]): number => {
        const dy = Tensor.zeros(gpu, [xShape[0]!, wShape[0]!, Math.floor((xShape[2]! - 3) / 2) + 1, Math.floor((xShape[3]! - 3) / 2) + 1]);
        const w = Tensor.zeros(gpu, wShape);
        const before = gpu.dispatchCount;
        const dx = conv2dBackwardInput(dy, w, xShape, { strides: [2, 2] }, { name: 'dx', version: 2 });
        const n = gpu.dispatchCount - before;
        for (const t of [dy, w, dx]) t.dispose();
        return n;
      };
      expect(count([1, 3, 224, 224], [64, 3, 3, 3])).toBe(2); // the weight gather, then one GEMM
      expect(count([1, 64, 31, 31], [32, 64, 3, 3])).toBe(4); // 64 channels fill their tiles: one GEMM per phase
    });

    it('sums over the listed channels only when dy says the others are zero (the classifier backward)', async () => {
      const xShape = [2, 40, 5, 6];
      const w = rand([100, 40, 1, 1], 5);
      const dy = host([2, 100, 5, 6]);
      const live = [3, 97];
      const r = rand([2, 100, 5, 6], 6);
      for (let i = 0; i < dy.data.length; i++) if (live.includes(Math.floor(i / 30) % 100)) dy.data[i] = r.data[i]!;
      const wg = toGpu(gpu, w, 'w');
      const dyg = toGpu(gpu, dy, 'dy');
      const before = gpu.dispatchCount;
      const dx = conv2dBackwardInput(dyg, wg, xShape, {}, { name: 'dx', version: 2, dyChannels: live });
      expect(gpu.dispatchCount - before).toBe(1);
      expectClose((await fromGpu(dx)).data, conv2dBackwardInputRef(dy, w, xShape, {}).data, BACKWARD_BOUND, 'listed channels');
      for (const t of [wg, dyg, dx]) t.dispose();
    });
  });
}

describe('conv2d version choice', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await createDevice();
  });
  afterAll(() => gpu.destroy());

  it('refuses version 2 where it does not apply, and falls back to version 1 by default', async () => {
    const x = toGpu(gpu, rand([1, 6, 6, 6], 1));
    const w = toGpu(gpu, rand([9, 2, 3, 3], 2)); // group 3 of 3 output channels: tiles of 16 rows would straddle groups
    expect(() => conv2dForward(x, w, null, { group: 3 }, { version: 2 })).toThrow('version 2 does not support');
    const y = conv2dForward(x, w, null, { group: 3 });
    expect(y.shape).toEqual([1, 9, 4, 4]);
    const dilated = toGpu(gpu, rand([3, 4, 3, 3], 3));
    expect(() => conv2dBackwardInput(Tensor.zeros(gpu, [1, 3, 2, 2]), dilated, [1, 4, 6, 6], { dilations: [2, 2] }, { name: 'dx', version: 2 })).toThrow(
      'version 2 does not support',
    );
  });
});

describe('tile shapes (TILE_ROWS and WG of conv2d_tiled.wgsl)', () => {
  it('the workgroup size leaves few of the last pixel block\'s lanes idle', () => {
    // 55² keeps 64 (47 of 3072 lanes idle); 13² runs 48 (192-pixel blocks); MobileNetV2's 7² runs 16 (one 64-pixel
    // block) and its classifier's single pixel 8; 27² keeps 64 (39 of 768 idle: within a tenth).
    expect([3025, 169, 49, 1, 729].map(tiledWorkgroupSize)).toEqual([64, 48, 16, 8, 64]);
    for (const pixels of [1, 2, 48, 49, 169, 729, 3025, 12544]) expect(tiledWorkgroupSize(pixels) % 8, `${pixels} pixels`).toBe(0);
  });

  const on = DEFAULT_TUNING;
  it('32 rows where the round-up wastes at most an eighth, 16 otherwise or when asked', () => {
    const rows = (mCount: number, grouping?: { groupRows: number; nGroupOffset: number; wGroupOffset: number; nLimit: number }) =>
      tileRows({ mCount, ...(grouping && { grouping }) }, on);
    // SqueezeNet's forward: conv1 and the expands (64..256 rows) and conv10 (1000 → 1024) take 32; 16-row squeezes and
    // 48-row ones (64 would idle a quarter) stay at 16.
    expect([64, 128, 192, 256, 1000].map((m) => rows(m))).toEqual([32, 32, 32, 32, 32]);
    expect([16, 48, 12, 33].map((m) => rows(m))).toEqual([16, 16, 16, 16]);
    // Groups: a 32-row tile must stay inside one group of rows.
    expect(rows(64, { groupRows: 32, nGroupOffset: 4, wGroupOffset: 0, nLimit: 8 })).toBe(32);
    expect(rows(48, { groupRows: 16, nGroupOffset: 2, wGroupOffset: 0, nLimit: 6 })).toBe(16);
    expect(rows(128, { groupRows: 128, nGroupOffset: 0, wGroupOffset: 0, nLimit: 128 })).toBe(32); // one block
    expect(tileRows({ mCount: 256 }, { ...on, tallTiles: false })).toBe(16);
  });
});
