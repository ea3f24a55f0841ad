/**
 * ONNX file → OnnxGraph: decode the protobuf, then check everything the model builder relies on, so that a bad file
 * stops here with one line that names what is wrong, before any GPU buffer exists.
 *
 * What is checked, in order: the bytes decode as a ModelProto holding a graph with nodes; IR version ≥ 3; the default
 * domain's opset in [7, 21]; every node in the default domain and its op among the caller's supported ones (the model
 * passes the registry's, src/graph/ops/index.ts); every tensor (initializers,
 * Constant values, TENSOR attributes) FLOAT or INT64, stored in the file, with sane dims whose sizes stay within the
 * limits — checked on the declared dims *before* a byte is allocated, so a file that declares 10^12 elements costs
 * nothing; the data length matches the dims; every node input defined by a graph input, an initializer or a node;
 * no value written twice; no cycle. Nodes come back topologically sorted.
 *
 * The protobuf layer (onnx-proto's generated code over protobufjs 6) returns int64 fields as `Long` objects when the
 * `long` package is present and as plain numbers otherwise; `toInt` accepts both and refuses anything that a double
 * cannot hold exactly (|v| ≥ 2^53) instead of rounding it — but for INT64_MAX and INT64_MIN in int64 values, ONNX's
 * "unbounded" (a Slice's open end), which `toInt64Value` reads as ±Infinity.
 */
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import { PixelpropError, check, fmtBytes, fmtShape } from '../../gpu/errors.js';
import { checkFinite } from '../../util/finite.js';
import { type AttrValue, type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './ir.js';

// onnx-proto is CommonJS with `module.exports = { onnx }`: Node's ESM loader cannot see `onnx` as a named export,
// so take it from the default export (the module object).
const { onnx } = onnxProto;

export interface ParseOptions {
  /** The op types the caller can run; any other is refused, naming every unsupported op, before a tensor is decoded. */
  supportedOps?: readonly string[];
  /** Largest element count of one tensor (default 2^28: 1 GiB of float32). */
  maxElements?: number;
  /** Largest sum of the bytes of all constant tensors (default 1 GiB). */
  maxTotalBytes?: number;
}

export const MIN_OPSET = 7;
export const MAX_OPSET = 21;
export const MIN_IR_VERSION = 3;

const DEFAULT_MAX_ELEMENTS = 2 ** 28;
const DEFAULT_MAX_TOTAL_BYTES = 2 ** 30;

const FLOAT = 1; // TensorProto.DataType.FLOAT
const INT64 = 7; // TensorProto.DataType.INT64

/** ONNX element types under the names this project prints (FLOAT is a 32-bit float, hence 'float32'). */
const ELEM_TYPE_NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

/** 'DOUBLE (11)': the name the ONNX spec uses, with the number in the file. */
function dataTypeName(t: number): string {
  const name = (onnx.TensorProto.DataType as unknown as Record<number, string | undefined>)[t];
  return name ? `${name} (${t})` : `unknown data type ${t}`;
}

function attrTypeName(t: number): string {
  const name = (onnx.AttributeProto.AttributeType as unknown as Record<number, string | undefined>)[t];
  return name ?? `unknown type ${t}`;
}

/**
 * An int64 from the decoder as an exact JavaScript number. protobufjs gives a `Long` ({low, high, unsigned}, two
 * 32-bit halves) or a number; high·2^32 + low is exact whenever the true value is below 2^53 in magnitude, and
 * Number.isSafeInteger rejects the rest (rounding cannot bring a larger value back under 2^53).
 */
export function toInt(v: unknown, what: string | (() => string)): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = Number(v);
  else if (v !== null && typeof v === 'object' && 'low' in v && 'high' in v) {
    const { low, high, unsigned } = v as { low: number; high: number; unsigned?: boolean };
    n = (unsigned ? high >>> 0 : high | 0) * 2 ** 32 + (low >>> 0);
  } else {
    throw new PixelpropError(`${typeof what === 'string' ? what : what()}: expected an integer, got ${String(v)}`);
  }
  if (!Number.isSafeInteger(n)) {
    throw new PixelpropError(
      `${typeof what === 'string' ? what : what()}: integer ${n} is beyond 2^53 and cannot be represented exactly`,
    );
  }
  return n;
}

/**
 * Whether the top-level protobuf fields of `b` run past its end: walks tag, wire type and length (varint, 64-bit,
 * length-delimited, 32-bit) without decoding what they hold. False for anything it cannot walk (not a cut, just
 * not a model).
 */
