/**
 * `pixelprop run MODEL.onnx DIR`: runs a model on the ONNX test-data layout (the model zoo's and ONNX's own backend
 * tests): DIR/test_data_set_N/input_K.pb in — input K is the model's K-th graph input — and the outputs compared with
 * output_K.pb when present.
 *
 * Inputs that are parameters rather than data (int64 ones: shapes, axes, indices; and inputs the graph reads only as
 * attributes, such as Clip's bounds) cannot be fed to the GPU: they are bound as constants when the model is loaded
 * (src/graph/passes/import-onnx.ts, `parameterInputs`), so the model is built once per distinct set of their values.
 *
 * Every file is read and checked before the GPU is touched, so bad input (exit 2) costs nothing. The error of an
 * output is reported two ways: max|Δ| = max_i |y_i − ref_i|, and the relative error max|Δ| / max_i |ref_i| — one
 * number for the whole tensor, the same measure as every test of this project (an element-wise |Δ_i|/|ref_i| would
 * blow up on the many near-zero scores of a classifier). `--allclose` switches the verdict to numpy's element-wise
 * |y_i − ref_i| ≤ atol + rtol·|ref_i|, which is how ONNX's backend tests compare (rtol 1e-3, atol 1e-7).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createDevice, type Gpu } from '../gpu/device.js';
import { parameterInputs, supportedOnnxOps } from '../graph/passes/index.js';
import { Model, PixelpropError, Tensor, parseOnnx, parseTensorProto } from '../index.js';
import { readFileLimited } from '../image/node-io.js';
import { fmtRange, type NumberRange } from '../techniques/ranges.js';
import { flag, num, parse } from './args.js';
import { MAX_MODEL_BYTES } from './common.js';
import type { Command } from './main.js';

type ParsedTensor = ReturnType<typeof parseTensorProto>;

/** A relative error above 1 says nothing; an absolute bound of 10⁶ already passes any score a classifier gives. */
const RTOL_RANGE: NumberRange = { min: 0, max: 1 };
const ATOL_RANGE: NumberRange = { min: 0, max: 1e6 };

const USAGE = `pixelprop run MODEL.onnx DIR [--atol A] [--rtol R] [--allclose]

  Runs MODEL on every DIR/test_data_set_*/ (the ONNX test-data layout): input_K.pb is the model's K-th input,
  and each output K is compared with output_K.pb when the set has one, printing per output:
    max|Δ|      = max_i |y_i − ref_i|
    rel. error  = max|Δ| / max_i |ref_i|   (one number per tensor, not an element-wise ratio)
  An output passes when rel. error ≤ R, or when max|Δ| ≤ A.
  int64 inputs, and inputs the model reads only as attributes, are bound as constants when the model is loaded.

  --rtol R      bound on max|Δ| / max|ref|, in ${fmtRange(RTOL_RANGE)} (default 1e-5)
  --atol A      bound on max|Δ|, in ${fmtRange(ATOL_RANGE)} (default 0: off)
  --allclose    pass element-wise instead, as numpy's allclose and ONNX's backend tests:
                |y_i − ref_i| ≤ A + R·|ref_i| for every i (then the defaults are ONNX's: R 1e-3, A 1e-7)

  exit status: 0 all outputs pass, 1 some output fails, 2 bad input (missing or unreadable files, shapes that do not fit)

  example: pixelprop run weights/squeezenet1.1.onnx squeezenet1.1-test-data`;

export interface TestSet {
  name: string;
  /** by input index */
  inputs: ParsedTensor[];
  /** by output index; undefined where the set has no output_k.pb */
  expected: (ParsedTensor | undefined)[];
}

/** Files named `${prefix}<k>.pb`, by k. */
function numbered(dir: string, prefix: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const f of readdirSync(dir)) {
    const m = new RegExp(`^${prefix}(\\d+)\\.pb$`).exec(f);
    if (m) out.set(Number(m[1]), join(dir, f));
  }
  return out;
}

/** The parser's limit for one tensor is 2^28 elements; a .pb file holds little more than their bytes. */
const MAX_TENSOR_FILE_BYTES = 2 ** 31;

async function readTensorFile(path: string): Promise<ParsedTensor> {
  const bytes = await readFileLimited(path, 'tensor file', MAX_TENSOR_FILE_BYTES);
  return parseTensorProto(bytes, `'${path}'`); // refuses NaN and infinities too, before anything is uploaded
}

