/**
 * Writes small ONNX models for tests: `buildModel(spec)` encodes a model described in plain data, and
 * `squeezenetLikeModel(opts)` writes a miniature SqueezeNet (stem conv, pool, one Fire module, classifier conv, pooled
 * head) with seeded random weights, in the variants real exporters produce (IR 3 with weights listed as inputs or
 * IR 7+; raw or typed tensor data; GlobalAveragePool or the ONNX zoo's AveragePool head; Flatten or Reshape; batch 1
 * or symbolic). It lives in src/ (not test/) so that tests of the parser and of the model builder share it; it
 * writes bytes and allocates no GPU resources.
 */
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import { PixelpropError } from '../../gpu/errors.js';
import { Rng } from '../../util/rng.js';

const { onnx } = onnxProto;

/** Element types the writer can store (anything else by its ONNX DataType number, with `rawData` given). */
export type FixtureDataType = 'float32' | 'int64' | 'float64' | 'int32' | 'float16' | number;

const DATA_TYPE: Record<Exclude<FixtureDataType, number>, number> = {
  float32: 1,
  int32: 6,
  int64: 7,
  float16: 10,
  float64: 11,
};

export interface TensorSpec {
  name: string;
  dims: number[];
  /** The values (float16: the raw 16-bit patterns). Omit to write a tensor without data (for malformed files). */
  data?: Float32Array | ArrayLike<number>;
  /** Default 'float32'. */
  type?: FixtureDataType;
  /** 'raw' (raw_data bytes, the default, as PyTorch writes) or 'typed' (float_data / int64_data / … fields). */
  encoding?: 'raw' | 'typed';
  /** Written as raw_data verbatim, instead of `data` (for malformed-file tests). */
  rawData?: Uint8Array;
  /** Mark the tensor as stored in an external file (data_location = EXTERNAL). */
  external?: boolean;
}

/** An attribute whose ONNX type cannot be guessed from the JavaScript value (1 would otherwise be an INT). */
export interface TypedAttr {
  attrType: 'float' | 'floats' | 'int' | 'ints';
  value: number | number[];
}
export const floatAttr = (value: number): TypedAttr => ({ attrType: 'float', value });
export const floatsAttr = (value: number[]): TypedAttr => ({ attrType: 'floats', value });

/**
 * An attribute value: an integer → INT, any other number → FLOAT, a number array → INTS when all are integers (and
 * when empty) else FLOATS, strings → STRING(S), a TensorSpec → TENSOR, or a TypedAttr to choose the type.
 */
export type AttrSpec = number | number[] | string | string[] | TensorSpec | TypedAttr;

export interface ValueSpec {
  name: string;
  /** Numbers for fixed sizes, strings for symbolic ones, null for a dimension with neither; omit for no shape. */
  dims?: (number | string | null)[];
  /** ONNX DataType number; default 1 (FLOAT). */
  elemType?: number;
}

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  /** Omit (or '') to leave the name empty, as some exporters do. */
  name?: string;
  domain?: string;
  attrs?: Record<string, AttrSpec>;
}

export interface ModelSpec {
  /** Default 7. */
  irVersion?: number;
  /** Version of the default domain's opset; default 13. */
  opset?: number;
  /** More opset imports (other domains). */
  extraOpsets?: { domain: string; version: number }[];
  producer?: string;
  graphName?: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers?: TensorSpec[];
  nodes: NodeSpec[];
  /** List every initializer among the graph inputs too, as IR 3 files do. */
  initializersAsInputs?: boolean;
}

function dataTypeOf(type: FixtureDataType | undefined): number {
  if (type === undefined) return DATA_TYPE.float32;
  return typeof type === 'number' ? type : DATA_TYPE[type];
}

/** Little-endian raw_data for the element types the writer knows. */
function rawBytes(dataType: number, data: ArrayLike<number>): Uint8Array {
  const size: Record<number, number> = { 1: 4, 6: 4, 7: 8, 10: 2, 11: 8 };
  const bytes = size[dataType];
  if (bytes === undefined) throw new PixelpropError(`fixture: no raw encoding for data type ${dataType}; pass rawData`);
  const out = new Uint8Array(data.length * bytes);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (dataType === 1) view.setFloat32(4 * i, v, true);
    else if (dataType === 6) view.setInt32(4 * i, v, true);
    else if (dataType === 7) view.setBigInt64(8 * i, BigInt(v), true);
    else if (dataType === 10) view.setUint16(2 * i, v, true);
    else view.setFloat64(8 * i, v, true);
  }
  return out;
}