function endsInsideAField(b: Uint8Array): boolean {
  let i = 0;
  const varint = (): number | null => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (i >= b.length) return null;
      const byte = b[i++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    return Number.NaN;
  };
  while (i < b.length) {
    const tag = varint();
    if (tag === null) return true;
    const wireType = tag & 7;
    if (wireType === 0) {
      if (varint() === null) return true;
    } else if (wireType === 1 || wireType === 5) {
      i += wireType === 1 ? 8 : 4;
      if (i > b.length) return true;
    } else if (wireType === 2) {
      const length = varint();
      if (length === null) return true;
      i += length;
      if (i > b.length) return true;
    } else {
      return false;
    }
  }
  return false;
}

/**
 * An int64 *value* (tensor data, INTS attributes): as `toInt`, except ONNX's "unbounded" sentinels — INT64_MAX, and
 * INT64_MIN or −INT64_MAX — which PyTorch writes for an open slice end (x[:, 2:], x[::-1]), read as ±Infinity: the
 * only meaning they have, and one Slice's clamping handles exactly. (A dimension or a scalar INT has no such meaning
 * and stays refused.)
 */
export function toInt64Value(v: unknown, what: string | (() => string)): number {
  if (v !== null && typeof v === 'object' && 'low' in v && 'high' in v && !(v as { unsigned?: boolean }).unsigned) {
    const { low, high } = v as { low: number; high: number };
    if ((high | 0) === 0x7fffffff && low >>> 0 === 0xffffffff) return Infinity;
    if ((high | 0) === -0x80000000 && (low >>> 0 === 0 || low >>> 0 === 1)) return -Infinity;
  }
  if (typeof v === 'number' && Math.abs(v) >= 2 ** 63) return v > 0 ? Infinity : -Infinity; // the sentinels, rounded
  if (typeof v === 'string' && /^-?922337203685477580[7-8]$/.test(v)) return v.startsWith('-') ? -Infinity : Infinity;
  return toInt(v, what);
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function decodeModel(bytes: Uint8Array): P.ModelProto {
  if (bytes.length === 0) throw new PixelpropError('empty file: not an ONNX model');
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    const reason = e instanceof Error ? firstLine(e.message) : String(e);
    // protobufjs says 'index out of range' when a field runs past the end of the bytes: the usual sign of a cut file.
    const hint = reason.startsWith('index out of range') ? '; the file looks truncated' : '';
    throw new PixelpropError(`not an ONNX model (protobuf decode failed: ${reason}${hint})`);
  }
}

/** Running total of the bytes that constant tensors will take, checked before each allocation. */
interface Budget {
  maxElements: number;
  maxTotalBytes: number;
  totalBytes: number;
}

/**
 * Reads and checks a TensorProto. Everything about the size is decided from the declared dims and the stored byte
 * counts; the copy happens last, when the size is known to be allowed and to match the data.
 */
