// The TF.js pieces a TF.js user of the peer benchmark needs, bundled into one ES module (bench/peers/bundle.mjs):
// tfjs-core's package ships its ESM build (dist/*.js) without "type": "module", so Node cannot import the
// deep path that registers the gradients; one bundle gives the core, the gradients and both backends one registry.
// Import it only after globalThis.navigator.gpu is set: the webgpu backend registers itself only if it sees one.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export { tf, setWasmPaths };
