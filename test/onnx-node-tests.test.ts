/**
 * ONNX's own backend node tests (Debian's libonnx-testdata: data/node/test_*, each a model.onnx of one op — or of the
 * ops a function expands to, the *_expanded ones — and test_data_set_0 with its inputs and expected outputs), run
 * the way `pixelprop run --allclose` runs them: src/cli/run-onnx.ts's readTestSets and runTestSets, compared
 * element-wise with ONNX's own tolerances (|y − ref| ≤ 1e-7 + 1e-3·|ref|).
 *
 * Which tests apply is read from the registry, so an op added anywhere is tested here as soon as it is registered:
 * a test applies when every op of its model is one pixelprop supports. Of those, the ones whose inputs or outputs have
 * a type pixelprop does not have (float16, double, int32, bool, …; pixelprop computes in float32, and takes int64
 * inputs only as parameters bound at load time), or that are empty (a dimension of size 0: pixelprop has no empty
 * tensors), or whose opset the parser does not read (below 7: the ops' old semantics differ) are excluded — counted
 * and printed with the reason, never silently.
 * Every other applicable test runs; the report lists each failure with its reason, and at least 95% must pass.
 *
 * Where the data is: PIXELPROP_ONNX_NODE_TESTS, or the data/node folder of the installed libonnx-testdata package
 * (scripts/setup.sh installs it). Without it the test says why and skips — and fails instead under
 * PIXELPROP_REQUIRE_SHARED=1 (CI).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import { readTestSets, runTestSets } from '../src/cli/run-onnx.js';
import { MAX_OPSET, MIN_OPSET } from '../src/graph/onnx/parse.js';
import { supportedOnnxOps } from '../src/graph/passes/index.js';
import { useGpu } from './helpers.js';

const { onnx } = onnxProto;

/** ONNX's backend-test tolerances (onnx/backend/test/case/test_case.py). */
const RTOL = 1e-3;
const ATOL = 1e-7;
const REQUIRED_PASS_RATE = 0.95;

function nodeTestFolder(): { dir: string | null; why: string } {
  const given = process.env.PIXELPROP_ONNX_NODE_TESTS;
  if (given) return existsSync(given) ? { dir: given, why: '' } : { dir: null, why: `PIXELPROP_ONNX_NODE_TESTS='${given}' does not exist` };
  const listing = spawnSync('dpkg', ['-L', 'libonnx-testdata'], { encoding: 'utf8' });
  if (listing.error || listing.status !== 0) return { dir: null, why: 'the package libonnx-testdata is not installed (scripts/setup.sh installs it)' };
  const dir = listing.stdout.split('\n').find((line) => /\/data\/node$/.test(line.trim()));
  return dir && existsSync(dir.trim()) ? { dir: dir.trim(), why: '' } : { dir: null, why: 'libonnx-testdata has no data/node folder' };
}

const ELEM_TYPES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16' };

type Verdict = { kind: 'not applicable' } | { kind: 'excluded'; reason: string } | { kind: 'applicable' };

/** Whether a node test applies to pixelprop (every op supported), and whether its types rule it out. */
function classify(modelPath: string, supported: ReadonlySet<string>): Verdict {
  const m = onnx.ModelProto.decode(readFileSync(modelPath));
  const g = m.graph!;
  const ops = (g.node ?? []).map((n) => ({ op: n.opType ?? '', domain: n.domain ?? '' }));
  if (ops.some((n) => !supported.has(n.op) || (n.domain !== '' && n.domain !== 'ai.onnx'))) return { kind: 'not applicable' };
  const opset = (m.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => Number(o.version))[0] ?? 0;
  if (opset < MIN_OPSET || opset > MAX_OPSET) return { kind: 'excluded', reason: `opset ${opset < MIN_OPSET ? 'below' : 'above'} the ${MIN_OPSET}–${MAX_OPSET} pixelprop reads` };
  const initializers = new Set((g.initializer ?? []).map((t) => t.name));
  const empty = (vi: onnxProto.onnx.IValueInfoProto): boolean => (vi.type?.tensorType?.shape?.dim ?? []).some((d) => d.dimValue != null && Number(d.dimValue) === 0);
  const typeOf = (vi: onnxProto.onnx.IValueInfoProto): string => {
    if (!vi.type?.tensorType) return vi.type?.sequenceType ? 'sequence' : vi.type?.optionalType ? 'optional' : 'non-tensor';
    return ELEM_TYPES[vi.type.tensorType.elemType ?? 0] ?? `type ${vi.type.tensorType.elemType}`;
  };
  for (const vi of g.input ?? []) {
    if (initializers.has(vi.name!)) continue;
    const t = typeOf(vi);
    if (t !== 'float32' && t !== 'int64') return { kind: 'excluded', reason: `${t} input` };
    if (empty(vi)) return { kind: 'excluded', reason: 'empty input (a dimension of size 0)' };
  }
  for (const vi of g.output ?? []) {
    const t = typeOf(vi);
    if (t !== 'float32') return { kind: 'excluded', reason: `${t} output` };
    if (empty(vi)) return { kind: 'excluded', reason: 'empty output (a dimension of size 0)' };
  }
  return { kind: 'applicable' };
}

