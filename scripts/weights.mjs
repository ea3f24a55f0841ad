#!/usr/bin/env node
/**
 * `npm run weights`: makes sure weights/squeezenet1.1.onnx and weights/synset.txt are in the repository's weights/
 * folder (git-ignored). Each file that is missing (or fails validation) is copied from ../shared/weights when that
 * folder exists beside the repository, and downloaded from the ONNX model zoo otherwise. Downloads stream into a
 * temporary file beside the target and are renamed into place only once complete and valid, so an interrupted run
 * never leaves a half file behind.
 *
 * Plain Node ESM with no dependencies, so it runs before `npm install` has built anything. Other scripts and tests
 * import `ensureWeights` (types in weights.d.mts). Overrides, for mirrors and tests: PIXELPROP_WEIGHTS_DIR (target
 * folder), PIXELPROP_SHARED_WEIGHTS (folder to copy from; '' to skip copying), PIXELPROP_MODEL_URL,
 * PIXELPROP_SYNSET_URL.
 */
import { createWriteStream, realpathSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const MODEL_FILE = 'squeezenet1.1.onnx';
const SYNSET_FILE = 'synset.txt';
const MODEL_URL =
  'https://github.com/onnx/models/raw/main/validated/vision/classification/squeezenet/model/squeezenet1.1-7.onnx';
const SYNSET_URL = 'https://raw.githubusercontent.com/onnx/models/main/validated/vision/classification/synset.txt';

const MIN_MODEL_BYTES = 1 << 20;
const SYNSET_LINES = 1000;
const DOWNLOAD_TIMEOUT_MS = 5 * 60 * 1000;

/** Why a file is not usable, or null when it is. */
async function problemWith(path, kind) {
  let size;
  try {
    size = (await stat(path)).size;
  } catch {
    return 'missing';
  }
  const file = await open(path, 'r');
  try {
    if (kind === 'model') {
      if (size <= MIN_MODEL_BYTES) return `only ${size} bytes, an ONNX SqueezeNet 1.1 is about 4.7 MB`;
      // A protobuf starts with a field tag: field number ≥ 1 in the high bits, a wire type 0, 1, 2 or 5 in the low 3.
      // An HTML error page ('<' = field 7, wire type 4) or a text file fails this.
      const { buffer } = await file.read(Buffer.alloc(1), 0, 1, 0);
      const tag = buffer[0];
      if (tag >> 3 === 0 || ![0, 1, 2, 5].includes(tag & 7)) return 'does not start like a protobuf (ONNX) file';
      return null;
    }
    const text = await file.readFile({ encoding: 'utf8' });
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines.length !== SYNSET_LINES) return `has ${lines.length} class lines, expected ${SYNSET_LINES}`;
    return null;
  } finally {
    await file.close();
  }
}

