/**
 * Command-line parsing on node:util's parseArgs, with the checks every command shares: every number within its
 * documented range — each failure a one-line PixelpropError (exit code 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PixelpropError, check } from '../gpu/errors.js';
import { fmtRange, rangeProblem, type NumberRange } from '../techniques/ranges.js';

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
    const error = e as Error & { code?: string };
    // "--lr -1": parseArgs refuses a value that starts with a dash, and its hint to write --lr=-1 is on its third line.
    if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument is ambiguous/.test(error.message)) {
      const at = argv.findIndex((a, i) => a.startsWith('--') && !a.includes('=') && argv[i + 1]?.startsWith('-'));
      if (at >= 0) {
        const [option, value] = [argv[at]!, argv[at + 1]!];
        throw new PixelpropError(`${command}: Option '${option}' argument is ambiguous: to give it the value '${value}', write ${option}=${value} (see 'pixelprop ${command} --help')`);
      }
    }
    const msg = error.message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '');
    throw new PixelpropError(`${command}: ${msg} (see 'pixelprop ${command} --help')`);
  }
}

/**
 * A number option within `range` (every number option has one: src/techniques/ranges.ts). Messages quote the value
 * as written, so that a value JavaScript would round (9007199254740993, beyond 2^53) is shown as given, not rounded.
 */
export function num(values: Parsed['values'], name: string, fallback: number, range: NumberRange): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const text = String(raw);
  const v = Number(text);
  check(text.trim() !== '' && Number.isFinite(v), `--${name} must be a number, got '${text}'`);
  const problem = rangeProblem(v, range);
  check(problem === null, () => `--${name} ${problem}, got ${text} (range ${fmtRange(range)})`);
  // An integer beyond 2^53 may have been rounded into the range ("9007199254740993" reads as 9007199254740992).
  check(!range.integer || Number.isSafeInteger(v), () => `--${name} must be a whole number below 2^53, got ${text}`);
  return v;
}

export function str(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(values: Parsed['values'], name: string): boolean {
  return values[name] === true;
}
