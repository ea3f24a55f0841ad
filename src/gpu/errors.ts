/**
 * Errors the user can act on. Every check in the library that rejects input throws a `PixelpropError` whose message
 * is one line that names what was wrong; the CLI prints that line alone (no stack) and exits with code 2. Anything
 * else reaching the top is a bug and is printed with its stack.
 */
export class PixelpropError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PixelpropError';
  }
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
