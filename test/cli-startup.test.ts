// `ikc --version` is answered by bin/ikc.js alone (the start-up target of
// npm run bench: within 15 ms of `node -e 0`). The kernel is the oracle for what
// a run loads: strace lists every file it opens.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/fixture.js';

const BIN = join(ROOT, 'packages/cli/bin/ikc.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;
const hasStrace = spawnSync('strace', ['-V']).status === 0;

/** The files a run of `ikc ARGS` opened, and its stdout. */
function opened(args: string[]): { files: string[]; stdout: string } {
  const log = join(mkdtempSync(join(tmpdir(), 'ikc-strace-')), 'log');
  const stdout = execFileSync('strace', ['-f', '-qq', '-e', 'trace=open,openat,openat2', '-o', log, process.execPath, BIN, ...args], { encoding: 'utf8' });
  const files = [...readFileSync(log, 'utf8').matchAll(/open(?:at2?)?\((?:[^,]*, )?"([^"]+)"/g)].map((m) => m[1]);
  return { files, stdout };
}

describe('ikc --version', () => {
  it('prints the version yargs prints for a command, the package.json one', () => {
    const fast = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    const viaYargs = spawnSync(process.execPath, [BIN, 'ps', '--version'], { encoding: 'utf8' });
    expect(fast.status).toBe(0);
    expect(fast.stderr).toBe('');
    expect(fast.stdout).toBe(`${VERSION}\n`);
    expect(viaYargs.stdout).toBe(fast.stdout);
  });

  it.runIf(hasStrace)('loads neither the CLI bundle, the SDK nor the native addon; a command loads all three', () => {
    const loads = (files: string[]) => ({
      bundle: files.some((f) => f.endsWith('cli/dist/ikc.js')),
      sdk: files.some((f) => f.endsWith('dist/sdk.js')),
      addon: files.some((f) => f.endsWith('.node')),
    });
    const fast = opened(['--version']);
    expect(fast.stdout).toBe(`${VERSION}\n`);
    expect(loads(fast.files)).toEqual({ bundle: false, sdk: false, addon: false });
    expect(loads(opened(['commands']).files)).toEqual({ bundle: true, sdk: true, addon: true });
  });
});
