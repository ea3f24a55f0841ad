/**
 * scripts/setup.sh reads apt's sources to find the machine's Debian mirror and whether bookworm-backports is already
 * configured (scripts/lib/apt-sources.sh). These tests run that logic against the layouts real machines have — a
 * stock Debian 12 image (one deb822 file whose comments hold snapshot.debian.org addresses, no sources.list), an
 * older one-line sources.list, both, neither — in temporary folders, touching nothing of this machine's apt.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(repo, 'scripts', 'lib', 'apt-sources.sh');
const roots: string[] = [];

/** An apt configuration folder holding `files` (paths relative to it). */
function aptDir(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pixelprop-apt-'));
  roots.push(root);
  mkdirSync(join(root, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
  return root;
}

/** Runs one function of apt-sources.sh under `set -euo pipefail`, as setup.sh does. */
function call(fn: string, ...args: string[]): { out: string; status: number | null; err: string } {
  const r = spawnSync('bash', ['-c', `set -euo pipefail; . "$0"; ${fn} "$@"`, lib, ...args], { encoding: 'utf8' });
  return { out: r.stdout.trim(), status: r.status, err: r.stderr };
}

afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

// What a stock Debian 12 (bookworm) cloud/container image ships: no /etc/apt/sources.list at all.
const STOCK_DEBIAN_12 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('scripts/lib/apt-sources.sh', () => {
  it('stock Debian 12 (deb822 only, snapshot addresses in comments): the URIs field, not the comment', () => {
    const dir = aptDir({ 'sources.list.d/debian.sources': STOCK_DEBIAN_12 });
    expect(call('apt_debian_mirror', dir)).toMatchObject({ out: 'http://deb.debian.org/debian', status: 0 });
    expect(call('apt_has_suite', dir, 'bookworm-backports').status).toBe(1);
    expect(call('apt_has_suite', dir, 'bookworm-updates').status).toBe(0);
  });

  it('one-line sources.list only, with comments, options and deb-src', () => {
    const dir = aptDir({
      'sources.list': [
        '# deb http://commented.example/debian bookworm main',
        'deb-src http://src.example/debian bookworm main',
        'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.de.debian.org/debian/ bookworm main # trailing',
        'deb http://security.debian.org/debian-security bookworm-security main',
      ].join('\n'),
    });
    expect(call('apt_debian_mirror', dir).out).toBe('http://ftp.de.debian.org/debian/');
    expect(call('apt_has_suite', dir, 'bookworm-backports').status).toBe(1);
  });

  it('both formats, backports already configured in a .list file', () => {
    const dir = aptDir({
      'sources.list': '',
      'sources.list.d/debian.sources': STOCK_DEBIAN_12,
      'sources.list.d/backports.list': 'deb http://deb.debian.org/debian bookworm-backports main\n',
    });
    expect(call('apt_debian_mirror', dir).out).toBe('http://deb.debian.org/debian');
    expect(call('apt_has_suite', dir, 'bookworm-backports').status).toBe(0);
  });

  it('a disabled deb822 stanza and a deb-src stanza do not count; field names are case-insensitive', () => {
    const dir = aptDir({
      'sources.list.d/extra.sources': [
        'Types: deb',
        'URIs: http://disabled.example/debian',
        'Suites: bookworm-backports',
        'Enabled: no',
        '',
        'Types: deb-src',
        'URIs: http://src.example/debian',
        'Suites: bookworm-backports',
        '',
        'types: deb',
        'uris: http://mirror.example/debian',
        'suites: bookworm',
      ].join('\n'),
    });
    expect(call('apt_debian_mirror', dir).out).toBe('http://mirror.example/debian');
    expect(call('apt_has_suite', dir, 'bookworm-backports').status).toBe(1);
  });

  it('neither file exists: no mirror, no error', () => {
    const dir = aptDir({});
    expect(call('apt_debian_mirror', dir)).toMatchObject({ out: '', status: 0 });
    expect(call('apt_has_suite', dir, 'bookworm-backports').status).toBe(1);
    const missing = join(dir, 'no-such-folder');
    expect(call('apt_debian_mirror', missing)).toMatchObject({ out: '', status: 0 });
  });

  it('setup.sh refuses an unknown option with one line and exit 2', () => {
    const r = spawnSync('bash', [join(repo, 'scripts', 'setup.sh'), '--frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`setup: unknown option '--frobnicate' (try --help)`]);
  });
});
