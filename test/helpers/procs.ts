// Plain processes (sleep, sh, node) for the CLI suites cli-ps.test.ts and cli-task-diag.test.ts: start, wait on /proc, kill after each test.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeAll } from 'vitest';
import { killFixtures, ROOT, track } from './fixture.js';

/** Starts a process that killFixtures (see cliSuiteHooks) kills, with its children, after the test. */
export function start(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return track(spawn(cmd, args, { stdio: 'ignore', ...opts }));
}

/** Polls a condition on kernel state (no timing is asserted; the test timeout bounds it). */
export async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A file's text, or '' when it cannot be read (a process that is gone). */
export const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

export const comm = (pid: number) => read(`/proc/${pid}/comm`).trim();

/** A `sleep` that has exec'd (its comm is sleep), so ps and ikc see the same thing. */
export async function sleeper(opts: SpawnOptions = {}): Promise<number> {
  const pid = start('sleep', ['1000'], opts).pid!;
  await until(`sleep ${pid} to exec`, () => comm(pid) === 'sleep');
  return pid;
}

/** Waits until a process sleeps and its /proc/PID/stat reads the same twice in a row (done starting up). */
export async function quiet(pid: number): Promise<void> {
  let last = '';
  await until(`${pid} to settle`, () => {
    const now = read(`/proc/${pid}/stat`);
    const same = now === last && /\) S /.test(now);
    last = now;
    return same;
  });
}

/** The hooks of a suite that runs the built CLI: it must be built, and what a test started dies after it. */
export function cliSuiteHooks(): void {
  afterEach(killFixtures);
  beforeAll(() => {
    if (!existsSync(`${ROOT}packages/cli/dist/ikc.js`)) throw new Error('run `npm run build:ts` first: packages/cli/dist is missing');
  });
}