export function tensorProto(spec: TensorSpec): P.ITensorProto {
  const dataType = dataTypeOf(spec.type);
  const t: P.ITensorProto = { name: spec.name, dims: spec.dims.slice(), dataType };
  if (spec.external) {
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [{ key: 'location', value: `${spec.name}.bin` }];
  }
  if (spec.rawData) t.rawData = spec.rawData;
  else if (spec.data) {
    if ((spec.encoding ?? 'raw') === 'raw') t.rawData = rawBytes(dataType, spec.data);
    else {
      const values = Array.from(spec.data);
      if (dataType === 1) t.floatData = values;
      else if (dataType === 7) t.int64Data = values;
      else if (dataType === 11) t.doubleData = values;
      else if (dataType === 6 || dataType === 10) t.int32Data = values; // ONNX keeps float16 bits in int32_data
      else throw new PixelpropError(`fixture: no typed encoding for data type ${dataType}`);
    }
  }
  return t;
}

function attrProto(name: string, v: AttrSpec): P.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  const text = new TextEncoder();
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: text.encode(v) };
  if (Array.isArray(v)) {
    if (v.every((x): x is number => typeof x === 'number')) {
      return v.every(Number.isInteger) ? { name, type: T.INTS, ints: v } : { name, type: T.FLOATS, floats: v };
    }
    return { name, type: T.STRINGS, strings: (v as string[]).map((s) => text.encode(s)) };
  }
  if ('attrType' in v) {
    switch (v.attrType) {
      case 'float':
        return { name, type: T.FLOAT, f: v.value as number };
      case 'floats':
        return { name, type: T.FLOATS, floats: v.value as number[] };
      case 'int':
        return { name, type: T.INT, i: v.value as number };
      case 'ints':
        return { name, type: T.INTS, ints: v.value as number[] };
    }
  }
  return { name, type: T.TENSOR, t: tensorProto(v) };
}

function valueInfo(v: ValueSpec): P.IValueInfoProto {
  const tensorType: P.TypeProto.ITensor = { elemType: v.elemType ?? 1 };
  if (v.dims) {
    tensorType.shape = {
      dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
    };
  }
  return { name: v.name, type: { tensorType } };
}

/** The ModelProto of a spec, as a message that tests may still edit before encoding. */
export function buildModelProto(spec: ModelSpec): P.ModelProto {
  const initializers = spec.initializers ?? [];
  const inputs = spec.inputs.map(valueInfo);
  if (spec.initializersAsInputs) {
    for (const t of initializers) inputs.push(valueInfo({ name: t.name, dims: t.dims, elemType: dataTypeOf(t.type) }));
  }
  return onnx.ModelProto.create({
    irVersion: spec.irVersion ?? 7,
    producerName: spec.producer ?? 'pixelprop-fixture',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }, ...(spec.extraOpsets ?? [])],
    graph: {
      name: spec.graphName ?? 'fixture',
      input: inputs,
      output: spec.outputs.map(valueInfo),
      initializer: initializers.map(tensorProto),
      node: spec.nodes.map((n) => ({
        name: n.name ?? '',
        opType: n.opType,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attrProto(k, v)),
      })),
    },
  });
}

