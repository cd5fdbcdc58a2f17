// Security rows X13/X14: `ikc sandbox` (crates/ikc-core/src/sandbox.rs) against
// real attacks from test/c/sandbox_probe.c, run under `ikc sandbox` as root (the
// strongest attacker: root may signal and re-limit anyone outside the filter).
//  X13: a file the launcher held open (fd 200, not close-on-exec) stays out of reach.
//  X14: the program cannot signal, re-limit or probe outside processes: F_SETOWN(_EX),
//       F_SETSIG, O_ASYNC, prlimit64, CPU clocks of other pids, PI futexes naming a
//       tid, SCM_CREDENTIALS naming a pid, execve/execveat of /proc paths; existing
//       and free pids get the same answer (EPERM), victims stay alive and unchanged.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startBroker, IKC, type TestBroker } from '../helpers/broker.js';
import { ROOT, track, killFixtures } from '../helpers/fixture.js';
import { row } from '../helpers/security.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

let broker: TestBroker;
let dir: string;
/** The probe's JSON answers (errno names) from the `attack` run, and how it ended. */
let out: Record<string, string> = {};
let attackEnd = '';
let int80 = '';
let credsNobody = '';
let credsRoot = '';
let victims: Record<'sig' | 'sigex' | 'limit' | 'exist', ChildProcess>;
let limitBefore = '';
let limitAfter = '';
let secret = '';

/** `sleep`, outside any sandbox: a process the attacks aim at. */
function victim(): ChildProcess {
  return track(spawn('sleep', ['600'], { stdio: 'ignore' }));
}

/** A pid that existed a moment ago and is free now (pids are handed out in order, so it stays free for a while). */
function freePid(): number {
  for (;;) {
    const pid = spawnSync('true').pid;
    if (pid && !existsSync(`/proc/${pid}`)) return pid;
  }
}

function maxOpenFiles(pid: number): string {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return (line ?? '').replace(/\s+/g, ' ').trim();
}

/** 'alive', or how the process ended (it is our child: node reaps it and records the signal). */
async function fate(child: ChildProcess): Promise<string> {
  await new Promise((r) => setTimeout(r, 100));
  if (child.signalCode) return `killed by ${child.signalCode}`;
  if (child.exitCode !== null) return `exited ${child.exitCode}`;
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'latin1');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X' ? `dead (${state})` : 'alive';
}

/** How a run ended when it printed no JSON. */
function ending(r: ReturnType<typeof spawnSync>): string {
  return r.status !== null ? `exit ${r.status}${r.status > 128 ? ` (signal ${r.status - 128})` : ''}` : `signal ${r.signal}`;
}

function parse(stdout: string): Record<string, string> {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, string>;
  } catch {
    return {};
  }
}

beforeAll(async () => {
  if (!isRoot) return;
  broker = await startBroker();
  // The probe lives where uid 65534 can reach it (the checkout may be private).
  dir = mkdtempSync(join(tmpdir(), 'ikc-sandbox-probe-'));
  chmodSync(dir, 0o755);
  const probe = join(dir, 'sandbox_probe');
  execFileSync('gcc', ['-static', '-O2', '-Wall', '-Werror', `-I${ROOT}include`, '-o', probe, join(ROOT, 'test/c/sandbox_probe.c')]);
  const secretPath = join(dir, 'secret');
  secret = `ikc-secret-${process.pid}`;
  writeFileSync(secretPath, secret, { mode: 0o600 });

  victims = { sig: victim(), sigex: victim(), limit: victim(), exist: victim() };
  await new Promise((r) => setTimeout(r, 50));
  limitBefore = maxOpenFiles(victims.limit.pid!);
  const free = freePid();

  // The launcher opens the secret as fd 200 without close-on-exec (a shell
  // redirection), as a careless parent of `ikc sandbox` would.
  const args = [String(victims.exist.pid), String(free), String(victims.sig.pid), String(victims.sigex.pid), String(victims.limit.pid)];
  const run = spawnSync(
    'bash',
    ['-c', 'exec 200<"$1"; shift; exec "$@"', 'bash', secretPath, process.execPath, IKC, '--broker', broker.socket, 'sandbox', '--', probe, 'attack', ...args],
    { encoding: 'utf8', timeout: 60_000 },
  );
  out = parse(run.stdout);
  attackEnd = run.status === 0 ? 'exit 0' : `${ending(run)}: ${run.stderr.trim()}`;
  limitAfter = maxOpenFiles(victims.limit.pid!);

  const i80 = spawnSync(process.execPath, [IKC, '--broker', broker.socket, 'sandbox', '--', probe, 'int80'], { encoding: 'utf8' });
  int80 = parse(i80.stdout).int80 ?? `killed: ${ending(i80)}`;

  // What the kernel itself says about SCM_CREDENTIALS naming a foreign pid, outside any sandbox.
  const exist = String(victims.exist.pid);
  credsNobody = parse(execFileSync(probe, ['creds', exist, String(free)], { encoding: 'utf8', cwd: dir, uid: NOBODY, gid: NOBODY })).creds_oracle ?? '';
  credsRoot = parse(execFileSync(probe, ['creds', exist, String(free)], { encoding: 'utf8' })).creds_oracle ?? '';
});