/** Reads every test set of `dir`, checking the layout; throws (exit 2) on anything missing or unreadable. */
export async function readTestSets(dir: string): Promise<TestSet[]> {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new PixelpropError(`'${dir}' is not a folder`);
    entries = readdirSync(dir);
  } catch (e) {
    if (e instanceof PixelpropError) throw e;
    throw new PixelpropError(`cannot read test-data folder '${dir}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const names = entries.filter((f) => /^test_data_set_\d+$/.test(f) && statSync(join(dir, f)).isDirectory());
  names.sort((a, b) => Number(a.slice(14)) - Number(b.slice(14)));
  if (names.length === 0) throw new PixelpropError(`'${dir}' has no test_data_set_* folders`);
  const sets: TestSet[] = [];
  for (const name of names) {
    const setDir = join(dir, name);
    const files = numbered(setDir, 'input_'); // none for a model without inputs (a Constant's test)
    const inputs: ParsedTensor[] = [];
    for (let k = 0; k < files.size; k++) {
      const path = files.get(k);
      if (!path) throw new PixelpropError(`'${setDir}' has ${files.size} input files but no input_${k}.pb`);
      inputs.push(await readTensorFile(path));
    }
    const expected: (ParsedTensor | undefined)[] = [];
    for (const [k, path] of numbered(setDir, 'output_')) {
      const t = await readTensorFile(path);
      if (t.type !== 'float32') throw new PixelpropError(`'${path}' holds int64 data; pixelprop's outputs are float32 tensors`);
      expected[k] = t;
    }
    sets.push({ name, inputs, expected });
  }
  return sets;
}

export interface Tolerance {
  rtol: number;
  atol: number;
  /** numpy's element-wise allclose instead of the whole-tensor relative error */
  allclose: boolean;
}

/** One output of one test set, compared (or not: no reference, or a shape that differs). */
export interface OutputResult {
  set: string;
  index: number;
  name: string;
  shape: number[];
  /** the reference's dims; undefined: no output_k.pb */
  reference?: number[];
  /** the reference's shape differs from the output's (nothing compared) */
  mismatch: boolean;
  maxAbs: number;
  rel: number;
  pass: boolean;
}

/** max|Δ|, max|Δ|/max|ref| (0 when both are 0; Infinity when only the reference is all zeros), and allclose. */
function compare(actual: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): { maxAbs: number; rel: number; pass: boolean } {
  let maxAbs = 0;
  let maxRef = 0;
  let close = true;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(actual[i]! - ref[i]!);
    if (!(d <= tol.atol + tol.rtol * Math.abs(ref[i]!))) close = false; // NaN is not close
    if (!(d <= maxAbs)) maxAbs = d; // keeps a NaN
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  const rel = maxAbs === 0 ? 0 : maxAbs / maxRef;
  return { maxAbs, rel, pass: tol.allclose ? close : rel <= tol.rtol || maxAbs <= tol.atol };
}

/** The GPU's form of a shape: a scalar as [1]. */
const held = (dims: readonly number[]): number[] => (dims.length ? [...dims] : [1]);

/**
 * Runs the model in `bytes` on each test set on `gpu` and compares its outputs. Throws a PixelpropError (exit 2) when
 * the model or the sets do not fit; a wrong output is a result that does not pass.
 */
