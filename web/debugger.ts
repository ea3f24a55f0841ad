/**
 * The step-through backward debugger's view, in the tape inspector's tab: the recording of src/teaching/debugger.ts
 * (kept in the worker) walked op by op — the forward ops, then the backward visiting them in reverse.
 *
 * - the network as a graph (an SVG column of the ops in recording order, each with its layer name, op and output
 *   shape; an input that does not come from the op just above is drawn as an arc): click an op to jump to it;
 * - Previous / Next and the arrow keys (← →, Home, End) step;
 * - for the current op: its derivation (the op definition's doc), and each tensor — inputs, output, and in the backward
 *   the incoming gradient dy and the outgoing gradients dx — as channel tiles with their value ranges (the worker
 *   colours them: src/teaching/tiles.ts);
 * - click a tile's pixel: the live check of that element — GPU, float64 and a centered finite difference.
 *
 * `window.__pixelpropDebugger` exposes what is shown, for test/debugger.e2e.test.ts.
 */
import type { ElementCheck } from '../src/teaching/debugger.js';
import { elementIndex } from '../src/teaching/tiles.js';
import { canvasOf, fmtMs, fmtNum, make } from './dom.js';
import type { DebugOutline, DebugStepView, Op, Requests, Results } from './protocol.js';

/** main.ts's `run`: one engine call with the page's busy state; null after an error it has shown. */
export type RunCall = <K extends Op>(op: K, request: Requests[K]) => Promise<Results[K] | null>;

/** Tiles drawn per tensor: enough to see a layer's patterns, few enough that each step is drawn in a moment. */
const MAX_TILES = 8;

/** What the view shows, for tests and consoles. */
export interface DebuggerState {
  outline: DebugOutline | null;
  /** the step shown, -1 before a recording */
  current: number;
  /** a step is being fetched or an element checked */
  loading: boolean;
  /** per step drawn (in the order drawn): its index, tensors and tiles drawn */
  drawn: { step: number; tensors: number; tiles: number }[];
  check: (ElementCheck & { ms: number; step: number }) | null;
}

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 36;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const shapeText = (s: readonly number[]): string => `[${s.join(',')}]`;

