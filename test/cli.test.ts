/**
 * The `pixelprop` command as a user runs it: `node bin/pixelprop.js ...` in a child process, on the compiled dist/
 * (`npx tsc -p .` first). classify against the library in this process, run on the ONNX test data (passing, and
 * failing on a wrong expected output or a modified model), info, gradcheck, and the exit codes and one-line errors of
 * bad input.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { buildModel, encodeModel, tensorProto } from '../src/graph/onnx/build-fixture.js';
import { parseTensorProto } from '../src/graph/onnx/parse.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { useGpu } from './helpers.js';
import { MODEL_PATH, repoRoot, sharedData, sharedDataDir } from './shared-data.js';

const { onnx } = onnxProto;
const gpu = useGpu();
const modelPath = MODEL_PATH;
const photosDir = sharedData('photos', 'classify on ImageNet photos');
const testDataDir = sharedData('testData', "pixelprop run on the model zoo's test data");
const testData = sharedDataDir('testData');
const photo = (f: string) => join(sharedDataDir('photos'), f);
/** Any image, for the tests that only need one to get past the image checks: a sample photo of the repository. */
const SAMPLE = join(repoRoot, 'samples', 'chelsea.png');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `pixelprop ARGS` to completion (without blocking this process's GPU work). */
function pixelprop(...args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'pixelprop.js'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir() },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** stderr without the adapter's own notices (Dawn on lavapipe prints two "Warning: ..." lines when a device opens). */
const ourLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: '));

let tmp: string;

/** A test-data folder with one set whose input is a zero image [1,3,224,224] and no expected output. */
function tinyTestData(): string {
  const set = join(tmp, 'tiny-test-data', 'test_data_set_0');
  mkdirSync(set, { recursive: true });
  const input = tensorProto({ name: 'data', dims: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224) });
  writeFileSync(join(set, 'input_0.pb'), onnx.TensorProto.encode(input).finish());
  return join(tmp, 'tiny-test-data');
}
beforeAll(() => {
  expect(existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js')), "dist/ is missing: run 'npx tsc -p .' first").toBe(true);
  tmp = mkdtempSync(join(tmpdir(), 'pixelprop-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(photosDir === null)('pixelprop classify', () => {
  it('--json on a real photo: the top class is the library’s', async () => {
    const r = await pixelprop('classify', photo('01_085.png'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { file: string; top: { index: number; name: string; score: number; prob: number }[]; logits?: number[] }[];
    expect(out).toHaveLength(1);
    expect(out[0]!.file).toBe(photo('01_085.png'));
    expect(out[0]!.logits).toBeUndefined();
    const top = out[0]!.top;
    expect(top).toHaveLength(5);
    expect(top[0]!.name).toBe('quail');
    for (let i = 1; i < top.length; i++) expect(top[i]!.score).toBeLessThanOrEqual(top[i - 1]!.score);
    expect(top.reduce((s, t) => s + t.prob, 0)).toBeLessThanOrEqual(1 + 1e-12);

    // The library, in this process, on the same file.
    const model = Model.load(gpu(), readFileSync(join(repoRoot, 'weights', 'squeezenet1.1.onnx')));
    const x = Tensor.from(gpu(), [1, 3, 224, 224], preprocess(await readImage(photo('01_085.png'))));
    const y = model.forward(x);
    const scores = await y.read();
    for (const t of [x, y]) t.dispose();
    model.dispose();
    const best = scores.indexOf(Math.max(...scores));
    expect(top[0]!.index).toBe(best);
    expect(top[0]!.score).toBeCloseTo(scores[best]!, 5);
  });

  it('--precision f16 and mixed: the same top class, scores within the half-precision error (test/precision.test.ts)', async () => {
    const scoresAt = async (...precision: string[]): Promise<{ index: number; score: number }[]> => {
      const r = await pixelprop('classify', photo('01_085.png'), '--json', '--top', '3', ...precision);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { top: { index: number; score: number }[] }[])[0]!.top;
    };
    const full = await scoresAt();
    for (const p of ['f16', 'mixed']) {
      const half = await scoresAt('--precision', p);
      expect(half[0]!.index, p).toBe(full[0]!.index);
      expect(Math.abs(half[0]!.score - full[0]!.score), p).toBeLessThan(0.05 * Math.abs(full[0]!.score));
      expect(half[0]!.score, `${p} really ran in half precision`).not.toBe(full[0]!.score);
    }
  });

  it('--top 3 --logits on two photos, and the text table', async () => {
    const files = [photo('00_958.png'), photo('03_182.png')];
    const json = await pixelprop('classify', ...files, '--top', '3', '--logits', '--json');
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as { top: { index: number; score: number; prob: number }[]; logits: number[] }[];
    expect(out.map((o) => o.top.length)).toEqual([3, 3]);
    for (const o of out) {
      expect(o.logits).toHaveLength(1000);
      expect(o.top[0]!.score).toBe(Math.max(...o.logits));
      // prob is the softmax of the logits
      const max = Math.max(...o.logits);
      const z = o.logits.reduce((s, v) => s + Math.exp(v - max), 0);
      expect(o.top[0]!.prob).toBeCloseTo(1 / z, 12);
    }
    const text = await pixelprop('classify', ...files, '--top', '3');
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2 * 5); // per image: file, header, 3 rows
    expect(lines[0]).toBe(files[0]);
    expect(lines[1]).toMatch(/^ {2}rank {2}index {2}class +score +prob$/);
    expect(lines[2]).toMatch(new RegExp(`^ +1 +${out[0]!.top[0]!.index} +hay +-?\\d+\\.\\d{3} +[01]\\.\\d{4}$`));
  });
});

describe.skipIf(testDataDir === null)('pixelprop run on the test data', () => {
  it('passes on the ONNX test data, printing the errors', async () => {
    const r = await pixelprop('run', modelPath, testData);
    expect(r.code, r.stderr).toBe(0);
    const errors = [...r.stdout.matchAll(/rel\. error (\S+) {2}ok$/gm)].map((m) => Number(m[1]));
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(e).toBeLessThanOrEqual(1e-5);
    expect(r.stdout).toContain('3 test set(s), 3 output(s) compared: all within rel. error ≤ 1e-5');
  });

  it('exits 1 when an expected output is wrong', async () => {
    const set = join(tmp, 'wrong-output', 'test_data_set_0');
    mkdirSync(set, { recursive: true });
    copyFileSync(join(testData, 'test_data_set_0', 'input_0.pb'), join(set, 'input_0.pb'));
    const expected = parseTensorProto(readFileSync(join(testData, 'test_data_set_0', 'output_0.pb')));
    const data = Float32Array.from(expected.data as Float32Array);
    data[7]! += 0.1; // about 4e-4 of the largest score: 40× the default tolerance
    writeFileSync(join(set, 'output_0.pb'), onnx.TensorProto.encode(tensorProto({ name: expected.name, dims: expected.dims, data })).finish());
    const r = await pixelprop('run', modelPath, join(tmp, 'wrong-output'));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/output_0 .* rel\. error \S+ {2}FAIL$/m);
    expect(r.stdout).toContain('1 of 1 output(s) outside rel. error ≤ 1e-5');
    // A looser bound lets it pass: max|Δ| ≤ atol.
    expect((await pixelprop('run', modelPath, join(tmp, 'wrong-output'), '--atol', '0.2')).code).toBe(0);
  });

  it('exits 1 on a modified model', async () => {
    const m = onnx.ModelProto.decode(readFileSync(modelPath));
    const bias = m.graph!.initializer!.find((t) => t.name === 'squeezenet0_conv25_bias')!;
    const values = new Float32Array(Uint8Array.from(bias.rawData!).buffer); // a copy: rawData is a view into the file
    values[0] = values[0]! + 1; // class 0's score moves by 1
    bias.rawData = new Uint8Array(values.buffer);
    const path = join(tmp, 'modified.onnx');
    writeFileSync(path, encodeModel(m));
    const r = await pixelprop('run', path, testData);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('3 of 3 output(s) outside rel. error ≤ 1e-5');
  });

  it('feeds several inputs (input_K.pb for the K-th), binds an int64 one at load, compares with --allclose', async () => {
    const dir = join(tmp, 'two-inputs');
    const set = join(dir, 'test_data_set_0');
    mkdirSync(set, { recursive: true });
    const a = Float32Array.of(1, -2, 3, 0.5, 0.25, -8);
    const b = Float32Array.of(0.5, 2, -1, 4, 0, 1);
    const model = buildModel({
      inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [2, 3] }, { name: 'perm_axes', dims: [1], elemType: 7 }],
      outputs: [{ name: 'y', dims: [3, 1, 2] }],
      nodes: [
        { opType: 'Add', inputs: ['a', 'b'], outputs: ['s'] },
        { opType: 'Transpose', inputs: ['s'], outputs: ['t'], attrs: { perm: [1, 0] } },
        { opType: 'Unsqueeze', inputs: ['t', 'perm_axes'], outputs: ['y'] },
      ],
    });
    writeFileSync(join(dir, 'model.onnx'), model);
    const write = (file: string, t: Parameters<typeof tensorProto>[0]): void => writeFileSync(join(set, file), onnx.TensorProto.encode(tensorProto(t)).finish());
    write('input_0.pb', { name: 'a', dims: [2, 3], data: a });
    write('input_1.pb', { name: 'b', dims: [2, 3], data: b });
    write('input_2.pb', { name: 'perm_axes', dims: [1], data: [1], type: 'int64' });
    write('output_0.pb', { name: 'y', dims: [3, 1, 2], data: Float32Array.of(1.5, 4.5, 0, 0.25, 2, -7) });
    const r = await pixelprop('run', join(dir, 'model.onnx'), dir, '--allclose');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^test_data_set_0 {2}output_0 'y' \[3,1,2\] {2}max\|Δ\| 0\.00e\+0 {2}rel\. error 0\.00e\+0 {2}ok$/m);
    expect(r.stdout).toContain('1 test set(s), 1 output(s) compared: all within |Δ_i| ≤ 1e-7 + 1e-3·|ref_i|');
  });

});

