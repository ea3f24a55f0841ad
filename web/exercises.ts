/**
 * The exercises page: pick an op, read its forward, write its backward, check it. The checking — compiling, the
 * comparison with the float64 reference and finite differences, the saliency maps with the student's kernel inside
 * SqueezeNet — is the library's (src/teaching/exercises.ts), run in the page's worker (exercises-worker.ts); this file
 * is the editor and the drawing. window.__exercises holds what the end-to-end test reads.
 */
import { colorize } from '../src/image/colormap.js';
import { EXERCISE_IDS, exercise, type CheckResult, type ExerciseId } from '../src/teaching/exercises.js';
import { byId, make, paint } from './dom.js';
import type { ExerciseOp, ExerciseRequests, ExerciseResults, FromExerciseWorker } from './exercises-protocol.js';

interface ExercisesState {
  ready: boolean;
  busy: boolean;
  exercise: ExerciseId;
  check: CheckResult | null;
  saliency: { exercise: ExerciseId; mapError: number; substituted: number; classIndex: number } | null;
  /** checks and saliency runs finished, for a test that waits for the next one */
  runs: number;
  errors: string[];
}

const state: ExercisesState = { ready: false, busy: false, exercise: 'relu', check: null, saliency: null, runs: 0, errors: [] };
(window as unknown as { __exercises: ExercisesState }).__exercises = state;

// ---- the worker -------------------------------------------------------------------------------------------------------
const worker = new Worker(new URL('./exercises-worker.ts', import.meta.url), { type: 'module', name: 'pixelprop exercises' });
const pending = new Map<number, { resolve(r: unknown): void; reject(e: Error): void }>();
let nextId = 1;
worker.onmessage = (ev: MessageEvent<FromExerciseWorker>) => {
  const p = pending.get(ev.data.id);
  pending.delete(ev.data.id);
  if (ev.data.error !== undefined) p?.reject(new Error(ev.data.error));
  else p?.resolve(ev.data.result);
};
worker.onerror = (ev) => {
  ev.preventDefault();
  showError(`the exercises' worker failed: ${ev.message || 'it could not be loaded'}`);
};

function call<K extends ExerciseOp>(op: K, request: ExerciseRequests[K]): Promise<ExerciseResults[K]> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
    worker.postMessage({ id, op, request });
  });
}

function setStatus(text: string): void {
  byId('status').textContent = text;
}

function showError(message: string): void {
  state.errors.push(message);
  setStatus(message);
}

// ---- the editor -------------------------------------------------------------------------------------------------------
const source = byId<HTMLTextAreaElement>('ex-source');
const gutter = byId<HTMLPreElement>('ex-gutter');
/** what the student wrote per exercise, kept while they look at another */
const drafts = new Map<ExerciseId, string>();
let badLines = new Set<number>();

function renderGutter(): void {
  const lines = source.value.split('\n').length;
  gutter.replaceChildren(
    ...Array.from({ length: lines }, (_, i) => {
      const n = i + 1;
      return make('span', { className: badLines.has(n) ? 'bad' : '', textContent: `${n}\n` });
    }),
  );
  gutter.scrollTop = source.scrollTop;
}

source.addEventListener('input', () => {
  drafts.set(state.exercise, source.value);
  renderGutter();
});
source.addEventListener('scroll', () => (gutter.scrollTop = source.scrollTop));
source.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Tab' || ev.shiftKey) return; // Shift+Tab still leaves the editor
  ev.preventDefault();
  source.setRangeText('  ', source.selectionStart, source.selectionEnd, 'end');
  source.dispatchEvent(new Event('input'));
});

function setSource(text: string): void {
  source.value = text;
  drafts.set(state.exercise, text);
  renderGutter();
}

// ---- choosing an exercise ---------------------------------------------------------------------------------------------
const tabs = byId('exercise-tabs');
for (const id of EXERCISE_IDS) {
  const tab = make('button', { type: 'button', id: `ex-tab-${id}`, textContent: exercise(id).title });
  tab.setAttribute('role', 'tab');
  tab.addEventListener('click', () => select(id));
  tabs.append(tab);
}

function clearResults(): void {
  badLines = new Set();
  byId('ex-verdict').textContent = '';
  byId('ex-verdict').className = 'verdict';
  byId('ex-errors').replaceChildren();
  byId('ex-map-meta').textContent = '';
  for (const id of ['ex-map-engine', 'ex-map-student']) byId<HTMLCanvasElement>(id).getContext('2d')!.clearRect(0, 0, 224, 224);
}

