/**
 * `pixelprop gradcheck` (also `npm run gradcheck`): every check of every registered op (src/graph/ops/index.ts), run on
 * this machine's GPU — the forward against its float64 reference, the backward through the tape against the float64
 * backward, and that one against centered finite differences of the float64 forward (src/graph/gradcheck.ts) — as a
 * table with PASS/FAIL against the project's bounds. A new op is checked by registering it: the checks are part of
 * its definition.
 *
 * Unlike the other commands this one reaches past the library API: the op checks are the engine's own test material,
 * not something a user of the library calls.
 */
import { createDevice, PixelpropError } from '../index.js';
import { checkOp } from '../graph/gradcheck.js';
import { OPS } from '../graph/ops/index.js';
import { parse } from './args.js';
import type { Command } from './main.js';
import { Progress } from './progress.js';

/** The bounds of every kernel test (test/helpers.ts): max|Δ| / max|ref|. */
export const FORWARD_BOUND = 1e-5;
export const BACKWARD_BOUND = 1e-4;

const USAGE = `pixelprop gradcheck

  Runs every registered op's checks on this machine's WebGPU adapter and prints, per check:
    forward    max|Δ| / max|ref| of the GPU op against its float64 reference            (bound ${FORWARD_BOUND.toExponential()})
    backward   per input: the GPU gradient (through the tape) against the float64 backward, and the float64
               backward against centered finite differences of the float64 forward, on sampled entries
                                                                                          (bound ${BACKWARD_BOUND.toExponential()})
  exit status: 0 when every check passes, 1 when any fails`;

interface Row {
  name: string;
  forward: string;
  backward: string;
  pass: boolean;
}

const fmtError = (e: number): string => (Number.isFinite(e) ? e.toExponential(1) : String(e));

async function run(argv: string[]): Promise<number> {
  const { positionals } = parse('gradcheck', argv, {});
  if (positionals.length > 0) throw new PixelpropError(`gradcheck: unexpected argument '${positionals[0]}' (see 'pixelprop gradcheck --help')`);
  const total = OPS.reduce((n, op) => n + op.checks.length, 0);
  const progress = new Progress('gradcheck');
  const gpu = await createDevice();
  const rows: Row[] = [];
  try {
    for (const op of OPS) {
      for (const check of op.checks) {
        progress.update(`${rows.length + 1}/${total} ${check.name}`, true);
        try {
          const r = await checkOp(gpu, op, check);
          const worst = (b: (typeof r.backwardErrors)[number]): number => Math.max(b.gpuVsReference, b.referenceVsFiniteDifferences);
          const pass = r.forwardError <= FORWARD_BOUND && r.backwardErrors.every((b) => worst(b) <= BACKWARD_BOUND);
          rows.push({
            name: r.name,
            forward: fmtError(r.forwardError),
            backward: r.backwardErrors.map((b) => `in${b.input} ${fmtError(b.gpuVsReference)}/${fmtError(b.referenceVsFiniteDifferences)}`).join('  ') || '-',
            pass,
          });
        } catch (e) {
          // A check that throws fails, and the others still run: the table shows everything that is wrong at once.
          rows.push({ name: check.name, forward: 'error', backward: (e as Error).message.split('\n')[0]!, pass: false });
        }
      }
    }
  } finally {
    progress.done();
    gpu.destroy();
  }
  const header: Row = { name: 'check', forward: 'forward', backward: 'backward per input: GPU vs float64 / float64 vs finite differences', pass: true };
  const width = (key: 'name' | 'forward' | 'backward') => Math.max(...[header, ...rows].map((r) => r[key].length));
  const [w0, w1, w2] = [width('name'), width('forward'), width('backward')];
  const line = (r: Row, verdict: string) => `${r.name.padEnd(w0)}  ${r.forward.padStart(w1)}  ${r.backward.padEnd(w2)}  ${verdict}`;
  console.log(line(header, 'result'));
  for (const r of rows) console.log(line(r, r.pass ? 'PASS' : 'FAIL'));
  const failed = rows.filter((r) => !r.pass).length;
  console.log(
    failed === 0
      ? `all ${rows.length} checks pass (forward ≤ ${FORWARD_BOUND.toExponential()}, backward ≤ ${BACKWARD_BOUND.toExponential()}, as max|Δ|/max|ref|)`
      : `${failed} of ${rows.length} checks FAIL (bounds: forward ${FORWARD_BOUND.toExponential()}, backward ${BACKWARD_BOUND.toExponential()}, as max|Δ|/max|ref|)`,
  );
  return failed === 0 ? 0 : 1;
}

export const command: Command = {
  name: 'gradcheck',
  summary: 'check every op on this GPU: forward vs float64 reference, backward vs finite differences',
  usage: USAGE,
  run,
};
