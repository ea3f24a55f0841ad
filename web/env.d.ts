/// <reference types="vite/client" />

/** The names of the repository's samples/*.png, provided by web/vite.config.ts. */
declare module 'virtual:pixelprop-samples' {
  const names: string[];
  export default names;
}

/** true in a build (which has web/sw.ts as sw.js), false under the development server: see web/vite.config.ts */
declare const __PIXELPROP_SERVICE_WORKER__: boolean;