function readTensor(t: P.ITensorProto, where: string, budget: Budget): OnnxTensor {
  const name = t.name ?? '';
  const dataType = t.dataType ?? 0;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
    throw new PixelpropError(
      `${where} keeps its data in an external file, which is not supported: save the model with its weights inside`,
    );
  }
  if (t.segment) throw new PixelpropError(`${where} is a segment of a larger tensor, which is not supported`);
  if (dataType !== FLOAT && dataType !== INT64) {
    throw new PixelpropError(
      `${where} has data type ${dataTypeName(dataType)}; only FLOAT (1) and INT64 (7) tensors are supported`,
    );
  }

  const dims = (t.dims ?? []).map((d, i) => toInt(d, () => `${where}: dimension ${i}`));
  let elements = 1;
  for (const [i, d] of dims.entries()) {
    check(d >= 0, () => `${where}: dimension ${i} is ${d} in ${fmtShape(dims)}; dimensions cannot be negative`);
    elements *= d;
  }
  // The product of safe integers can leave the safe range; it is still far above the limit then, which is all we need.
  check(
    elements <= budget.maxElements,
    () => `${where} declares ${fmtShape(dims)} = ${elements.toExponential(3)} elements, more than the limit of ${budget.maxElements}`,
  );
  const elemSize = dataType === FLOAT ? 4 : 8;
  const byteCount = elements * elemSize;
  check(
    budget.totalBytes + byteCount <= budget.maxTotalBytes,
    () =>
      `${where} (${fmtBytes(byteCount)}) takes the constant tensors past the limit of ${fmtBytes(budget.maxTotalBytes)}`,
  );

  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const typedLength = dataType === FLOAT ? (t.floatData?.length ?? 0) : (t.int64Data?.length ?? 0);
  const typedField = dataType === FLOAT ? 'float_data' : 'int64_data';
  if (raw && typedLength > 0) throw new PixelpropError(`${where} has both raw_data and ${typedField}`);
  if (raw) {
    check(
      raw.length === byteCount,
      () => `${where}: raw_data holds ${raw.length} bytes, but ${fmtShape(dims)} needs ${byteCount}`,
    );
  } else {
    check(
      typedLength === elements,
      () =>
        typedLength === 0
          ? `${where} ${fmtShape(dims)} has no data (neither raw_data nor ${typedField})`
          : `${where}: ${typedField} holds ${typedLength} values, but ${fmtShape(dims)} needs ${elements}`,
    );
  }
  budget.totalBytes += byteCount;

  if (dataType === FLOAT) {
    const data = new Float32Array(elements);
    if (raw) copyLittleEndianFloats(raw, data);
    else data.set(t.floatData!);
    checkFinite(data, where, '; pixelprop computes with finite numbers only (see src/util/finite.ts)');
    return { name, dims, type: 'float32', data };
  }
  const data = new Array<number>(elements);
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < elements; i++) {
      // Two 32-bit halves, combined the way toInt combines a Long (low unsigned, high signed).
      data[i] = toInt64Value({ low: view.getUint32(8 * i, true), high: view.getInt32(8 * i + 4, true) }, () => `${where}[${i}]`);
    }
  } else {
    for (let i = 0; i < elements; i++) data[i] = toInt64Value(t.int64Data![i], () => `${where}[${i}]`);
  }
  return { name, dims, type: 'int64', data };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * raw_data is little-endian float32 at whatever byte offset the field had in the file, so a Float32Array view on it
 * may be misaligned (and would alias the file's buffer): copy the bytes into a fresh, aligned array instead.
 */
function copyLittleEndianFloats(raw: Uint8Array, out: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(raw);
    return;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
}

const utf8 = new TextDecoder('utf-8');

function readAttr(a: P.IAttributeProto, where: string, budget: Budget): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type ?? 0) {
    case T.FLOAT:
      return a.f ?? 0;
    case T.INT:
      return toInt(a.i ?? 0, where);
    case T.STRING:
      return utf8.decode(a.s ?? new Uint8Array(0));
    case T.TENSOR:
      check(a.t, `${where} is a TENSOR attribute without a tensor`);
      return readTensor(a.t, where, budget);
    case T.FLOATS:
      return Array.from(a.floats ?? []);
    case T.INTS:
      return (a.ints ?? []).map((v, i) => toInt64Value(v, `${where}[${i}]`));
    case T.STRINGS:
      return (a.strings ?? []).map((s) => utf8.decode(s));
    case T.UNDEFINED:
      throw new PixelpropError(`${where} has no attribute type (files older than IR version 3 omit it)`);
    default:
      throw new PixelpropError(`${where} has type ${attrTypeName(a.type!)}, which is not supported`);
  }
}

/**
 * A Constant node's value, whichever attribute the file used (value, value_float(s), value_int(s)), as one OnnxTensor
 * under `attrs.value`: the builder then sees a single form. Opset 12 added the scalar/list forms.
 */
function constantValue(attrs: Record<string, AttrValue>, node: string, output: string): OnnxTensor {
  const keys = Object.keys(attrs);
  check(keys.length === 1, () => `Constant node '${node}' needs exactly one value attribute, has [${keys.join(', ')}]`);
  const key = keys[0]!;
  const v = attrs[key]!;
  switch (key) {
    case 'value':
      check(typeof v === 'object' && !Array.isArray(v), `Constant node '${node}': attribute 'value' is not a tensor`);
      return { ...v, name: output };
    case 'value_float':
      check(typeof v === 'number', `Constant node '${node}': value_float is not a FLOAT`);
      return { name: output, dims: [], type: 'float32', data: Float32Array.of(v) };
    case 'value_floats':
      check(Array.isArray(v) && v.every((x) => typeof x === 'number'), `Constant node '${node}': value_floats is not FLOATS`);
      return { name: output, dims: [v.length], type: 'float32', data: Float32Array.from(v as number[]) };
    case 'value_int':
      check(typeof v === 'number', `Constant node '${node}': value_int is not an INT`);
      return { name: output, dims: [], type: 'int64', data: [v] };
    case 'value_ints':
      check(Array.isArray(v) && v.every((x) => typeof x === 'number'), `Constant node '${node}': value_ints is not INTS`);
      return { name: output, dims: [v.length], type: 'int64', data: (v as number[]).slice() };
    default:
      throw new PixelpropError(
        `Constant node '${node}' uses attribute '${key}'; only value, value_float(s) and value_int(s) are supported`,
      );
  }
}

