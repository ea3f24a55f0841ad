/**
 * The range each numeric setting of the techniques may take, in one place for the library's checks, the command
 * line (its parsing and its --help) and the web page (its number fields' min and max).
 *
 * Every setting has a maximum. A number with none is an invitation to run for hours or to allocate without bound:
 * a blur σ of 1e9 asked V8 for a kernel of 8·10⁹ taps and killed Node. The maxima are far above any useful value
 * and low enough that the worst run they allow is still a run (minutes, not days; megabytes, not gigabytes).
 */
import { PixelpropError } from '../gpu/errors.js';

export interface NumberRange {
  min: number;
  max: number;
  /** min itself is excluded: (min, max] */
  aboveMin?: boolean;
  integer?: boolean;
}

/** Seeds are taken modulo 2^32 by the generator (src/util/rng.ts): a larger one would alias a smaller one. */
export const SEED_RANGE: NumberRange = { min: 0, max: 2 ** 32 - 1, integer: true };

/** "[1, 100000]", "(0, 32]". */
export function fmtRange(r: NumberRange): string {
  return `${r.aboveMin ? '(' : '['}${r.min}, ${r.max}]`;
}

/** Why `value` is not in `range`, as "must be …", or null when it is. */
export function rangeProblem(value: number, r: NumberRange): string | null {
  if (typeof value !== 'number' || Number.isNaN(value)) return `must be a number in ${fmtRange(r)}`;
  if (r.integer && !Number.isInteger(value)) return 'must be a whole number';
  if (r.integer && r.min === 1 && value < 1) return 'must be positive';
  if (r.aboveMin && value <= r.min) return r.min === 0 ? 'must be positive' : `must be more than ${r.min}`;
  if (value < r.min) return `must be at least ${r.min}`;
  if (value > r.max) return `must be at most ${r.max}`;
  return null;
}

/** Throws "`what` `value` must be …" when `value` is outside `range`. */
export function checkRange(value: number, r: NumberRange, what: string): void {
  const problem = rangeProblem(value, r);
  if (problem !== null) throw new PixelpropError(`${what} ${value} ${problem} (range ${fmtRange(r)})`);
}
