/**
 * pixelprop's library API: everything the CLI, the web page and the benchmarks use. See the README, "Library API".
 *
 *   const gpu = await createDevice();
 *   const model = Model.load(gpu, onnxBytes);
 *   const x = Tensor.from(gpu, [1, 3, 224, 224], preprocess(image));
 *   const scores = model.forward(x);                       // [1, 1000], unnormalized
 *   const { grad } = classScoreGradient(model, x, [76]);   // ∂ s_76 / ∂ x, [1, 3, 224, 224]
 */
export { createDevice, Gpu, type DeviceOptions, type AdapterDescription } from './gpu/device.js';
export { PixelpropError } from './gpu/errors.js';
export { Tensor, type Shape } from './gpu/tensor.js';
export { registerShaders } from './gpu/shaders.js';
export type { KernelTime } from './gpu/profiler.js';
export { Tape, noGrad, type TapeNode } from './graph/tape.js';
export { Model, type ModelOptions, type Precision } from './graph/model.js';
export { parseOnnx, parseTensorProto, describeGraph } from './graph/onnx/parse.js';
export { parseSynset, resolveClass, className, closestNames, topK, type Labels, type Ranked } from './graph/labels.js';
export { OPS, ONNX_OPS, opNamed } from './graph/ops/index.js';
export { apply, docOf, describeAttrs, type OpDefinition, type AnyOp, type OpDoc } from './graph/op.js';
export { describeGraph as describeEngineGraph, type Graph, type Node } from './graph/ir.js';
export {
  classScoreGradient,
  predictedClassGradient,
  oneHotSeed,
  onTape,
  classify,
  type ScoreGradient,
  type GradientOptions,
  type Verdict,
} from './techniques/gradient.js';
export {
  saliency,
  SALIENCY_METHODS,
  SALIENCY_DEFAULTS,
  type SaliencyMethod,
  type SaliencyOptions,
  type SaliencyLive,
  type SaliencyResult,
} from './techniques/saliency.js';
export { fool, FOOL_DEFAULTS, type FoolOptions, type FoolLive, type FoolResult } from './techniques/fool.js';
export {
  classVisualization,
  CLASS_VISUALIZATION_DEFAULTS,
  YOSINSKI_PRESET,
  type ClassVisualizationOptions,
  type ClassVisualizationLive,
  type ClassVisualizationResult,
  type Snapshot,
} from './techniques/classviz.js';
export {
  FrameRecorder,
  defaultRecordEvery,
  maxRecordedFrames,
  RECORD_EVERY_RANGE,
  MAX_RECORDED_FRAMES,
  type RecordedFrame,
} from './techniques/recording.js';
export { saliencyFigure, foolingFigure, classVisualizationFigure, differenceImage, type Captioned } from './techniques/figures.js';
export {
  BackwardDebugger,
  layerNames,
  FD_STEP,
  type DebugStep,
  type StepTensor,
  type TensorRole,
  type ElementCheck,
} from './teaching/debugger.js';
export { channelTiles, elementIndex, elementPosition, type TileSet, type ChannelTile } from './teaching/tiles.js';
export * from './image/index.js';
export * as kernels from './kernels/index.js';
export {
  checkSubmission,
  compareSaliency,
  exercise,
  exercises,
  EXERCISE_IDS,
  EXERCISE_BOUND,
  type Exercise,
  type ExerciseId,
  type CheckResult,
  type CompileError,
  type ElementReport,
  type SaliencyComparison,
} from './teaching/exercises.js';
