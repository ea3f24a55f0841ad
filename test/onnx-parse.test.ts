/**
 * The ONNX parser on the real SqueezeNet 1.1, on written fixtures in every variant, and on broken files (each error
 * checked by its message); then scripts/weights.mjs (copy path, local downloads, offline and HTTP errors). CPU only.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import {
  buildModel,
  buildModelProto,
  encodeModel,
  floatAttr,
  squeezenetLikeModel,
  squeezenetLikeSpec,
  type ModelSpec,
  type SqueezeNetLikeOptions,
  type TensorSpec,
} from '../src/graph/onnx/build-fixture.js';
import type { OnnxTensor } from '../src/graph/onnx/ir.js';
import { supportedOnnxOps } from '../src/graph/passes/index.js';
import { describeGraph, parseOnnx, toInt } from '../src/graph/onnx/parse.js';
import { Rng } from '../src/util/rng.js';
import { ensureWeights } from '../scripts/weights.mjs';
import { MODEL_PATH, SYNSET_PATH, repoRoot } from './shared-data.js';

// onnx-proto is CommonJS: Node's ESM loader exposes `onnx` only on the default export.
const { onnx } = onnxProto;
const realModelPath = MODEL_PATH;

/** The PixelpropError that `f` throws (fails the test if it throws nothing or something else). */
function errorOf(f: () => unknown): PixelpropError {
  try {
    f();
  } catch (e) {
    expect(e, `expected a PixelpropError, got ${String(e)}`).toBeInstanceOf(PixelpropError);
    expect((e as Error).message, 'error messages are one line').not.toContain('\n');
    return e as PixelpropError;
  }
  throw new Error('expected an error, but the call succeeded');
}

/** A one-Conv model: x [1,2,5,5] → Conv(w [3,2,3,3], b [3]) → y. Tests break it in one place each. */
function convSpec(): ModelSpec {
  const rng = new Rng(5);
  return {
    irVersion: 7,
    opset: 13,
    inputs: [{ name: 'x', dims: [1, 2, 5, 5] }],
    outputs: [{ name: 'y', dims: [1, 3, 3, 3] }],
    initializers: [
      { name: 'w', dims: [3, 2, 3, 3], data: Float32Array.from(rng.uniforms(54)) },
      { name: 'b', dims: [3], data: Float32Array.from(rng.uniforms(3)) },
    ],
    nodes: [{ name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { kernel_shape: [3, 3] } }],
  };
}

/** Same type, dims and values (bit for bit for float32: a byte comparison, fast on a million weights). */
function sameValues(a: OnnxTensor | undefined, b: OnnxTensor): boolean {
  if (!a || a.type !== b.type || a.dims.join() !== b.dims.join()) return false;
  if (a.type === 'float32' && b.type === 'float32') {
    return Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(
      Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
    );
  }
  return a.data.join() === b.data.join();
}