function readValueInfo(vi: P.IValueInfoProto, where: string): OnnxValueInfo {
  const name = vi.name ?? '';
  const tensorType = vi.type?.tensorType;
  check(tensorType, () => `${where} '${name}' is not a tensor (sequences, maps and optionals are not supported)`);
  const elem = tensorType.elemType ?? 0;
  const elemType = ELEM_TYPE_NAMES[elem] ?? `type ${elem}`;
  const dims = (tensorType.shape?.dim ?? []).map((d, i): number | string => {
    if (d.dimValue != null) {
      const v = toInt(d.dimValue, () => `${where} '${name}': dimension ${i}`);
      check(v >= 0, () => `${where} '${name}': dimension ${i} is ${v}; dimensions cannot be negative`);
      return v;
    }
    if (d.dimParam) return d.dimParam;
    return '?';
  });
  return { name, dims, elemType };
}

function isDefaultDomain(domain: string | null | undefined): boolean {
  return !domain || domain === 'ai.onnx';
}

/** Decodes and validates an ONNX model; see the file comment for what is checked. */
/**
 * A serialized TensorProto on its own (the ONNX test-data layout: test_data_set_0/input_0.pb, output_0.pb), read with
 * the same checks as an initializer.
 */
export function parseTensorProto(bytes: Uint8Array, what = 'tensor file', options: ParseOptions = {}): OnnxTensor {
  check(bytes.length > 0, () => `${what} is empty: not an ONNX TensorProto`);
  let t: P.TensorProto;
  try {
    t = onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new PixelpropError(`${what} is not an ONNX TensorProto (protobuf decode failed: ${e instanceof Error ? firstLine(e.message) : String(e)})`);
  }
  const budget: Budget = {
    maxElements: options.maxElements ?? DEFAULT_MAX_ELEMENTS,
    maxTotalBytes: options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
    totalBytes: 0,
  };
  return readTensor(t, `${what} ('${t.name || 'unnamed'}')`, budget);
}

