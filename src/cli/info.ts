/**
 * `pixelprop info`: what pixelprop made of the model file and what the device offers — the graph as the file
 * declares it, the engine graph the passes built from it (with `--passes`, after each pass), the adapter, and the
 * largest batch the device's buffer limit allows.
 */
import { PixelpropError } from '../index.js';
import { camLayers, defaultCamLayer } from '../techniques/attribution/index.js';
import { fmtShape } from '../gpu/errors.js';
import { parse } from './args.js';
import { describePreprocessing } from '../graph/description.js';
import { MODEL_OPTIONS, MODEL_SYNOPSIS, modelChoice, modelUsage, openSession, type Session } from './common.js';
import type { Command } from './main.js';

const USAGE = `pixelprop info ${MODEL_SYNOPSIS} [--passes]

  Prints the model's graph summary (IR version, opset, inputs, outputs, ops, parameters), the engine graph the
  model-building passes made of it, node by node with batch-1 output shapes, the layers a class activation map can
  read (attribute --layer; the default marked), the WebGPU adapter and its features, and the largest batch of images
  that fits the device's largest buffer.

${modelUsage(18)}
  --passes        the graph after each pass (import, fold, alias, fuse, fuse-concat, shapes), not only the last`;

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** The CAM layers (every activation with spatial extent), the default marked; why there are none, when none. */
function camLayersText(model: Session['model']): string[] {
  let layers: ReturnType<typeof camLayers>;
  try {
    layers = camLayers(model);
  } catch (e) {
    if (e instanceof PixelpropError) return [`CAM layers: none: ${e.message}`];
    throw e;
  }
  if (layers.length === 0) return ['CAM layers: none (no activation [N,K,h,w] with h·w > 1)'];
  const chosen = defaultCamLayer(model);
  const width = Math.max(...layers.map((l) => l.name.length));
  return [
    'CAM layers (attribute --layer L; batch-1 shapes; * the default: the last spatial activation before global pooling;',
    '  (fused): computed inside a fused step, so asking for it runs the unfused graph):',
    ...layers.map((l) => {
      const fused = l.hidden ? '  (fused)' : '';
      return `  ${l.name === chosen ? '*' : ' '} ${l.name.padEnd(width)}  ${fmtShape(l.shape).padEnd(18)} ${l.op}${fused}`;
    }),
  ];
}

function classesText(session: Session): string {
  const { model, labels, labelsPath, description } = session;
  try {
    const background = description.background ? '; class 0 is background, ImageNet class i is class i + 1' : '';
    if (!labels) return `${model.numClasses} (no class names: classes are shown by index)${background}`;
    const count = labels.names.length === model.numClasses ? '' : `; ${labels.names.length} names there, which does not match: the image commands refuse this model`;
    return `${model.numClasses} (names from ${labelsPath}${count})${background}`;
  } catch (e) {
    if (e instanceof PixelpropError) return `none: ${e.message}`;
    throw e;
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse('info', argv, { ...MODEL_OPTIONS, passes: { type: 'boolean' } });
  if (positionals.length > 0) throw new PixelpropError(`info: unexpected argument '${positionals[0]}' (see 'pixelprop info --help')`);
  // Any model the loader takes is described, also one the image commands would refuse (its classes row says why).
  const session = await openSession(modelChoice(values), { images: false });
  const { gpu, model, modelPath, description } = session;
  try {
    const features = [...gpu.device.features].sort();
    const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    const row = (label: string, text: string) => `${label.padEnd(9)} ${text}`;
    console.log(
      [
        row('model', modelPath),
        ...model.summary().split('\n').map((l) => `  ${l}`),
        row('classes', classesText(session)),
        row('described', `${session.describedBy}${[description.name, description.onnx].includes(description.title) ? '' : ` (${description.title})`}`),
        row('input', `resize the shorter side to ${session.preprocessing.resize}, center-crop ${session.preprocessing.size}×${session.preprocessing.size}; ${describePreprocessing(description)}`),
        '',
        ...(values.passes
          ? model.describePasses().split('\n')
          : ['engine graph (after the passes; output shapes for batch 1; `--passes` shows each pass):', ...model.describeSteps().split('\n').map((l) => `  ${l}`)]),
        '',
        ...camLayersText(model),
        '',
        row('adapter', gpu.adapterName),
        row('features', `${features.length ? features.join(', ') : 'none'} (those pixelprop asks for, where the adapter has them)`),
        row('buffers', `largest ${mib(limit)} (maxBufferSize ${mib(gpu.limits.maxBufferSize)}, maxStorageBufferBindingSize ${mib(gpu.limits.maxStorageBufferBindingSize)})`),
        row('batch', `up to ${model.maxBatch()} images per forward (the largest activation must fit one buffer)`),
      ].join('\n'),
    );
    return 0;
  } finally {
    session.close();
  }
}

export const command: Command = {
  name: 'info',
  summary: 'the model as parsed and lowered, the WebGPU adapter, the largest batch',
  usage: USAGE,
  run,
};