describe('the real squeezenet1.1.onnx', () => {
  const bytes = new Uint8Array(readFileSync(realModelPath));
  const g = parseOnnx(bytes);

  it('has the expected interface, ops and sizes', () => {
    expect(g.irVersion).toBe(3);
    expect(g.opset).toBe(7);
    expect(g.inputs).toEqual([{ name: 'data', dims: [1, 3, 224, 224], elemType: 'float32' }]);
    expect(g.outputs).toEqual([{ name: 'squeezenet0_flatten0_reshape0', dims: [1, 1000], elemType: 'float32' }]);
    expect(g.nodes.length).toBe(66);
    const counts: Record<string, number> = {};
    for (const n of g.nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
    expect(counts).toEqual({ Conv: 26, Relu: 26, MaxPool: 3, Concat: 8, Dropout: 1, GlobalAveragePool: 1, Reshape: 1 });
    // 26 convs × (weight, bias) + the Reshape's int64 shape; IR 3 also lists all 53 among the inputs (not kept).
    expect(g.initializers.size).toBe(53);
    let params = 0;
    for (const t of g.initializers.values()) if (t.type === 'float32') params += t.data.length;
    expect(params).toBe(1_235_496);
    expect(g.initializers.get('squeezenet0_conv0_weight')!.dims).toEqual([64, 3, 3, 3]);
    expect(g.initializers.get('squeezenet0_conv25_weight')!.dims).toEqual([1000, 512, 1, 1]);
    const shape = g.initializers.get('reshape_attr_tensor')!;
    expect(shape.type).toBe('int64');
    expect(shape.data).toEqual([1, 1000]);
  });

  it('keeps the attributes: MaxPool 3×3 s2 with pads [0,0,1,1], Conv, Concat axis 1, Dropout ratio', () => {
    const pools = g.nodes.filter((n) => n.opType === 'MaxPool');
    for (const p of pools) expect(p.attrs).toEqual({ kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] });
    const conv0 = g.nodes[0]!;
    expect(conv0.name).toBe('squeezenet0_conv0_fwd');
    expect(conv0.attrs).toEqual({ dilations: [1, 1], group: 1, kernel_shape: [3, 3], pads: [0, 0, 0, 0], strides: [2, 2] });
    expect(g.nodes.filter((n) => n.opType === 'Concat').every((n) => n.attrs.axis === 1)).toBe(true);
    const dropout = g.nodes.find((n) => n.opType === 'Dropout')!;
    expect(dropout.attrs.ratio).toBeCloseTo(0.5, 7);
    expect(g.nodes.at(-1)!.opType).toBe('Reshape');
    expect(g.nodes.at(-1)!.outputs).toEqual(['squeezenet0_flatten0_reshape0']);
  });

  it('keeps the file order (already sorted) and the float values bit for bit', () => {
    const file = onnx.ModelProto.decode(bytes).graph!;
    expect(g.nodes.map((n) => n.name)).toEqual(file.node!.map((n) => n.name));
    const first = file.initializer![0]!;
    const raw = first.rawData!;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const w = g.initializers.get(first.name!)!.data as Float32Array;
    expect(w).toBeInstanceOf(Float32Array);
    for (const i of [0, 1, 17, w.length - 1]) expect(w[i]).toBe(view.getFloat32(4 * i, true));
  });

  it('reads raw_data at an odd byte offset (copies instead of viewing misaligned memory)', () => {
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const g2 = parseOnnx(shifted.subarray(1));
    expect(g2.initializers.size).toBe(g.initializers.size);
    for (const [name, t] of g.initializers) expect(sameValues(g2.initializers.get(name), t), name).toBe(true);
  });

  it('is summarized by describeGraph', () => {
    const text = describeGraph(g);
    expect(text).toContain('ONNX IR 3, opset 7');
    expect(text).toContain('input   data  float32 [1,3,224,224]');
    expect(text).toContain('output  squeezenet0_flatten0_reshape0  float32 [1,1000]');
    expect(text).toContain('nodes   66: Conv ×26, Relu ×26, Concat ×8, MaxPool ×3, Dropout ×1, GlobalAveragePool ×1, Reshape ×1');
    expect(text).toContain('params  1,235,496 float32 in 52 tensors (4.7 MiB), plus 1 int64 tensor');
  });
});

