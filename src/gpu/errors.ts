/**
 * Errors the user can act on. Every check in the library that rejects input throws a `PixelpropError` whose message
 * is one line that names what was wrong; the CLI prints that line alone (no stack) and exits with code 2. Anything
 * else reaching the top is a bug and is printed with its stack.
 */
export class PixelpropError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = 'PixelpropError';
  }
}

/** Longer messages keep their start and their end (which usually says what to do), with the middle cut. */
const MAX_MESSAGE = 600;

/**
 * A message as one printable line, whatever it quotes. Messages name what was wrong, and the names come from files:
 * a damaged ONNX file can hold a node name with line breaks or kilobytes of binary (found by scripts/fuzz.ts), which
 * would otherwise break the one-line promise. Control characters are escaped, and an overlong message is cut.
 */
function oneLine(message: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = message.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  if (escaped.length <= MAX_MESSAGE) return escaped;
  return `${escaped.slice(0, MAX_MESSAGE - 200)} … ${escaped.slice(-180)}`;
}

/** Throws a PixelpropError when `cond` is false. */
export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new PixelpropError(typeof message === 'string' ? message : message());
}

/** A shape as people write it: [1,3,224,224]. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Bytes in a human unit, for error messages and reports. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
