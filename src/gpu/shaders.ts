/**
 * WGSL sources by file name ("conv2d" → shaders/conv2d.wgsl).
 *
 * The shaders live as plain .wgsl files so that they can be read, diffed and syntax-highlighted as WGSL. How they
 * reach the program depends on where it runs: in Node the device module reads the folder from disk
 * (`loadShadersFromDisk`); in a browser the bundler inlines them (vite's `import.meta.glob`, see web/) and the page
 * hands them over with `registerShaders`. Kernels only ever call `shaderSource(name)`.
 */
import { PixelpropError } from './errors.js';

const sources = new Map<string, string>();

/** Adds sources; keys may be bare names or paths ending in `name.wgsl`. */
export function registerShaders(files: Record<string, string>): void {
  for (const [key, text] of Object.entries(files)) {
    const name = key.replace(/^.*\//, '').replace(/\.wgsl(\?raw)?$/, '');
    sources.set(name, text);
  }
}

export function shaderSource(name: string): string {
  const text = sources.get(name);
  if (text === undefined) {
    throw new PixelpropError(
      `shader '${name}.wgsl' is not loaded (known: ${[...sources.keys()].join(', ') || 'none'}); ` +
        `in a browser call registerShaders() with the shaders/ folder`,
    );
  }
  return text;
}

/**
 * The WGSL module of several files linked in order. WGSL wants every `enable` directive before the first declaration,
 * and two files may each need one (the subgroup weight fetch enables subgroups, the f16 precision file enables f16):
 * the directives are moved to the front, once each, and the files follow as they are.
 */
export function linkShaders(files: readonly string[]): string {
  const directives = new Set<string>();
  const bodies = files.map((f) =>
    shaderSource(f).replace(/^[ \t]*enable\s+[\w\s,]+;[ \t]*$/gm, (line) => {
      directives.add(line.trim());
      return '';
    }),
  );
  return [...directives, ...bodies].join('\n');
}

export function hasShaders(): boolean {
  return sources.size > 0;
}

/** Node only: reads every shaders/*.wgsl beside this package. src/gpu and dist/src/gpu both reach it by walking up. */
export async function loadShadersFromDisk(): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const url = await import('node:url');
  let dir = path.dirname(url.fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'shaders');
    if (fs.existsSync(path.join(candidate, 'elementwise.wgsl'))) {
      const files: Record<string, string> = {};
      for (const f of fs.readdirSync(candidate)) {
        if (f.endsWith('.wgsl')) files[f] = fs.readFileSync(path.join(candidate, f), 'utf8');
      }
      registerShaders(files);
      return;
    }
    dir = path.dirname(dir);
  }
  throw new PixelpropError('cannot find the shaders/ folder of pixelprop next to its sources');
}
