/**
 * Fuzzing as a test: `npm run fuzz` (scripts/fuzz.ts, compiled to dist/) on a bounded count of seeded cases — byte
 * flips, truncations and field mutations of the real SqueezeNet, of miniature ones and of PNG/JPEG files — must end
 * every case in a result or a one-line PixelpropError, with no hang and no memory growth. Long runs: `npm run fuzz --
 * --count 10000`. Then what the fuzzer found, as plain regression tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import { buildModel, squeezenetLikeSpec } from '../src/graph/onnx/build-fixture.js';
import { parseOnnx } from '../src/graph/onnx/parse.js';
import { decodeImage, encodePng } from '../src/image/node-io.js';
import type { FuzzReport } from '../scripts/fuzz.js';
import { Model } from '../src/graph/model.js';
import { useGpu } from './helpers.js';
import { repoRoot } from './shared-data.js';

const gpu = useGpu();

const CASES = 300;

/** The PixelpropError `fn` throws. */
function refusal(fn: () => unknown): PixelpropError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PixelpropError);
    return e as PixelpropError;
  }
  throw new Error('expected a PixelpropError');
}

describe('fuzzing the ONNX loader and the image decoders', () => {
  it(`${CASES} seeded cases: every one a result or a one-line PixelpropError, no hang, no memory growth`, () => {
    const script = join(repoRoot, 'dist', 'scripts', 'fuzz.js');
    expect(existsSync(script), "dist/ is missing: run 'npx tsc -p .' first").toBe(true);
    const run = spawnSync(process.execPath, [script, '--count', String(CASES), '--seed', '7', '--json'], { encoding: 'utf8', timeout: 600_000 });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as FuzzReport;
    console.log(
      `fuzz: ${report.cases} cases, ${report.accepted} accepted, ${report.refused} refused, ${report.crashes.length} crashes, ` +
        `${report.hangs.length} hangs, peak RSS ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB, ${report.ms} ms`,
    );
    expect(report.cases).toBe(CASES);
    expect(report.crashes).toEqual([]);
    expect(report.hangs).toEqual([]);
    // Every kind of input was exercised, and both outcomes occur: the mutations are neither all harmless nor all fatal.
    for (const prefix of ['onnx:mini', 'onnx:real', 'tensor', 'image:png', 'image:jpeg']) {
      expect(Object.keys(report.kinds).some((k) => k.startsWith(prefix)), prefix).toBe(true);
    }
    expect(report.refused).toBeGreaterThan(0);
    expect(report.accepted).toBeGreaterThan(0);
    // What the worker holds after a GC does not grow from the first tenth of the run to its end.
    expect(report.retainedEndBytes! - report.retainedEarlyBytes!).toBeLessThan(32 * 2 ** 20);
  }, 600_000);

  it('replays one case by its number', () => {
    const script = join(repoRoot, 'dist', 'scripts', 'fuzz.js');
    const run = spawnSync(process.execPath, [script, '--seed', '7', '--case', '42', '--json'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as FuzzReport).cases).toBe(1);
  });
});

describe('what the fuzzer found: names taken from a damaged file kept the message to one line', () => {
  it('an ONNX node whose name, op domain or output holds line breaks and binary', () => {
    const spec = squeezenetLikeSpec({ irVersion: 7 });
    const pool = spec.nodes.find((n) => n.name === 'pool0')!;
    pool.name = 'pool0\n\u0005pool0\n\u0016 binary';
    pool.domain = 'other\ndomain';
    const error = refusal(() => parseOnnx(buildModel(spec)));
    expect(error.message).toBe("node 'pool0\\n\\x05pool0\\n\\x16 binary' (MaxPool) is in operator domain 'other\\ndomain'; only the default ONNX domain is supported");
  });

  it('a kilobytes-long name is cut in the middle, keeping what the message says to do', () => {
    const spec = squeezenetLikeSpec({ irVersion: 7 });
    spec.nodes.find((n) => n.name === 'pool0')!.domain = 'x'.repeat(5000);
    const message = refusal(() => parseOnnx(buildModel(spec))).message;
    expect(message.length).toBeLessThanOrEqual(600);
    expect(message).toMatch(/^node 'pool0' \(MaxPool\) is in operator domain 'x+ … x+'; only the default ONNX domain is supported$/);
  });

  it('a PNG chunk whose type bytes are a line break', () => {
    const png = encodePng({ width: 2, height: 2, data: new Uint8Array(12) });
    const bad = Uint8Array.from(png);
    const idat = bad.findIndex((_, i) => String.fromCharCode(...bad.subarray(i, i + 4)) === 'IDAT');
    bad.set([0x0a, 0xca], idat); // the type becomes "\n\xcaAT", and its length runs past the end
    new DataView(bad.buffer).setUint32(idat - 4, 0x7fffffff);
    const message = refusal(() => decodeImage(bad, 'chunk.png')).message;
    expect(message.includes('\n')).toBe(false);
    expect(message).toMatch(/^corrupt PNG 'chunk\.png': chunk '\\n/);
  });

  it('a MaxPool reading an int64 constant: one line, not a TypeError from inside shape inference', () => {
    const spec = squeezenetLikeSpec({ irVersion: 7, flatten: 'reshape-1' });
    spec.nodes.find((n) => n.name === 'pool0')!.inputs = ['reshape_shape'];
    const error = refusal(() => Model.load(gpu(), buildModel(spec)));
    // the fold pass now evaluates constant int64 tensors (PyTorch's shape arithmetic), so MaxPool sees its shape
    expect(error.message).toBe("node 'pool0' (MaxPool): MaxPool: a 2-D window pools 4-D inputs [N, C, H, W], not [2]");
  });

  it('an input declaring 2^31 rows is refused by the parser, before shapes are inferred from it (that took seconds)', () => {
    const spec = squeezenetLikeSpec({ irVersion: 7 });
    spec.inputs[0]!.dims = [1, 3, 2 ** 31, 32];
    expect(refusal(() => parseOnnx(buildModel(spec))).message).toBe(
      "graph input 'data' [1,3,2147483648,32] declares 2.062e+11 elements per image, more than the limit of 268435456",
    );
  });
});