describe('pixelprop run', () => {
  it('exits 2 on bad input, with one line', async () => {
    for (const args of [
      ['run', modelPath, join(tmp, 'no-such-folder')],
      ['run', modelPath, tmp], // a folder without test_data_set_*
      ['run', modelPath, tmp, '--rtol', '-1'], // the bound is checked before the folder
      ['run', modelPath],
    ]) {
      const r = await pixelprop(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(ourLines(r.stderr), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^pixelprop: /m);
    }
  });
});

describe('pixelprop info and gradcheck', () => {
  it('info shows the graph, the steps, the adapter and the largest batch', async () => {
    const r = await pixelprop('info');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  ONNX IR 3, opset 7');
    expect(r.stdout.match(/^ {2}Conv \{[^}]*\+relu\} /gm)).toHaveLength(10); // 26 convs: 10 alone, 8 pairs writing their concat
    expect(r.stdout.match(/^ {2}ConvConcat \{k1×1 ‖ k3×3 p1,1,1,1 \+relu\} /gm)).toHaveLength(8);
    expect(r.stdout).toMatch(/^adapter {3}\S/m);
    expect(r.stdout).toMatch(/^batch {5}up to \d+ images per forward/m);
  });

  it('info --passes shows the graph after each pass: the ReLUs and Concats there after import, fused after fuse', async () => {
    const r = await pixelprop('info', '--passes');
    expect(r.code, r.stderr).toBe(0);
    const sections = r.stdout.split(/^after /m).slice(1);
    const names = sections.map((t) => t.split(' ')[0]);
    expect(names).toEqual(['import', 'fold', 'fold-batchnorm', 'alias', 'fuse', 'fuse-concat', 'shapes']);
    const count = (section: string, op: string): number => section.split('\n').filter((l) => l.trimStart().startsWith(`${op} `)).length;
    const after = (pass: string): string => sections[names.indexOf(pass)]!;
    expect(count(after('import'), 'Relu')).toBe(26);
    expect(count(after('import'), 'Concat')).toBe(8);
    expect(count(after('fuse'), 'Relu')).toBe(0); // fused into the convs
    expect(count(after('fuse-concat'), 'ConvConcat')).toBe(8);
  });

  it('gradcheck passes every op check', async () => {
    const r = await pixelprop('gradcheck');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^check +forward +backward per input: GPU vs float64 \/ float64 vs finite differences +result$/m);
    expect(r.stdout).toMatch(/^Conv 3×3 s1 p1 .* PASS$/m);
    expect(r.stdout).toMatch(/^ConvConcat 1×1 ‖ 3×3 \+ relu, shared input .* PASS$/m);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.stdout).toMatch(/^all \d+ checks pass/m);
  });
});

