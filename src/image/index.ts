/**
 * The pure part of src/image — the same in Node and in a browser. File access lives apart: `./node-io.js` (Node:
 * pngjs, jpeg-js, fs) and `./browser-io.js` (createImageBitmap, OffscreenCanvas).
 */
export * from './image.js';
export * from './probe.js';
export * from './preprocess.js';
export * from './colormap.js';
export * from './npy.js';
export * from './figure.js';
export * from './font.js';
export * from './gif.js';
