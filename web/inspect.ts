/**
 * The tape inspector's measurement (runs in the worker): one forward and one backward of the current image, exactly
 * as classScoreGradient runs them (src/techniques/gradient.ts), with every recorded op's shapes, its GPU time
 * forward and backward, the order backward visits the ops, and the norm of each gradient.
 *
 * How dispatches are attributed to ops, without changing the tape or the device:
 * - forward: an op encodes its kernels and then records itself on the tape, so a Tape subclass notes the device's
 *   dispatch count at each `add`; op i's forward dispatches are those between the notes of ops i − 1 and i;
 * - backward: the tape's beforeNode and onNode hooks note the dispatch count before and after each node's backward;
 * - the inspector's own dispatches (the gradient norms) fall outside both, and are left out.
 * With timestamp-query, `gpu.startProfiling()` times every dispatch (each in its own compute pass), and an op's time
 * is the sum over its dispatches. Without it there are no per-op times: the page says so, and gives the wall-clock of
 * the whole pass only.
 */
import { fmtShape } from '../src/gpu/errors.js';
import { Tensor } from '../src/gpu/tensor.js';
import type { Model } from '../src/graph/model.js';
import { describeAttrs, docOf } from '../src/graph/op.js';
import { Tape, type TapeOptions } from '../src/graph/tape.js';
import { ruleBackward } from '../src/techniques/attribution/rules.js';
import { l2Norm } from '../src/kernels/reduce.js';
import { layersOf } from '../src/techniques/attribution/evaluate.js';
import { classScoreGradient, oneHotSeed } from '../src/techniques/gradient.js';
import { median } from '../src/util/median.js';
import type { TapeOutput, TapeRow, TapeRules } from './protocol.js';

type Range = [start: number, end: number];

/** A tape that notes the dispatch count when each op records itself (see the file comment). */
class InspectingTape extends Tape {
  /** forwardEnds[i]: dispatches encoded when node i was recorded */
  readonly forwardEnds: number[] = [];

  constructor(
    private readonly dispatches: () => number,
    options: TapeOptions,
  ) {
    super(options);
  }

  override add(...args: Parameters<Tape['add']>): void {
    super.add(...args);
    // add() records nothing when no input requires a gradient; such an op's kernels then count with the next op.
    if (this.nodes.length > this.forwardEnds.length) this.forwardEnds.push(this.dispatches());
  }
}

/**
 * `rules`: 'gradient' runs every op's own backward; a rule method (guided backprop, deconvnet, LRP-ε, LRP-z⁺) replaces
 * some ops' backward for this run, as src/techniques/attribution/rules.ts does, and each row says which rule its op used.
 */
