/**
 * The kernels, for people who benchmark or teach them (bench/kernels.ts uses this): every kernel family's GPU
 * dispatches and float64 references. Applications want src/index.ts's higher-level API instead.
 */
export * as batchnorm from './batchnorm.js';
export * as conv2d from './conv2d.js';
export * as conv2dTiled from './conv2d-tiled.js';
export * as conv2dDepthwise from './conv2d-depthwise.js';
export * as pool from './pool.js';
export * as concat from './concat.js';
export * as layout from './layout.js';
export * as activation from './activation.js';
export * as broadcast from './broadcast.js';
export * as elementwise from './elementwise.js';
export * as gemm from './gemm.js';
export * as softmax from './softmax.js';
export * as layerNorm from './layer-norm.js';
export * as lrn from './lrn.js';
export * as reduce from './reduce.js';
export * as image from './image.js';
export * as technique from './technique.js';
export * as peak from './peak.js';
export { host, type HostTensor } from './host.js';