export function setUpDebugger(root: HTMLElement, run: RunCall): void {
  const state: DebuggerState = { outline: null, current: -1, loading: false, drawn: [], check: null };
  (window as unknown as { __pixelpropDebugger: DebuggerState }).__pixelpropDebugger = state;

  const start = make('button', { type: 'button', className: 'run primary', id: 'debug-run', textContent: 'Step through forward + backward' });
  const prev = make('button', { type: 'button', id: 'debug-prev', textContent: '← Previous', disabled: true });
  const next = make('button', { type: 'button', id: 'debug-next', textContent: 'Next →', disabled: true });
  const where = make('span', { className: 'meta', id: 'debug-where' });
  const graph = make('div', { className: 'debug-graph', id: 'debug-graph' });
  const title = make('h3', { id: 'debug-title' });
  const doc = make('div', { className: 'doc', id: 'debug-doc' });
  const tensors = make('div', { className: 'debug-tensors', id: 'debug-tensors' });
  const checkPanel = make('div', { className: 'debug-check', id: 'debug-check' });
  const stepPanel = make('div', { className: 'debug-step' }, title, doc, checkPanel, tensors);
  const body = make('div', { className: 'debug-body', hidden: true }, graph, stepPanel);
  root.tabIndex = 0;
  root.append(
    make('h3', { textContent: 'Step-through backward' }),
    make('p', {
      className: 'lead',
      textContent:
        'Walk through one forward and one backward pass of the current image, op by op: each tensor an op reads and writes, ' +
        'the gradient arriving at its output and the gradients it sends to its inputs. Click a pixel of a tile to check that ' +
        'element live: the GPU value, the float64 CPU value, and for a gradient a centered finite difference of the float64 score.',
    }),
    make('div', { className: 'controls' }, start, prev, next, where),
    body,
  );

  let svgNodes: SVGGElement[] = [];

  function drawGraph(outline: DebugOutline): void {
    const forward = outline.steps.filter((s) => s.direction === 'forward');
    const width = 330;
    const el = svg('svg', { width, height: forward.length * ROW + 10, role: 'img', 'aria-label': 'the network, one op per row' });
    svgNodes = forward.map((s, i) => {
      const y = i * ROW + 5;
      // an input from further up than the op just above: an arc on the right (a residual connection)
      s.producers.forEach((p) => {
        if (p === null || p === i - 1) return;
        const from = p * ROW + 5 + ROW / 2;
        const to = y + ROW / 2;
        const bulge = 250 + Math.min(70, (i - p) * 6);
        el.append(svg('path', { d: `M 240 ${from} C ${bulge} ${from}, ${bulge} ${to}, 240 ${to}`, class: 'edge' }));
      });
      if (i > 0) el.append(svg('line', { x1: 120, y1: y - 4, x2: 120, y2: y + 2, class: 'edge' }));
      const g = svg('g', { class: 'node', tabindex: -1, 'data-node': s.node });
      g.append(
        svg('rect', { x: 2, y: y + 2, width: 238, height: ROW - 6, rx: 5 }),
        svg('text', { x: 8, y: y + 15, class: 'layer' }, s.layer),
        svg('text', { x: 8, y: y + 27, class: 'shape' }, `${s.op} → ${shapeText(s.outputShapes[0]!)}`),
        svg('title', {}, `${s.layer}: ${s.op}${s.info ? ` {${s.info}}` : ''} (${s.name}) ${s.inputShapes.map(shapeText).join(', ')} → ${shapeText(s.outputShapes[0]!)}`),
      );
      // jump to the op, in the pass being walked: its backward step when the walk is in the backward
      g.addEventListener('click', () => {
        const inBackward = outline.steps[state.current]?.direction === 'backward';
        const target = outline.steps.find((t) => t.node === s.node && t.direction === (inBackward ? 'backward' : 'forward')) ?? s;
        void show(target.index);
      });
      el.append(g);
      return g;
    });
    graph.replaceChildren(el);
  }

  function tensorFigure(view: DebugStepView, k: number): HTMLElement {
    const t = view.tensors[k]!;
    const set = t.tiles;
    const caption =
      `${t.role === 'dy' ? 'incoming gradient' : t.role === 'dx' ? 'outgoing gradient' : t.role} · ${t.name} ${shapeText(t.shape)} · ` +
      `range [${fmtNum(set.min)}, ${fmtNum(set.max)}] · ${set.cmap}` +
      (set.layout === 'channels' ? ` · ${set.tiles.length} of ${set.channels} channels (largest |v|)` : '');
    const tiles = set.tiles.map((tile) => {
      const canvas = canvasOf(tile.image, `${t.name}, channel ${tile.channel}, range ${fmtNum(tile.min)} to ${fmtNum(tile.max)}`, 'tile');
      canvas.title = 'click a pixel to check that element';
      canvas.addEventListener('click', (ev) => {
        const x = Math.min(set.width - 1, Math.floor((ev.offsetX / canvas.clientWidth) * set.width));
        const y = Math.min(set.height - 1, Math.floor((ev.offsetY / canvas.clientHeight) * set.height));
        if (set.layout === 'vector' && y * set.width + x >= t.shape.reduce((a, b) => a * b, 1)) return; // a blank cell
        void checkElement(view.step, t.role, t.slot, elementIndex(set, tile.channel, x, y));
      });
      return make(
        'figure',
        {},
        canvas,
        make('figcaption', { textContent: set.layout === 'channels' ? `c${tile.channel} [${fmtNum(tile.min)}, ${fmtNum(tile.max)}]` : `${set.width}×${set.height} grid` }),
      );
    });
    return make('section', { className: `debug-tensor ${t.role}` }, make('h4', { textContent: caption }), make('div', { className: 'tiles' }, ...tiles));
  }

  async function show(index: number): Promise<void> {
    const outline = state.outline;
    if (!outline || state.loading || index < 0 || index >= outline.steps.length) return;
    state.loading = true;
    prev.disabled = next.disabled = true;
    try {
      const view = await run('debugStep', { step: index, maxTiles: MAX_TILES });
      if (!view) return;
      const s = outline.steps[index]!;
      state.current = index;
      const n = outline.nodeCount;
      where.textContent =
        s.direction === 'forward'
          ? `forward op ${s.node + 1} of ${n}`
          : `backward op ${index - n + 1} of ${outline.steps.length - n} (visits op ${s.node + 1})`;
      title.textContent = `${s.direction === 'forward' ? 'Forward' : 'Backward'} · ${s.layer} · ${s.op}${s.info ? ` {${s.info}}` : ''}`;
      doc.replaceChildren(
        make('p', { className: 'shapes', textContent: `${s.name}: ${s.inputShapes.map(shapeText).join(', ')} → ${s.outputShapes.map(shapeText).join(', ')}` }),
        ...(s.direction === 'forward'
          ? [make('h4', { textContent: 'Forward' }), make('p', { textContent: s.doc.forward }), make('h4', { textContent: 'Kept for the backward' }), make('p', { textContent: s.doc.saves })]
          : [make('h4', { textContent: 'Backward' }), make('p', { textContent: s.doc.backward }), make('h4', { textContent: 'It reads' }), make('p', { textContent: s.doc.saves })]),
        make('p', { className: 'meta', textContent: `this step's tiles in ${fmtMs(view.ms)} (each tensor is read back and drawn once, then kept)` }),
      );
      tensors.replaceChildren(...view.tensors.map((_, k) => tensorFigure(view, k)));
      svgNodes.forEach((g) => g.classList.toggle('current', Number(g.dataset['node'] ?? g.getAttribute('data-node')) === s.node));
      svgNodes[s.node]?.scrollIntoView({ block: 'nearest' });
      state.drawn.push({ step: index, tensors: view.tensors.length, tiles: view.tensors.reduce((a, t) => a + t.tiles.tiles.length, 0) });
    } finally {
      state.loading = false;
      prev.disabled = state.current <= 0;
      next.disabled = state.current >= outline.steps.length - 1;
    }
  }

  async function checkElement(step: number, role: ElementCheck['role'], slot: number, index: number): Promise<void> {
    if (state.loading) return;
    state.loading = true;
    checkPanel.replaceChildren(make('p', { className: 'meta', textContent: 'checking: the float64 CPU path runs the whole network (seconds)…' }));
    try {
      const r = await run('debugCheck', { step, role, slot, index });
      if (!r) {
        checkPanel.replaceChildren();
        return;
      }
      state.check = { ...r, step };
      const rel = (v: number | null): string => (v === null ? '—' : v.toExponential(1));
      const rows: [string, string, string][] = [
        ['GPU (float32)', fmtNum(r.gpu), rel(r.relErrors.gpuVsFloat64)],
        ['float64 (CPU)', fmtNum(r.float64), '—'],
        ...(r.finiteDifference === null ? [] : [['centered difference', fmtNum(r.finiteDifference), rel(r.relErrors.finiteDifferenceVsFloat64)] as [string, string, string]]),
      ];
      const kink = r.oneSided && Math.abs(r.oneSided[0] - r.oneSided[1]) > 1e-4 * r.scale;
      checkPanel.replaceChildren(
        make('h4', { textContent: `element ${r.position} of the ${role === 'dy' ? 'incoming gradient' : role === 'dx' ? 'outgoing gradient' : role}` }),
        make(
          'table',
          { className: 'debug-values' },
          make('tr', {}, make('th', { textContent: '' }), make('th', { textContent: 'value' }), make('th', { textContent: '|Δ| / max|float64| of the tensor' })),
          ...rows.map(([what, value, error]) => make('tr', {}, make('td', { textContent: what }), make('td', { className: 'num', textContent: value }), make('td', { className: 'num', textContent: error }))),
        ),
        make('p', {
          className: 'meta',
          textContent:
            (r.perturbed ? `perturbed: ${r.perturbed}; (s(v+h) − s(v−h)) / 2h of the float64 score s · ` : 'a value of the forward: no derivative to estimate · ') +
            `tensor scale ${fmtNum(r.scale)} · ${fmtMs(r.ms)}` +
            (kink ? ` · the one-sided differences differ (${fmtNum(r.oneSided![0])} vs ${fmtNum(r.oneSided![1])}): a kink within ±h, no derivative there` : ''),
        }),
      );
    } finally {
      state.loading = false;
    }
  }

  start.addEventListener('click', async () => {
    const outline = await run('debugStart', {});
    if (!outline) return;
    state.outline = outline;
    state.current = -1;
    state.drawn = [];
    state.check = null;
    checkPanel.replaceChildren();
    body.hidden = false;
    drawGraph(outline);
    await show(0);
    root.focus();
  });
  prev.addEventListener('click', () => void show(state.current - 1));
  next.addEventListener('click', () => void show(state.current + 1));
  root.addEventListener('keydown', (ev) => {
    const last = (state.outline?.steps.length ?? 0) - 1;
    const target = { ArrowRight: state.current + 1, ArrowLeft: state.current - 1, Home: 0, End: last }[ev.key];
    if (target === undefined || !state.outline || (ev.target as HTMLElement).closest('button, input, select')) return;
    ev.preventDefault();
    void show(target);
  });
}
