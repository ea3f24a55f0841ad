/**
 * The defects a stress run of the command line found, each reproduced here: every bad input ends in exit code 2 with
 * exactly one line `pixelprop: …` on stderr, within a bound of time and memory, writing and overwriting nothing.
 *
 * Inputs that used to exhaust memory, crash V8 or hang run in a child process (`node -e`, on the compiled dist/), which
 * reports its exit code and its peak resident memory (process.resourceUsage().maxRSS) and is killed if it outlives
 * HANG_BOUND_MS: a kill is a hang, not a slow run. The others run in-process through main().
 *
 * The models are miniature SqueezeNets (src/graph/onnx/build-fixture.ts), written into a temporary folder with no
 * synset.txt beside them (classes then show as indices).
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './cli-helpers.js';
import { buildModel, squeezenetLikeSpec, tensorProto, type ModelSpec } from '../src/graph/onnx/build-fixture.js';
import { MODEL_PATH, repoRoot } from './shared-data.js';

const { onnx } = onnxProto;

/** A bad input must be refused within this (the bound); a child still running then is killed as hung. */
const HANG_BOUND_MS = 10_000;
/** …and within this much resident memory. */
const MEMORY_BOUND_BYTES = 1 << 30;

const work = mkdtempSync(join(tmpdir(), 'pixelprop-hardening-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const CAT = join(repoRoot, 'samples', 'chelsea.png');

interface Outcome {
  code: number;
  out: string;
  err: string;
}

interface ChildOutcome {
  /** the exit code main() returned, or null when the child died or was killed before returning */
  code: number | null;
  exit: number | null;
  signal: string | null;
  hung: boolean;
  /** peak resident memory, bytes (null when the child did not get to report it) */
  maxRss: number | null;
  stderr: string;
  stdout: string;
}

/** Runs `pixelprop ...args` in a child process on dist/, killed after HANG_BOUND_MS. */
function child(...args: string[]): Promise<ChildOutcome> {
  const report = join(work, `report-${Math.random().toString(36).slice(2)}.json`);
  const entry = pathToFileURL(join(repoRoot, 'dist', 'src', 'cli', 'main.js')).href;
  const code = `
    const { main } = await import(${JSON.stringify(entry)});
    const code = await main(${JSON.stringify(args)});
    (await import('node:fs')).writeFileSync(${JSON.stringify(report)}, JSON.stringify({ code, maxRss: process.resourceUsage().maxRSS * 1024 }));
    process.exit(code);`;
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: work,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir() },
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      p.kill('SIGKILL');
    }, HANG_BOUND_MS);
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', fail);
    p.on('close', (exit, signal) => {
      clearTimeout(timer);
      const r = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as { code: number; maxRss: number }) : null;
      done({ code: r?.code ?? null, exit, signal, hung, maxRss: r?.maxRss ?? null, stderr, stdout });
    });
  });
}

/** stderr without the adapter's own notices (Dawn on lavapipe prints "Warning: …" lines when a device opens). */
const ourLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: '));

/** Asserts the child refused its input: exit 2, one line matching `message`, in time and in memory. */
function expectRefused(r: ChildOutcome, message: RegExp): void {
  expect(r.hung, `still running after ${HANG_BOUND_MS} ms: killed`).toBe(false);
  expect(r.code, `exit ${r.exit} signal ${r.signal}; stderr: ${r.stderr.slice(0, 400)}`).toBe(2);
  const lines = ourLines(r.stderr);
  expect(lines, 'one line on stderr').toHaveLength(1);
  expect(lines[0]).toMatch(/^pixelprop: /);
  expect(lines[0]).toMatch(message);
  expect(r.maxRss!, 'peak resident memory').toBeLessThan(MEMORY_BOUND_BYTES);
  expect(r.stdout).toBe('');
  console.log(`refused, peak RSS ${(r.maxRss! / 2 ** 20).toFixed(0)} MiB: ${lines[0]}`);
}

