// Types of tfjs-entry.mjs, for the TypeScript that imports it (the benchmark page's worker, web/bench-peers.ts).
import type * as TF from '@tensorflow/tfjs-core';

export const tf: typeof TF;
/** tfjs-backend-wasm's setWasmPaths: a folder prefix, or each binary's URL by its file name */
export function setWasmPaths(prefixOrFileMap: string | Record<string, string>, usePlatformFetch?: boolean): void;