export function parseOnnx(bytes: Uint8Array, options: ParseOptions = {}): OnnxGraph {
  const budget: Budget = {
    maxElements: options.maxElements ?? DEFAULT_MAX_ELEMENTS,
    maxTotalBytes: options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
    totalBytes: 0,
  };
  const model = decodeModel(bytes);
  const graph = model.graph;
  // protobufjs decodes a file cut at a field boundary (or inside a string) without complaint. Exporters write the
  // graph after the model's header fields (ir_version, producer, …), so a header without a graph is a cut file.
  check(graph, () => {
    const header = Object.prototype.hasOwnProperty.call(model, 'irVersion') || Boolean(model.producerName);
    return endsInsideAField(bytes) || header
      ? `not a complete ONNX model: the file ends after ${bytes.length} bytes, before its graph; it looks truncated`
      : 'not an ONNX model (it decodes as protobuf but holds no graph)';
  });

  const irVersion = toInt(model.irVersion ?? 0, 'ir_version');
  check(
    irVersion >= MIN_IR_VERSION,
    () => `ONNX IR version ${irVersion} is not supported (need ${MIN_IR_VERSION} or later; re-export the model)`,
  );

  const defaultOpsets = (model.opsetImport ?? []).filter((o) => isDefaultDomain(o.domain));
  check(defaultOpsets.length > 0, 'the model declares no opset for the default ONNX domain');
  const opsetVersions = [...new Set(defaultOpsets.map((o) => toInt(o.version ?? 0, 'opset version')))];
  check(opsetVersions.length === 1, () => `the model declares several default-domain opsets: ${opsetVersions.join(', ')}`);
  const opset = opsetVersions[0]!;
  check(
    opset >= MIN_OPSET && opset <= MAX_OPSET,
    () => `ONNX opset ${opset} is not supported (supported: opsets ${MIN_OPSET} to ${MAX_OPSET})`,
  );

  const protoNodes = graph.node ?? [];
  check(protoNodes.length > 0, () => `the ONNX graph '${graph.name ?? ''}' has no nodes`);

  // Cheap checks on the ops first: an unsupported op should not wait for megabytes of weights to be copied.
  const names = protoNodes.map((n, i) => n.name || `${n.opType ?? ''}_${i}`);
  protoNodes.forEach((n, i) => {
    const opType = n.opType ?? '';
    check(
      isDefaultDomain(n.domain),
      () => `node '${names[i]}' (${opType}) is in operator domain '${n.domain}'; only the default ONNX domain is supported`,
    );
  });
  if (options.supportedOps) {
    // Every unsupported op at once, each with the nodes that use it: a user learns the whole gap in one run.
    const supported = new Set(options.supportedOps);
    const missing = new Map<string, string[]>();
    protoNodes.forEach((n, i) => {
      const opType = n.opType ?? '';
      if (!supported.has(opType)) missing.set(opType, [...(missing.get(opType) ?? []), names[i]!]);
    });
    if (missing.size > 0) {
      const list = [...missing].map(([op, nodes]) => `${op} (${nodes.length === 1 ? `node '${nodes[0]}'` : `${nodes.length} nodes, first '${nodes[0]}'`})`);
      throw new PixelpropError(`the model uses ${missing.size === 1 ? 'an op' : 'ops'} pixelprop does not support: ${list.join(', ')} (supported: ${options.supportedOps.join(', ')})`);
    }
  }

  check(
    (graph.sparseInitializer?.length ?? 0) === 0,
    () => `the graph has ${graph.sparseInitializer!.length} sparse initializer(s), which are not supported`,
  );
  const initializers = new Map<string, OnnxTensor>();
  for (const [i, t] of (graph.initializer ?? []).entries()) {
    const name = t.name ?? '';
    check(name !== '', () => `initializer #${i} has no name`);
    check(!initializers.has(name), () => `initializer '${name}' appears twice`);
    initializers.set(name, readTensor(t, `initializer '${name}'`, budget));
  }

  const inputs: OnnxValueInfo[] = [];
  const inputNames = new Set<string>();
  for (const vi of graph.input ?? []) {
    const name = vi.name ?? '';
    check(!inputNames.has(name), () => `graph input '${name}' appears twice`);
    inputNames.add(name);
    // IR 3 lists every initializer among the inputs too (as an overridable default): those are weights, not inputs.
    if (!initializers.has(name)) {
      const input = readValueInfo(vi, 'graph input');
      // An input is a tensor like any other: the same element limit, checked on the declared sizes (batch 1) before
      // any shape is inferred from them. [issue 10: found by scripts/fuzz.ts, a declared 2^31 rows took seconds]
      const elements = input.dims.reduce<number>((n, d, i) => n * (typeof d === 'number' && i > 0 ? d : 1), 1);
      check(
        elements <= budget.maxElements,
        () => `graph input '${name}' ${fmtDims(input.dims)} declares ${elements.toExponential(3)} elements per image, more than the limit of ${budget.maxElements}`,
      );
      inputs.push(input);
    }
  }
  const outputs = (graph.output ?? []).map((vi) => readValueInfo(vi, 'graph output'));
  check(outputs.length > 0, 'the ONNX graph declares no outputs');

  const nodes: OnnxNode[] = protoNodes.map((n, i) => {
    const name = names[i]!;
    const opType = n.opType!;
    const attrs: Record<string, AttrValue> = {};
    for (const a of n.attribute ?? []) {
      const key = a.name ?? '';
      check(!(key in attrs), () => `node '${name}' has attribute '${key}' twice`);
      attrs[key] = readAttr(a, `attribute '${key}' of node '${name}'`, budget);
    }
    const node: OnnxNode = { name, opType, inputs: (n.input ?? []).slice(), outputs: (n.output ?? []).slice(), attrs };
    if (opType === 'Constant') {
      check(node.outputs.length === 1 && node.outputs[0], `Constant node '${name}' needs exactly one output`);
      node.attrs = { value: constantValue(attrs, name, node.outputs[0]!) };
    }
    return node;
  });

  const producer = new Map<string, number>(); // value name → index of the node that writes it
  nodes.forEach((node, i) => {
    for (const out of node.outputs) {
      if (!out) continue; // an omitted optional output (e.g. Dropout's mask)
      const previous = producer.get(out);
      check(
        previous === undefined,
        () => `value '${out}' is written by two nodes, '${nodes[previous!]!.name}' and '${node.name}'`,
      );
      check(
        !initializers.has(out) && !inputNames.has(out),
        () => `node '${node.name}' writes '${out}', which is already a graph input or an initializer`,
      );
      producer.set(out, i);
    }
  });
  const defined = (v: string) => producer.has(v) || inputNames.has(v) || initializers.has(v);
  for (const node of nodes) {
    for (const inp of node.inputs) {
      check(
        !inp || defined(inp),
        () =>
          `node '${node.name}' (${node.opType}) reads '${inp}', which no node produces and which is neither a graph input nor an initializer`,
      );
    }
  }
  for (const out of outputs) {
    check(defined(out.name), () => `graph output '${out.name}' is not produced by any node`);
  }

  return {
    irVersion,
    opset,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs,
    outputs,
    initializers,
    nodes: topoSort(nodes, producer),
  };
}