export async function runTestSets(gpu: Gpu, bytes: Uint8Array, sets: readonly TestSet[], tol: Tolerance): Promise<OutputResult[]> {
  const onnx = parseOnnx(bytes, { supportedOps: supportedOnnxOps() });
  const parameters = new Set(parameterInputs(onnx));
  const models = new Map<string, Model>(); // by the parameters' values
  const results: OutputResult[] = [];
  try {
    for (const set of sets) {
      if (set.inputs.length !== onnx.inputs.length) {
        throw new PixelpropError(
          `${set.name} has ${set.inputs.length} input(s), the model takes ${onnx.inputs.length} (${onnx.inputs.map((i) => i.name).join(', ')})`,
        );
      }
      const bind = new Map(onnx.inputs.flatMap((input, k) => (parameters.has(input.name) ? [[input.name, set.inputs[k]!] as const] : [])));
      const key = JSON.stringify([...bind].map(([name, t]) => [name, t.dims, Array.from(t.data)]));
      let model = models.get(key);
      if (!model) {
        model = Model.load(gpu, bytes, { bind });
        models.set(key, model);
      }
      const fed = new Map<string, Tensor>();
      let outs: Map<string, Tensor>;
      try {
        onnx.inputs.forEach((input, k) => {
          if (parameters.has(input.name)) return;
          const t = set.inputs[k]!;
          if (t.type !== 'float32') throw new PixelpropError(`${set.name}: input_${k}.pb ('${input.name}') holds ${t.type} data, the model takes float32`);
          fed.set(input.name, Tensor.from(gpu, held(t.dims), t.data, `${set.name}/${input.name}`));
        });
        outs = model.forwardAll(fed);
      } finally {
        for (const t of fed.values()) t.dispose();
      }
      for (const [k, name] of model.outputNames.entries()) {
        const y = outs.get(name)!;
        const data = await y.read();
        const shape = [...y.shape];
        y.dispose();
        const ref = set.expected[k];
        const result: OutputResult = { set: set.name, index: k, name, shape, mismatch: false, maxAbs: NaN, rel: NaN, pass: false };
        if (ref) {
          result.reference = [...ref.dims];
          const refShape = held(ref.dims);
          result.mismatch = refShape.length !== shape.length || refShape.some((d, i) => d !== shape[i]);
          if (!result.mismatch) Object.assign(result, compare(data, ref.data, tol));
        }
        results.push(result);
      }
    }
  } finally {
    for (const m of models.values()) m.dispose();
  }
  return results;
}

const fmtShape = (dims: readonly number[]): string => `[${dims.join(',')}]`;

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse('run', argv, { atol: { type: 'string' }, rtol: { type: 'string' }, allclose: { type: 'boolean' } });
  if (positionals.length !== 2) throw new PixelpropError(`run: expected MODEL.onnx and DIR, got ${positionals.length} argument(s) (see 'pixelprop run --help')`);
  const [modelPath, dir] = positionals as [string, string];
  const allclose = flag(values, 'allclose');
  const tol: Tolerance = { rtol: num(values, 'rtol', allclose ? 1e-3 : 1e-5, RTOL_RANGE), atol: num(values, 'atol', allclose ? 1e-7 : 0, ATOL_RANGE), allclose };
  const bytes = await readFileLimited(modelPath, 'model', MAX_MODEL_BYTES);
  const sets = await readTestSets(dir);
  parseOnnx(bytes, { supportedOps: supportedOnnxOps() }); // a bad file stops here, before the device is opened
  const gpu = await createDevice();
  let results: OutputResult[];
  try {
    results = await runTestSets(gpu, bytes, sets, tol);
  } finally {
    gpu.destroy();
  }
  let failures = 0;
  let compared = 0;
  for (const r of results) {
    const label = `${r.set}  output_${r.index} '${r.name}' ${fmtShape(r.shape)}`;
    if (!r.reference) {
      console.log(`${label}  (no output_${r.index}.pb to compare with)`);
      continue;
    }
    compared++;
    if (r.mismatch) {
      failures++;
      console.log(`${label}  FAIL: the reference is ${fmtShape(r.reference)}`);
      continue;
    }
    if (!r.pass) failures++;
    console.log(`${label}  max|Δ| ${r.maxAbs.toExponential(2)}  rel. error ${r.rel.toExponential(2)}  ${r.pass ? 'ok' : 'FAIL'}`);
  }
  const bounds = tol.allclose
    ? `|Δ_i| ≤ ${tol.atol.toExponential()} + ${tol.rtol.toExponential()}·|ref_i|`
    : `rel. error ≤ ${tol.rtol.toExponential()}${tol.atol > 0 ? ` or max|Δ| ≤ ${tol.atol.toExponential()}` : ''}`;
  console.log(
    failures === 0
      ? `${sets.length} test set(s), ${compared} output(s) compared: all within ${bounds}`
      : `${failures} of ${compared} output(s) outside ${bounds}`,
  );
  return failures === 0 ? 0 : 1;
}

export const command: Command = {
  name: 'run',
  summary: 'run an ONNX model on ONNX test data (test_data_set_*/input_*.pb) and compare with the expected outputs',
  usage: USAGE,
  run,
};
