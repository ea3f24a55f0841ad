/**
 * The web page's build: `npm run web` (development server) and `npm run build:web` (a static site in dist-web/).
 *
 * The page fetches two kinds of files from the repository at run time, which are not copied into it twice: the weights
 * (weights/, git-ignored, filled by `npm run weights`: each known model's description NAME.json, ONNX file and class
 * names) and the sample photos (samples/*.png). The default model (scripts/models.mjs) must be there; the others join
 * the page's model picker when they are (`npm run weights -- --model NAME`), as the virtual module
 * 'virtual:pixelprop-models' tells the page. The development server
 * serves them from where they are; a build copies them into the site, so that it works from any static file server.
 * The sample names reach the page as the virtual module 'virtual:pixelprop-samples'.
 *
 * A build also writes sw.js, the service worker (web/sw.ts), with the site's file list and a hash of its contents.
 *
 * The benchmark page's peers (TF.js and onnxruntime-web, web/bench-peers.ts) are bundled into the build, their wasm
 * binaries emitted beside the scripts (same origin). onnxruntime-web's wasm is built with shared memory and needs a
 * cross-origin-isolated page: the development and preview servers send the COOP/COEP headers, and the service worker
 * adds them where the static host does not.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { DEFAULT_MODEL, MODELS } from '../scripts/models.mjs';

const webDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(webDir, '..');
export const OUT_DIR = join(repoRoot, 'dist-web');

const SAMPLES_VIRTUAL = 'virtual:pixelprop-samples';
const MODELS_VIRTUAL = 'virtual:pixelprop-models';
const TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.json': 'application/json',
};

/** The files of a known model in weights/: its description, ONNX file and class names. */
function modelFiles(name: string): string[] {
  const { onnx, labels } = MODELS[name]!.description;
  return [`${name}.json`, onnx, labels];
}

/** The known models the site serves: the default one always (a build fails without it), the others when fetched. */
function servedModels(): string[] {
  const others = Object.keys(MODELS).filter((name) => name !== DEFAULT_MODEL);
  return [DEFAULT_MODEL, ...others.filter((name) => modelFiles(name).every((f) => existsSync(join(repoRoot, 'weights', f))))];
}

function sampleNames(): string[] {
  return readdirSync(join(repoRoot, 'samples'))
    .filter((f) => /\.png$/i.test(f))
    .sort();
}

/** URL path (relative to the site) → file in the repository, for every file the page fetches at run time. */
function runtimeFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of servedModels().flatMap(modelFiles)) files.set(`weights/${f}`, join(repoRoot, 'weights', f));
  for (const f of sampleNames()) files.set(`samples/${f}`, join(repoRoot, 'samples', f));
  return files;
}

const MISSING = 'is missing: run `npm run weights` (it fills weights/)';

function repositoryFiles(): Plugin {
  return {
    name: 'pixelprop-repository-files',
    resolveId: (id) => (id === SAMPLES_VIRTUAL || id === MODELS_VIRTUAL ? `\0${id}` : null),
    load: (id) => {
      if (id === `\0${SAMPLES_VIRTUAL}`) return `export default ${JSON.stringify(sampleNames())};`;
      const models = servedModels().map((name) => ({ name, title: MODELS[name]!.description.title }));
      return id === `\0${MODELS_VIRTUAL}` ? `export default ${JSON.stringify(models)};` : null;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = decodeURIComponent((req.url ?? '').split('?')[0]!).replace(/^\/+/, '');
        const file = runtimeFiles().get(path);
        if (!file) return next();
        if (!existsSync(file)) {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`${path} ${MISSING}\n`);
          return;
        }
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        createReadStream(file).pipe(res);
      });
    },
    generateBundle() {
      for (const [path, file] of runtimeFiles()) {
        if (!existsSync(file)) this.error(`${path} ${MISSING} before \`npm run build:web\``);
        this.emitFile({ type: 'asset', fileName: path, source: readFileSync(file) });
      }
    },
  };
}

