// The bundling step of `npm run bench:peers` (esbuild), writing into dist/peers-bundle/ (git-ignored):
//   tfjs-node.mjs  TF.js core + all gradients + webgpu and wasm backends as one ES module for Node, because
//                  tfjs-core's ESM files are not importable by Node directly (no "type": "module"), and the
//                  gradients must register into the same core the backends use;
//   web/           the browser page (browser-entry.mjs → page.js, index.html) of `--browser`.
// Run from the repository root: node bench/peers/bundle.mjs
import * as esbuild from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'dist', 'peers-bundle');
mkdirSync(join(out, 'web'), { recursive: true });

// Resolve '@tensorflow/tfjs-core' to its ESM build (the "module" field) everywhere, so that the core, the gradient
// registrations and both backends share one kernel registry; the CommonJS main would be a second copy.
await esbuild.build({
  entryPoints: [join(root, 'bench', 'peers', 'tfjs-entry.mjs')],
  outfile: join(out, 'tfjs-node.mjs'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  external: ['node-fetch'], // tfjs-core's fetch fallback for old Node, never reached
  // the wasm backend's emscripten loader is CommonJS-flavoured: give the ES module require/__dirname/__filename
  banner: {
    js: [
      "import { createRequire as __peersRequire } from 'node:module';",
      "import { fileURLToPath as __peersPath } from 'node:url';",
      'const require = __peersRequire(import.meta.url);',
      'const __filename = __peersPath(import.meta.url);',
      "const __dirname = __peersPath(new URL('.', import.meta.url));",
    ].join(' '),
  },
  logLevel: 'warning',
});

const shaderPlugin = {
  name: 'pixelprop-shaders',
  setup(build) {
    build.onResolve({ filter: /^pixelprop:shaders$/ }, (args) => ({ path: args.path, namespace: 'pixelprop-shaders' }));
    build.onLoad({ filter: /.*/, namespace: 'pixelprop-shaders' }, () => {
      const dir = join(root, 'shaders');
      const files = {};
      for (const f of readdirSync(dir).sort()) if (f.endsWith('.wgsl')) files[f] = readFileSync(join(dir, f), 'utf8');
      return { contents: `export default ${JSON.stringify(files)};`, loader: 'js', watchFiles: Object.keys(files).map((f) => join(dir, f)) };
    });
  },
};

await esbuild.build({
  entryPoints: [join(root, 'bench', 'peers', 'browser-entry.mjs')],
  outfile: join(out, 'web', 'page.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  mainFields: ['browser', 'module', 'main'],
  external: ['node:*'], // pixelprop's Node-only paths (reading shaders/ from disk), never reached in a page
  plugins: [shaderPlugin],
  logLevel: 'warning',
});
writeFileSync(
  join(out, 'web', 'index.html'),
  '<!doctype html>\n<html><head><meta charset="utf-8"><title>pixelprop peers</title></head>\n' +
    '<body><p>pixelprop peer benchmark: results go to window.__peers</p><script type="module" src="page.js"></script></body></html>\n',
);
process.stderr.write(`bench/peers/bundle.mjs: wrote ${out}\n`);