describe('fixtures', () => {
  const variants: SqueezeNetLikeOptions[] = [
    {},
    { irVersion: 3, encoding: 'typed', head: 'avgpool', flatten: 'reshape-1' },
    { irVersion: 7, opset: 13, batch: 'N', flatten: 'reshape0', reshapeFrom: 'constant' },
    { irVersion: 8, opset: 12, encoding: 'typed', head: 'avgpool', flatten: 'reshape0', size: [33, 40], classes: 7 },
    { irVersion: 7, opset: 10, maxPoolRounding: 'pads', initializersAsInputs: true, batch: 2 },
    { irVersion: 9, opset: 21, size: 7, classes: 1, channels: 1, stem: 5, squeeze: 3, expand: 6 },
  ];

  for (const opts of variants) {
    it(`parses the SqueezeNet-like model ${JSON.stringify(opts)}`, () => {
      const spec = squeezenetLikeSpec(opts);
      const g = parseOnnx(squeezenetLikeModel(opts));
      const batch = opts.batch ?? 1;
      const [h, w] = typeof opts.size === 'number' ? [opts.size, opts.size] : (opts.size ?? [32, 32]);
      expect(g.irVersion).toBe(opts.irVersion ?? 3);
      expect(g.opset).toBe(spec.opset);
      expect(g.inputs).toEqual([{ name: 'data', dims: [batch, opts.channels ?? 3, h, w], elemType: 'float32' }]);
      expect(g.outputs).toEqual([{ name: 'scores', dims: [batch, opts.classes ?? 10], elemType: 'float32' }]);
      expect(g.nodes.map((n) => n.name)).toEqual(spec.nodes.map((n) => n.name));
      // Every initializer comes back with its dims and exact values, whatever the encoding.
      expect(g.initializers.size).toBe(spec.initializers!.length);
      for (const t of spec.initializers!) {
        const got = g.initializers.get(t.name)!;
        expect(got.dims).toEqual(t.dims);
        expect(got.type).toBe(t.type ?? 'float32');
        expect(Array.from(got.data)).toEqual(Array.from(t.data!));
      }
      const pool = g.nodes.find((n) => n.opType === 'MaxPool')!;
      if ((opts.maxPoolRounding ?? (spec.opset! >= 10 ? 'ceil_mode' : 'pads')) === 'pads') {
        expect(pool.attrs).toEqual({ kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] });
      } else expect(pool.attrs).toEqual({ kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });
      if (opts.head === 'avgpool') {
        // 32 → conv 3×3 s2 → 15 → pool → 7; 33×40 → 16×19 → 8×9.
        const expected = opts.size ? [8, 9] : [7, 7];
        expect(g.nodes.find((n) => n.opType === 'AveragePool')!.attrs.kernel_shape).toEqual(expected);
      }
      if (opts.reshapeFrom === 'constant') {
        const c = g.nodes.find((n) => n.opType === 'Constant')!;
        expect(c.attrs).toEqual({ value: { name: 'reshape_shape', dims: [2], type: 'int64', data: [0, -1] } });
      }
      const dropout = g.nodes.find((n) => n.opType === 'Dropout')!;
      if (spec.opset! < 12) expect(dropout.attrs.ratio).toBe(0.5);
      else expect(dropout.attrs).toEqual({});
    });
  }

  it('is deterministic for a seed and differs between seeds', () => {
    expect(squeezenetLikeModel({ seed: 3 })).toEqual(squeezenetLikeModel({ seed: 3 }));
    expect(squeezenetLikeModel({ seed: 3 })).not.toEqual(squeezenetLikeModel({ seed: 4 }));
  });

  it('sorts shuffled nodes topologically, and keeps a sorted file in its order', () => {
    const spec = squeezenetLikeSpec({ irVersion: 7, opset: 13 });
    const reversed = { ...spec, nodes: spec.nodes.slice().reverse() };
    const g = parseOnnx(buildModel(reversed));
    const position = new Map(g.nodes.map((n, i) => [n.name, i]));
    const producer = new Map<string, string>();
    for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n.name);
    for (const n of g.nodes) {
      for (const i of n.inputs) {
        if (producer.has(i)) expect(position.get(producer.get(i)!)!).toBeLessThan(position.get(n.name)!);
      }
    }
    // Stable: among ready nodes the earliest in the file goes first. Reversed, the Fire module's two expand branches
    // are read expand3x3 first, and that choice survives.
    expect(position.get('fire_expand3x3')!).toBeLessThan(position.get('fire_expand1x1')!);
    expect(parseOnnx(buildModel(spec)).nodes.map((n) => n.name)).toEqual(spec.nodes.map((n) => n.name));
  });

  it('names unnamed nodes opType_index, keeps symbolic and unknown dims', () => {
    const spec = convSpec();
    spec.inputs = [{ name: 'x', dims: ['N', 2, null, 5] }];
    spec.outputs = [{ name: 'z' }];
    spec.nodes = [
      { opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { kernel_shape: [3, 3] } },
      { opType: 'Relu', inputs: ['y'], outputs: ['z'] },
    ];
    const g = parseOnnx(buildModel(spec));
    expect(g.nodes.map((n) => n.name)).toEqual(['Conv_0', 'Relu_1']);
    expect(g.inputs[0]!.dims).toEqual(['N', 2, '?', 5]);
    expect(g.outputs[0]!.dims).toEqual([]);
  });

  it('decodes every attribute kind, and every Constant form into attrs.value', () => {
    const spec = convSpec();
    spec.opset = 13;
    spec.outputs = [{ name: 'y' }, { name: 'c1' }, { name: 'c2' }, { name: 'c3' }, { name: 'c4' }, { name: 'c5' }];
    spec.nodes[0]!.attrs = {
      kernel_shape: [3, 3],
      auto_pad: 'NOTSET',
      alpha: floatAttr(1),
      scales: [0.5, 2.5],
      tags: ['a', 'b'],
      weight_tensor: { name: 't', dims: [2], data: [1, 2] },
    };
    const constant = (out: string, attrs: ModelSpec['nodes'][0]['attrs']) => ({
      name: out,
      opType: 'Constant',
      inputs: [],
      outputs: [out],
      attrs,
    });
    spec.nodes.push(
      constant('c1', { value: { name: '', dims: [2, 2], data: [1, 2, 3, 4] } }),
      constant('c2', { value_float: floatAttr(2) }),
      constant('c3', { value_floats: [0.25, 0.5] }),
      constant('c4', { value_int: 7 }),
      constant('c5', { value_ints: [-1, 3] }),
    );
    const g = parseOnnx(buildModel(spec));
    const a = g.nodes[0]!.attrs;
    expect(a.kernel_shape).toEqual([3, 3]);
    expect(a.auto_pad).toBe('NOTSET');
    expect(a.alpha).toBe(1);
    expect(a.scales).toEqual([0.5, 2.5]);
    expect(a.tags).toEqual(['a', 'b']);
    expect(a.weight_tensor).toEqual({ name: 't', dims: [2], type: 'float32', data: Float32Array.of(1, 2) });
    const value = (name: string) => g.nodes.find((n) => n.name === name)!.attrs;
    expect(value('c1')).toEqual({ value: { name: 'c1', dims: [2, 2], type: 'float32', data: Float32Array.of(1, 2, 3, 4) } });
    expect(value('c2')).toEqual({ value: { name: 'c2', dims: [], type: 'float32', data: Float32Array.of(2) } });
    expect(value('c3')).toEqual({ value: { name: 'c3', dims: [2], type: 'float32', data: Float32Array.of(0.25, 0.5) } });
    expect(value('c4')).toEqual({ value: { name: 'c4', dims: [], type: 'int64', data: [7] } });
    expect(value('c5')).toEqual({ value: { name: 'c5', dims: [2], type: 'int64', data: [-1, 3] } });
  });

  it('accepts ai.onnx as the default domain and ignores unused other domains', () => {
    const proto = buildModelProto({ ...convSpec(), extraOpsets: [{ domain: 'com.microsoft', version: 1 }] });
    proto.opsetImport[0]!.domain = 'ai.onnx';
    const g = parseOnnx(encodeModel(proto));
    expect(g.opset).toBe(13);
  });

  it('converts int64 values exactly and refuses those beyond 2^53', () => {
    expect(toInt({ low: 5, high: 0, unsigned: false }, 'x')).toBe(5);
    expect(toInt({ low: -1, high: -1, unsigned: false }, 'x')).toBe(-1);
    expect(toInt({ low: 0, high: 0x1fffff, unsigned: false }, 'x')).toBe(0x1fffff * 2 ** 32);
    expect(toInt({ low: -1, high: 0x1fffff, unsigned: false }, 'x')).toBe(2 ** 53 - 1);
    expect(toInt(-(2 ** 53) + 1, 'x')).toBe(-(2 ** 53) + 1);
    expect(errorOf(() => toInt({ low: 0, high: 0x200000, unsigned: false }, 'dim')).message).toBe(
      'dim: integer 9007199254740992 is beyond 2^53 and cannot be represented exactly',
    );
    expect(errorOf(() => toInt(2 ** 60, 'v')).message).toContain('beyond 2^53');

    // In a tensor: an int64 Reshape shape holding 2^60 (raw) or 2^53 (typed, written through a Long).
    for (const encoding of ['raw', 'typed'] as const) {
      const spec = convSpec();
      const raw = new Uint8Array(16);
      new DataView(raw.buffer).setBigInt64(8, 2n ** 60n, true);
      const shape: TensorSpec =
        encoding === 'raw'
          ? { name: 's', dims: [2], type: 'int64', rawData: raw }
          : { name: 's', dims: [2], type: 'int64', data: [1, 2 ** 53], encoding };
      spec.initializers!.push(shape);
      spec.nodes.push({ name: 'reshape', opType: 'Reshape', inputs: ['y', 's'], outputs: ['r'] });
      spec.outputs = [{ name: 'r' }];
      expect(errorOf(() => parseOnnx(buildModel(spec))).message).toMatch(/^initializer 's'\[1\]: integer \d+ is beyond 2\^53/);
    }
  });
});

