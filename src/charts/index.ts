/**
 * Charts as Vega-Lite specifications, rendered to SVG by Vega — the same code in Node (`pixelprop evaluate`, the
 * README's figures) and in the page. pixelprop only says what to draw: the data and its encoding; layout, axes,
 * legends and text are Vega-Lite's (vega-lite compiles the spec to a Vega dataflow, vega renders it headless).
 */
import type { TopLevelSpec } from 'vega-lite';

/** One point of a deletion or insertion curve: the class probability with `fraction` of the pixels removed/added. */
export interface CurvePoint {
  method: string;
  kind: 'deletion' | 'insertion';
  fraction: number;
  probability: number;
}

/** One randomization score: how similar a method's map stays once the layers down to `layer` are randomized. */
export interface RandomizationPoint {
  method: string;
  /** the last layer randomized; the trained model is the step before the first */
  layer: string;
  /** Spearman's ρ of |map|, or of map, or SSIM, against the trained model's map */
  metric: string;
  value: number;
}

/** One point of a fooling run: after `iteration` steps, the softmax probability of one of the two classes followed. */
export interface FoolingPoint {
  iteration: number;
  /** which class: the target, or the class the image started as */
  class: string;
  probability: number;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** A fooling run as it went: p(target) rising and p(original class) falling, one point per iteration (the web page). */
export function foolingChart(points: readonly FoolingPoint[], title = 'Probabilities per iteration'): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    width: 260,
    height: 140,
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iteration', axis: { tickMinStep: 1 } },
      y: { field: 'probability', type: 'quantitative', title: 'softmax probability', scale: { domain: [0, 1] } },
      color: { field: 'class', type: 'nominal', title: null, legend: { orient: 'bottom' } },
    },
  };
}

/**
 * Deletion (left) and insertion (right) curves, one line per method. Averaged over images where several are given
 * for a method: the mean probability at each fraction.
 */
export function curvesChart(points: readonly CurvePoint[], title = 'Deletion and insertion'): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values: points.map((p) => ({ ...p })) },
    facet: { column: { field: 'kind', type: 'nominal', title: null, sort: ['deletion', 'insertion'] } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', interpolate: 'linear' },
      encoding: {
        x: { field: 'fraction', type: 'quantitative', title: 'fraction of pixels removed / inserted', scale: { domain: [0, 1] } },
        y: { aggregate: 'mean', field: 'probability', type: 'quantitative', title: 'class probability', scale: { domain: [0, 1] } },
        color: { field: 'method', type: 'nominal', title: 'method' },
      },
    },
  };
}

/**
 * The randomization test as curves (Adebayo et al.'s figure 4): similarity to the trained model's map as the layers
 * are randomized from the top, one panel per metric, one line per method.
 */
export function randomizationChart(points: readonly RandomizationPoint[], layers: readonly string[], title = 'Model randomization'): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values: points.map((p) => ({ ...p })) },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'layer', type: 'ordinal', sort: [...layers], title: 'randomized down to', axis: { labelAngle: -60, labelLimit: 140 } },
        y: { aggregate: 'mean', field: 'value', type: 'quantitative', title: 'similarity to the trained map', scale: { domain: [-0.2, 1] } },
        color: { field: 'method', type: 'nominal', title: 'method' },
      },
    },
  };
}

/** Renders a Vega-Lite spec to an SVG document (no canvas, no browser: text is measured by Vega's estimate). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
