// Starts ikc-fixture processes (crates/ikc-core/examples/ikc-fixture.rs) and
// reaps them: every test that makes processes goes through here.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { reachable } from './reachable.js';

/** The checkout (with a trailing slash). Other uids may not be able to enter it:
 *  run nothing from here as another uid; use reachable() (helpers/reachable.ts). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The fixture binary as cargo builds it (test/setup.ts does). */
export const FIXTURE_BUILD = `${ROOT}target/debug/examples/ikc-fixture`;
/** The fixture to run: not FIXTURE_BUILD but its copy in the run's reachable dir
 *  (same basename, so the same comm), so that it runs as any uid even when the
 *  checkout is closed to other users. */
export const FIXTURE = reachable(FIXTURE_BUILD);

export interface FixtureInfo {
  pid: number;
  children?: number[];
  tids?: number[];
}

const running = new Set<ChildProcess>();

/** Starts `ikc-fixture ARGS` and resolves once it has printed its JSON line and
 *  its main thread has gone to sleep (so tests comparing states never catch it running). */
export async function startFixture(args: string[], opts: SpawnOptions = {}): Promise<FixtureInfo> {
  const info = await startProcess(FIXTURE, args, opts);
  for (let i = 0; i < 1000 && stateOf(info.pid) === 'R'; i++) await new Promise((r) => setTimeout(r, 5));
  return info;
}

/** The state letter in /proc/PID/stat ('' once the process is gone). */
function stateOf(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

/** Starts any program that prints one JSON line when ready. */
export function startProcess(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<FixtureInfo> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
  running.add(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as FixtureInfo);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited with ${code} before it was ready`)));
  });
}

/** Has killFixtures kill a process started some other way, and its children. */
export function track(child: ChildProcess): ChildProcess {
  running.add(child);
  return child;
}

/** A process and its threads in task_diag's order: ascending thread id (after pid
 *  wrap-around a thread's id can be lower than its leader's). */
export function threadIds(info: FixtureInfo): number[] {
  return [info.pid, ...(info.tids ?? [])].sort((a, b) => a - b);
}

/** Kills every process a test started (and their children, via the fixture's process). */
export function killFixtures(): void {
  for (const child of running) {
    for (const kid of childrenOf(child.pid ?? -1)) safeKill(kid);
    if (child.pid) safeKill(child.pid);
  }
  running.clear();
}

function safeKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Child pids from the kernel's own children file. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** One `Key:` line of /proc/PID/status, split into fields. */
export function statusField(pid: number, key: string): string[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key}:`));
  if (!line) throw new Error(`no ${key} in /proc/${pid}/status`);
  return line.slice(key.length + 1).trim().split(/\s+/);
}

/** The fields of /proc/PID/stat after the comm: [state, ppid, pgrp, session, ...]. */
export function statFields(pid: number, tid = pid): { comm: string; rest: string[] } {
  const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  return { comm: text.slice(open + 1, close), rest: text.slice(close + 2).trim().split(' ') };
}

/** The open fds of this process (the listing's own fd comes and goes with it). */
export function openFds(): string[] {
  return readdirSync('/proc/self/fd');
}
