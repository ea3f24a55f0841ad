/**
 * `pixelprop run MODEL.onnx DIR`: runs a model on the ONNX test-data layout (the model zoo's and ONNX's own backend
 * tests): DIR/test_data_set_N/input_0.pb in, the outputs compared with output_*.pb when present.
 *
 * Every file is read and checked before the GPU is touched, so bad input (exit 2) costs nothing. The error of an
 * output is reported two ways: max|Δ| = max_i |y_i − ref_i|, and the relative error max|Δ| / max_i |ref_i| — one
 * number for the whole tensor, the same measure as every test of this project (an element-wise |Δ_i|/|ref_i| would
 * blow up on the many near-zero scores of a classifier).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PixelpropError, Tensor, parseTensorProto } from '../index.js';
import { readFileLimited } from '../image/node-io.js';
import { fmtRange, type NumberRange } from '../techniques/ranges.js';
import { SCORES_OVERFLOW, checkFinite } from '../util/finite.js';
import { num, parse } from './args.js';
import { openSession } from './common.js';
import type { Command } from './main.js';

type ParsedTensor = ReturnType<typeof parseTensorProto>;

/** A relative error above 1 says nothing; an absolute bound of 10⁶ already passes any score a classifier gives. */
const RTOL_RANGE: NumberRange = { min: 0, max: 1 };
const ATOL_RANGE: NumberRange = { min: 0, max: 1e6 };

const USAGE = `pixelprop run MODEL.onnx DIR [--atol A] [--rtol R]

  Runs MODEL on every DIR/test_data_set_*/input_0.pb (the ONNX test-data layout) and compares each output k with
  output_k.pb when the set has one, printing per output:
    max|Δ|      = max_i |y_i − ref_i|
    rel. error  = max|Δ| / max_i |ref_i|   (one number per tensor, not an element-wise ratio)
  An output passes when rel. error ≤ R, or when max|Δ| ≤ A.

  --rtol R   bound on max|Δ| / max|ref|, in ${fmtRange(RTOL_RANGE)} (default 1e-5)
  --atol A   bound on max|Δ|, in ${fmtRange(ATOL_RANGE)} (default 0: off)

  exit status: 0 all outputs pass, 1 some output fails, 2 bad input (missing or unreadable files, shapes that do not fit)

  example: pixelprop run weights/squeezenet1.1.onnx squeezenet1.1-test-data`;

interface TestSet {
  name: string;
  input: ParsedTensor;
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
  const t = parseTensorProto(bytes, `'${path}'`); // refuses NaN and infinities too, before anything is uploaded
  if (t.type !== 'float32') throw new PixelpropError(`'${path}' holds int64 data; pixelprop models take and give float32 tensors`);
  return t;
}

/** Reads every test set of `dir`, checking the layout; throws (exit 2) on anything missing or unreadable. */
async function readTestSets(dir: string): Promise<TestSet[]> {
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
    const inputs = numbered(setDir, 'input_');
    if (inputs.size === 0) throw new PixelpropError(`'${setDir}' has no input_0.pb`);
    if (inputs.size > 1 || !inputs.has(0)) throw new PixelpropError(`'${setDir}' has ${inputs.size} inputs; pixelprop runs models with one input (input_0.pb)`);
    const outputs = numbered(setDir, 'output_');
    const expected: (ParsedTensor | undefined)[] = [];
    for (const [k, path] of outputs) expected[k] = await readTensorFile(path);
    sets.push({ name, input: await readTensorFile(inputs.get(0)!), expected });
  }
  return sets;
}

/** max|Δ| and max|Δ|/max|ref| (0 when both are 0; Infinity when only the reference is all zeros). */
function errors(actual: ArrayLike<number>, ref: ArrayLike<number>): { maxAbs: number; rel: number } {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(actual[i]! - ref[i]!));
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return { maxAbs, rel: maxAbs === 0 ? 0 : maxAbs / maxRef };
}

const fmtShape = (dims: readonly number[]): string => `[${dims.join(',')}]`;

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse('run', argv, { atol: { type: 'string' }, rtol: { type: 'string' } });
  if (positionals.length !== 2) throw new PixelpropError(`run: expected MODEL.onnx and DIR, got ${positionals.length} argument(s) (see 'pixelprop run --help')`);
  const [modelPath, dir] = positionals as [string, string];
  const rtol = num(values, 'rtol', 1e-5, RTOL_RANGE);
  const atol = num(values, 'atol', 0, ATOL_RANGE);
  const sets = await readTestSets(dir);

  const { gpu, model } = await openSession(modelPath, { images: false });
  let failures = 0;
  let compared = 0;
  try {
    for (const set of sets) {
      const x = Tensor.from(gpu, set.input.dims, set.input.data as Float32Array, set.name);
      let outs: Map<string, Tensor>;
      try {
        outs = model.forwardAll(x);
      } finally {
        x.dispose();
      }
      for (const [k, name] of model.outputNames.entries()) {
        const y = outs.get(name)!;
        const data = await y.read();
        const shape = [...y.shape];
        y.dispose();
        checkFinite(data, `${set.name} output '${name}' read back from the GPU`, SCORES_OVERFLOW);
        const ref = set.expected[k];
        const label = `${set.name}  output_${k} '${name}' ${fmtShape(shape)}`;
        if (!ref) {
          console.log(`${label}  (no output_${k}.pb to compare with)`);
          continue;
        }
        compared++;
        if (ref.data.length !== data.length || ref.dims.some((d, i) => d !== shape[i]) || ref.dims.length !== shape.length) {
          failures++;
          console.log(`${label}  FAIL: the reference is ${fmtShape(ref.dims)}`);
          continue;
        }
        const e = errors(data, ref.data as Float32Array);
        const pass = e.rel <= rtol || e.maxAbs <= atol;
        if (!pass) failures++;
        console.log(`${label}  max|Δ| ${e.maxAbs.toExponential(2)}  rel. error ${e.rel.toExponential(2)}  ${pass ? 'ok' : 'FAIL'}`);
      }
    }
  } finally {
    model.dispose();
    gpu.destroy();
  }
  const bounds = `rel. error ≤ ${rtol.toExponential()}${atol > 0 ? ` or max|Δ| ≤ ${atol.toExponential()}` : ''}`;
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