afterAll(async () => {
  killFixtures();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One row per attack, each its own test so every row is reported. */
function check(id: string, scenario: string, expected: () => string, observed: () => string | Promise<string>): void {
  it(`${id} ${scenario}`, async () => row({ id, scenario, expected: expected(), observed: (await observed()) || 'no answer' }));
}
const eperm = () => 'EPERM';
const both = () => 'EPERM/EPERM';
const ok = () => 'OK';

describe.skipIf(!isRoot)('ikc sandbox against a hostile program (needs root: broker, victims, uid 65534)', () => {
  check('X13', 'the probe ran to the end under ikc sandbox', () => 'exit 0', () => attackEnd);
  check('X13', 'a file the launcher holds as fd 200 (no CLOEXEC) is not readable inside', () => 'EBADF', () => out.fd200);
  check('X13', 'the only open fds inside are stdio and the broker connection', () => `0,1,2,${out.broker_fd}`, () => out.fds);

  check('X14', 'F_SETOWN_EX on the broker socket naming an outside process', eperm, () => out.setownex_kill);
  check('X14', 'F_SETSIG(SIGKILL) on the broker socket', eperm, () => out.setsig);
  check('X14', 'F_SETFL adding O_ASYNC on the broker socket', eperm, () => out.async);
  check('X14', 'F_SETOWN on the broker socket naming an outside process', eperm, () => out.setown_kill);
  check('X14', 'the F_SETOWN_EX victim is alive after replies arrived on the socket', () => 'alive', () => fate(victims.sigex));
  check('X14', 'the F_SETOWN victim is alive after replies arrived on the socket', () => 'alive', () => fate(victims.sig));
  check('X14', 'prlimit64 setting an outside process\'s RLIMIT_NOFILE to 16', eperm, () => out.prlimit_victim);
  check('X14', 'that process\'s RLIMIT_NOFILE is unchanged', () => limitBefore, () => limitAfter);

  // Existence oracles: the answer for an existing pid / for a free pid.
  check('X14', 'oracle: F_SETOWN existing pid / free pid', both, () => out.setown_oracle);
  check('X14', 'oracle: F_SETOWN existing / free process group', both, () => out.setown_pgrp_oracle);
  check('X14', 'oracle: F_SETOWN_EX existing / free pid', both, () => out.setownex_oracle);
  check('X14', 'oracle: prlimit64 reading an existing / free pid\'s limit', both, () => out.prlimit_oracle);
  check('X14', 'oracle: clock_gettime on an existing / free pid\'s CPU clock', both, () => out.clock_gettime_oracle);
  check('X14', 'oracle: clock_gettime on an existing / free tid\'s CPU clock', both, () => out.clock_gettime_thread_oracle);
  check('X14', 'oracle: clock_getres on an existing / free pid\'s CPU clock', both, () => out.clock_getres_oracle);
  check('X14', 'oracle: clock_nanosleep on an existing / free pid\'s CPU clock', both, () => out.clock_nanosleep_oracle);
  check('X14', 'oracle: FUTEX_TRYLOCK_PI on a word holding an existing / free tid', both, () => out.futex_trylock_pi_oracle);
  check('X14', 'oracle: FUTEX_LOCK_PI2 on a word holding an existing / free tid', both, () => out.futex_lock_pi_oracle);
  check('X14', 'oracle: execve of /proc/PID/ for an existing / free pid', both, () => out.execve_oracle);
  check('X14', 'oracle: execveat(AT_FDCWD, /proc/PID/) for an existing / free pid', both, () => out.execveat_oracle);
  check('X14', 'execveat(fd, "" or /proc/PID/, AT_EMPTY_PATH) after dup3 onto every fd number 3..1023', eperm, () => out.execveat_sweep);
  check('X14', 'oracle: SCM_CREDENTIALS naming an existing / free pid (root inside)', both, () => out.creds_oracle);
  check('X14', 'kernel: SCM_CREDENTIALS naming an existing / free pid, uid 65534 outside', both, () => credsNobody);
  check('X14', 'control: the same as root with CAP_SYS_ADMIN outside tells them apart', () => 'OK/ESRCH', () => credsRoot);
  check('X14', 'a 32-bit (int 0x80) syscall is refused, the program not killed', eperm, () => int80);
  check('X14', 'fcntl F_GETOWN(_EX), F_GETLK, F_SETLK, F_OFD_GETLK, leases, F_NOTIFY, F_SETPIPE_SZ', eperm, () => out.fcntl_denied);

  // What a program still needs keeps working.
  check('X14', 'the broker answers inside, before and after the attacks', () => 'OK/OK', () => `${out.broker}/${out.broker_after}`);
  check('X14', 'sendmsg with the program\'s own SCM_CREDENTIALS', ok, () => out.creds_self);
  check('X14', 'prlimit64 on the program itself (pid 0)', ok, () => out.prlimit_self);
  check('X14', 'standard clocks incl. its own CPU clocks; clock_getres, clock_nanosleep', ok, () => out.clock_self);
  check('X14', 'FUTEX_WAKE / FUTEX_WAIT on its own word', ok, () => out.futex_self);
  check('X14', 'fcntl F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD, F_GETFL/F_SETFL(O_NONBLOCK)', ok, () => out.fcntl_allowed);
});
