/**
 * A command's output files, written all or none: every command collects what it will write here and commits once,
 * at the end. A failure while writing leaves none of the new files behind; what was there before is untouched.
 *
 * - Up front, `OutputFolder.prepare` checks that the folder can be written, before any work is done, and creates
 *   nothing: it finds the nearest folder that exists on the way to it and creates and removes a probe folder there.
 *   That check cannot hang — Node's recursive mkdir loops forever under /proc, so folders are created here one level
 *   at a time, each a plain mkdir that either succeeds or fails.
 * - At the commit, each file goes to a new temporary file in the output folder (created exclusively, so a planted
 *   link is never followed) and only once all are written are they renamed onto their names. A rename replaces what
 *   has the name — a symbolic link included — and never writes through it: `saliency.png -> victim.txt` leaves the
 *   victim as it was. A name that is a folder is refused before anything is written.
 */
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PixelpropError } from '../gpu/errors.js';

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

export class OutputFolder {
  private readonly files = new Map<string, Uint8Array>();

  private constructor(
    /** as given on the command line, for messages */
    readonly given: string,
    /** absolute */
    readonly dir: string,
    /** the folders to create, outermost first */
    private readonly missing: string[],
  ) {}

  /** Checks that `dir` can be written (creating nothing); throws a one-line PixelpropError when it cannot. */
  static prepare(dir: string): OutputFolder {
    const full = resolve(dir);
    const refuse = (why: string): PixelpropError => new PixelpropError(`cannot write to output folder '${dir}': ${why}`);
    const missing: string[] = [];
    let base = full;
    for (;;) {
      let isDir: boolean;
      try {
        isDir = statSync(base).isDirectory();
      } catch (e) {
        const c = code(e);
        if (c !== 'ENOENT' && c !== 'ENOTDIR') throw refuse(`cannot look at '${base}' (${c})`);
        missing.unshift(base);
        const parent = dirname(base);
        if (parent === base) throw refuse('no folder on its path exists');
        base = parent;
        continue;
      }
      if (!isDir) throw refuse(`'${base}' is not a folder`);
      break;
    }
    try {
      rmdirSync(mkdtempSync(join(base, '.pixelprop-probe-')));
    } catch (e) {
      throw refuse(`cannot create anything in '${base}' (${code(e)})`);
    }
    return new OutputFolder(dir, full, missing);
  }

  /** The full path that `name` will have. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Adds a file to write at the commit; returns its full path. */
  add(name: string, bytes: Uint8Array): string {
    if (basename(name) !== name) throw new Error(`output name '${name}' must be a plain file name`);
    this.files.set(name, bytes);
    return this.path(name);
  }

  /** Writes every added file (see the file comment); throws a one-line PixelpropError and leaves no new file on failure. */
  commit(): string[] {
    return OutputFolder.commitAll([this]);
  }

  /**
   * Writes the files of several folders as one: every file of every folder goes to its temporary file first, and only
   * then are all renamed (a command whose outputs go to two places, such as `--out DIR` and `--record FILE.gif`).
   */
  static commitAll(folders: readonly OutputFolder[]): string[] {
    for (const folder of folders) folder.refuseFolderNames();
    for (const folder of folders) folder.createMissing();
    const temps: { folder: OutputFolder; name: string; temp: string }[] = [];
    const removeTemps = (): void => {
      for (const t of temps) rmSync(t.temp, { force: true });
    };
    const stamp = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    for (const folder of folders) {
      try {
        for (const [name, bytes] of folder.files) {
          const temp = join(folder.dir, `.${name}.${stamp}.tmp`);
          temps.push({ folder, name, temp });
          writeFileSync(temp, bytes, { flag: 'wx' });
        }
      } catch (e) {
        removeTemps();
        throw new PixelpropError(`cannot write to output folder '${folder.given}': ${code(e)}`);
      }
    }
    const written: string[] = [];
    while (temps.length > 0) {
      const { folder, name, temp } = temps[0]!;
      try {
        renameSync(temp, folder.path(name));
      } catch (e) {
        removeTemps();
        throw new PixelpropError(`cannot write '${folder.path(name)}': ${code(e)}`);
      }
      temps.shift();
      written.push(folder.path(name));
    }
    return written;
  }

  /** A name of an output that is a folder is refused before anything is written. */
  private refuseFolderNames(): void {
    for (const name of this.files.keys()) {
      let isDir = false;
      try {
        isDir = lstatSync(this.path(name)).isDirectory();
      } catch {
        // nothing there yet
      }
      if (isDir) throw new PixelpropError(`cannot write '${this.path(name)}': a folder has that name`);
    }
  }

  private createMissing(): void {
    for (const folder of this.missing) {
      try {
        mkdirSync(folder);
      } catch (e) {
        if (code(e) !== 'EEXIST' || !statSync(folder).isDirectory()) {
          throw new PixelpropError(`cannot create output folder '${folder}': ${code(e)}`);
        }
      }
    }
  }
}
