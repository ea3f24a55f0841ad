/**
 * ImageNet class names (synset.txt: "n01440764 tench, Tinca tinca" per line) and the lookup of a class given by a
 * person: an index, or any of a synset's comma-separated names, case-insensitive ("tarantula", "Yorkshire terrier").
 */
import { PixelpropError, check } from '../gpu/errors.js';
import { closest } from '../util/suggest.js';
import { host } from '../kernels/host.js';
import { softmaxRef } from '../kernels/softmax.js';

export interface Labels {
  /** the WordNet ids, "n01440764" */
  ids: string[];
  /** every name of each class, ["tench", "Tinca tinca"] */
  names: string[][];
}

export function parseSynset(text: string): Labels {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const ids: string[] = [];
  const names: string[][] = [];
  for (const line of lines) {
    const m = /^\s*(n\d{8})\s+(.*)$/.exec(line);
    ids.push(m ? m[1]! : '');
    names.push((m ? m[2]! : line).split(',').map((s) => s.trim()).filter(Boolean));
  }
  return { ids, names };
}

/** The short name people use for class i: its first synonym. */
export function className(labels: Labels | null, i: number): string {
  return labels?.names[i]?.[0] ?? `class ${i}`;
}

/** The names closest to `query`: substring matches first, then by edit distance. */
export function closestNames(labels: Labels, query: string, count = 3): string[] {
  return closest(query, labels.names.flatMap((names, i) => names.map((name) => `${name} (${i})`)), count);
}

/** A class index from "76", "tarantula" or "Yorkshire terrier"; a clear error with suggestions otherwise. */
export function resolveClass(spec: string | number, labels: Labels | null, numClasses: number): number {
  const text = String(spec).trim();
  if (/^-?\d+$/.test(text)) {
    const i = Number(text);
    // The message quotes the index as written: beyond 2^53, Number() would show it rounded.
    check(Number.isSafeInteger(i) && i >= 0 && i < numClasses, () => `class index ${text} is out of range: the model has classes 0 to ${numClasses - 1}`);
    return i;
  }
  if (!labels) throw new PixelpropError(`class '${text}' is a name but no class names are loaded (synset.txt); give an index`);
  const q = text.toLowerCase();
  const hit = labels.names.findIndex((names) => names.some((n) => n.toLowerCase() === q));
  if (hit >= 0 && hit < numClasses) return hit;
  throw new PixelpropError(`unknown class '${text}'; closest: ${closestNames(labels, text).join(', ')}`);
}

/** One ranked class of an image: its index, short name, raw score and softmax probability. */
export interface Ranked {
  index: number;
  name: string;
  score: number;
  prob: number;
}

/**
 * The k highest scores of one image, highest first (equal scores keep the lower class index first), with the
 * softmax probabilities computed in float64 over all the scores.
 */
export function topK(scores: ArrayLike<number>, k: number, labels: Labels | null): Ranked[] {
  const prob = softmaxRef(host([1, scores.length], scores)).data;
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, k).map((index) => ({ index, name: className(labels, index), score: scores[index]!, prob: prob[index]! }));
}