export async function inspectTape(model: Model, x: Tensor, classIndex: number, rules: TapeRules = 'gradient'): Promise<TapeOutput> {
  const gpu = model.gpu;
  const timing = gpu.hasTimestamps ? 'timestamp-query' : 'none';
  const modified = rules === 'gradient' ? null : ruleBackward(model, rules, x);
  let seed = oneHotSeed(model, [classIndex]);
  let scaledSeed: Tensor | null = null;
  if (timing === 'timestamp-query') gpu.startProfiling(); // flushes what is pending, so the first dispatch is ours
  const first = gpu.dispatchCount;
  const started = performance.now();
  const tape = new InspectingTape(() => gpu.dispatchCount, { retainValues: modified?.retainValues ?? false });
  const norms: Tensor[] = [];
  /** the inspector's own dispatches: a norm, recorded with where its result lies */
  const own: Range[] = [];
  const normOf = (t: Tensor): number => {
    const start = gpu.dispatchCount;
    norms.push(l2Norm(t, `‖${t.name}‖`));
    own.push([start, gpu.dispatchCount]);
    return norms.length - 1;
  };
  const backwardRanges = new Map<number, Range>();
  const order: number[] = [];
  const outputNorm = new Map<number, number>();
  const inputNorms = new Map<number, (number | null)[]>();

  const wasLeaf = x.requiresGrad;
  x.requiresGrad = true;
  let grad: Tensor | null = null;
  let profile: { ms: number }[] = [];
  try {
    const scores = tape.record(() => model.forward(x));
    try {
      if (modified?.seedIsScore) {
        // LRP's relevance starts as the score itself, s_y·e_y (read back here: the inspector's only mid-pass read)
        const scoreOfClass = (await scores.read())[classIndex]!;
        const scaled = (await seed.read()).map((v) => v * scoreOfClass);
        seed = scaledSeed = Tensor.from(gpu, seed.shape, scaled, 'R_out');
      }
      let start = 0;
      [grad = null] = tape.backward(scores, [x], {
        ...modified?.backward,
        seed,
        seedChannels: [classIndex],
        beforeNode: (node, dys) => {
          if (dys[0]) outputNorm.set(node.index, normOf(dys[0]));
          start = gpu.dispatchCount;
        },
        onNode: (node, grads) => {
          backwardRanges.set(node.index, [start, gpu.dispatchCount]);
          order.push(node.index);
          inputNorms.set(node.index, grads.map((g) => (g ? normOf(g) : null)));
        },
      });
    } finally {
      scores.dispose();
    }
    const inputGrad = normOf(grad!);
    await gpu.sync();
    const wallMs = performance.now() - started;
    const last = gpu.dispatchCount;
    if (timing === 'timestamp-query') profile = await gpu.stopProfiling();
    const values = await Promise.all(norms.map(async (t) => (await t.read())[0]!));

    const timeOf = ([start, end]: Range): number | null => {
      if (timing === 'none') return null;
      let ms = 0;
      for (let d = start; d < end; d++) ms += profile[d - first]?.ms ?? 0;
      return ms;
    };
    const forwardRanges = tape.nodes.map((_, i): Range => [i === 0 ? first : tape.forwardEnds[i - 1]!, tape.forwardEnds[i]!]);
    // The layer names of the sanity check (conv1, fire2 … fire9, conv10): an op belongs to the layer of its weights.
    const layerOfWeight = new Map(layersOf(model).flatMap((l) => l.weights.map((w) => [w, l.name] as const)));
    const rows: TapeRow[] = tape.nodes.map((node, i) => {
      const forward = forwardRanges[i]!;
      const backward = backwardRanges.get(node.index);
      const visit = order.indexOf(node.index);
      const dy = outputNorm.get(node.index);
      return {
        index: node.index,
        op: node.op.name,
        name: node.name,
        layer: node.inputs.map((t) => layerOfWeight.get(t.name)).find((l) => l !== undefined) ?? null,
        info: describeAttrs(node.op, node.attrs),
        doc: docOf(node.op, node.attrs),
        inputShapes: node.inputs.map((t, k) => `${t.name}${fmtShape(node.inputShapes[k]!)}`),
        outputShape: `${node.outputs[0]!.name}${fmtShape(node.outputShapes[0]!)}`,
        forwardMs: timeOf(forward),
        backwardMs: backward ? timeOf(backward) : timing === 'none' ? null : 0,
        forwardDispatches: forward[1] - forward[0],
        backwardDispatches: backward ? backward[1] - backward[0] : 0,
        backwardOrder: visit >= 0 ? visit : null,
        outputGradNorm: dy === undefined ? null : values[dy]!,
        inputGradNorms: (inputNorms.get(node.index) ?? node.inputs.map(() => null)).map((k) => (k === null ? null : values[k]!)),
        rule: node.rule ?? null,
      };
    });
    // Whatever no op and no norm accounts for: the tape's gradient accumulation between ops, if any.
    const accounted = [...forwardRanges, ...backwardRanges.values(), ...own];
    const covered = new Uint8Array(last - first);
    for (const [s, e] of accounted) covered.fill(1, s - first, e - first);
    let otherDispatches = 0;
    let otherMs = 0;
    covered.forEach((c, k) => {
      if (c) return;
      otherDispatches++;
      otherMs += profile[k]?.ms ?? 0;
    });
    return {
      rows,
      rules,
      classIndex,
      timing,
      runs: 1,
      realPassMs: null,
      wallMs,
      otherDispatches,
      otherMs: timing === 'none' ? null : otherMs,
      inputGradNorm: values[inputGrad]!,
    };
  } finally {
    x.requiresGrad = wasLeaf;
    tape.dispose();
    grad?.dispose();
    scaledSeed?.dispose();
    for (const t of norms) t.dispose();
    if (gpu.profiler) await gpu.stopProfiling(); // an error on the way must not leave every later dispatch timed
  }
}

/**
 * `runs` inspections, each op's times and the instrumented wall-clock as their medians; and the wall-clock of `runs`
 * real forward + backward passes (no timestamps, no norms), whose median is what one pass costs: the per-op times are
 * measured with each dispatch in a compute pass of its own, which serializes the GPU, so their sum is not that.
 */
export async function inspectTapeRuns(model: Model, x: Tensor, classIndex: number, runs: number, rules: TapeRules = 'gradient'): Promise<TapeOutput> {
  const inspections: TapeOutput[] = [];
  for (let k = 0; k < runs; k++) inspections.push(await inspectTape(model, x, classIndex, rules));
  const realPassesMs: number[] = [];
  for (let k = 0; k < runs; k++) {
    const started = performance.now();
    const modified = rules === 'gradient' ? null : ruleBackward(model, rules, x);
    const { scores, grad } = classScoreGradient(model, x, [classIndex], { ...modified?.backward, tape: { retainValues: modified?.retainValues ?? false } });
    await model.gpu.sync();
    realPassesMs.push(performance.now() - started);
    scores.dispose();
    grad.dispose();
  }
  const medianOf = (pick: (t: TapeOutput) => number | null): number | null => {
    const values = inspections.map(pick);
    return values.some((v) => v === null) ? null : median(values as number[]);
  };
  const last = inspections.at(-1)!;
  return {
    ...last,
    rows: last.rows.map((row, i) => ({
      ...row,
      forwardMs: medianOf((t) => t.rows[i]!.forwardMs),
      backwardMs: medianOf((t) => t.rows[i]!.backwardMs),
    })),
    wallMs: medianOf((t) => t.wallMs)!,
    otherMs: medianOf((t) => t.otherMs),
    runs,
    realPassMs: median(realPassesMs),
  };
}