const { dir, why } = nodeTestFolder();
const required = process.env.PIXELPROP_REQUIRE_SHARED === '1';

describe('ONNX backend node tests (libonnx-testdata)', () => {
  if (!dir) {
    if (required) {
      it('has the ONNX node tests (PIXELPROP_REQUIRE_SHARED=1)', () => {
        expect.fail(`the ONNX node tests are missing: ${why}`);
      });
    } else {
      console.log(`ONNX node tests skipped: ${why}`);
      it.skip(`ONNX node tests (skipped: ${why})`, () => {});
    }
    return;
  }
  const gpu = useGpu();

  it(`every applicable test runs, and at least ${REQUIRED_PASS_RATE * 100}% pass`, async () => {
    const supported = new Set(supportedOnnxOps());
    const tests = readdirSync(dir)
      .filter((t) => t.startsWith('test_') && existsSync(join(dir, t, 'model.onnx')) && statSync(join(dir, t)).isDirectory())
      .sort();
    let notApplicable = 0;
    const excluded = new Map<string, string[]>(); // reason → tests
    const passed: string[] = [];
    const failed: { test: string; reason: string }[] = [];
    for (const test of tests) {
      const folder = join(dir, test);
      const verdict = classify(join(folder, 'model.onnx'), supported);
      if (verdict.kind === 'not applicable') {
        notApplicable++;
        continue;
      }
      if (verdict.kind === 'excluded') {
        excluded.set(verdict.reason, [...(excluded.get(verdict.reason) ?? []), test]);
        continue;
      }
      try {
        const results = await runTestSets(gpu(), readFileSync(join(folder, 'model.onnx')), await readTestSets(folder), { rtol: RTOL, atol: ATOL, allclose: true });
        const bad = results.find((r) => !r.reference || r.mismatch || !r.pass);
        if (!bad) passed.push(test);
        else {
          const where = `output '${bad.name}'`;
          const reason = !bad.reference
            ? `${where} has no expected value`
            : bad.mismatch
              ? `${where} is [${bad.shape.join(',')}], expected [${bad.reference.join(',')}]`
              : `${where} differs: max|Δ| ${bad.maxAbs.toExponential(2)}, rel. error ${bad.rel.toExponential(2)}`;
          failed.push({ test, reason });
        }
      } catch (e) {
        // A PixelpropError is a refusal with a reason; anything else is a bug, shown as one.
        const message = (e as Error).message.split('\n')[0]!;
        failed.push({ test, reason: e instanceof PixelpropError ? message : `BUG (${(e as Error).name}): ${message}` });
      }
    }
    const applicable = passed.length + failed.length;
    const excludedCount = [...excluded.values()].reduce((n, l) => n + l.length, 0);
    const lines = [
      `ONNX node tests in ${dir}: ${tests.length}`,
      `  ${notApplicable} use an op pixelprop does not support (not applicable)`,
      `  ${excludedCount} excluded for their types, an empty tensor or their opset:`,
      ...[...excluded].sort((a, b) => b[1].length - a[1].length).map(([reason, list]) => `    ${String(list.length).padStart(3)} ${reason}: ${list.join(' ')}`),
      `  ${applicable} applicable: ${passed.length} pass, ${failed.length} fail (${((100 * passed.length) / Math.max(1, applicable)).toFixed(1)}%)`,
      ...failed.map((f) => `    FAIL ${f.test}: ${f.reason}`),
      `  passing: ${passed.join(' ')}`,
    ];
    console.log(lines.join('\n'));
    expect(applicable, 'no applicable node test: the registry or the test data is wrong').toBeGreaterThan(50);
    expect(failed.filter((f) => f.reason.startsWith('BUG')), 'errors that are not PixelpropErrors').toEqual([]);
    expect(passed.length / applicable, `pass rate of the applicable node tests`).toBeGreaterThanOrEqual(REQUIRED_PASS_RATE);
  }, 900_000);
});
