/**
 * Choosing a model on the command line: the registry (--model NAME, `npm run weights -- --model NAME`), descriptions
 * (NAME.json beside NAME.onnx, or given itself as --weights), the overrides --mean/--std/--labels, and the errors of
 * each: one line, exit code 2 (1 for the weights script), nothing written. Run in-process through main().
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureWeights } from '../scripts/weights.mjs';
import { MODELS } from '../scripts/models.mjs';
import { parseDescription } from '../src/graph/description.js';
import { cli } from './cli-helpers.js';
import { MODEL_PATH, SHARED_DIR, SYNSET_PATH, repoRoot, sharedData } from './shared-data.js';

const work = mkdtempSync(join(tmpdir(), 'pixelprop-models-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const CAT = join(repoRoot, 'samples', 'chelsea.png'); // SqueezeNet: Egyptian cat (285); MobileNetV2: tiger cat (283 = ImageNet 282 + 1)
const mobilenet = sharedData('mobilenetv2', 'the command line on MobileNetV2');

let counter = 0;
/** A description file in its own folder beside a link to SqueezeNet's ONNX file (and synset.txt); returns its path. */
function describedModel(description: unknown, name = 'model'): string {
  const dir = join(work, `d${counter++}`);
  mkdirSync(dir);
  symlinkSync(MODEL_PATH, join(dir, `${name}.onnx`));
  copyFileSync(SYNSET_PATH, join(dir, 'synset.txt'));
  const path = join(dir, `${name}.json`);
  writeFileSync(path, typeof description === 'string' ? description : JSON.stringify(description));
  return path;
}
const SQUEEZENET = { name: 'sq', onnx: 'model.onnx', labels: 'synset.txt', preprocessing: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } };

/** The one line of a refused command, with exit code 2 and nothing on stdout. */
async function refused(args: string[]): Promise<string> {
  const r = await cli(...args);
  expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
  expect(r.out).toBe('');
  const lines = r.err.split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^pixelprop: /);
  return lines[0]!;
}

describe('bad choices: one line, exit code 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown model, the closest suggested', ['classify', CAT, '--model', 'mobilnetv2'], /unknown model 'mobilnetv2' \(did you mean 'mobilenetv2'\? known models: squeezenet1\.1, mobilenetv2\)/],
    ['--model and --weights', ['info', '--model', 'mobilenetv2', '--weights', MODEL_PATH], /give --model NAME or --weights PATH, not both/],
    ['--mean of two numbers', ['info', '--mean', '0.5,0.5'], /--mean must be one number or three separated by commas \(R,G,B\), got '0\.5,0\.5'/],
    ['--mean that is not a number', ['classify', CAT, '--mean', 'grey'], /--mean must be one number or three/],
    ['--std with a zero', ['info', '--std', '0.2,0,0.2'], /--std must be positive, got '0\.2,0,0\.2'/],
    ['--labels that is missing', ['info', '--labels', join(work, 'nope.txt')], /cannot read class names '.*nope\.txt': no such file/],
    ['a missing description', ['info', '--weights', join(work, 'nope.json')], /cannot read model description '.*nope\.json': no such file/],
  ];
  it.each(cases)('%s', async (_, args, message) => {
    expect(await refused(args)).toMatch(message);
  });

  const descriptions: [string, unknown, RegExp][] = [
    ['not JSON', '{"name": ', /model description .*model\.json: not valid JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['an unknown field, the closest suggested', { ...SQUEEZENET, preprocesing: {} }, /unknown field "preprocesing" \(did you mean "preprocessing"\?/],
    ['no preprocessing', { name: 'sq', onnx: 'model.onnx' }, /the field "preprocessing" is missing/],
    ['mean without std', { ...SQUEEZENET, preprocessing: { mean: 0.5 } }, /"preprocessing" must have exactly "mean" and "std", or exactly "scale" and "offset"; it has "mean"/],
    ['mean and scale', { ...SQUEEZENET, preprocessing: { mean: 0.5, scale: 2 } }, /must have exactly "mean" and "std"/],
    ['a negative std', { ...SQUEEZENET, preprocessing: { mean: 0.5, std: [0.2, -0.2, 0.2] } }, /"preprocessing\.std" must be positive/],
    ['two scales', { ...SQUEEZENET, preprocessing: { scale: [2, 2], offset: -1 } }, /"preprocessing\.scale" must be a finite number or an array of 3/],
    ['a string for background', { ...SQUEEZENET, background: 'yes' }, /"background" must be true or false, got "yes"/],
    ['a fractional input size', { ...SQUEEZENET, inputSize: 223.5 }, /"inputSize" must be a whole number from 1 to 4096/],
    ['a resize smaller than the input', { ...SQUEEZENET, inputSize: 224, resize: 200 }, /"resize" 200 is smaller than "inputSize" 224/],
    ['a name with a slash', { ...SQUEEZENET, name: 'a/b' }, /"name" may hold only letters/],
    ['an ONNX file that is not there', { ...SQUEEZENET, onnx: 'other.onnx' }, /cannot read model '.*other\.onnx' \(named by .*model\.json\): no such file/],
    ['labels that are not there', { ...SQUEEZENET, labels: 'names.txt' }, /cannot read class names '.*names\.txt' \(named by .*model\.json\): no such file/],
  ];
  it.each(descriptions)('a description with %s', async (_, description, message) => {
    const path = describedModel(description);
    expect(await refused(['classify', CAT, '--weights', path])).toMatch(message);
    // The same description found beside the ONNX file it names is refused the same way.
    if (typeof description === 'object' && (description as { onnx?: string }).onnx === 'model.onnx') {
      expect(await refused(['classify', CAT, '--weights', path.replace(/\.json$/, '.onnx')])).toMatch(message);
    }
  });

  it('a description beside X.onnx that names another file', async () => {
    const path = describedModel({ ...SQUEEZENET, onnx: 'other.onnx' }, 'model');
    symlinkSync(MODEL_PATH, join(path, '..', 'other.onnx'));
    expect(await refused(['info', '--weights', path.replace(/\.json$/, '.onnx')])).toMatch(/model description .*model\.json describes 'other\.onnx', not 'model\.onnx'/);
  });

  it('an input size the model does not have', async () => {
    expect(await refused(['classify', CAT, '--weights', describedModel({ ...SQUEEZENET, inputSize: 227 })])).toMatch(
      /model description .*model\.json says the input is 227×227, but the model takes 224×224/,
    );
  });

  it.skipIf(mobilenet === null)('class names whose count is not the model’s', async () => {
    expect(await refused(['classify', CAT, '--model', 'mobilenetv2', '--labels', SYNSET_PATH])).toMatch(/class names .*synset\.txt: 1000 names for a model with 1001 classes/);
  });
});

