// The page of `npm run bench:peers -- --browser`, bundled for the browser by bench/peers/bundle.mjs: pixelprop's
// library with its shaders (the virtual module 'pixelprop:shaders' holds shaders/*.wgsl, read at bundle time), the
// TF.js pieces (tfjs-entry.mjs) and onnxruntime-web as a page imports it — the default build (webgpu through JSEP,
// and wasm) and the native WebGPU EP build ('onnxruntime-web/webgpu').
import * as ort from 'onnxruntime-web';
import * as ortNative from 'onnxruntime-web/webgpu';
import shaders from 'pixelprop:shaders';
import { tf, setWasmPaths } from './tfjs-entry.mjs';
import { runPage } from './page.ts';

runPage({ tf, setWasmPaths, ort, ortNative, shaders });
