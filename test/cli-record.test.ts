/**
 * `--record FILE.gif [--record-every N]` of `fool` and `classviz`, run in-process through main(): the GIF decodes
 * (omggif) with a frame for every N-th iteration and the result, at the image's size, its last frame the image the
 * command saved; bad values are one-line refusals (exit 2) that write nothing, neither the GIF nor the outputs.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/image/node-io.js';
import { toUint8 } from '../src/image/image.js';
import { cli, expectRefusal } from './cli-helpers.js';
import { decodeGif } from './gif-decode.js';
import { MODEL_PATH, repoRoot } from './shared-data.js';

const work = mkdtempSync(join(tmpdir(), 'pixelprop-cli-record-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CAT = join(repoRoot, 'samples', 'chelsea.png'); // Egyptian cat (285): holds out against stingray for many steps
const WEIGHTS = ['--weights', MODEL_PATH];

let counter = 0;
/** A fresh folder path that does not exist yet. */
function freshDir(): string {
  return join(work, `out-${counter++}`);
}

/** Mean absolute difference per channel between a saved PNG and a decoded GIF frame (RGBA). */
function meanError(png: string, rgba: Uint8Array): number {
  const image = toUint8(decodeImage(readFileSync(png)));
  let sum = 0;
  for (let p = 0; p < image.width * image.height; p++) {
    for (let c = 0; c < 3; c++) sum += Math.abs(image.data[3 * p + c]! - rgba[4 * p + c]!);
  }
  return sum / (3 * image.width * image.height);
}

/**
 * The result's frame is the saved image up to the GIF's 256 colours, one palette for the run: measured 3.3 levels of
 * 255 on average for the cat, 6.7 for a class visualization after 5 iterations, still close to its start's noise.
 */
const PALETTE_MEAN_ERROR = 10;

describe('--record', () => {
  it('classviz --iters 5 --record-every 2: frames after iterations 2, 4 and 5, 224 × 224, the last the saved image', async () => {
    const out = freshDir();
    const gifPath = join(freshDir(), 'tarantula.gif'); // a folder of its own, created at the end like --out
    const r = await cli('classviz', '--class', 'tarantula', '--iters', '5', '--record', gifPath, '--record-every', '2', '--json', '--out', out, ...WEIGHTS);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.recording).toEqual({ file: gifPath, frames: 3 });
    const gif = decodeGif(readFileSync(gifPath));
    expect([gif.frames.length, gif.width, gif.height]).toEqual([3, 224, 224]);
    expect(gif.delaysMs).toEqual([100, 100, 2000]);
    // The last frame is the saved image, and the earlier ones are earlier pictures (measured 15.5 and 10.5 from it).
    const errors = gif.frames.map((frame) => meanError(summary.output, frame));
    expect(errors[2]).toBeLessThanOrEqual(PALETTE_MEAN_ERROR);
    expect(errors[2]).toBeLessThan(Math.min(errors[0]!, errors[1]!));
  });

  it('fool --max-iters 3 --record-every 2: the photo, iteration 2 and the saved result; the text names the GIF', async () => {
    const out = freshDir();
    const gifPath = join(out, 'cat.gif'); // beside the other outputs
    const r = await cli('fool', CAT, '--target', 'stingray', '--max-iters', '3', '--record', gifPath, '--record-every', '2', '--out', out, ...WEIGHTS);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${gifPath} (animated GIF, 3 frames)`);
    expect(r.out).toMatch(/not fooled after 3 steps/); // so the run took all 3 iterations: frames 0, 2 and 3
    const gif = decodeGif(readFileSync(gifPath));
    expect([gif.frames.length, gif.width, gif.height]).toEqual([3, 224, 224]);
    expect(meanError(join(out, 'chelsea-fool-6.png'), gif.frames[2]!)).toBeLessThanOrEqual(PALETTE_MEAN_ERROR);
  });

  it('the default stride: a frame for each of 4 iterations', async () => {
    const gifPath = join(freshDir(), 'viz.gif');
    const r = await cli('classviz', '--class', '76', '--iters', '4', '--record', gifPath, '--out', freshDir(), ...WEIGHTS);
    expect(r.code).toBe(0);
    expect(decodeGif(readFileSync(gifPath)).frames).toHaveLength(4);
  });
});

describe('--record refusals: exit code 2, one line, no GIF and no other output', () => {
  const fileInTheWay = join(work, 'a-file');
  writeFileSync(fileInTheWay, 'not a folder');
  const folderNamedGif = join(work, 'folder.gif');
  mkdirSync(folderNamedGif);
  const cases: [string, string[], string, RegExp][] = [
    ['a name that is not .gif', ['classviz', '--class', '76'], join(freshDir(), 'viz.png'), /--record must name a \.gif file, got '.*viz\.png'/],
    ['a folder path', ['classviz', '--class', '76'], `${freshDir()}/x.gif/`, /--record must name a \.gif file/],
    ['--record-every 0', ['classviz', '--class', '76', '--record-every', '0'], join(freshDir(), 'v.gif'), /--record-every must be positive, got 0/],
    ['--record-every 1.5', ['fool', CAT, '--target', '6', '--record-every', '1.5'], join(freshDir(), 'f.gif'), /--record-every must be a whole number/],
    ['--record-every above its range', ['fool', CAT, '--target', '6', '--record-every', '100001'], join(freshDir(), 'f.gif'), /--record-every must be at most 100000/],
    [
      'more than 1000 frames',
      ['classviz', '--class', '76', '--iters', '5000', '--record-every', '4'],
      join(freshDir(), 'v.gif'),
      /--record-every 4 would record up to 1250 frames of 5000 iterations, more than 1000: take N of at least 5/,
    ],
    ['an unwritable folder', ['fool', CAT, '--target', '6'], join(fileInTheWay, 'f.gif'), /--record .*f\.gif: cannot write to output folder .*a-file' is not a folder/],
    ['a folder with the name', ['classviz', '--class', '76'], folderNamedGif, /--record .*folder\.gif: a folder has that name/],
    // Refused once the model is loaded, after the recording was set up: still nothing written.
    ['an unknown class', ['classviz', '--class', 'tarantul', ...WEIGHTS], join(freshDir(), 'v.gif'), /unknown class 'tarantul'/],
  ];
  for (const [what, args, gifPath, message] of cases) {
    it(what, async () => {
      const out = freshDir();
      expectRefusal(await cli(...args, '--record', gifPath, '--out', out), message, out);
      if (gifPath === folderNamedGif) return;
      expect(existsSync(gifPath), 'no GIF').toBe(false);
      const folder = dirname(gifPath.replace(/\/$/, ''));
      if (basename(folder).startsWith('out-')) expect(existsSync(folder), 'no folder for the GIF').toBe(false);
    });
  }

  it('--record-every without --record', async () => {
    const out = freshDir();
    expectRefusal(await cli('classviz', '--class', '76', '--record-every', '5', '--out', out), /--record-every needs --record FILE\.gif/, out);
  });
});
