/**
 * The README's "Library API" example, as a user of the package writes it: the ```ts block is taken from README.md,
 * type-checked by tsc against the package's `exports` map (moduleResolution NodeNext, as a user's project would
 * resolve `pixelprop` and `pixelprop/node`) and run by node in a folder of its own, where `pixelprop` is the
 * repository (a link in node_modules, as `npm install <path>` makes). So the example cannot drift from the API, and
 * nothing in it may reach into dist/.
 *
 * The example reads 'weights/squeezenet1.1.onnx' and 'quail.png' from its working folder: the folder gets a link to
 * weights/ and one of the repository's sample photos under that name (the quail itself is an ImageNet photo, which
 * stays out of the repository). A line appended to the example prints what it computed, so the test sees it ran.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './shared-data.js';

/** The first ```ts block after the "## Library API" heading. */
function readmeExample(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library API'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```ts block under "## Library API"');
  return block[1]!;
}

describe("the README's API example", () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelprop-readme-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports only what the package exports, type-checks, and runs', () => {
    const example = readmeExample();
    expect(example).toMatch(/from 'pixelprop'/);
    expect(example, 'no deep import into the build').not.toMatch(/pixelprop\/dist/);

    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repoRoot, join(dir, 'node_modules', 'pixelprop'), 'dir');
    for (const scope of ['@types', '@webgpu']) symlinkSync(join(repoRoot, 'node_modules', scope), join(dir, 'node_modules', scope), 'dir');
    symlinkSync(join(repoRoot, 'weights'), join(dir, 'weights'), 'dir');
    copyFileSync(join(repoRoot, 'samples', 'coffee.png'), join(dir, 'quail.png'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node', '@webgpu/types'], outDir: 'out' },
        files: ['example.ts'],
      }),
    );
    const report =
      "\nconsole.log(JSON.stringify({ classes: scores.shape[1], grad: grad.shape, map: map.length, fooled: fooled.fooled, viz: viz.image.width }));\nprocess.exit(0);\n";
    writeFileSync(join(dir, 'example.ts'), example + report);

    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    expect(compiled.stdout + compiled.stderr, 'tsc on the example').toBe('');
    expect(compiled.status).toBe(0);

    const out = execFileSync(process.execPath, [join(dir, 'out', 'example.js')], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({ classes: 1000, grad: [1, 3, 224, 224], map: 224 * 224, viz: 224 });
    expect(typeof result.fooled).toBe('boolean');
  }, 600_000);
});