function expectOneLine(r: Outcome, message: RegExp): void {
  expect(r.code, r.err).toBe(2);
  expect(r.err.split('\n'), 'one line').toHaveLength(1);
  expect(r.err).toMatch(/^pixelprop: /);
  expect(r.err).toMatch(message);
  expect(r.out).toBe('');
}

let counter = 0;
/** A fresh folder path that does not exist yet. */
const fresh = (): string => join(work, `out-${counter++}`);

/** A miniature model, changed by `edit`, written to a folder of its own; returns the file's path. */
function fixture(name: string, edit: (spec: ModelSpec) => void = () => {}, opts: Parameters<typeof squeezenetLikeSpec>[0] = {}): string {
  const spec = squeezenetLikeSpec({ irVersion: 7, ...opts });
  edit(spec);
  const dir = join(work, `model-${name}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, buildModel(spec));
  return path;
}

/** Ends the graph at the pooled scores [N, K, 1, 1], as many exporters leave it (no Flatten). */
function withoutFlatten(spec: ModelSpec): void {
  spec.nodes = spec.nodes.filter((n) => n.name !== 'flatten');
  spec.outputs = [{ name: 'pool_head', dims: [1, spec.outputs[0]!.dims![1]!, 1, 1] }];
}

/** A test-data folder with one set: a zero image [1,3,224,224] in, no expected output. */
const tinyData = join(work, 'tiny-data');

beforeAll(() => {
  expect(existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js')), "dist/ is missing: run 'npx tsc -p .' first").toBe(true);
  mkdirSync(join(tinyData, 'test_data_set_0'), { recursive: true });
  const input = tensorProto({ name: 'data', dims: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224) });
  writeFileSync(join(tinyData, 'test_data_set_0', 'input_0.pb'), onnx.TensorProto.encode(input).finish());
});

describe('1. numeric options have a documented range', () => {
  it('classviz --blur-sigma 1e9 is refused at once, naming the option and its range (it crashed V8)', async () => {
    expectRefused(await child('classviz', '--class', '76', '--blur-sigma', '1e9', '--out', fresh(), '--weights', MODEL_PATH), /--blur-sigma must be at most \d+/);
  });

  // Each above its maximum: every one of them used to be accepted and run (for hours, or out of memory).
  const tooLarge: [string, string[], RegExp][] = [
    ['classviz --blur-sigma 1e5', ['classviz', '--class', '76', '--blur-sigma', '1e5'], /--blur-sigma must be at most/],
    ['classviz --iters 1e9', ['classviz', '--class', '76', '--iters', '1000000000'], /--iters must be at most/],
    ['classviz --blur-every 1e12', ['classviz', '--class', '76', '--blur-every', '1000000000000'], /--blur-every must be at most/],
    ['classviz --jitter 1e6', ['classviz', '--class', '76', '--jitter', '1000000'], /--jitter must be at most/],
    ['classviz --snapshot-every 1e12', ['classviz', '--class', '76', '--snapshot-every', '1000000000000'], /--snapshot-every must be at most/],
    ['classviz --lr 1e300', ['classviz', '--class', '76', '--lr', '1e300'], /--lr must be at most/],
    ['classviz --l2 1e308', ['classviz', '--class', '76', '--l2', '1e308'], /--l2 must be at most/],
    ['classviz --seed 2^32', ['classviz', '--class', '76', '--seed', '4294967296'], /--seed must be at most 4294967295/],
    ['classviz --seed=-1', ['classviz', '--class', '76', '--seed=-1'], /--seed must be at least 0/],
    ['saliency --samples 1e9', ['saliency', CAT, '--method', 'smoothgrad', '--samples', '1000000000'], /--samples must be at most/],
    ['saliency --noise 1e308', ['saliency', CAT, '--method', 'smoothgrad', '--noise', '1e308'], /--noise must be at most/],
    ['fool --max-iters 1e9', ['fool', CAT, '--target', '6', '--max-iters', '1000000000'], /--max-iters must be at most/],
    ['fool --lr 1e300', ['fool', CAT, '--target', '6', '--lr', '1e300'], /--lr must be at most/],
    ['demo --iters 1e9', ['demo', '--iters', '1000000000'], /--iters must be at most/],
    ['demo --max-iters 1e9', ['demo', '--max-iters', '1000000000'], /--max-iters must be at most/],
    ['classify --top 1e9', ['classify', CAT, '--top', '1000000000'], /--top must be at most/],
    ['run --rtol 1e300', ['run', MODEL_PATH, work, '--rtol', '1e300'], /--rtol must be at most/],
    ['run --atol 1e300', ['run', MODEL_PATH, work, '--atol', '1e300'], /--atol must be at most/],
  ];
  for (const [what, args, message] of tooLarge) {
    it(what, async () => {
      const dir = fresh();
      const extra = args[0] === 'run' ? [] : args[0] === 'classify' ? ['--weights', MODEL_PATH] : ['--out', dir, '--weights', MODEL_PATH];
      expectOneLine(await cli(...args, ...extra), message);
      expect(existsSync(dir)).toBe(false);
    });
  }

  it('each command documents the range of each number it takes in its --help', async () => {
    for (const [command, options] of Object.entries({
      classify: ['--top'],
      saliency: ['--samples', '--noise', '--seed'],
      fool: ['--lr', '--max-iters', '--record-every'],
      classviz: ['--iters', '--seed', '--lr', '--l2', '--decay', '--blur-sigma', '--blur-every', '--jitter', '--snapshot-every', '--record-every'],
      demo: ['--iters', '--max-iters', '--seed'],
      run: ['--rtol', '--atol'],
    })) {
      const r = await cli(command, '--help');
      for (const option of options) {
        const line = r.out.split('\n').find((l) => l.trimStart().startsWith(`${option} `));
        expect(line, `${command} ${option}`).toBeDefined();
        expect(line, `${command} ${option}: its range`).toMatch(/\[[^\]]*(,|…)[^\]]*\]|\([^)]*,[^)]*\]/);
      }
    }
  });
});

describe('2. a model whose input is too large is refused before any image is resized', () => {
  it('40000², 15000² and 5000² inputs: one line, in time and memory (a RangeError with a stack, and 8 GB for minutes)', async () => {
    // 40000 and 15000 exceed the parser's element limit for any tensor; 5000 passes it and is refused as an image input.
    for (const side of [40_000, 15_000, 5_000]) {
      const model = fixture(`input-${side}`, () => {}, { size: side });
      const r = await child('classify', CAT, '--weights', model);
      expectRefused(r, new RegExp(`input .*\\[1,3,${side},${side}\\]`));
    }
  });

  it('the same for classviz, which makes its own noise image of the input size', async () => {
    const model = fixture('input-40000', () => {}, { size: 40_000 });
    expectRefused(await child('classviz', '--class', '1', '--iters', '1', '--out', fresh(), '--weights', model), /input .*\[1,3,40000,40000\]/);
  });
});

describe('3. scores are read as [N, classes]', () => {
  it('scores [N,K,1,1] (no Flatten) give the same classes as the flattened model', async () => {
    const flat = await cli('classify', CAT, '--top', '3', '--json', '--weights', fixture('flat', () => {}, { classes: 10 }));
    const pooled = await cli('classify', CAT, '--top', '3', '--json', '--weights', fixture('pooled', withoutFlatten, { classes: 10 }));
    expect(flat.code, flat.err).toBe(0);
    expect(pooled.code, pooled.err).toBe(0);
    const tops = (r: Outcome) => (JSON.parse(r.out) as { top: { index: number; prob: number }[] }[])[0]!.top;
    expect(tops(pooled)).toHaveLength(3);
    expect(tops(pooled).map((t) => t.index)).toEqual(tops(flat).map((t) => t.index));
    expect(tops(pooled)[0]!.prob).toBeLessThan(1);
  });

  it('an Identity after [N,K,1,1] too', async () => {
    const model = fixture('identity', (spec) => {
      withoutFlatten(spec);
      spec.nodes.push({ name: 'identity', opType: 'Identity', inputs: ['pool_head'], outputs: ['scores'] });
      spec.outputs = [{ name: 'scores', dims: [1, 10, 1, 1] }];
    });
    const r = await cli('classify', CAT, '--top', '10', '--json', '--weights', model);
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { top: unknown[] }[])[0]!.top).toHaveLength(10);
  });

  it('saliency and fool on [N,K,1,1] scores run, printing nothing of the engine', async () => {
    const model = fixture('pooled-techniques', withoutFlatten);
    const s = await cli('saliency', CAT, '--json', '--out', fresh(), '--weights', model);
    expect(s.err).toBe('');
    expect(s.code).toBe(0);
    const f = await cli('fool', CAT, '--target', '3', '--max-iters', '2', '--json', '--out', fresh(), '--weights', model);
    expect(f.err).toBe('');
    expect(f.code).toBe(0);
  });

  it('an output that is not [N, classes] after dropping trailing 1s is refused with one line', async () => {
    const model = fixture('spatial', (spec) => {
      spec.nodes = spec.nodes.filter((n) => n.name !== 'flatten' && n.name !== 'pool_head');
      spec.outputs = [{ name: 'classifier_relu', dims: [1, 10, 7, 7] }];
    });
    for (const args of [['classify', CAT], ['saliency', CAT, '--out', fresh()], ['fool', CAT, '--target', '1', '--out', fresh()]]) {
      expectOneLine(await cli(...args, '--weights', model), /output 'classifier_relu' \[1,10,7,7\] cannot be read as \[N, classes\]/);
    }
    // info still describes it, saying why it has no classes.
    const info = await cli('info', '--weights', model);
    expect(info.code, info.err).toBe(0);
    expect(info.out).toMatch(/^classes +none: the model's output 'classifier_relu' \[1,10,7,7\] cannot be read/m);
  });
});

describe('4, 5. outputs are written whole or not at all, and replace links instead of writing through them', () => {
  it('saliency --npy when saliency.npy is a folder: exit 2, and no saliency.png either', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'saliency.npy'), { recursive: true });
    expectOneLine(await cli('saliency', CAT, '--npy', '--out', dir, '--weights', MODEL_PATH), /saliency\.npy.*(folder|directory)/);
    expect(readdirSync(dir)).toEqual(['saliency.npy']);
  });

  it('fool when the figure path is a folder: exit 2, and no fooling image either', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'chelsea-fool-6-figure.png'), { recursive: true });
    expectOneLine(await cli('fool', CAT, '--target', '6', '--max-iters', '1', '--out', dir, '--weights', MODEL_PATH), /chelsea-fool-6-figure\.png.*(folder|directory)/);
    expect(readdirSync(dir)).toEqual(['chelsea-fool-6-figure.png']);
  });

  it('an output that is a symlink is replaced by the new file; the file it pointed to is untouched', async () => {
    const dir = fresh();
    mkdirSync(dir);
    const victim = join(work, `victim-${counter}.txt`);
    writeFileSync(victim, 'precious');
    symlinkSync(victim, join(dir, 'saliency.png'));
    const r = await cli('saliency', CAT, '--out', dir, '--weights', MODEL_PATH);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(join(dir, 'saliency.png')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(dir, 'saliency.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readdirSync(dir), 'no temporary file left').toEqual(['saliency.png']);
  });
});

describe('6. files that are not regular files are refused, and no read is unbounded', () => {
  it('/dev/zero as an image', async () => {
    expectRefused(await child('classify', '/dev/zero', '--weights', MODEL_PATH), /'\/dev\/zero' is not a regular file/);
  });

  it('/dev/zero as --weights', async () => {
    expectRefused(await child('classify', CAT, '--weights', '/dev/zero'), /'\/dev\/zero' is not a regular file/);
  });

  it('/dev/zero as a test-data input', async () => {
    const set = join(work, 'dev-zero-data', 'test_data_set_0');
    mkdirSync(set, { recursive: true });
    symlinkSync('/dev/zero', join(set, 'input_0.pb'));
    expectRefused(await child('run', MODEL_PATH, join(work, 'dev-zero-data')), /input_0\.pb' is not a regular file/);
  });
});

describe('7. an output folder that cannot be written is refused before any work', () => {
  it('--out /proc/pixelprop_x (Node\'s recursive mkdir hangs there)', async () => {
    expectRefused(await child('saliency', CAT, '--out', '/proc/pixelprop_x', '--weights', MODEL_PATH), /cannot write to output folder '\/proc\/pixelprop_x'/);
  });

  it('--out under a file', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    expectOneLine(await cli('classviz', '--class', '1', '--iters', '1', '--out', join(file, 'sub'), '--weights', MODEL_PATH), /cannot write to output folder '.*a-file\/sub': .*not a folder/);
  });
});

describe('8. non-finite numbers are refused, never computed with', () => {
  it('a NaN weight: refused when the model is loaded, naming the tensor', async () => {
    const model = fixture('nan-weight', (spec) => {
      const w = spec.initializers!.find((t) => t.name === 'fire_expand3x3_weight')!;
      (w.data as Float32Array)[5] = NaN;
    });
    expectOneLine(await cli('classify', CAT, '--weights', model), /initializer 'fire_expand3x3_weight' holds NaN at index 5/);
  });

  it('an infinite weight too', async () => {
    const model = fixture('inf-weight', (spec) => {
      (spec.initializers!.find((t) => t.name === 'classifier_bias')!.data as Float32Array)[0] = -Infinity;
    });
    expectOneLine(await cli('classify', CAT, '--weights', model), /initializer 'classifier_bias' holds -Infinity at index 0/);
  });

  it('an all-NaN input .pb in run: refused before it is uploaded', async () => {
    const set = join(work, 'nan-data', 'test_data_set_0');
    mkdirSync(set, { recursive: true });
    const input = tensorProto({ name: 'data', dims: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224).fill(NaN) });
    writeFileSync(join(set, 'input_0.pb'), onnx.TensorProto.encode(input).finish());
    expectOneLine(await cli('run', MODEL_PATH, join(work, 'nan-data')), /input_0\.pb.* holds NaN at index 0/);
  });

  it('scores that overflow to infinity on the GPU are an error, not a ranking', async () => {
    const model = fixture('overflow', (spec) => {
      (spec.initializers!.find((t) => t.name === 'classifier_weight')!.data as Float32Array).fill(3e38);
    });
    expectOneLine(await cli('classify', CAT, '--weights', model), /score tensor read back from the GPU holds (-?Infinity|NaN)/);
  });
});

describe('9. small things', () => {
  it("--class -1 keeps the hint to write --class=-1", async () => {
    expectOneLine(await cli('saliency', CAT, '--class', '-1'), /--class=-1/);
  });

  it('integers beyond 2^53 are refused as written, not rounded', async () => {
    expectOneLine(await cli('classviz', '--class', '76', '--iters', '9007199254740993'), /--iters .*9007199254740993/);
    expectOneLine(await cli('classviz', '--class', '9007199254740993', '--weights', MODEL_PATH, '--out', fresh()), /class index 9007199254740993 is out of range/);
  });

  it('a model file cut within its first 20 bytes is called truncated', async () => {
    const bytes = readFileSync(MODEL_PATH);
    for (let n = 1; n <= 20; n++) {
      const path = join(work, `cut-${n}.onnx`);
      writeFileSync(path, bytes.subarray(0, n));
      const r = await cli('run', path, tinyData);
      expect(r.code, `${n} bytes`).toBe(2);
      expect(r.err, `${n} bytes`).toMatch(/truncated/);
    }
  });
});