describe('errors: one line on stderr, exit code 2', () => {
  it('a missing image, before the GPU is touched', async () => {
    const r = await pixelprop('classify', join(tmp, 'no-such-photo.png'));
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pixelprop: cannot read image '.*no-such-photo\.png': /);
    expect(r.stdout).toBe('');
  });

  it('an unreadable model', async () => {
    for (const weights of [join(tmp, 'missing.onnx'), tmp]) {
      const r = await pixelprop('classify', SAMPLE, '--weights', weights);
      expect(r.code, weights).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), weights).toHaveLength(1);
      expect(r.stderr).toMatch(/^pixelprop: cannot read model /);
    }
    const garbage = join(tmp, 'garbage.onnx');
    writeFileSync(garbage, 'this is not a protobuf');
    const r = await pixelprop('run', garbage, tinyTestData());
    expect(r.code).toBe(2);
    expect(ourLines(r.stderr)).toEqual([expect.stringMatching(/^pixelprop: not an ONNX model \(protobuf decode failed: /)]);
  });

  it('an unknown option, or a bad value', async () => {
    for (const args of [
      ['classify', SAMPLE, '--frobnicate'],
      ['classify', SAMPLE, '--top', '0'],
      ['classify', SAMPLE, '--precision', 'f8'],
      ['classify'],
      ['info', '--nope'],
      ['gradcheck', 'extra'],
    ]) {
      const r = await pixelprop(...args);
      expect(r.code, args.join(' ')).toBe(2);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(/^pixelprop: /);
    }
  });

  it('--help prints the usage of each command', async () => {
    for (const name of ['classify', 'run', 'info', 'gradcheck']) {
      const r = await pixelprop(name, '--help');
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toMatch(new RegExp(`^usage: pixelprop ${name}\\b`));
    }
  });
});
