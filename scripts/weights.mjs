#!/usr/bin/env node
/**
 * `npm run weights [-- --model NAME]`: makes sure a known model (scripts/models.mjs; default squeezenet1.1) is in the
 * repository's weights/ folder (git-ignored): its ONNX file, its class names, and its description NAME.json (the
 * registry's, written out). Each file that is missing (or fails validation) is copied from ../shared/weights when
 * that folder exists beside the repository, and downloaded from the model's public address otherwise (a model
 * without one says so, and why). Downloads stream into a temporary file beside the target and are renamed into place
 * only once complete and valid, so an interrupted run never leaves a half file behind.
 *
 * Plain Node ESM with no dependencies, so it runs before `npm install` has built anything. Other scripts and tests
 * import `ensureWeights` (types in weights.d.mts). Overrides, for mirrors and tests: PIXELPROP_WEIGHTS_DIR (target
 * folder), PIXELPROP_SHARED_WEIGHTS (folder to copy from; '' to skip copying), PIXELPROP_MODEL_URL and
 * PIXELPROP_SYNSET_URL (the chosen model's ONNX file and class names).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, realpathSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, MODELS } from './models.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const DOWNLOAD_TIMEOUT_MS = 5 * 60 * 1000;

async function sha256Of(path) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Why a file is not usable as `spec` (the registry's entry for it) says, or null when it is. */
async function problemWith(path, kind, spec) {
  let size;
  try {
    size = (await stat(path)).size;
  } catch {
    return 'missing';
  }
  const file = await open(path, 'r');
  try {
    if (kind === 'model') {
      if (size <= spec.minBytes) return `only ${size} bytes, not a whole model (more than ${spec.minBytes} expected)`;
      // A protobuf starts with a field tag: field number ≥ 1 in the high bits, a wire type 0, 1, 2 or 5 in the low 3.
      // An HTML error page ('<' = field 7, wire type 4) or a text file fails this.
      const { buffer } = await file.read(Buffer.alloc(1), 0, 1, 0);
      const tag = buffer[0];
      if (tag >> 3 === 0 || ![0, 1, 2, 5].includes(tag & 7)) return 'does not start like a protobuf (ONNX) file';
      if (spec.sha256 && (await sha256Of(path)) !== spec.sha256) return `is not the registered file (its sha256 differs from ${spec.sha256})`;
      return null;
    }
    const text = await file.readFile({ encoding: 'utf8' });
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines.length !== spec.lines) return `has ${lines.length} class lines, expected ${spec.lines}`;
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

/** The registry's entry of `name`; an Error listing the known names otherwise. */
export function registryEntry(name) {
  const entry = Object.hasOwn(MODELS, name) ? MODELS[name] : undefined;
  if (!entry) throw new Error(`unknown model '${name}' (known models: ${Object.keys(MODELS).join(', ')})`);
  return entry;
}

/** Writes `text` to `path` through a temporary file, unless it already holds exactly that. Resolves to whether it wrote. */
async function writeIfChanged(path, text) {
  try {
    if ((await readFile(path, 'utf8')) === text) return false;
  } catch {
    // missing: written below
  }
  const tmp = `${path}.part-${process.pid}`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return true;
}

/**
 * Makes sure the model's two files exist and are valid in `weightsDir` (default: the repository's weights/), and its
 * description beside them. Resolves to { name, dir, model, labels, description, sources: { model, labels } } where
 * each source is 'present', 'copied' or 'downloaded'; rejects with an Error whose message is one line a person can
 * act on.
 */
export async function ensureWeights(options = {}) {
  const quiet = options.quiet ?? false;
  const name = options.model ?? DEFAULT_MODEL;
  const entry = registryEntry(name);
  const dir = resolve(options.weightsDir ?? process.env.PIXELPROP_WEIGHTS_DIR ?? join(repoRoot, 'weights'));
  const envShared = process.env.PIXELPROP_SHARED_WEIGHTS;
  const sharedDir =
    options.sharedDir !== undefined
      ? options.sharedDir
      : envShared !== undefined
        ? envShared || null
        : resolve(repoRoot, '..', 'shared', 'weights');
  const specs = { model: entry.files.onnx, labels: entry.files.labels };
  const urls = {
    model: options.modelUrl ?? process.env.PIXELPROP_MODEL_URL ?? specs.model.url,
    labels: options.labelsUrl ?? process.env.PIXELPROP_SYNSET_URL ?? specs.labels.url,
  };
  const say = (msg) => quiet || console.log(msg);
  await mkdir(dir, { recursive: true });

  const names = { model: entry.description.onnx, labels: entry.description.labels };
  const files = { model: join(dir, names.model), labels: join(dir, names.labels) };
  const sources = {};
  const haveShared = sharedDir ? await isDirectory(sharedDir) : false;
  // What a person without network access does instead: fetch each file not yet in place on a machine that has
  // network access (or, for a file with no public address, that has ../shared/weights), and put it where this
  // script would have.
  const needed = [];
  for (const kind of ['model', 'labels']) if ((await problemWith(files[kind], kind, specs[kind])) !== null) needed.push(kind);
  const byHand = () => {
    const left = needed.filter((k) => sources[k] === undefined);
    const downloads = left.filter((k) => urls[k]).map((k) => `${urls[k]} as ${files[k]}`);
    const copies = left.filter((k) => !urls[k]).map((k) => `../shared/weights/${specs[k].shared} as ${files[k]}`);
    const steps = [downloads.length ? `download ${downloads.join(' and ')}` : '', copies.length ? `copy ${copies.join(' and ')}` : ''];
    return `to set up by hand, ${steps.filter(Boolean).join(', and ')}`;
  };

  for (const kind of ['model', 'labels']) {
    const dest = files[kind];
    const problem = await problemWith(dest, kind, specs[kind]);
    if (problem === null) {
      sources[kind] = 'present';
      continue;
    }
    if (problem !== 'missing') say(`${dest} ${problem}; replacing it`);

    const shared = haveShared ? join(sharedDir, specs[kind].shared) : null;
    let tmp;
    if (shared && (await problemWith(shared, kind, specs[kind])) === null) {
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
    } else if (!urls[kind]) {
      const where = sharedDir ? `${join(sharedDir, specs[kind].shared)} is not there` : 'no shared folder is given';
      throw new Error(`${name}: ${names[kind]} has no public download address: ${entry.noDownload}; ${where}; ${byHand()}`);
    } else {
      say(`downloading ${urls[kind]}`);
      try {
        tmp = await download(urls[kind], dest, { quiet });
      } catch (err) {
        throw new Error(`cannot download ${urls[kind]}: ${err.message}; ${byHand()}`);
      }
      sources[kind] = 'downloaded';
    }
    const bad = await problemWith(tmp, kind, specs[kind]);
    if (bad !== null) {
      await rm(tmp, { force: true });
      const from = sources[kind] === 'copied' ? shared : urls[kind];
      throw new Error(`${names[kind]} from ${from} ${bad}; ${byHand()}`);
    }
    await rename(tmp, dest);
  }

  const description = join(dir, `${name}.json`);
  const wroteDescription = await writeIfChanged(description, `${JSON.stringify(entry.description, null, 2)}\n`);
  if (sources.model === 'present' && sources.labels === 'present' && !wroteDescription) {
    say(`${name} already in place: ${files.model}, ${files.labels}, ${description}`);
  } else {
    for (const kind of ['model', 'labels']) {
      if (sources[kind] !== 'present') say(`${sources[kind]} ${files[kind]}`);
    }
    if (wroteDescription) say(`wrote ${description}`);
  }
  return { name, dir, model: files.model, labels: files.labels, description, sources };
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
  let run;
  try {
    const { values } = parseArgs({ options: { model: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } }, strict: true });
    run = ensureWeights({ quiet: values.quiet ?? false, model: values.model });
  } catch (err) {
    run = Promise.reject(new Error(`${err.message.split('\n')[0]}; usage: npm run weights [-- --model NAME] [--quiet] (models: ${Object.keys(MODELS).join(', ')})`));
  }
  run.then(
    () => process.exit(0),
    (err) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
