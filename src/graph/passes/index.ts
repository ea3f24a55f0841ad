/**
 * Building a model is a pipeline of named passes over the engine's graph (src/graph/ir.ts), each small and tested
 * alone (test/passes.test.ts), each visible in `pixelprop info --passes`:
 *
 *   import          ONNX nodes → engine ops, constants; input counts checked          (import-onnx.ts)
 *   fold            attributes read; nodes of constants and shape arithmetic         (fold-constants.ts)
 *                   computed on the CPU
 *   fold-batchnorm  a BatchNormalization after a Conv folded into its weights         (fold-batchnorm.ts)
 *   alias           Identity and Dropout become other names of their inputs          (remove-identities.ts)
 *   fuse            conv + activation epilogue                                       (fuse-activations.ts)
 *   fuse-concat     channel concatenations of convs computed in place               (fuse-concats.ts)
 *   shapes          every shape rule checked at batch 1                              (shapes.ts)
 *
 * The model then computes liveness (when each value can be freed) and uploads the constants (src/graph/model.ts).
 */
import type { ConvTuning } from '../../kernels/conv2d-tiled.js';
import type { Graph } from '../ir.js';
import type { OnnxGraph } from '../onnx/ir.js';
import { foldBatchNorms } from './fold-batchnorm.js';
import { foldConstants } from './fold-constants.js';
import { fuseActivations } from './fuse-activations.js';
import { fuseConcats } from './fuse-concats.js';
import { importOnnx, type ImportOptions } from './import-onnx.js';
import { removeIdentities } from './remove-identities.js';
import { checkShapes } from './shapes.js';

export interface PassOptions {
  /** fold each BatchNormalization that follows a Conv alone into the conv's weights (default true) */
  foldBatchNorms?: boolean;
  /** fuse each Conv followed only by an activation into one kernel (default true) */
  fuseActivations?: boolean;
  /** compute a channel Concat of convolutions without the concatenation (default true) */
  fuseConcats?: boolean;
  /** kernel switches for the ablation benchmark */
  tuning?: ConvTuning;
  /** values for graph inputs given at load time, which become constants (src/graph/passes/import-onnx.ts) */
  bind?: ImportOptions['bind'];
}

export interface Stage {
  pass: string;
  graph: Graph;
}

/** Runs the passes; returns the final graph and the graph after each pass. */
export function buildGraph(onnx: OnnxGraph, options: PassOptions = {}): { graph: Graph; stages: Stage[] } {
  const stages: Stage[] = [];
  let g = importOnnx(onnx, options.bind ? { bind: options.bind } : {});
  stages.push({ pass: 'import', graph: g });
  const run = (pass: string, fn: (g: Graph) => Graph): void => {
    g = fn(g);
    stages.push({ pass, graph: g });
  };
  run('fold', (x) => foldConstants(x, options.tuning ? { tuning: options.tuning } : {}));
  if (options.foldBatchNorms ?? true) run('fold-batchnorm', foldBatchNorms);
  run('alias', removeIdentities);
  if (options.fuseActivations ?? true) run('fuse', fuseActivations);
  if (options.fuseConcats ?? true) run('fuse-concat', fuseConcats);
  run('shapes', checkShapes);
  return { graph: g, stages };
}

export { inferShapes, constantShape } from './shapes.js';
export { inNode } from './fold-constants.js';
export { parameterInputs, supportedOnnxOps } from './import-onnx.js';
