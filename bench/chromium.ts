/**
 * Headless Chromium for the page's end-to-end test and the in-browser benchmarks: where the browser is, the flags that
 * give it a WebGPU adapter without a GPU (SwiftShader) and keep it off the network, and a static file server on
 * 127.0.0.1 such as any static host would be.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

export const CHROMIUM = process.env.PIXELPROP_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

/**
 * Serves each URL path prefix from its folder (first match wins; only files inside the folder; a path ending in /
 * serves index.html, unless `folderIndex` is false: then it is a 404, as some hosts answer) on 127.0.0.1 at any free
 * port, with `headers` added to every response.
 */
export function serveStatic(routes: [prefix: string, dir: string][], headers: Record<string, string> = {}, folderIndex = true): Promise<Server> {
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    if (path.endsWith('/')) {
      if (!folderIndex) return void res.writeHead(404).end();
      path += 'index.html';
    }
    const route = routes.find(([prefix]) => path.startsWith(prefix));
    if (!route) return void res.writeHead(404).end();
    const [prefix, dir] = route;
    const file = normalize(join(dir, path.slice(prefix.length)));
    if (!file.startsWith(normalize(dir) + sep) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    // the length lets a page show how much of a large file (the model) has arrived
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size, ...headers });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
