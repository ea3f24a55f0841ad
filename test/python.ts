/**
 * The Python interpreter the reference tests use (PyTorch's autograd, torchvision's architectures, NumPy, PIL), in
 * one place. PYTHON=/path/to/python chooses it; otherwise the first of `python3` on the PATH and Debian's
 * /usr/bin/python3 that imports the modules asked for (a pyenv or venv python3 first on the PATH often lacks Debian's
 * python3-torch). scripts/setup.sh installs them; where they are missing the tests that need them are skipped and say
 * so, and with PIXELPROP_REQUIRE_SHARED=1 (CI, where setup.sh always ran) each such skip is a failing test instead.
 */
import { spawnSync } from 'node:child_process';
import { it } from 'vitest';
import { REQUIRE_SHARED } from './shared-data.js';

const CANDIDATES = process.env.PYTHON ? [process.env.PYTHON] : ['python3', '/usr/bin/python3'];

/** The first candidate interpreter that imports every module of `modules` ("torch, torchvision"), or null. */
export function findPython(modules: string): string | null {
  return CANDIDATES.find((p) => spawnSync(p, ['-c', `import ${modules}`]).status === 0) ?? null;
}

/**
 * The interpreter for `tests`, or null after printing why they are skipped (and, with PIXELPROP_REQUIRE_SHARED=1,
 * registering a test that fails with that line). Call at the top level of a test file or describe.
 */
export function pythonWith(modules: string, tests: string): string | null {
  const python = findPython(modules);
  if (python !== null) return python;
  const problem = `no python3 among ${CANDIDATES.join(', ')} imports ${modules} (scripts/setup.sh installs them)`;
  if (REQUIRE_SHARED) {
    it(`needs a python3 with ${modules} (PIXELPROP_REQUIRE_SHARED=1)`, () => {
      throw new Error(`${tests} cannot run: ${problem}; with PIXELPROP_REQUIRE_SHARED=1 that is a failure, not a skip`);
    });
  } else {
    console.warn(`pixelprop tests: skipping ${tests}: ${problem}`);
  }
  return null;
}