function select(id: ExerciseId): void {
  const ex = exercise(id);
  state.exercise = id;
  for (const other of EXERCISE_IDS) byId(`ex-tab-${other}`).setAttribute('aria-selected', String(other === id));
  byId('ex-title').textContent = `${ex.title}: the backward of the engine’s ${ex.opName} op`;
  byId('ex-forward').textContent = ex.forwardWgsl;
  byId('ex-hint-text').textContent = ex.hint;
  byId('ex-hint-text').hidden = true;
  byId('ex-solution-text').textContent = ex.solution;
  byId('ex-derivation').textContent = ex.derivation;
  byId('ex-solution-box').hidden = true;
  clearResults();
  setSource(drafts.get(id) ?? ex.stub);
}

byId('ex-hint').addEventListener('click', () => (byId('ex-hint-text').hidden = !byId('ex-hint-text').hidden));
byId('ex-solution').addEventListener('click', () => (byId('ex-solution-box').hidden = !byId('ex-solution-box').hidden));
byId('ex-use-solution').addEventListener('click', () => setSource(exercise(state.exercise).solution));
byId('ex-reset').addEventListener('click', () => setSource(exercise(state.exercise).stub));

const maxOf = (values: Float32Array): number => values.reduce((m, v) => Math.max(m, v), 0);

// ---- checking ---------------------------------------------------------------------------------------------------------
const checkButton = byId<HTMLButtonElement>('ex-check');

function showCheck(r: CheckResult): void {
  const verdict = byId('ex-verdict');
  verdict.className = `verdict ${r.passed ? 'pass' : 'fail'}`;
  verdict.textContent = r.passed
    ? `Passed — ${r.message}`
    : r.loopBudgetExceeded
      ? `Did not finish — ${r.message}`
      : r.compiled
        ? `Not yet — ${r.message}`
        : 'Does not compile';
  badLines = new Set(r.compileErrors.flatMap((e) => (e.line !== null ? [e.line] : [])));
  byId('ex-errors').replaceChildren(
    ...r.compileErrors.map((e) => make('li', { textContent: `${e.line !== null ? `line ${e.line}${e.column !== null ? `:${e.column}` : ''}: ` : ''}${e.message}` })),
  );
  renderGutter();
}

async function check(): Promise<void> {
  const id = state.exercise;
  const text = source.value;
  state.busy = true;
  checkButton.disabled = true;
  clearResults();
  try {
    setStatus('Compiling and checking…');
    const r = await call('check', { exercise: id, source: text });
    state.check = r;
    state.runs++;
    showCheck(r);
    if (!r.compiled) {
      setStatus('Fix the compile error, then check again.');
      return;
    }
    if (r.loopBudgetExceeded) {
      // the network's backward would only run out of loop iterations again, on far more invocations
      setStatus('Make every loop end, then check again.');
      return;
    }
    setStatus('Running SqueezeNet backward twice: the engine’s, and with your kernel…');
    const s = await call('saliency', { exercise: id, source: text });
    // each map on its own scale (divided by its maximum), so that a wrong kernel's pattern shows even when its
    // magnitude is far off; the caption gives the ratio of the maxima
    paint(byId('ex-map-engine'), colorize(s.engineMap, s.width, s.height, { cmap: 'hot' }));
    paint(byId('ex-map-student'), colorize(s.studentMap, s.width, s.height, { cmap: 'hot' }));
    const ratio = maxOf(s.studentMap) / maxOf(s.engineMap);
    const kept = s.kept.length ? `; ${s.kept.length} left to the engine (${[...new Set(s.kept.map((k) => k.why))].join(', ')})` : '';
    byId('ex-map-meta').textContent =
      `Class ${s.classIndex}. Your kernel ran as the backward of ${s.substituted} ${exercise(id).opName} node${s.substituted === 1 ? '' : 's'}${kept}. ` +
      `Maps differ by ${s.mapError.toExponential(2)} (max|Δ|/max|engine|); the largest value of yours is ${ratio.toPrecision(3)}× the engine’s.`;
    state.saliency = { exercise: id, mapError: s.mapError, substituted: s.substituted, classIndex: s.classIndex };
    state.runs++;
    setStatus('Ready.');
  } catch (e) {
    showError((e as Error).message);
  } finally {
    state.busy = false;
    checkButton.disabled = false;
  }
}
checkButton.addEventListener('click', () => void check());

// ---- start ------------------------------------------------------------------------------------------------------------
select('relu');
// absolute: the worker would resolve a relative URL against its own script's folder
const fromPage = (path: string): string => new URL(path, location.href).href;
call('init', { modelUrl: fromPage('weights/squeezenet1.1.onnx'), imageUrl: fromPage('samples/chelsea.png') })
  .then((r) => {
    byId('ex-image').textContent = r.image;
    setStatus(`Ready (${r.adapter}).`);
    checkButton.disabled = false;
    state.ready = true;
  })
  .catch((e: Error) => showError(`The engine could not start: ${e.message}`));
