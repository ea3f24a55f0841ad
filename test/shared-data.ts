/**
 * Where the tests find the data that does not live in the repository, in one place.
 *
 * - The model and its class names come from weights/, which `npm run weights` fills (from ../shared/weights when that
 *   folder is beside the clone, else from the ONNX model zoo). Every clone has them after set-up.
 * - The 25 ImageNet validation photos (ImageNet terms: never in the repository), the model zoo's test data for
 *   SqueezeNet, and MobileNetV2 (which has no public download; `npm run weights -- --model mobilenetv2` copies it
 *   into weights/) are read from ../shared, beside the clone, when it is there. A public clone has no ../shared: the tests
 *   that need it are then skipped, and say so on the console with what is missing and where it was looked for.
 *   PIXELPROP_REQUIRE_SHARED=1 (CI sets it, where ../shared is always laid) turns each such skip into a failing test,
 *   so that a moved or renamed folder cannot silently switch tests off.
 *
 * Call `sharedData(kind)` at the top level of a test file (or of a describe): it returns the folder, or null after
 * printing why and, when required, registering the failing test.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** SqueezeNet 1.1 as `npm run weights` puts it into weights/. */
export const MODEL_PATH = join(repoRoot, 'weights', 'squeezenet1.1.onnx');
/** The 1000 ImageNet class names, beside the model. */
export const SYNSET_PATH = join(repoRoot, 'weights', 'synset.txt');

/** The folder beside the repository that holds the data which may not be redistributed with it. */
export const SHARED_DIR = resolve(repoRoot, '..', 'shared');

export type SharedKind = 'photos' | 'testData' | 'mobilenetv2';

const KINDS: Record<SharedKind, { dir: string; what: string; marker: string }> = {
  photos: { dir: join(SHARED_DIR, 'images', 'imagenet_val_25'), what: 'the 25 ImageNet validation photos', marker: 'labels.json' },
  testData: {
    dir: join(SHARED_DIR, 'weights', 'squeezenet1.1-test-data'),
    what: "the ONNX model zoo's SqueezeNet 1.1 test data",
    marker: join('test_data_set_0', 'input_0.pb'),
  },
  // MobileNetV2 has no public download (scripts/models.mjs says why): weights/ gets it from here, and its test data too.
  mobilenetv2: {
    dir: join(SHARED_DIR, 'weights', 'mobilenetv2'),
    what: "MobileNetV2's files (model, labels, test data)",
    marker: join('test-data', 'test_data_set_0', 'input_0.pb'),
  },
};

export const REQUIRE_SHARED = process.env.PIXELPROP_REQUIRE_SHARED === '1';

/** Where `kind` lives when it is there (use after `sharedData` said it is). */
export function sharedDataDir(kind: SharedKind): string {
  return KINDS[kind].dir;
}

/** Why `kind` is not usable, or null when it is. */
export function sharedDataProblem(kind: SharedKind): string | null {
  const { dir, what, marker } = KINDS[kind];
  return existsSync(join(dir, marker)) ? null : `${what} are not in ${dir} (no ${marker} there)`;
}

/**
 * The folder of `kind`, or null when it is missing. When missing, prints one line naming the tests skipped and what
 * is missing; with PIXELPROP_REQUIRE_SHARED=1 it also registers a test that fails with that line.
 */
export function sharedData(kind: SharedKind, tests: string): string | null {
  const problem = sharedDataProblem(kind);
  if (problem === null) return KINDS[kind].dir;
  if (REQUIRE_SHARED) {
    it(`needs ${KINDS[kind].what} (PIXELPROP_REQUIRE_SHARED=1)`, () => {
      throw new Error(`${tests} cannot run: ${problem}; with PIXELPROP_REQUIRE_SHARED=1 that is a failure, not a skip`);
    });
  } else {
    console.warn(`pixelprop tests: skipping ${tests}: ${problem}`);
  }
  return null;
}