describe('broken files are refused with one clear line', () => {
  const real = new Uint8Array(readFileSync(realModelPath));

  it('an empty file', () => {
    expect(errorOf(() => parseOnnx(new Uint8Array(0))).message).toBe('empty file: not an ONNX model');
  });

  it('a truncated model (its first 1000 bytes; all but its last 1000 bytes)', () => {
    for (const cut of [real.subarray(0, 1000), real.subarray(0, real.length - 1000)]) {
      expect(errorOf(() => parseOnnx(cut)).message).toMatch(
        /^not an ONNX model \(protobuf decode failed: index out of range: .+; the file looks truncated\)$/,
      );
    }
  });

  it('random bytes', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Rng(seed);
      const bytes = Uint8Array.from({ length: 256 + 97 * seed }, () => rng.int(0, 255));
      expect(errorOf(() => parseOnnx(bytes)).message).toMatch(/^not an ONNX model \(/);
    }
  });

  it('a protobuf that is not a model, or a model without graph or nodes', () => {
    expect(errorOf(() => parseOnnx(new TextEncoder().encode('hello, world'))).message).toMatch(/^not an ONNX model \(/);
    const proto = buildModelProto(convSpec());
    // A model header without its graph is what a cut file decodes as: exporters write the graph after the header.
    const headerOnly = encodeModel({ ...proto, graph: null });
    expect(errorOf(() => parseOnnx(headerOnly)).message).toBe(
      `not a complete ONNX model: the file ends after ${headerOnly.length} bytes, before its graph; it looks truncated`,
    );
    // A protobuf with no field of a model at all is not called truncated.
    expect(errorOf(() => parseOnnx(Uint8Array.of(0x50, 0x01))).message).toBe('not an ONNX model (it decodes as protobuf but holds no graph)');
    const empty = buildModelProto(convSpec());
    empty.graph!.node = [];
    expect(errorOf(() => parseOnnx(encodeModel(empty))).message).toBe("the ONNX graph 'fixture' has no nodes");
  });

  it('an unsupported op', () => {
    const spec = convSpec();
    spec.nodes.push({ name: 'lstm1', opType: 'LSTM', inputs: ['y'], outputs: ['z'] });
    expect(errorOf(() => parseOnnx(buildModel(spec), { supportedOps: supportedOnnxOps() })).message).toBe(
      `the model uses an op pixelprop does not support: LSTM (node 'lstm1') (supported: ${supportedOnnxOps().join(', ')})`,
    );
  });

  it('a node from another operator domain', () => {
    const spec = { ...convSpec(), extraOpsets: [{ domain: 'com.microsoft', version: 1 }] };
    spec.nodes.push({ name: 'gelu', opType: 'Relu', domain: 'com.microsoft', inputs: ['y'], outputs: ['z'] });
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "node 'gelu' (Relu) is in operator domain 'com.microsoft'; only the default ONNX domain is supported",
    );
  });

  it('a Conv whose weight is missing (dangling input)', () => {
    const spec = convSpec();
    spec.initializers = spec.initializers!.filter((t) => t.name !== 'w');
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "node 'conv' (Conv) reads 'w', which no node produces and which is neither a graph input nor an initializer",
    );
  });

  it('a graph output nothing produces, a value written twice', () => {
    const spec = convSpec();
    spec.outputs = [{ name: 'nowhere' }];
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe("graph output 'nowhere' is not produced by any node");
    const twice = convSpec();
    twice.nodes.push({ name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['y'] });
    expect(errorOf(() => parseOnnx(buildModel(twice))).message).toBe("value 'y' is written by two nodes, 'conv' and 'relu'");
  });

  it('a cycle', () => {
    const spec = convSpec();
    // conv → a → b → (back into) add → a: a and b feed each other.
    spec.nodes.push(
      { name: 'a', opType: 'Add', inputs: ['y', 'b_out'], outputs: ['a_out'] },
      { name: 'b', opType: 'Relu', inputs: ['a_out'], outputs: ['b_out'] },
      { name: 'after', opType: 'Relu', inputs: ['b_out'], outputs: ['z'] },
    );
    spec.outputs = [{ name: 'z' }];
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe("the graph has a cycle: 'a' → 'b' → 'a'");
    const self = convSpec();
    self.nodes.push({ name: 'loop', opType: 'Add', inputs: ['y', 'l'], outputs: ['l'] });
    expect(errorOf(() => parseOnnx(buildModel(self))).message).toBe("the graph has a cycle: 'loop' → 'loop'");
  });

  it('a DOUBLE, a FLOAT16 or an external-data initializer', () => {
    const spec = convSpec();
    spec.initializers![0] = { name: 'w', dims: [3, 2, 3, 3], data: new Float64Array(54), type: 'float64' };
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "initializer 'w' has data type DOUBLE (11); only FLOAT (1) and INT64 (7) tensors are supported",
    );
    spec.initializers![0] = { name: 'w', dims: [3, 2, 3, 3], data: new Uint16Array(54), type: 'float16' };
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toContain("initializer 'w' has data type FLOAT16 (10)");
    spec.initializers![0] = { name: 'w', dims: [3, 2, 3, 3], external: true };
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "initializer 'w' keeps its data in an external file, which is not supported: save the model with its weights inside",
    );
  });

  it('data that does not match the dims', () => {
    const spec = convSpec();
    spec.initializers![0] = { name: 'w', dims: [3, 2, 3, 3], data: new Float32Array(53) };
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "initializer 'w': raw_data holds 212 bytes, but [3,2,3,3] needs 216",
    );
    spec.initializers![0] = { name: 'w', dims: [3, 2, 3, 3], data: new Float32Array(55), encoding: 'typed' };
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "initializer 'w': float_data holds 55 values, but [3,2,3,3] needs 54",
    );
    spec.initializers![0] = { name: 'w', dims: [3, 2, 3, 3] };
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "initializer 'w' [3,2,3,3] has no data (neither raw_data nor float_data)",
    );
    spec.initializers![0] = { name: 'w', dims: [3, -2, 3, 3], data: new Float32Array(54) };
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "initializer 'w': dimension 1 is -2 in [3,-2,3,3]; dimensions cannot be negative",
    );
  });

  it('an initializer declaring 10^12 elements is refused from its dims, without allocating', () => {
    const spec = convSpec();
    // A few bytes of data under dims that claim 4 TB: the parser must not believe the dims enough to allocate.
    spec.initializers![0] = { name: 'w', dims: [1_000_000, 1_000_000], rawData: new Uint8Array(8) };
    const bytes = buildModel(spec);
    expect(bytes.length).toBeLessThan(400);
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const message = errorOf(() => parseOnnx(bytes)).message;
    const ms = performance.now() - t0;
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(message).toBe(
      "initializer 'w' declares [1000000,1000000] = 1.000e+12 elements, more than the limit of 268435456",
    );
    expect(ms).toBeLessThan(50);
    expect(grown).toBeLessThan(1 << 20);
  });

  it('the per-tensor and total size limits are options', () => {
    const spec = convSpec(); // w: 54 floats = 216 bytes, b: 3 floats = 12 bytes
    expect(errorOf(() => parseOnnx(buildModel(spec), { maxElements: 50 })).message).toBe(
      "initializer 'w' declares [3,2,3,3] = 5.400e+1 elements, more than the limit of 50",
    );
    expect(errorOf(() => parseOnnx(buildModel(spec), { maxTotalBytes: 220 })).message).toBe(
      "initializer 'b' (12 B) takes the constant tensors past the limit of 220 B",
    );
    expect(parseOnnx(buildModel(spec), { maxElements: 54, maxTotalBytes: 228 }).initializers.size).toBe(2);
  });

  it('IR version 2, opset 6 and opset 22', () => {
    expect(errorOf(() => parseOnnx(buildModel({ ...convSpec(), irVersion: 2 }))).message).toBe(
      'ONNX IR version 2 is not supported (need 3 or later; re-export the model)',
    );
    expect(errorOf(() => parseOnnx(buildModel({ ...convSpec(), opset: 6 }))).message).toBe(
      'ONNX opset 6 is not supported (supported: opsets 7 to 21)',
    );
    expect(errorOf(() => parseOnnx(buildModel({ ...convSpec(), opset: 22 }))).message).toBe(
      'ONNX opset 22 is not supported (supported: opsets 7 to 21)',
    );
    const noDefault = buildModelProto(convSpec());
    noDefault.opsetImport = [{ domain: 'com.microsoft', version: 1 }] as typeof noDefault.opsetImport;
    expect(errorOf(() => parseOnnx(encodeModel(noDefault))).message).toBe(
      'the model declares no opset for the default ONNX domain',
    );
  });

  it('bad Constant nodes', () => {
    const spec = convSpec();
    spec.outputs.push({ name: 'c' });
    spec.nodes.push({ name: 'c', opType: 'Constant', inputs: [], outputs: ['c'], attrs: { value_string: 'hi' } });
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "Constant node 'c' uses attribute 'value_string'; only value, value_float(s) and value_int(s) are supported",
    );
    spec.nodes[1]!.attrs = { value: { name: '', dims: [2], data: [1, 2], type: 'float64' } };
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "attribute 'value' of node 'c' has data type DOUBLE (11); only FLOAT (1) and INT64 (7) tensors are supported",
    );
    spec.nodes[1]!.attrs = {};
    expect(errorOf(() => parseOnnx(buildModel(spec))).message).toBe(
      "Constant node 'c' needs exactly one value attribute, has []",
    );
  });
});