/**
 * The files of the benchmark worker's build that belong to the peers — chunks holding TF.js or onnxruntime-web
 * modules, and their wasm — by file name, as the worker plugin below finds them: the service worker does not precache
 * them (web/sw.ts says why).
 */
const peerFiles = new Set<string>();
const PEER_MODULE = /[\\/]node_modules[\\/](onnxruntime-web|@tensorflow)[\\/]/;

function peerFilesOfWorkers(): Plugin {
  return {
    name: 'pixelprop-peer-files',
    apply: 'build',
    generateBundle(_options, bundle) {
      for (const [file, item] of Object.entries(bundle)) {
        const ofPeers = item.type === 'chunk' ? item.moduleIds.some((id) => PEER_MODULE.test(id)) : item.originalFileNames.some((f) => PEER_MODULE.test(f));
        if (ofPeers) peerFiles.add(file);
      }
    },
  };
}

function serviceWorker(): Plugin {
  return {
    name: 'pixelprop-service-worker',
    apply: 'build',
    enforce: 'post',
    // the workers are built during this build, after it starts: what an earlier build (watch mode) found is forgotten
    buildStart() {
      peerFiles.clear();
    },
    generateBundle(_options, bundle) {
      const sw = bundle['sw.js'];
      if (!sw || sw.type !== 'chunk') return this.error('the build has no sw.js chunk (web/sw.ts)');
      const missing = [...peerFiles].filter((f) => !(f in bundle));
      if (missing.length) return this.error(`the peers' files ${missing.join(', ')} are not in the site's bundle`);
      const files = Object.keys(bundle)
        .filter((f) => f !== 'sw.js' && !f.endsWith('.map') && !peerFiles.has(f))
        .sort();
      const hash = createHash('sha256');
      for (const f of files) {
        const item = bundle[f]!;
        hash.update(f).update(item.type === 'chunk' ? item.code : item.source);
      }
      // index.html, not './': a server may answer 404 for a folder; the service worker answers the folder with it.
      const precache = { version: hash.digest('hex').slice(0, 16), files };
      sw.code = sw.code.replaceAll('__PIXELPROP_PRECACHE__', JSON.stringify(precache));
    },
  };
}

/** The headers that make a page cross-origin isolated (onnxruntime-web's shared-memory wasm needs it). */
const CROSS_ORIGIN_ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

// Node-only imports of the library (reading shaders/ from disk, the `webgpu` package) sit behind checks a browser
// never passes; left as they are rather than replaced by stubs.
const external = [/^node:/];

export default defineConfig(({ command }) => ({
  root: webDir,
  base: './', // relative URLs: the site works from any folder of any static server
  publicDir: false,
  clearScreen: false,
  plugins: [repositoryFiles(), serviceWorker()],
  // Only a build has a service worker (under the development server, files change and must not come from a cache).
  define: { __PIXELPROP_SERVICE_WORKER__: JSON.stringify(command === 'build') },
  server: { fs: { allow: [repoRoot] }, headers: CROSS_ORIGIN_ISOLATION }, // the worker reads ../src and ../shaders
  preview: { headers: CROSS_ORIGIN_ISOLATION },
  // The worker's CommonJS dependency (ONNX protobuf) is found only once the worker loads; pre-bundle it up front.
  optimizeDeps: { include: ['onnx-proto'], entries: ['index.html', 'worker.ts', 'exercises.html', 'exercises-worker.ts', 'bench.html', 'bench-worker.ts'] },
  worker: { format: 'es', plugins: () => [peerFilesOfWorkers()], rolldownOptions: { external } },
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2048,
    rolldownOptions: {
      input: { index: join(webDir, 'index.html'), exercises: join(webDir, 'exercises.html'), bench: join(webDir, 'bench.html'), sw: join(webDir, 'sw.ts') },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
      external,
    },
  },
}));