async function isDirectory(path) {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function reasonOf(err) {
  // Node's fetch reports network failures as TypeError('fetch failed') with the socket error as its cause.
  // ('connect ECONNREFUSED 127.0.0.1:443', 'getaddrinfo ENOTFOUND github.com', 'other side closed', …).
  const cause = err?.cause;
  if (err?.name === 'TimeoutError' || cause?.name === 'TimeoutError') {
    return `no complete answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`;
  }
  if (cause) return cause.message || cause.code || String(cause);
  return err?.message || String(err);
}

function progressBar(label, received, total) {
  const mb = (n) => (n / 1e6).toFixed(1);
  if (!total) return `\r  ${label}  ${mb(received)} MB`;
  const frac = Math.min(1, received / total);
  const width = 30;
  const filled = Math.round(frac * width);
  return `\r  ${label}  [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(100 * frac).toFixed(0).padStart(3)}%  ${mb(received)}/${mb(total)} MB`;
}

/** Streams `url` (redirects followed) into `dest` via a temporary file; throws Error('<reason>') on any failure. */
async function download(url, dest, { quiet }) {
  const tmp = `${dest}.part-${process.pid}`;
  const showProgress = !quiet && process.stderr.isTTY;
  try {
    const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    // With a content-encoding (gzip), content-length counts the compressed bytes, not what the body yields.
    const encoding = res.headers.get('content-encoding');
    const total = encoding && encoding !== 'identity' ? 0 : Number(res.headers.get('content-length')) || 0;
    const label = dest.split(/[\\/]/).pop();
    let received = 0;
    let lastDraw = 0;
    const count = new Transform({
      transform(chunk, _encoding, done) {
        received += chunk.length;
        if (showProgress && Date.now() - lastDraw > 100) {
          process.stderr.write(progressBar(label, received, total));
          lastDraw = Date.now();
        }
        done(null, chunk);
      },
    });
    // pipeline ends or destroys all three streams together, whichever side fails (network, disk).
    await pipeline(Readable.fromWeb(res.body), count, createWriteStream(tmp));
    if (showProgress) process.stderr.write(`${progressBar(label, received, total)}\n`);
    if (total && received !== total) throw new Error(`connection closed after ${received} of ${total} bytes`);
    return tmp;
  } catch (err) {
    if (showProgress) process.stderr.write('\n');
    await rm(tmp, { force: true });
    throw new Error(reasonOf(err));
  }
}

/**
 * Makes sure both files exist and are valid in `weightsDir` (default: the repository's weights/).
 * Resolves to { dir, model, synset, sources: { model, synset } } where each source is 'present', 'copied' or
 * 'downloaded'; rejects with an Error whose message is one line a person can act on.
 */
export async function ensureWeights(options = {}) {
  const quiet = options.quiet ?? false;
  const dir = resolve(options.weightsDir ?? process.env.PIXELPROP_WEIGHTS_DIR ?? join(repoRoot, 'weights'));
  const envShared = process.env.PIXELPROP_SHARED_WEIGHTS;
  const sharedDir =
    options.sharedDir !== undefined
      ? options.sharedDir
      : envShared !== undefined
        ? envShared || null
        : resolve(repoRoot, '..', 'shared', 'weights');
  const urls = {
    model: options.modelUrl ?? process.env.PIXELPROP_MODEL_URL ?? MODEL_URL,
    synset: options.synsetUrl ?? process.env.PIXELPROP_SYNSET_URL ?? SYNSET_URL,
  };
  const say = (msg) => quiet || console.log(msg);
  await mkdir(dir, { recursive: true });

  const files = { model: join(dir, MODEL_FILE), synset: join(dir, SYNSET_FILE) };
  const names = { model: MODEL_FILE, synset: SYNSET_FILE };
  const sources = {};
  const haveShared = sharedDir ? await isDirectory(sharedDir) : false;
  // What a person without network access does instead: fetch each file not yet in place on a machine that has
  // network access, and put it where this script would have.
  const needed = [];
  for (const kind of ['model', 'synset']) if ((await problemWith(files[kind], kind)) !== null) needed.push(kind);
  const byHand = () => {
    const steps = needed.filter((k) => sources[k] === undefined).map((k) => `${urls[k]} as ${files[k]}`);
    return `to set up by hand, download ${steps.join(' and ')}`;
  };

  for (const kind of ['model', 'synset']) {
    const dest = files[kind];
    const problem = await problemWith(dest, kind);
    if (problem === null) {
      sources[kind] = 'present';
      continue;
    }
    if (problem !== 'missing') say(`${dest} ${problem}; replacing it`);

    const shared = haveShared ? join(sharedDir, names[kind]) : null;
    let tmp;
    if (shared && (await problemWith(shared, kind)) === null) {
      // Copy to a temporary name too, so that a failed copy cannot leave a half file under the real name.
      tmp = `${dest}.part-${process.pid}`;
      try {
        await copyFile(shared, tmp);
        await chmod(tmp, 0o644); // the shared copy is read-only; ours should be an ordinary file
      } catch (err) {
        await rm(tmp, { force: true });
        throw new Error(`cannot copy ${shared}: ${err.code ?? err.message}`);
      }
      sources[kind] = 'copied';
    } else {
      say(`downloading ${urls[kind]}`);
      try {
        tmp = await download(urls[kind], dest, { quiet });
      } catch (err) {
        throw new Error(`cannot download ${urls[kind]}: ${err.message}; ${byHand()}`);
      }
      sources[kind] = 'downloaded';
    }
    const bad = await problemWith(tmp, kind);
    if (bad !== null) {
      await rm(tmp, { force: true });
      const from = sources[kind] === 'copied' ? shared : urls[kind];
      throw new Error(`${names[kind]} from ${from} ${bad}; ${byHand()}`);
    }
    await rename(tmp, dest);
  }

  if (sources.model === 'present' && sources.synset === 'present') {
    say(`weights already in place: ${files.model}, ${files.synset}`);
  } else {
    for (const kind of ['model', 'synset']) {
      if (sources[kind] !== 'present') say(`${sources[kind]} ${files[kind]}`);
    }
  }
  return { dir, model: files.model, synset: files.synset, sources };
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const quiet = process.argv.includes('--quiet') || process.argv.includes('-q');
  ensureWeights({ quiet }).then(
    () => process.exit(0),
    (err) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
