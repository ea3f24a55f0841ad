/**
 * The built site's service worker: it caches the site's own files when it is installed, so that reloads work with no
 * network at all. Files are answered from the cache first (they never change within one build: web/vite.config.ts
 * writes the build's file list and a hash of their contents into this script, so each new build is a new service
 * worker, with a cache of its own, and the old caches are deleted once it takes over). The page registers it only in
 * a build, not under the development server.
 *
 * It also makes the site cross-origin isolated where the host does not: every response it answers carries
 * Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, which a static host
 * without header control cannot send, and which onnxruntime-web's shared-memory wasm needs (the benchmark page's
 * peers, web/bench.ts, which reloads once when the worker first controls it). The site loads nothing from other
 * origins, so require-corp blocks nothing.
 *
 * Not precached: the peers' files (TF.js' and onnxruntime-web's script and wasm, 58 MB; the build leaves them out of
 * the list, web/vite.config.ts): every visitor of the main page would download them on install, for a benchmark
 * option few use, and hold them in the browser's storage quota. They are fetched when the peers run.
 */

/** Replaced at build time by { version, files } (see the service-worker plugin in web/vite.config.ts). */
declare const __PIXELPROP_PRECACHE__: { version: string; files: string[] };

const worker = self as unknown as ServiceWorkerGlobalScope;
const { version, files } = __PIXELPROP_PRECACHE__;
const CACHE = `pixelprop-${version}`;

/** The response with the two headers that make a page, and the workers it starts, cross-origin isolated. */
function isolated(response: Response): Response {
  // An opaque response (status 0) cannot be rebuilt; the site makes none (everything is same-origin), but a
  // browser extension's request might.
  if (response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

// Each file is cached on its own: one that fails (a server refusing a path) must not cost the install, and so offline
// use, of all the others. The page checks what is cached before it says offline use is ready (web/main.ts).
worker.addEventListener('install', (ev) => {
  ev.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => Promise.allSettled(files.map((f) => cache.add(new URL(f, worker.registration.scope).href))))
      .then((results) => {
        const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [files[i]] : []));
        if (failed.length) console.warn(`pixelprop: not cached for offline use: ${failed.join(', ')}`);
        return worker.skipWaiting();
      }),
  );
});

worker.addEventListener('activate', (ev) => {
  ev.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('pixelprop-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => worker.clients.claim()),
  );
});

worker.addEventListener('fetch', (ev) => {
  const request = ev.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== location.origin) return;
  // The site's folder ("…/pixelprop/") is the page: some servers answer 404 for a folder, so it is cached as index.html.
  const url = request.mode === 'navigate' && new URL(request.url).pathname.endsWith('/') ? new URL('index.html', request.url).href : request;
  ev.respondWith(caches.open(CACHE).then(async (cache) => isolated((await cache.match(url, { ignoreSearch: true })) ?? (await fetch(request)))));
});
