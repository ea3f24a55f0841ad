/**
 * Command-line parsing on node:util's parseArgs, with the checks every command shares: numbers that must be
 * positive, integers, ranges — each failure a one-line PixelpropError (exit code 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PixelpropError, check } from '../gpu/errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parse(command: string, argv: string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '');
    throw new PixelpropError(`${command}: ${msg} (see 'pixelprop ${command} --help')`);
  }
}

function numberOf(name: string, raw: string): number {
  const v = Number(raw);
  check(raw.trim() !== '' && Number.isFinite(v), `--${name} must be a number, got '${raw}'`);
  return v;
}

/** A number option; `positive` rejects ≤ 0, `integer` rejects fractions, `min` sets a lower bound. */
export function num(
  values: Parsed['values'],
  name: string,
  fallback: number,
  rules: { positive?: boolean; integer?: boolean; min?: number; max?: number } = {},
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = numberOf(name, String(raw));
  if (rules.integer) check(Number.isInteger(v), `--${name} must be a whole number, got ${raw}`);
  if (rules.positive) check(v > 0, `--${name} must be positive, got ${raw}`);
  if (rules.min !== undefined) check(v >= rules.min, `--${name} must be at least ${rules.min}, got ${raw}`);
  if (rules.max !== undefined) check(v <= rules.max, `--${name} must be at most ${rules.max}, got ${raw}`);
  return v;
}

export function str(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(values: Parsed['values'], name: string): boolean {
  return values[name] === true;
}