describe('scripts/weights.mjs', () => {
  const temps: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'pixelprop-weights-'));
    temps.push(d);
    return d;
  };
  let server: Server;
  let base = '';
  let closedPort = 0;
  const modelBytes = readFileSync(realModelPath);
  const synsetBytes = readFileSync(SYNSET_PATH);
  /** A read-only folder holding both files, as ../shared/weights is laid beside a clone. */
  const readOnlyShared = (): string => {
    const d = tempDir();
    for (const [name, bytes] of [['squeezenet1.1.onnx', modelBytes], ['synset.txt', synsetBytes]] as const) {
      writeFileSync(join(d, name), bytes);
      chmodSync(join(d, name), 0o444);
    }
    return d;
  };

  beforeAll(async () => {
    // A local stand-in for GitHub: files, a redirect, a 404, and a connection that dies halfway.
    server = createServer((req, res) => {
      if (req.url === '/model.onnx') res.end(modelBytes);
      else if (req.url === '/synset.txt') res.end(synsetBytes);
      else if (req.url === '/moved') {
        res.writeHead(302, { location: '/model.onnx' });
        res.end();
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': String(modelBytes.length) });
        res.write(modelBytes.subarray(0, 100_000), () => res.destroy());
      } else if (req.url === '/html') res.end('<!DOCTYPE html>' + 'x'.repeat(2 << 20));
      else {
        res.writeHead(404, 'Not Found');
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A port nothing listens on: open one, note it, close it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  it('copies from the shared folder, then finds the files present', async () => {
    const dir = tempDir();
    const sharedWeights = readOnlyShared();
    const first = await ensureWeights({ quiet: true, weightsDir: dir, sharedDir: sharedWeights });
    expect(first.sources).toEqual({ model: 'copied', labels: 'copied' });
    expect(readFileSync(first.model).equals(modelBytes)).toBe(true);
    expect(statSync(first.model).mode & 0o200).toBeTruthy(); // writable, unlike the read-only shared copy
    expect(readdirSync(dir).sort()).toEqual(['squeezenet1.1.json', 'squeezenet1.1.onnx', 'synset.txt']);
    const second = await ensureWeights({ quiet: true, weightsDir: dir, sharedDir: sharedWeights });
    expect(second.sources).toEqual({ model: 'present', labels: 'present' });
  });

  it('downloads (following a redirect) when there is no shared folder', async () => {
    const dir = tempDir();
    const got = await ensureWeights({
      quiet: true,
      weightsDir: dir,
      sharedDir: join(dir, 'no-such-folder'),
      modelUrl: `${base}/moved`,
      labelsUrl: `${base}/synset.txt`,
    });
    expect(got.sources).toEqual({ model: 'downloaded', labels: 'downloaded' });
    expect(readFileSync(got.model).equals(modelBytes)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['squeezenet1.1.json', 'squeezenet1.1.onnx', 'synset.txt']);
  });

  it('offline, HTTP errors, a cut connection and an HTML page fail with one line and leave no file', async () => {
    const cases: [string, RegExp][] = [
      [`http://127.0.0.1:${closedPort}/model.onnx`, /: connect ECONNREFUSED 127\.0\.0\.1:\d+; to set up/],
      [`${base}/missing`, /: HTTP 404 Not Found; to set up/],
      [`${base}/cut`, /: (other side closed|terminated|.*closed.*); to set up/],
    ];
    for (const [url, reason] of cases) {
      const dir = tempDir();
      const err = await ensureWeights({ quiet: true, weightsDir: dir, sharedDir: null, modelUrl: url }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err, url).toBeInstanceOf(Error);
      expect(err!.message).toMatch(new RegExp(`^cannot download ${url.replace(/[.?]/g, '\\$&')}`));
      expect(err!.message).toMatch(reason);
      expect(err!.message).toContain(`; to set up by hand, download ${url} as ${join(dir, 'squeezenet1.1.onnx')} and `);
      expect(err!.message).toMatch(/ and https:\/\/\S+\/synset\.txt as \S+\/synset\.txt$/);
      expect(readdirSync(dir), url).toEqual([]);
    }
    const dir = tempDir();
    const html = await ensureWeights({ quiet: true, weightsDir: dir, sharedDir: null, modelUrl: `${base}/html` }).then(
      () => null,
      (e: Error) => e,
    );
    expect(html!.message).toMatch(/^squeezenet1\.1\.onnx from .*\/html does not start like a protobuf \(ONNX\) file; to set up by hand, download /);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names only the files still missing', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'synset.txt'), synsetBytes);
    const err = await ensureWeights({ quiet: true, weightsDir: dir, sharedDir: null, modelUrl: `${base}/missing` }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err!.message).toMatch(new RegExp(`; to set up by hand, download ${base}/missing as ${join(dir, 'squeezenet1.1.onnx')}$`));
  });

  it('as a command: exit code 1 and one line on stderr when offline', () => {
    const dir = tempDir();
    const run = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'weights.mjs')], {
      env: {
        ...process.env,
        PIXELPROP_WEIGHTS_DIR: dir,
        PIXELPROP_SHARED_WEIGHTS: '',
        PIXELPROP_MODEL_URL: `http://127.0.0.1:${closedPort}/squeezenet1.1-7.onnx`,
      },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/^cannot download http:\/\/127\.0\.0\.1:\d+\/squeezenet1\.1-7\.onnx: connect ECONNREFUSED/);
    // The line ends saying what to fetch and where to put it: both files, both places.
    expect(lines[0]).toContain(`to set up by hand, download http://127.0.0.1:${closedPort}/squeezenet1.1-7.onnx as ${join(dir, 'squeezenet1.1.onnx')} and `);
    expect(lines[0]).toMatch(new RegExp(`synset\\.txt as ${join(dir, 'synset.txt').replace(/[.]/g, '\\.')}$`));
    expect(existsSync(join(dir, 'squeezenet1.1.onnx'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
