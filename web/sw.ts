/**
 * The built site's service worker: it caches the site's own files when it is installed, so that reloads work with no
 * network at all. Files are answered from the cache first (they never change within one build: web/vite.config.ts
 * writes the build's file list and a hash of their contents into this script, so each new build is a new service
 * worker, with a cache of its own, and the old caches are deleted once it takes over). The page registers it only in
 * a build, not under the development server.
 */

/** Replaced at build time by { version, files } (see the service-worker plugin in web/vite.config.ts). */
declare const __PIXELPROP_PRECACHE__: { version: string; files: string[] };

const worker = self as unknown as ServiceWorkerGlobalScope;
const { version, files } = __PIXELPROP_PRECACHE__;
const CACHE = `pixelprop-${version}`;

worker.addEventListener('install', (ev) => {
  ev.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(files.map((f) => new URL(f, worker.registration.scope).href)))
      .then(() => worker.skipWaiting()),
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
  ev.respondWith(
    caches.open(CACHE).then(async (cache) => (await cache.match(request, { ignoreSearch: true })) ?? fetch(request)),
  );
});
