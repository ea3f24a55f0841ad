/// <reference types="vite/client" />

/** The names of the repository's samples/*.png, provided by web/vite.config.ts. */
declare module 'virtual:pixelprop-samples' {
  const names: string[];
  export default names;
}

/** The known models whose files the site serves (scripts/models.mjs), the default one first: web/vite.config.ts. */
declare module 'virtual:pixelprop-models' {
  const models: { name: string; title: string }[];
  export default models;
}

/** true in a build (which has web/sw.ts as sw.js), false under the development server: see web/vite.config.ts */
declare const __PIXELPROP_SERVICE_WORKER__: boolean;
