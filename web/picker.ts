/**
 * The class pickers: text fields searching all of the model's classes by name or index. The browser's own datalist
 * matches as one types ("tara" → "tarantula (76)"); a text that names no class is resolved by the library
 * (resolveClass), and its closest names (closestNames) are offered as buttons.
 */
import { PixelpropError } from '../src/gpu/errors.js';
import { closestNames, resolveClass, type Labels } from '../src/graph/labels.js';
import { byId, make } from './dom.js';
import type { ModelInfo } from './protocol.js';

let model: ModelInfo | null = null;
let labels: Labels | null = null;

/** The "name (index)" text of a class, as the datalist offers it. */
export function classText(index: number): string {
  return model ? `${model.names[index] ?? `class ${index}`} (${index})` : String(index);
}

/** Fills the shared datalist with the classes of a newly loaded model. */
export function setPickerModel(info: ModelInfo): void {
  model = info;
  labels = info.synonyms ? { ids: [], names: info.synonyms } : null;
  const list = byId<HTMLDataListElement>('class-names');
  list.replaceChildren(
    ...info.names.map((name, i) => make('option', { value: `${name} (${i})`, label: info.synonyms?.[i]?.slice(1).join(', ') ?? '' })),
  );
}

/** The class a field names: "tarantula (76)", "76" or "tarantula"; a PixelpropError naming the closest otherwise. */
export function classOf(text: string): number {
  if (!model) throw new PixelpropError('no model is loaded');
  const picked = /\((\d+)\)\s*$/.exec(text);
  return resolveClass(picked ? picked[1]! : text, labels, model.numClasses);
}

/**
 * Wires a field to its hint line: while the text names no class, the closest names appear as buttons that fill it in.
 * Returns a function that reads the field: the class, or null for an empty field (when `optional`).
 */
export function classField(inputId: string, hintId: string, what: string, optional = false): () => number | null {
  const input = byId<HTMLInputElement>(inputId);
  const hint = byId(hintId);
  const update = (): void => {
    const text = input.value.trim();
    hint.replaceChildren();
    if (!model || text === '') return;
    try {
      classOf(text);
    } catch {
      if (!labels) {
        hint.append(`give a class index from 0 to ${model.numClasses - 1}`);
        return;
      }
      hint.append('did you mean ');
      for (const name of closestNames(labels, text, 5)) {
        const index = Number(/\((\d+)\)$/.exec(name)![1]);
        hint.append(
          make('button', {
            type: 'button',
            className: 'chip',
            textContent: name,
            onclick: () => {
              input.value = classText(index);
              update();
            },
          }),
        );
      }
    }
  };
  input.addEventListener('input', update);
  return () => {
    const text = input.value.trim();
    if (text === '' && optional) return null;
    if (text === '') throw new PixelpropError(`choose the ${what}: a class name or index`);
    return classOf(text);
  };
}
