/**
 * Makes samples/: four photos from scikit-image's data folder (as Debian's python3-skimage 0.19.3 ships it, in
 * /usr/lib/python3/dist-packages/skimage/data), each resized so that its shorter side is 256 pixels with the
 * project's own PIL-style antialiased resize and saved as an 8-bit PNG. The sources are checked against the SHA-256
 * sums of skimage/data/_registry.py first, so the output is reproducible byte for byte.
 *
 *   npm run build && node dist/scripts/make-samples.js /usr/lib/python3/dist-packages/skimage/data
 *
 * Origins and terms: samples/LICENSE.md.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toUint8 } from '../src/image/image.js';
import { decodeImage, writePng } from '../src/image/node-io.js';
import { resizeShorterSide } from '../src/image/preprocess.js';

/** Shorter side of the samples: above the network's 224, so that `preprocess` still resizes and crops them. */
const SIZE = 256;

/** source file → [sample name, SHA-256 of the source from skimage/data/_registry.py] */
const SOURCES: Record<string, [string, string]> = {
  'chelsea.png': ['chelsea.png', '596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb'],
  'coffee.png': ['coffee.png', 'cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7'],
  'astronaut.png': ['astronaut.png', '88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5'],
  'rocket.jpg': ['rocket.png', 'c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c'],
};

async function main(): Promise<void> {
  const from = process.argv[2];
  if (!from) {
    console.error('usage: node dist/scripts/make-samples.js SKIMAGE_DATA_DIR');
    process.exit(2);
  }
  // dist/scripts/ → the repository root
  const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
  const out = join(root, 'samples');
  mkdirSync(out, { recursive: true });
  for (const [source, [name, sha256]] of Object.entries(SOURCES)) {
    const bytes = readFileSync(join(from, source));
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) throw new Error(`${source}: SHA-256 ${actual} is not scikit-image's ${sha256}`);
    const image = resizeShorterSide(decodeImage(new Uint8Array(bytes), source), SIZE);
    await writePng(join(out, name), toUint8(image));
    console.log(`${source} → samples/${name} (${image.width}×${image.height})`);
  }
}

await main();
