/**
 * The benchmarks' command-line helpers, Node-only: kept apart from the measuring code (harness.ts, measure.ts,
 * kernel-table.ts, ceiling.ts), which the benchmark page runs in a browser (web/bench-worker.ts).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function argFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** Whether the module at `url` is the script node was started with (so a benchmark module can also be imported). */
export function isMain(url: string): boolean {
  return !!process.argv[1] && url === pathToFileURL(process.argv[1]).href;
}

/** The CPU and its core count, as /proc/cpuinfo says (the JSON's `machine`; the page says what the browser tells). */
export function machineName(): string {
  try {
    const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
    const cores = (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm) ?? []).length;
    return `${cpu.trim()}, ${cores} cores`;
  } catch {
    return 'unknown machine';
  }
}
