/**
 * `pixelprop gradcheck` (also `npm run gradcheck`): every op check of src/graph/checks/*.ts, run on this machine's
 * GPU — the forward against its float64 reference, and the backward through the tape against centered finite
 * differences (src/graph/opcheck.ts) — as a table with PASS/FAIL against the project's bounds.
 *
 * Unlike the other commands this one reaches past the library API: the op checks are the engine's own test
 * material, not something a user of the library calls. The check modules are found by listing the checks folder,
 * so a new op family is picked up by adding its file there.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDevice, PixelpropError } from '../index.js';
import type { OpCheck } from '../graph/opcheck.js';
import { runOpCheck } from '../graph/opcheck.js';
import { parse } from './args.js';
import type { Command } from './main.js';
import { Progress } from './progress.js';

/** The bounds of every kernel test (test/helpers.ts): max|Δ| / max|ref|. */
export const FORWARD_BOUND = 1e-5;
export const BACKWARD_BOUND = 1e-4;

const USAGE = `pixelprop gradcheck

  Runs every op check (src/graph/checks/*.ts) on this machine's WebGPU adapter and prints, per check:
    forward    max|Δ| / max|ref| of the GPU op against its float64 reference           (bound ${FORWARD_BOUND.toExponential()})
    backward   the same error of each input's GPU gradient (through the tape) against
               centered finite differences of the float64 reference, on sampled entries (bound ${BACKWARD_BOUND.toExponential()})
  exit status: 0 when every check passes, 1 when any fails`;

interface Family {
  family: string;
  checks: OpCheck[];
}

/** Every `checks` list of the checks folder (compiled .js under dist/, .ts when run from source), by family name. */
async function loadChecks(): Promise<Family[]> {
  const dir = new URL('../graph/checks/', import.meta.url);
  const files = readdirSync(fileURLToPath(dir))
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  const families: Family[] = [];
  for (const f of files) {
    const mod = (await import(new URL(f, dir).href)) as { checks?: OpCheck[] };
    if (Array.isArray(mod.checks)) families.push({ family: f.replace(/\.(js|ts)$/, ''), checks: mod.checks });
  }
  return families;
}

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
  const families = await loadChecks();
  if (families.length === 0) throw new PixelpropError('gradcheck: no op checks found (src/graph/checks/*.ts)');
  const total = families.reduce((n, f) => n + f.checks.length, 0);
  const progress = new Progress('gradcheck');
  const gpu = await createDevice();
  const rows: Row[] = [];
  try {
    for (const { family, checks } of families) {
      for (const check of checks) {
        progress.update(`${rows.length + 1}/${total} ${check.name}`, true);
        try {
          const r = await runOpCheck(gpu, check);
          const pass = r.forwardError <= FORWARD_BOUND && r.backwardErrors.every((b) => b.error <= BACKWARD_BOUND);
          rows.push({
            name: `${family}: ${r.name}`,
            forward: fmtError(r.forwardError),
            backward: r.backwardErrors.map((b) => `in${b.input} ${fmtError(b.error)}`).join('  ') || '-',
            pass,
          });
        } catch (e) {
          // A check that throws fails, and the others still run: the table shows everything that is wrong at once.
          rows.push({ name: `${family}: ${check.name}`, forward: 'error', backward: (e as Error).message.split('\n')[0]!, pass: false });
        }
      }
    }
  } finally {
    progress.done();
    gpu.destroy();
  }
  const header: Row = { name: 'op', forward: 'forward rel. error', backward: 'backward rel. error, per input', pass: true };
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