/**
 * Kahn's algorithm, always taking the ready node that comes first in the file: a file that is already sorted comes
 * back in its own order. Nodes left over when nothing is ready lie on a cycle or downstream of one; walking from one
 * of them to a left-over producer must eventually repeat a node, and the walk from that repeat is the cycle.
 */
function topoSort(nodes: OnnxNode[], producer: Map<string, number>): OnnxNode[] {
  const preds = nodes.map((node) =>
    node.inputs.filter((v) => v && producer.has(v)).map((v) => producer.get(v)!),
  );
  const consumers: number[][] = nodes.map(() => []);
  const waiting = preds.map((p) => p.length);
  preds.forEach((p, i) => p.forEach((j) => consumers[j]!.push(i)));

  const ready = new MinHeap();
  waiting.forEach((w, i) => w === 0 && ready.push(i));
  const order: OnnxNode[] = [];
  const done = new Uint8Array(nodes.length);
  while (ready.size > 0) {
    const i = ready.pop();
    done[i] = 1;
    order.push(nodes[i]!);
    for (const c of consumers[i]!) if (--waiting[c]! === 0) ready.push(c);
  }
  if (order.length === nodes.length) return order;

  let at = done.indexOf(0);
  const seenAt = new Map<number, number>();
  const walk: number[] = [];
  while (!seenAt.has(at)) {
    seenAt.set(at, walk.length);
    walk.push(at);
    at = preds[at]!.find((j) => !done[j])!;
  }
  // walk goes against the data flow (consumer → producer): reverse it to read as the data moves, and start it at the
  // node that comes first in the file, so that the message does not depend on where the walk happened to begin.
  const loop = walk.slice(seenAt.get(at)).reverse();
  const start = loop.indexOf(Math.min(...loop));
  const cycle = [...loop.slice(start), ...loop.slice(0, start)].map((i) => `'${nodes[i]!.name}'`);
  throw new PixelpropError(`the graph has a cycle: ${[...cycle, cycle[0]].join(' → ')}`);
}

/** A binary min-heap of node indices (the ready set of the topological sort). */
class MinHeap {
  private items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(v: number): void {
    const a = this.items;
    a.push(v);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function fmtDims(dims: readonly (number | string)[]): string {
  return `[${dims.join(',')}]`;
}

/** A short summary for the CLI's `info` view: where the model comes from, its interface, its ops and its size. */
export function describeGraph(g: OnnxGraph): string {
  const lines: string[] = [];
  lines.push(`ONNX IR ${g.irVersion}, opset ${g.opset}${g.producer ? `, produced by ${g.producer}` : ''}`);
  for (const i of g.inputs) lines.push(`input   ${i.name}  ${i.elemType} ${fmtDims(i.dims)}`);
  for (const o of g.outputs) lines.push(`output  ${o.name}  ${o.elemType} ${fmtDims(o.dims)}`);
  const byOp = new Map<string, number>();
  for (const n of g.nodes) byOp.set(n.opType, (byOp.get(n.opType) ?? 0) + 1);
  const ops = [...byOp].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  lines.push(`nodes   ${g.nodes.length}: ${ops.map(([op, k]) => `${op} ×${k}`).join(', ')}`);
  let floats = 0;
  let floatTensors = 0;
  let ints = 0;
  for (const t of g.initializers.values()) {
    if (t.type === 'float32') {
      floats += elementCount(t.dims);
      floatTensors++;
    } else ints++;
  }
  lines.push(
    `params  ${floats.toLocaleString('en-US')} float32 in ${floatTensors} tensors (${fmtBytes(4 * floats)})` +
      (ints > 0 ? `, plus ${ints} int64 tensor${ints > 1 ? 's' : ''}` : ''),
  );
  return lines.join('\n');
}