describe('descriptions and overrides', () => {
  type Classified = { top: { index: number; name: string; score: number }[]; logits: number[] }[];
  const classify = async (...args: string[]): Promise<Classified> => {
    const r = await cli('classify', CAT, '--json', '--logits', '--top', '1', ...args);
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out) as Classified;
  };

  it('scale/offset in a description and --mean/--std on the command line are the same preprocessing', async () => {
    const described = await classify('--weights', describedModel({ ...SQUEEZENET, preprocessing: { scale: 2, offset: -1 } }));
    const flags = await classify('--weights', MODEL_PATH, '--mean', '0.5', '--std', '0.5,0.5,0.5');
    const imagenet = await classify('--weights', MODEL_PATH);
    expect(described[0]!.logits).toEqual(flags[0]!.logits);
    expect(described[0]!.logits).not.toEqual(imagenet[0]!.logits); // and it is not ImageNet's
    expect(imagenet[0]!.top[0]!.index).toBe(285);
  });

  it('info states the description, or the defaults that apply without one', async () => {
    const bare = mkdtempSync(join(work, 'bare-'));
    symlinkSync(MODEL_PATH, join(bare, 'net.onnx'));
    const none = await cli('info', '--weights', join(bare, 'net.onnx'));
    expect(none.code, none.err).toBe(0);
    expect(none.out).toMatch(/^described defaults \(no description beside the model\)$/m);
    expect(none.out).toMatch(/^input +resize the shorter side to 224, center-crop 224×224; x = \(p - mean\) \/ std, mean \[0\.485, 0\.456, 0\.406\], std \[0\.229, 0\.224, 0\.225\] \(ImageNet's: the default/m);
    expect(none.out).toMatch(/^classes +1000 \(no class names/m);
    const given = await cli('info', '--weights', join(bare, 'net.onnx'), '--mean', '0.5', '--std', '0.25');
    expect(given.out).toMatch(/x = \(p - mean\) \/ std, mean 0\.5, std 0\.25 \(given\); p in \[0, 1\], so inputs in \[-2, 2\] in every channel/);
  });

  it.skipIf(mobilenet === null)('--model mobilenetv2: its own classes, labels and preprocessing; class 0 is background', async () => {
    const info = await cli('info', '--model', 'mobilenetv2');
    expect(info.code, info.err).toBe(0);
    expect(info.out).toMatch(/^classes +1001 \(names from .*mobilenetv2-labels-1001\.txt\); class 0 is background, ImageNet class i is class i \+ 1$/m);
    expect(info.out).toMatch(/^input +resize the shorter side to 224, center-crop 224×224; x = p \* scale \+ offset, scale 2, offset -1; p in \[0, 1\], so inputs in \[-1, 1\] in every channel$/m);
    const [cat] = await classify('--model', 'mobilenetv2');
    expect(cat!.logits).toHaveLength(1001);
    expect(cat!.top[0]).toMatchObject({ index: 283, name: 'tiger cat' });
    // The same model and preprocessing given by hand.
    const [byHand] = await classify('--weights', join(repoRoot, 'weights', 'mobilenetv2-1.0-224.onnx'), '--mean', '0.5', '--std', '0.5', '--labels', join(repoRoot, 'weights', 'mobilenetv2-labels-1001.txt'));
    expect(byHand!.logits).toEqual(cat!.logits);
    const out = join(work, 'background');
    const r = await cli('saliency', CAT, '--model', 'mobilenetv2', '--class', '0', '--json', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { images: { class: number; className: string }[] }).images[0]).toMatchObject({ class: 0, className: 'background' });
    const named = await cli('saliency', CAT, '--model', 'mobilenetv2', '--class', 'stingray', '--json', '--out', out);
    expect((JSON.parse(named.out) as { images: { class: number }[] }).images[0]!.class).toBe(7);
  }, 600_000); // five runs of MobileNetV2
});

describe('the registry and npm run weights -- --model NAME', () => {
  it('every registry entry is a valid description', () => {
    for (const [name, entry] of Object.entries(MODELS)) {
      const d = parseDescription(JSON.stringify(entry.description), name);
      expect(d.name).toBe(name);
    }
  });

  it('an unknown name: exit code 1, one line naming the known ones', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'weights.mjs'), '--model', 'resnet'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(["unknown model 'resnet' (known models: squeezenet1.1, mobilenetv2)"]);
  });

  it('MobileNetV2 without ../shared: says there is no public download, and why; writes nothing', async () => {
    const dir = mkdtempSync(join(work, 'weights-'));
    const err = await ensureWeights({ quiet: true, model: 'mobilenetv2', weightsDir: dir, sharedDir: null }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err!.message).toMatch(/^mobilenetv2: mobilenetv2-1\.0-224\.onnx has no public download address: this ONNX file is Google's quantization-aware TF-slim MobileNetV2 .*; to set up by hand, copy \.\.\/shared\/weights\/mobilenetv2\/mobilenetv2-1\.0-224\.onnx as .* and \.\.\/shared\/weights\/mobilenetv2\/labels-1001\.txt as .*mobilenetv2-labels-1001\.txt$/);
    expect(err!.message).not.toContain('\n');
    expect(readdirSync(dir)).toEqual([]);
  });

  it.skipIf(mobilenet === null)('MobileNetV2 from ../shared: the model, its labels and its description', async () => {
    const dir = mkdtempSync(join(work, 'weights-'));
    const got = await ensureWeights({ quiet: true, model: 'mobilenetv2', weightsDir: dir, sharedDir: join(SHARED_DIR, 'weights') });
    expect(got.sources).toEqual({ model: 'copied', labels: 'copied' });
    expect(readdirSync(dir).sort()).toEqual(['mobilenetv2-1.0-224.onnx', 'mobilenetv2-labels-1001.txt', 'mobilenetv2.json']);
    expect(JSON.parse(readFileSync(got.description, 'utf8'))).toEqual(MODELS.mobilenetv2!.description);
    // A file that is not the registered one (sha256) is replaced.
    writeFileSync(got.model, Buffer.concat([readFileSync(got.model), Buffer.from([0])]));
    const again = await ensureWeights({ quiet: true, model: 'mobilenetv2', weightsDir: dir, sharedDir: join(SHARED_DIR, 'weights') });
    expect(again.sources).toEqual({ model: 'copied', labels: 'present' });
    expect(existsSync(`${got.model}.part-${process.pid}`)).toBe(false);
  });
});