export function encodeModel(model: P.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** The encoded bytes of the model a spec describes. */
export function buildModel(spec: ModelSpec): Uint8Array {
  return encodeModel(buildModelProto(spec));
}

export interface SqueezeNetLikeOptions {
  /** Input height and width (a number for square); default 32. At least 7 (the stem and the pool need 3×3). */
  size?: number | [number, number];
  /** Input channels; default 3. */
  channels?: number;
  /** Output classes K; default 10. */
  classes?: number;
  /** Channels of the stem conv, of the Fire module's squeeze and of each expand branch; default 16, 8, 16. */
  stem?: number;
  squeeze?: number;
  expand?: number;
  /**
   * 'global': GlobalAveragePool; 'avgpool': AveragePool with the kernel = the spatial size, as in the ONNX zoo's
   * squeezenet1.1-7. Default 'global'.
   */
  head?: 'global' | 'avgpool';
  /** 'flatten': Flatten(axis 1); 'reshape-1': Reshape to [1,-1]; 'reshape0': Reshape to [0,-1]. Default 'flatten'. */
  flatten?: 'flatten' | 'reshape-1' | 'reshape0';
  /** Where a Reshape's shape comes from: an int64 initializer (default) or a Constant node. */
  reshapeFrom?: 'initializer' | 'constant';
  /**
   * How the max pool rounds up: 'ceil_mode' (attribute, opset ≥ 10) or 'pads' [0,0,1,1] (what opset-7 exports such as
   * the shared squeezenet1.1 do). Both give ceil((n − 3)/2) + 1 here. Default: 'ceil_mode' from opset 10 on.
   */
  maxPoolRounding?: 'ceil_mode' | 'pads';
  /** Default 3. */
  irVersion?: number;
  /** Default 7 for IR 3, else 13. */
  opset?: number;
  /** Default: true for IR 3 (as IR 3 requires), false otherwise. */
  initializersAsInputs?: boolean;
  /** Tensor data encoding; default 'raw'. */
  encoding?: 'raw' | 'typed';
  /** Declared batch: a number, or a symbolic name such as 'N'. Default 1. */
  batch?: number | string;
  /** Seed of the weights; default 1. */
  seed?: number;
  inputName?: string;
  outputName?: string;
}

function convOut(n: number, k: number, stride: number, padBegin: number, padEnd: number, ceil: boolean): number {
  const span = n + padBegin + padEnd - k;
  return (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

/** The spec behind `squeezenetLikeModel`, for tests that want to tweak it or read its weights back. */
export function squeezenetLikeSpec(opts: SqueezeNetLikeOptions = {}): ModelSpec {
  const [height, width] = typeof opts.size === 'number' ? [opts.size, opts.size] : (opts.size ?? [32, 32]);
  if (height < 7 || width < 7) throw new PixelpropError(`fixture: input ${height}×${width} is too small (need ≥ 7)`);
  const channels = opts.channels ?? 3;
  const classes = opts.classes ?? 10;
  const stem = opts.stem ?? 16;
  const squeeze = opts.squeeze ?? 8;
  const expand = opts.expand ?? 16;
  const irVersion = opts.irVersion ?? 3;
  const opset = opts.opset ?? (irVersion <= 3 ? 7 : 13);
  const rounding = opts.maxPoolRounding ?? (opset >= 10 ? 'ceil_mode' : 'pads');
  if (rounding === 'ceil_mode' && opset < 10) throw new PixelpropError('fixture: MaxPool ceil_mode needs opset ≥ 10');
  const encoding = opts.encoding ?? 'raw';
  const batch = opts.batch ?? 1;
  const inputName = opts.inputName ?? 'data';
  const outputName = opts.outputName ?? 'scores';
  const rng = new Rng(opts.seed ?? 1);

  const initializers: TensorSpec[] = [];
  const nodes: NodeSpec[] = [];
  // He-normal weights keep activations O(1) through the ReLUs; small biases keep some units off, as trained nets do.
  const conv = (name: string, x: string, cin: number, cout: number, k: number, extra: Record<string, AttrSpec>) => {
    const fanIn = cin * k * k;
    initializers.push({
      name: `${name}_weight`,
      dims: [cout, cin, k, k],
      data: Float32Array.from(rng.normals(cout * fanIn, Math.sqrt(2 / fanIn))),
      encoding,
    });
    initializers.push({ name: `${name}_bias`, dims: [cout], data: Float32Array.from(rng.uniforms(cout, -0.1, 0.1)), encoding });
    nodes.push({
      name,
      opType: 'Conv',
      inputs: [x, `${name}_weight`, `${name}_bias`],
      outputs: [name],
      attrs: { kernel_shape: [k, k], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1, ...extra },
    });
    nodes.push({ name: `${name}_relu`, opType: 'Relu', inputs: [name], outputs: [`${name}_relu`] });
    return `${name}_relu`;
  };

  let x = conv('conv0', inputName, channels, stem, 3, { strides: [2, 2] });
  let h = convOut(height, 3, 2, 0, 0, false);
  let w = convOut(width, 3, 2, 0, 0, false);

  const poolAttrs: Record<string, AttrSpec> = { kernel_shape: [3, 3], strides: [2, 2] };
  if (rounding === 'ceil_mode') poolAttrs.ceil_mode = 1;
  else poolAttrs.pads = [0, 0, 1, 1];
  nodes.push({ name: 'pool0', opType: 'MaxPool', inputs: [x], outputs: ['pool0'], attrs: poolAttrs });
  x = 'pool0';
  h = convOut(h, 3, 2, 0, rounding === 'pads' ? 1 : 0, rounding === 'ceil_mode');
  w = convOut(w, 3, 2, 0, rounding === 'pads' ? 1 : 0, rounding === 'ceil_mode');

  // Fire module: squeeze 1×1, then two expand branches (1×1 and 3×3 pad 1) side by side on the channel axis.
  const s = conv('fire_squeeze1x1', x, stem, squeeze, 1, {});
  const e1 = conv('fire_expand1x1', s, squeeze, expand, 1, {});
  const e3 = conv('fire_expand3x3', s, squeeze, expand, 3, { pads: [1, 1, 1, 1] });
  nodes.push({ name: 'fire_concat', opType: 'Concat', inputs: [e1, e3], outputs: ['fire_concat'], attrs: { axis: 1 } });

  // Dropout is the identity at inference; before opset 12 its ratio is an attribute, from 12 on an optional input.
  nodes.push({
    name: 'dropout',
    opType: 'Dropout',
    inputs: ['fire_concat'],
    outputs: ['dropout'],
    attrs: opset < 12 ? { ratio: floatAttr(0.5) } : {},
  });
  x = conv('classifier', 'dropout', 2 * expand, classes, 1, {});

  if ((opts.head ?? 'global') === 'global') {
    nodes.push({ name: 'pool_head', opType: 'GlobalAveragePool', inputs: [x], outputs: ['pool_head'] });
  } else {
    nodes.push({
      name: 'pool_head',
      opType: 'AveragePool',
      inputs: [x],
      outputs: ['pool_head'],
      attrs: { kernel_shape: [h, w], strides: [1, 1], pads: [0, 0, 0, 0] },
    });
  }

  const flatten = opts.flatten ?? 'flatten';
  if (flatten === 'flatten') {
    nodes.push({ name: 'flatten', opType: 'Flatten', inputs: ['pool_head'], outputs: [outputName], attrs: { axis: 1 } });
  } else {
    const shape = flatten === 'reshape-1' ? [1, -1] : [0, -1];
    const shapeSpec: TensorSpec = { name: 'reshape_shape', dims: [2], data: shape, type: 'int64', encoding };
    if ((opts.reshapeFrom ?? 'initializer') === 'initializer') initializers.push(shapeSpec);
    else nodes.push({ name: 'reshape_shape', opType: 'Constant', inputs: [], outputs: ['reshape_shape'], attrs: { value: shapeSpec } });
    nodes.push({ name: 'reshape', opType: 'Reshape', inputs: ['pool_head', 'reshape_shape'], outputs: [outputName] });
  }

  return {
    irVersion,
    opset,
    graphName: 'squeezenet_like',
    inputs: [{ name: inputName, dims: [batch, channels, height, width] }],
    outputs: [{ name: outputName, dims: [batch, classes] }],
    initializers,
    nodes,
    initializersAsInputs: opts.initializersAsInputs ?? irVersion <= 3,
  };
}

/** A miniature SqueezeNet with seeded random weights, encoded; see SqueezeNetLikeOptions for the variants. */
export function squeezenetLikeModel(opts: SqueezeNetLikeOptions = {}): Uint8Array {
  return buildModel(squeezenetLikeSpec(opts));
}

export interface BatchNormNetOptions {
  /** Default 13 (BatchNormalization's attributes are the same from 9 to 15; 7 and 8 add `spatial`). */
  opset?: number;
  /** Input height and width; default 12. */
  size?: number;
  /** Declared batch; default 1. */
  batch?: number | string;
  seed?: number;
}

/**
 * A small network with a BatchNormalization in each place an exporter puts one (ResNet's, DenseNet's):
 *
 *   conv_a 3→8 3×3 (bias) → bn_a → relu_a ─┐
 *   conv_b 8→8 3×3 group 2 (no bias) → bn_b ┴ concat → bn_c → relu_c → conv_e 16→16 1×1 ─┬─ bn_e ─┐
 *                                                                                          └──────── add → global pool → flatten → fc
 *
 * bn_a and bn_b follow a conv alone (the fold-batchnorm pass folds them into its weights); bn_c follows a Concat and
 * bn_e a conv whose output is also read by the Add (both stay BatchNormalization nodes). Every normalization has
 * random statistics and affine parameters, so that none of them is the identity.
 */
export function batchNormNetSpec(opts: BatchNormNetOptions = {}): ModelSpec {
  const opset = opts.opset ?? 13;
  const size = opts.size ?? 12;
  const rng = new Rng(opts.seed ?? 5);
  const initializers: TensorSpec[] = [];
  const nodes: NodeSpec[] = [];
  const weight = (name: string, dims: number[], fanIn: number) =>
    initializers.push({ name, dims, data: Float32Array.from(rng.normals(dims.reduce((a, b) => a * b, 1), Math.sqrt(2 / fanIn))) });
  const conv = (name: string, x: string, cin: number, cout: number, k: number, opts2: { bias: boolean; group?: number }) => {
    const group = opts2.group ?? 1;
    weight(`${name}.weight`, [cout, cin / group, k, k], (cin / group) * k * k);
    if (opts2.bias) initializers.push({ name: `${name}.bias`, dims: [cout], data: Float32Array.from(rng.uniforms(cout, -0.2, 0.2)) });
    const p = (k - 1) / 2;
    nodes.push({
      name,
      opType: 'Conv',
      inputs: [x, `${name}.weight`, ...(opts2.bias ? [`${name}.bias`] : [])],
      outputs: [name],
      attrs: { kernel_shape: [k, k], pads: [p, p, p, p], group },
    });
    return name;
  };
  const bn = (name: string, x: string, c: number, epsilon?: number) => {
    initializers.push({ name: `${name}.weight`, dims: [c], data: Float32Array.from(rng.uniforms(c, 0.5, 1.5)) });
    initializers.push({ name: `${name}.bias`, dims: [c], data: Float32Array.from(rng.uniforms(c, -0.5, 0.5)) });
    initializers.push({ name: `${name}.running_mean`, dims: [c], data: Float32Array.from(rng.uniforms(c, -0.5, 0.5)) });
    initializers.push({ name: `${name}.running_var`, dims: [c], data: Float32Array.from(rng.uniforms(c, 0.3, 2)) });
    const attrs: Record<string, AttrSpec> = { momentum: floatAttr(0.9) };
    if (epsilon !== undefined) attrs.epsilon = floatAttr(epsilon);
    if (opset < 9) attrs.spatial = 1;
    nodes.push({ name, opType: 'BatchNormalization', inputs: [x, ...['weight', 'bias', 'running_mean', 'running_var'].map((p) => `${name}.${p}`)], outputs: [name], attrs });
    return name;
  };
  const relu = (x: string) => {
    nodes.push({ name: `${x}_relu`, opType: 'Relu', inputs: [x], outputs: [`${x}_relu`] });
    return `${x}_relu`;
  };
  const a = relu(bn('bn_a', conv('conv_a', 'input', 3, 8, 3, { bias: true }), 8));
  const b = bn('bn_b', conv('conv_b', a, 8, 8, 3, { bias: false, group: 2 }), 8, 1e-3);
  nodes.push({ name: 'concat', opType: 'Concat', inputs: [a, b], outputs: ['concat'], attrs: { axis: 1 } });
  const c = relu(bn('bn_c', 'concat', 16));
  const e = conv('conv_e', c, 16, 16, 1, { bias: true });
  nodes.push({ name: 'add', opType: 'Add', inputs: [e, bn('bn_e', e, 16)], outputs: ['add'] });
  nodes.push({ name: 'pool', opType: 'GlobalAveragePool', inputs: ['add'], outputs: ['pool'] });
  nodes.push({ name: 'flatten', opType: 'Flatten', inputs: ['pool'], outputs: ['flat'], attrs: { axis: 1 } });
  weight('fc.weight', [10, 16], 16);
  initializers.push({ name: 'fc.bias', dims: [10], data: Float32Array.from(rng.uniforms(10, -0.1, 0.1)) });
  nodes.push({ name: 'fc', opType: 'Gemm', inputs: ['flat', 'fc.weight', 'fc.bias'], outputs: ['logits'], attrs: { transB: 1 } });
  const batch = opts.batch ?? 1;
  return {
    irVersion: opset >= 9 ? 7 : 3,
    opset,
    graphName: 'batchnorm_net',
    inputs: [{ name: 'input', dims: [batch, 3, size, size] }],
    outputs: [{ name: 'logits', dims: [batch, 10] }],
    initializers,
    nodes,
    initializersAsInputs: opset < 9,
  };
}
