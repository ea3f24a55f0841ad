/** Running the command line in-process, for the CLI tests. */
import { existsSync } from 'node:fs';
import { expect, vi } from 'vitest';
import { main } from '../src/cli/main.js';

/** Runs `pixelprop ...args` in-process; returns the exit code and what went to stdout and stderr. */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** A refusal as the CLI promises one: exit 2, one line `pixelprop: …` matching `message`, no output, no `dir` made. */
export function expectRefusal(r: { code: number; out: string; err: string }, message: RegExp, dir: string): void {
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/^pixelprop: /);
  expect(r.err).toMatch(message);
  expect(r.err.split('\n'), 'one line').toHaveLength(1);
  expect(r.out).toBe('');
  expect(existsSync(dir), 'no output folder').toBe(false);
}
