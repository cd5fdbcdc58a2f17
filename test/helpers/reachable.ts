// Copies of checkout files that every uid can run. The checkout may be closed to
// other users (a clone in /root, mode 0700, as on CI: see .ci/run), so a test that
// runs something as another uid (spawn with { uid }, or a drop to another uid
// before it loads the file) must run a copy from here, with everything that copy
// loads. test/setup.ts (vitest globalSetup) makes the directory once per run, a
// fresh mkdtemp under /tmp with mode 0755, and removes it at the end.
//
// For tests: `reachable(path)` (a file, or a directory with everything in it).
// IKC (broker.ts) and FIXTURE (fixture.ts) are such copies already.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory reachable() copies into (made by test/setup.ts). */
    ikcReachableDir: string;
  }
}

/** The run's directory of reachable copies. */
export function reachableDir(): string {
  const dir = inject('ikcReachableDir');
  if (!dir) throw new Error('no reachable dir: run the tests through vitest with test/setup.ts as globalSetup');
  return dir;
}

/** A copy of `path` (a file, or a directory and everything in it) that every uid can
 *  read, and run if it is executable: made on the first call of the run, the same path
 *  on later calls, from every worker (so later changes to `path` are not seen). The copy
 *  keeps the basename (and so a program's comm). Only what is copied is reachable: a
 *  program that loads other checkout files at run time needs them copied beside it. */
export function reachable(path: string): string {
  return copyReachable(reachableDir(), path);
}

/** reachable() into a given directory (test/setup.ts fills it before the workers start). */
export function copyReachable(dir: string, path: string, name = basename(path)): string {
  const src = resolve(path);
  const slot = join(dir, createHash('sha256').update(src).digest('hex').slice(0, 16));
  const dest = join(slot, name);
  if (existsSync(dest)) return dest;
  mkdirSync(slot, { recursive: true });
  chmodSync(slot, 0o755);
  // Copied under a private name, then renamed: workers racing on one path all get a whole copy.
  const tmp = join(slot, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}`);
  copyTree(src, tmp);
  try {
    renameSync(tmp, dest);
  } catch (e) {
    // Another worker's directory got there first (a file would have replaced it atomically).
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dest)) throw e;
  }
  return dest;
}

/** Copies a file or a tree with modes any uid can use, whatever the source's modes and the umask. */
function copyTree(src: string, dest: string): void {
  const st = statSync(src);
  if (st.isDirectory()) {
    mkdirSync(dest);
    chmodSync(dest, 0o755);
    for (const entry of readdirSync(src)) copyTree(join(src, entry), join(dest, entry));
  } else {
    copyFileSync(src, dest);
    chmodSync(dest, st.mode & 0o111 ? 0o755 : 0o644);
  }
}

/** The built CLI (bin/ikc.js and the bin/package.json that makes it CommonJS, its bundle dist/ikc.js and package.json), with the SDK
 *  package it imports at run time (@ikc/sdk: package.json, its bundle dist/sdk.js and
 *  native/) in a node_modules beside it: the whole of what `node ikc.js` loads. Returns the bin/ikc.js. */
export function copyCli(dir: string, root: string): string {
  const cli = join(dir, 'ikc-cli');
  const bin = join(cli, 'bin/ikc.js');
  if (existsSync(bin)) return bin;
  const tmp = `${cli}.${process.pid}`;
  const sdk = join(tmp, 'node_modules/@ikc/sdk');
  for (const d of [tmp, join(tmp, 'bin'), join(tmp, 'dist'), join(tmp, 'node_modules'), join(tmp, 'node_modules/@ikc'), sdk, join(sdk, 'dist')]) {
    mkdirSync(d);
    chmodSync(d, 0o755);
  }
  copyTree(join(root, 'packages/cli/package.json'), join(tmp, 'package.json'));
  copyTree(join(root, 'packages/cli/bin/ikc.js'), join(tmp, 'bin/ikc.js'));
  copyTree(join(root, 'packages/cli/bin/package.json'), join(tmp, 'bin/package.json'));
  copyTree(join(root, 'packages/cli/dist/ikc.js'), join(tmp, 'dist/ikc.js'));
  copyTree(join(root, 'packages/ikc/package.json'), join(sdk, 'package.json'));
  copyTree(join(root, 'packages/ikc/dist/sdk.js'), join(sdk, 'dist/sdk.js'));
  copyTree(join(root, 'packages/ikc/native'), join(sdk, 'native'));
  renameSync(tmp, cli);
  return bin;
}
