// Security rows S1-S27: one or more attacks or checks per promise of SECURITY.md
// that had no row yet (S17/S18, the broker's limits, and S20, the sandbox, live
// elsewhere). Wherever Linux answers the same question the kernel is the
// oracle: a private hidepid=2 procfs read by the very same identity, `ps`, `ss`
// and `ip` run inside the namespace, `/proc` itself, the state the kernel keeps
// (a connection still established, an address still there) after an attack.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  ADDR_DUMP,
  BrokerClient,
  CURRENT_NETNS,
  CURRENT_PIDNS,
  encodeTaskDiagRequest,
  issueKernelCommand,
  issueKernelCommandAsync,
  LINK_DUMP,
  links,
  parseSockDiag,
  parseTaskDiag,
  READ_ONLY,
  readResponseSync,
  SOCK_DIAG,
  socketQueries,
  sockets,
  socketStateName,
  TASK_DIAG,
  taskDiagFd,
  taskDiagSync,
  type Task,
} from '@ikc/sdk';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { closedFd, codeOf } from '../helpers/errno.js';
import { childrenOf, FIXTURE, killFixtures, openFds, ROOT, startFixture, startProcess, track } from '../helpers/fixture.js';
import { runViewer, stable, type ViewerReport } from '../helpers/hidepid.js';
import { figure, FULL, row } from '../helpers/security.js';
import { fdFlags, O_CLOEXEC, preadAll } from '../helpers/fd.js';

const isRoot = process.getuid?.() === 0;
const canBpf = isRoot && existsSync('/sys/kernel/btf/vmlinux');
const UID = 4715;
const OTHER = 4716;
const NOBODY = 65534;
const VIEWER = join(ROOT, 'test/scripts/hidepid-viewer.mjs');

let broker: TestBroker;
/** A 0755 directory every uid can reach: the probe, scripts, mount points. */
let work: string;
let probe: string;

beforeAll(async () => {
  if (!isRoot) return;
  broker = await startBroker();
  work = mkdtempSync(join(tmpdir(), 'ikc-promises-'));
  chmodSync(work, 0o755);
  probe = join(work, 'promises_probe');
  execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-o', probe, join(ROOT, 'test/c/promises_probe.c')]);
});
afterAll(async () => {
  killFixtures();
  await broker?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------- helpers

/** The lines a script says to drop from root to `uid` in-process (after its imports). */
const drop = (uid: number) => `process.setgroups([]); process.setgid(${uid}); process.setuid(${uid});`;

/** Runs an ES module snippet as root from ROOT (under `wrap` if given); its last stdout line, as JSON. */
function node<T>(script: string, opts: { wrap?: string[]; env?: NodeJS.ProcessEnv; extraFd?: number } = {}): T {
  const cmd = [...(opts.wrap ?? []), process.execPath, '--input-type=module', '-e', script];
  const out = execFileSync(cmd[0], cmd.slice(1), {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'inherit', ...(opts.extraFd === undefined ? [] : [opts.extraFd])],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** A root-owned `sleep`: hidden from every other uid. */
const rootSleeper = () => track(spawn('sleep', ['1000'], { stdio: 'ignore' })).pid!;

/** A pid no task has now, high enough that none will get it during the test. */
function freePid(): number {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  for (let p = max - 1; p > max - 1000; p--) if (!existsSync(`/proc/${p}`)) return p;
  throw new Error('no free pid');
}

const numeric = (dir: string) => readdirSync(dir).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, tries = 1000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (ok()) return;
    await sleepMs(10);
  }
  throw new Error(`gave up waiting for ${what}`);
}
const stateOf = (pid: number, tid = pid) => {
  try {
    const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
};

/** "same as the kernel", or what ikc showed that the kernel hid and missed that it showed (processes and threads). */
function verdict(r: ViewerReport): string {
  const shown = new Set<number | string>([...r.before, ...r.after, ...r.threadsBefore, ...r.threadsAfter]);
  const extra = [...r.ikc, ...r.ikcThreads].filter((x) => !shown.has(x));
  const ikc = new Set<number | string>([...r.ikc, ...r.ikcThreads]);
  const missing = [...stable(r.before, r.after), ...stable(r.threadsBefore, r.threadsAfter)].filter((x) => !ikc.has(x));
  if (!extra.length && !missing.length) return 'same as the kernel';
  return `${extra.length} hidden shown (${extra.slice(0, 3).join(',')}), ${missing.length} shown missed (${missing.slice(0, 3).join(',')})`;
}

/** What the kernel and ikc said about one process ('PID') or thread ('TGID/TID'). */
function says(r: ViewerReport, id: number | string): { kernel: string; ikc: string } {
  const [before, after, ikc] = typeof id === 'number' ? [r.before, r.after, r.ikc] : [r.threadsBefore, r.threadsAfter, r.ikcThreads];
  const k = (before as Array<number | string>).includes(id) && (after as Array<number | string>).includes(id);
  return { kernel: k ? 'shown' : 'hidden', ikc: (ikc as Array<number | string>).includes(id) ? 'shown' : 'hidden' };
}

/** Processes (and one thread) on each side of every ptrace-read rule, for the viewer uid. */
async function ruleFixtures(): Promise<Array<[string, number | string]>> {
  const [u, g] = [String(UID), String(UID)];
  const same = await startFixture(['cred', u, g]);
  const nodump = await startFixture(['cred', u, g, 'nodump']);
  const setuid = await startFixture(['cred', u, g, 'euid=0']);
  const setgid = await startFixture(['cred', u, g, 'egid=0']);
  const caps = await startFixture(['cred', u, g, 'keepcap']);
  const other = await startFixture(['cred', String(OTHER), g]);
  const threads = await startFixture(['threads', '1', 'pr'], { uid: UID, gid: UID });
  return [
    ['same uid and gid, dumpable', same.pid],
    ['same ids, not dumpable', nodump.pid],
    ['euid 0 (a setuid program)', setuid.pid],
    ['egid 0 (a setgid program)', setgid.pid],
    ['permitted CAP_NET_ADMIN beyond the viewer\'s', caps.pid],
    ['another uid', other.pid],
    ['a thread of a same-uid process', `${threads.pid}/${threads.tids![0]}`],
    ['pid 1', 1],
  ];
}

/** Processes of uid 0, gid UID with capabilities the same as, more than and fewer than the viewerWithoutPtrace's. */
function capFixtures(): Array<[string, number]> {
  const su = (bset: string) => track(spawn('setpriv', [`--regid=${UID}`, '--clear-groups', ...(bset ? [`--inh-caps=${bset}`, `--bounding-set=${bset}`] : []), 'sleep', '1000'], { stdio: 'ignore' })).pid!;
  return [
    [`uid 0, gid ${UID}, the same capabilities (no CAP_SYS_PTRACE)`, su('-sys_ptrace')],
    [`uid 0, gid ${UID}, every capability`, su('')],
    [`uid 0, gid ${UID}, fewer capabilities (no CAP_NET_ADMIN either)`, su('-sys_ptrace,-net_admin')],
  ];
}

/**
 * The viewer (test/scripts/hidepid-viewer.mjs) as uid 0 without CAP_SYS_PTRACE (dropped
 * from the bounding set before exec), with gid UID: a hidepid=2 procfs mounted without
 * gid= lets group 0 see everything, so the kernel applies the ptrace rule only to
 * callers outside group 0.
 */
function viewerWithoutPtrace(brokerSocket = '', backend = 'auto'): ViewerReport {
  const dir = mkdtempSync(join(tmpdir(), 'ikc-hidepid-'));
  try {
    const out = execFileSync('unshare', ['--mount', '--propagation', 'private', 'setpriv', '--inh-caps=-sys_ptrace', '--bounding-set=-sys_ptrace', process.execPath, VIEWER, dir, '0', String(UID), brokerSocket, backend], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    return JSON.parse(out) as ViewerReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}


/** Starts `unshare --pid --fork --mount-proc sh -c SCRIPT`; the host pid of the namespace's init once it said "up". */
async function pidns(script: string): Promise<number> {
  const child = track(spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await until('the pid namespace', () => childrenOf(child.pid!).length > 0 && out.includes('up'));
  return childrenOf(child.pid!)[0];
}

/** `ps` inside the namespace of host pid `init`: "pid ppid pgid sid comm" rows, without ps and nsenter themselves. */
function psInside(init: number): string[] {
  return execFileSync('nsenter', ['-t', String(init), '-p', '-m', 'ps', 'ax', '--no-headers', '-o', 'pid,ppid,pgid,sid,comm'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '))
    .filter((r) => !r.endsWith(' ps') && !r.endsWith(' nsenter'));
}
const psRow = (t: Task) => [t.base!.pid, t.base!.ppid, t.base!.pgid, t.base!.sid, t.base!.comm].join(' ');

/** Same lists, or the first differences. */
function sameRows(ours: string[], theirs: string[]): string {
  const extra = ours.filter((r) => !theirs.includes(r));
  const missing = theirs.filter((r) => !ours.includes(r));
  return !extra.length && !missing.length ? 'same rows' : `extra [${extra.slice(0, 3).join('; ')}], missing [${missing.slice(0, 3).join('; ')}]`;
}

/** 'OK' (closing the fd) or the errno code, for a call that returns a response fd. */
function attempt(fn: () => number): string {
  try {
    closeSync(fn());
    return 'OK';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

// ---------------------------------------------------------------- rows

describe.skipIf(!isRoot)('promises S1-S16, S19 (needs root: users, namespaces, a broker)', () => {
  let rules: Array<[string, number | string]> = [];
  beforeAll(async () => {
    rules = await ruleFixtures();
  });

  it('S1: in-process, a caller sees a task only if ptrace_may_access(READ_FSCREDS) would allow it', async () => {
    const r = runViewer(UID, UID);
    row({ id: 'S1', scenario: `uid ${UID} lists processes and threads in-process vs a hidepid=2 procfs read by the same process`, expected: 'same as the kernel', observed: verdict(r) });
    for (const [rule, id] of rules) {
      const s = says(r, id);
      row({ id: 'S1', scenario: `  rule: ${rule}, to uid ${UID} in-process`, expected: s.kernel, observed: s.ikc });
    }
    figure('S1 uid viewer in-process', `ikc ${r.ikc.length} processes / ${r.ikcThreads.length} threads; hidepid=2 procfs ${r.before.length} / ${r.threadsBefore.length}`);
    const caps = capFixtures();
    await until('the capability fixtures to exec', () => caps.every(([, pid]) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep'));
    const np = viewerWithoutPtrace();
    row({ id: 'S1', scenario: `uid 0, gid ${UID}, without CAP_SYS_PTRACE lists in-process vs its own hidepid=2 procfs`, expected: 'same as the kernel', observed: verdict(np) });
    for (const [rule, pid] of caps) {
      const s = says(np, pid);
      row({ id: 'S1', scenario: `  rule: ${rule}, to it in-process`, expected: s.kernel, observed: s.ikc });
    }
    figure('S1 uid 0 without CAP_SYS_PTRACE in-process', `ikc ${np.ikc.join(',')}; hidepid=2 procfs ${np.before.join(',')}`);
    const before = numeric('/proc');
    const all = taskDiagSync({ strategy: 'all' }).map((t) => t.pid);
    const missed = stable(before, numeric('/proc')).filter((p) => !all.includes(p));
    row({ id: 'S1', scenario: 'root with CAP_SYS_PTRACE lists in-process: every pid /proc lists before and after', expected: 'all listed', observed: missed.length ? `${missed.length} missed (${missed.slice(0, 3)})` : 'all listed' });
  });

  it('S26: in-process, the BPF backend hides from root without CAP_SYS_PTRACE what procfs hides (the kernel judges every record)', () => {
    // Auto picks BPF for large dumps, so this is what such a caller gets on a big machine.
    const list = (backend: string) =>
      execFileSync('setpriv', ['--inh-caps=-sys_ptrace', '--bounding-set=-sys_ptrace', '--', process.execPath, join(ROOT, 'packages/cli/bin/ikc.js'), 'ps', '-e', '--backend', backend, '-o', 'pid=,comm='], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/));
    for (const backend of ['bpf', 'procfs']) {
      const rows = list(backend);
      const kthreadd = rows.some(([pid]) => pid === '2');
      const self = rows.some(([, comm]) => comm === 'node');
      row({ id: 'S26', scenario: `uid 0 without CAP_SYS_PTRACE lists in-process with --backend ${backend}: kthreadd (pid 2, no mm: not dumpable)`, expected: 'kthreadd hidden, itself shown', observed: `kthreadd ${kthreadd ? 'shown' : 'hidden'}, itself ${self ? 'shown' : 'hidden'}` });
    }
  });

  it('S2, S19, S26: hidden and missing pids answer alike; no command that is not read-only passes; no BPF for the unprivileged', async () => {
    const hidden = await startFixture(['threads', '1', 'hid']); // root's: hidden from UID
    const missing = freePid();
    const out = node<Record<string, string>>(`
      import { closeSync } from 'node:fs';
      import { inProcess, BrokerClient, backendInUse, encodeTaskDiagRequest, CURRENT_PIDNS, READ_ONLY } from '@ikc/sdk';
      ${drop(UID)}
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const answer = (client, strategy, pid) => {
        try { client.taskDiagSync({ strategy, pid }); return 'answered'; }
        catch (e) { return e.code + ': ' + e.message.split(String(pid)).join('PID'); }
      };
      const out = {};
      for (const [where, client] of [['in-process', inProcess], ['broker', c]]) {
        for (const strategy of ['one', 'thread', 'children']) {
          out[where + ' ' + strategy] = JSON.stringify([answer(client, strategy, ${hidden.pid}), answer(client, strategy, ${missing})]);
        }
        out[where + ' one tid'] = JSON.stringify([answer(client, 'one', ${hidden.tids![0]}), answer(client, 'one', ${missing})]);
        out[where + ' own'] = answer(client, 'one', process.pid);
      }
      const req = encodeTaskDiagRequest({ strategy: 'one', pid: process.pid });
      out.s19 = [1, 2, 3, 4, 5, 0, 0x7fffffff, (READ_ONLY | 5) >>> 0].map((cmd) => {
        try { closeSync(c.issueKernelCommand(CURRENT_PIDNS, cmd, [req])); return 'answered'; } catch (e) { return e.code; }
      }).join(' ');
      try { inProcess.taskDiagSync({ backend: 'bpf' }); out.bpf = 'answered'; } catch (e) { out.bpf = e.code; }
      out.auto = backendInUse('auto');
      try { out.autoAnswer = inProcess.taskDiagSync({ backend: 'auto' }).some((t) => t.pid === process.pid) ? 'answered' : 'answered without itself'; } catch (e) { out.autoAnswer = e.code; }
      console.log(JSON.stringify(out));`);
    const same = (pair: string) => {
      const [h, m] = JSON.parse(pair) as [string, string];
      return h === m && h.startsWith('ESRCH') ? 'ESRCH, same message' : `hidden: ${h} / missing: ${m}`;
    };
    for (const where of ['in-process', 'broker']) {
      for (const s of ['one', 'thread', 'children']) {
        row({ id: 'S2', scenario: `${s.toUpperCase()} on a hidden pid and on a missing pid, uid ${UID} (${where})`, expected: 'ESRCH, same message', observed: same(out[`${where} ${s}`]) });
      }
      row({ id: 'S2', scenario: `ONE on a hidden thread id and on a missing pid (${where})`, expected: 'ESRCH, same message', observed: same(out[`${where} one tid`]) });
      row({ id: 'S2', scenario: `control: ONE on its own pid (${where})`, expected: 'answered', observed: out[`${where} own`] });
    }
    const ro = ['1', '2', '3', '4', '5', '0', '0x7fffffff', 'READ_ONLY|5'].join(' ');
    row({ id: 'S19', scenario: `uid ${UID} sends raw to the broker every command number that is not a read-only one (${ro})`, expected: 'EINVAL '.repeat(8).trim(), observed: out.s19 });
    const c = BrokerClient.connect(broker.socket);
    const req = encodeTaskDiagRequest({ strategy: 'one', pid: process.pid });
    const asRoot = [1, 2, 3, 4, 5, 0, 0x7fffffff, (READ_ONLY | 5) >>> 0].map((cmd) => attempt(() => c.issueKernelCommand(CURRENT_PIDNS, cmd, [req]))).join(' ');
    c.close();
    row({ id: 'S19', scenario: 'root (CAP_SYS_ADMIN) sends the same: no command that is not read-only exists to pass', expected: 'EINVAL '.repeat(8).trim(), observed: asRoot });
    row({ id: 'S26', scenario: `uid ${UID} asks in-process for the BPF backend`, expected: 'EOPNOTSUPP', observed: out.bpf });
    row({ id: 'S26', scenario: `uid ${UID} with the auto backend: served from procfs`, expected: 'procfs, answered', observed: `${out.auto}, ${out.autoAnswer}` });
  });

  it('S3, S6: credentials are the issuing process\'s as the kernel holds them at issue time', () => {
    const target = rootSleeper();
    const out = node<{ before: string; after: string; allHas: boolean; self: boolean; oldFd: boolean; uid: number }>(`
      import { taskDiagSync, taskDiagFd, parseTaskDiag, readResponseSync } from '@ikc/sdk';
      const see = () => { try { taskDiagSync({ strategy: 'one', pid: ${target} }); return 'shown'; } catch (e) { return e.code; } };
      const before = see();
      const fd = taskDiagFd({ strategy: 'all' });
      ${drop(UID)}
      const after = see();
      const all = taskDiagSync({ strategy: 'all' }).map((t) => t.pid);
      const oldFd = parseTaskDiag(readResponseSync(fd)).some((t) => t.pid === 1);
      console.log(JSON.stringify({ before, after, allHas: all.includes(${target}), self: all.includes(process.pid), oldFd, uid: process.getuid() }));`);
    row({ id: 'S3', scenario: `a root process that loaded ikc asks ONE on a root process, drops to uid ${UID}, asks again`, expected: 'shown, then ESRCH', observed: `${out.before}, then ${out.after}` });
    row({ id: 'S3', scenario: '  and its ALL dump after the drop', expected: 'root process hidden, itself shown', observed: `root process ${out.allHas ? 'shown' : 'hidden'}, itself ${out.self ? 'shown' : 'hidden'}` });
    row({ id: 'S6', scenario: `a response issued as root, read by the same process after it dropped to uid ${UID}`, expected: 'pid 1 still in it', observed: out.oldFd ? 'pid 1 still in it' : 'pid 1 gone' });
  });

  it('S4, S5, S6: the response fd is sealed, read-only, close-on-exec and a snapshot anyone can read', async () => {
    const seals = (n: number) => ['SEAL', 'SHRINK', 'GROW', 'WRITE', 'FUTURE_WRITE'].filter((_, i) => n & (1 << i)).reverse().join(' ') || 'none';
    const refused = (codes: Record<string, string>) => {
      const ok = Object.entries(codes).filter(([, v]) => v === 'OK').map(([k]) => k);
      return { pass: ok.length === 0, observed: ok.length ? `allowed: ${ok.join(', ')}` : Object.values(codes).join(' ') };
    };
    const client = BrokerClient.connect(broker.socket);
    for (const [where, fd] of [
      ['in-process', taskDiagFd({ strategy: 'all', show: ['base', 'creds'] })],
      ['from the broker', client.taskDiagFd({ strategy: 'all', show: ['base', 'creds'] })],
    ] as const) {
      const before = preadAll(fd);
      const r = spawnSync(probe, ['fd'], { stdio: [fd, 'pipe', 'inherit'], encoding: 'utf8' });
      const p = JSON.parse(r.stdout) as { type: string; seals: number; accmode: number; fd: Record<string, string>; reopen_rw: string; rw?: Record<string, string> };
      const after = preadAll(fd);
      row({ id: 'S4', scenario: `seals of a response fd ${where} (F_GET_SEALS)`, expected: 'WRITE GROW SHRINK SEAL', observed: seals(p.seals) });
      const own = refused(p.fd);
      row({ id: 'S4', scenario: `write, pwrite, grow, shrink, fallocate, punch, mmap shared writable, add seals (${where})`, expected: 'all refused', ...own });
      const rw = p.rw ? refused(p.rw) : { pass: true, observed: `no writable open: ${p.reopen_rw}` };
      row({ id: 'S4', scenario: `the same through a new O_RDWR open of /proc/self/fd/N (${where})`, expected: 'all refused', ...rw });
      row({ id: 'S4', scenario: `the response's bytes after the attacks (${where})`, expected: 'unchanged', observed: before.equals(after) ? 'unchanged' : 'changed' });
      const cloexec = fdFlags(fd) & O_CLOEXEC ? 'FD_CLOEXEC' : 'inherited on exec';
      row({ id: 'S5', scenario: `file type, access mode and close-on-exec of a response fd ${where}`, expected: 'regular, O_RDONLY, FD_CLOEXEC', observed: `${p.type}, ${p.accmode === 0 ? 'O_RDONLY' : `mode ${p.accmode}`}, ${cloexec}` });
      // Another uid reads it: it could not see these tasks itself.
      // maxBuffer: a full dump on a large machine is several MiB (the 1 MiB default cut it short).
      const asNobody = spawnSync('cat', [], { stdio: [fd, 'pipe', 'inherit'], uid: NOBODY, gid: NOBODY, cwd: '/', maxBuffer: 1 << 30 });
      const n = parseTaskDiag(before).length;
      row({ id: 'S6', scenario: `root's ALL dump (base, creds; ${where}) read through the fd by uid ${NOBODY}`, expected: 'same bytes', observed: asNobody.stdout.equals(before) ? 'same bytes' : `different (${asNobody.stdout.length} of ${before.length} bytes)` });
      figure(`S6 response ${where}`, `${n} tasks, ${before.length} bytes`);
    }
    // Exec in a child: open response fds (in-process and from the broker) must not follow it.
    const held = [taskDiagFd({ strategy: 'all' }), client.taskDiagFd({ strategy: 'all' })];
    const listing = execFileSync('sh', ['-c', 'ls -l /proc/$$/fd'], { encoding: 'utf8' });
    row({ id: 'S5', scenario: 'two response fds (in-process, from the broker) after exec in a child', expected: 'closed', observed: listing.includes('ikc-response') ? 'open in the child' : 'closed' });
    held.forEach((fd) => closeSync(fd));
    client.close();

    // A snapshot: read after every task in it is gone.
    const tree = await startFixture(['tree', '2']);
    const fd = taskDiagFd({ strategy: 'children', pid: tree.pid, show: ['base', 'creds'] });
    const first = preadAll(fd);
    for (const pid of [...tree.children!, tree.pid]) process.kill(pid, 'SIGKILL');
    await until('the tree to be gone', () => [...tree.children!, tree.pid].every((p) => !existsSync(`/proc/${p}`) || stateOf(p) === 'Z'));
    const later = preadAll(fd);
    closeSync(fd);
    const kids = parseTaskDiag(later).map((t) => t.pid);
    row({
      id: 'S6',
      scenario: 'a CHILDREN response read again after those children and their parent were killed',
      expected: 'same bytes, both children listed',
      observed: `${later.equals(first) ? 'same bytes' : 'different bytes'}, ${tree.children!.every((k) => kids.includes(k)) ? 'both children listed' : `listed ${kids.join(',')}`}`,
    });
  });

  it('S5: no fd ikc opens follows a program exec\'d while calls are in flight', () => {
    const out = node<{ children: number; calls: number; leaked: string[]; baseline: number }>(`
      import { spawn } from 'node:child_process';
      import { taskDiag, sockets, links } from '@ikc/sdk';
      import { BrokerClient } from '@ikc/sdk';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const list = () => new Promise((res) => {
        const ch = spawn('sh', ['-c', 'ls -l /proc/$$/fd'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let o = ''; ch.stdout.on('data', (d) => (o += d)); ch.on('close', () => res(o));
      });
      // fds 3 and up of the exec'd shell: nothing of ours is meant to be there.
      const extra = (o) => o.split('\\n').filter((l) => / (\\d+) -> /.test(l) && Number(/ (\\d+) -> /.exec(l)[1]) > 2).map((l) => l.split(' -> ')[1]);
      const baseline = extra(await list());
      let calls = 0, stop = false;
      const loop = async (fn) => { while (!stop) { await fn(); calls++; } };
      const loops = [
        loop(() => taskDiag({ strategy: 'all', backend: 'procfs' })), loop(() => taskDiag({ strategy: 'all-thread' })),
        loop(() => sockets({ all: true })), loop(() => links()), loop(() => c.taskDiag({ strategy: 'all' })), loop(() => c.sockets({ tcp: true })),
      ];
      const leaked = new Set();
      let children = 0;
      for (; children < 20; children++) for (const t of extra(await list())) if (!baseline.includes(t)) leaked.add(t.replace(/\\d+/g, 'N'));
      stop = true; await Promise.all(loops); c.close();
      console.log(JSON.stringify({ children, calls, leaked: [...leaked], baseline: baseline.length }));`, { env: { UV_THREADPOOL_SIZE: '8' } });
    row({ id: 'S5', scenario: `fds of ${out.children} shells exec'd while ${out.calls} async calls (tasks, sockets, links, broker) ran`, expected: 'no ikc fd inherited', observed: out.leaked.length ? `inherited: ${out.leaked.join(', ')}` : 'no ikc fd inherited' });
  });

  it('S7: bad input gets its errno, in-process and through the broker, and leaves no fd open', () => {
    const netns = openSync('/proc/self/ns/net', 'r');
    const file = openSync('/proc/self/stat', 'r');
    const good = () => encodeTaskDiagRequest({ strategy: 'one', pid: process.pid });
    const req = (o: { len?: number; type?: number; flags?: number; show?: bigint; strategy?: bigint; extra?: number } = {}) => {
      const b = Buffer.alloc(40 + (o.extra ?? 0));
      b.writeUInt32LE(o.len ?? b.length, 0);
      b.writeUInt16LE(o.type ?? 0xd101, 4);
      b.writeUInt16LE(o.flags ?? 0x301, 6);
      b.writeBigUInt64LE(o.show ?? 1n, 16);
      b.writeBigUInt64LE(o.strategy ?? 1n, 24);
      b.writeUInt32LE(process.pid, 32);
      return b;
    };
    const cases: Array<[string, () => [number, number, Buffer[], number], string]> = [
      ['an unknown flag bit', () => [CURRENT_PIDNS, TASK_DIAG, [good()], 4], 'EINVAL'],
      ['both backend flags', () => [CURRENT_PIDNS, TASK_DIAG, [good()], 3], 'EINVAL'],
      ['an unknown command', () => [CURRENT_PIDNS, (READ_ONLY | 0x7777) >>> 0, [good()], 0], 'EINVAL'],
      ['TASK_DIAG without the read-only bit', () => [CURRENT_PIDNS, TASK_DIAG & 0x7fffffff, [good()], 0], 'EINVAL'],
      ['an unknown strategy', () => [CURRENT_PIDNS, TASK_DIAG, [req({ strategy: 9n })], 0], 'EINVAL'],
      ['an unknown show bit', () => [CURRENT_PIDNS, TASK_DIAG, [req({ show: 1n << 40n })], 0], 'EINVAL'],
      ['a network namespace fd for TASK_DIAG', () => [netns, TASK_DIAG, [good()], 0], 'EINVAL'],
      ['CURRENT_NETNS for TASK_DIAG', () => [CURRENT_NETNS, TASK_DIAG, [good()], 0], 'EINVAL'],
      ['a regular file as the namespace', () => [file, TASK_DIAG, [good()], 0], 'EINVAL'],
      ['a closed fd', () => [closedFd(), TASK_DIAG, [good()], 0], 'EBADF'],
      ['a short request (39 bytes)', () => [CURRENT_PIDNS, TASK_DIAG, [good().subarray(0, 39)], 0], 'EINVAL'],
      ['a long request (8 zero bytes past the struct: a newer client\'s unused fields)', () => [CURRENT_PIDNS, TASK_DIAG, [req({ extra: 8 })], 0], 'OK'],
      ['a long request with a non-zero byte past the struct', () => { const b = req({ extra: 8 }); b[b.length - 1] = 1; return [CURRENT_PIDNS, TASK_DIAG, [b], 0]; }, 'E2BIG'],
      ['nlmsg_len larger than the bytes', () => [CURRENT_PIDNS, TASK_DIAG, [req({ len: 400 })], 0], 'EINVAL'],
      ['nlmsg_len 0xffffffff', () => [CURRENT_PIDNS, TASK_DIAG, [req({ len: 0xffffffff })], 0], 'EINVAL'],
      ['a wrong nlmsg_type', () => [CURRENT_PIDNS, TASK_DIAG, [req({ type: 0x10 })], 0], 'EINVAL'],
      ['no request at all', () => [CURRENT_PIDNS, TASK_DIAG, [], 0], 'EINVAL'],
      ['a huge request (1 MiB)', () => [CURRENT_PIDNS, TASK_DIAG, [Buffer.alloc(1 << 20)], 0], 'EINVAL'],
    ];
    const client = BrokerClient.connect(broker.socket);
    const fdsBefore = openFds().length;
    const inProcess = cases.map(([, args]) => codeOf(() => issueKernelCommand(...args())));
    for (let round = 0; round < 2; round++) cases.forEach(([, args]) => codeOf(() => issueKernelCommand(...args())));
    const fdsAfter = openFds().length;
    const viaBroker = cases.map(([, args]) => codeOf(() => client.issueKernelCommand(...args())));
    cases.forEach(([name, , code], i) => row({ id: 'S7', scenario: `${name} (in-process / broker)`, expected: `${code} / ${code}`, observed: `${inProcess[i]} / ${viaBroker[i]}` }));
    row({ id: 'S7', scenario: `open fds before and after ${cases.length * 3} bad calls in-process`, expected: 'unchanged', observed: fdsAfter === fdsBefore ? 'unchanged' : `${fdsBefore} -> ${fdsAfter}` });
    const after = `${codeOf(() => issueKernelCommand(CURRENT_PIDNS, TASK_DIAG, [good()]))} / ${codeOf(() => client.issueKernelCommand(CURRENT_PIDNS, TASK_DIAG, [good()]))}`;
    row({ id: 'S7', scenario: 'a valid request right after them (in-process / the same broker connection)', expected: 'OK / OK', observed: after });
    client.close();
    closeSync(netns);
    closeSync(file);
  });

  it('S8: a closed, reused fd number never makes ikc act on one of its own fds', () => {
    const sync = Array.from({ length: 200 }, () => codeOf(() => issueKernelCommand(closedFd(), TASK_DIAG, [encodeTaskDiagRequest({ strategy: 'one', pid: process.pid })])));
    const tally = (codes: string[]) => [...new Set(codes)].map((c) => `${c} ${codes.filter((x) => x === c).length}/${codes.length}`).join(', ');
    row({ id: 'S8', scenario: 'a closed fd number (the one ikc\'s first open takes), 200 sync calls in-process', expected: 'EBADF 200/200', observed: tally(sync) });
    const client = BrokerClient.connect(broker.socket);
    const viaBroker = Array.from({ length: 50 }, () => codeOf(() => client.issueKernelCommand(closedFd(), TASK_DIAG, [encodeTaskDiagRequest({ strategy: 'one', pid: process.pid })])));
    client.close();
    row({ id: 'S8', scenario: 'the same, 50 sync calls through the broker', expected: 'EBADF 50/50', observed: tally(viaBroker) });
  });

  describe('S8: async calls naming a closed fd number, racing valid calls whose own opens take that number', () => {
    const rounds = FULL ? 400 : 80;
    const n = rounds * 8;
    const tally = (codes: string[]) => [...new Set(codes)].map((c) => `${c} ${codes.filter((x) => x === c).length}/${codes.length}`).join(', ');
    let out: Record<string, string[]> = { inProcess: [], broker: [] };
    beforeAll(() => {
      out = node<Record<string, string[]>>(`
        import { openSync, closeSync } from 'node:fs';
        import { issueKernelCommandAsync, BrokerClient, encodeTaskDiagRequest, TASK_DIAG, CURRENT_PIDNS } from '@ikc/sdk';
        const one = encodeTaskDiagRequest({ strategy: 'one', pid: process.pid });
        const all = encodeTaskDiagRequest({ strategy: 'all' });
        const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
        const out = { inProcess: [], broker: [] };
        for (const [k, issue, valid] of [['inProcess', issueKernelCommandAsync, [all, one]], ['broker', (...a) => c.issueKernelCommandAsync(...a), [one, one]]]) {
          for (let round = 0; round < ${rounds}; round++) {
            const fd = openSync('/proc/self/stat', 'r'); closeSync(fd);
            const calls = Array.from({ length: 16 }, (_, i) => (i % 2 ? issue(CURRENT_PIDNS, TASK_DIAG, [valid[(i >> 1) % 2]]).then((f) => (closeSync(f), null)) : issue(fd, TASK_DIAG, [one])));
            (await Promise.allSettled(calls)).forEach((r, i) => {
              if (i % 2) return;
              if (r.status === 'fulfilled') { closeSync(r.value); out[k].push('OK'); } else out[k].push(r.reason.code + (r.reason.code === 'EBADF' ? '' : ' (' + r.reason.message.replace(/^E[A-Z]+: /, '').slice(0, 40) + ')'));
            });
          }
        }
        console.log(JSON.stringify(out));`, { env: { UV_THREADPOOL_SIZE: '16' } });
    });
    // The fd is duplicated when the call is made, in the caller's turn; but another
    // call's worker, already running on the thread pool, may have taken the number
    // since the caller closed it: then the number names that fd, which is no
    // namespace (EINVAL). Never an answer about anything the caller did not name.
    // If that fd is itself a namespace (another call's own CURRENT_PIDNS), the call
    // answers for it: a namespace this process held open, never one it could not name.
    const expect8 = 'EBADF; EINVAL or an answer where another call took the number';
    const verdict = (codes: string[]) => (codes.every((c) => c === 'EBADF' || c === 'OK' || c.startsWith('EINVAL (fd is not a namespace')) ? expect8 : tally(codes));
    it('S8: in-process', () => row({ id: 'S8', scenario: `async: ${n} calls naming a closed fd number racing ${n} valid ones, in-process (${tally(out.inProcess)})`, expected: expect8, observed: verdict(out.inProcess) }));
    it('S8: through the broker', () => row({ id: 'S8', scenario: `async: the same through the broker (${tally(out.broker)})`, expected: expect8, observed: verdict(out.broker) }));
  });

  it('S9, S12, S16: GLOBAL and ancestor namespaces from a child pid namespace', () => {
    const host = openSync('/proc/self/ns/pid', 'r');
    try {
      const script = `
        import { readdirSync } from 'node:fs';
        import { inProcess, BrokerClient } from '@ikc/sdk';
        const code = (fn) => { try { fn(); return 'OK'; } catch (e) { return e.code; } };
        const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
        const procPids = () => readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).map(Number).sort((a, b) => a - b);
        const before = procPids();
        const broker = c.taskDiagSync({ strategy: 'all' }).map((t) => t.pid);
        const after = procPids();
        console.log(JSON.stringify({
          before, broker, after, self: process.pid,
          global: code(() => inProcess.taskDiagSync({ ns: 'global' })), current: code(() => inProcess.taskDiagSync({})),
          hostFd: code(() => inProcess.taskDiagSync({ ns: 3 })),
          brokerGlobal: code(() => c.taskDiagSync({ ns: 'global' })), brokerHostFd: code(() => c.taskDiagSync({ ns: 3 })),
        }));`;
      type Out = { before: number[]; broker: number[]; after: number[]; self: number; global: string; current: string; hostFd: string; brokerGlobal: string; brokerHostFd: string };
      const own = node<Out>(script, { wrap: ['unshare', '--pid', '--fork', '--mount-proc'], extraFd: host });
      const hostProc = node<Out>(script, { wrap: ['unshare', '--pid', '--fork'], extraFd: host });
      row({ id: 'S9', scenario: 'control: GLOBAL from the initial pid namespace, in-process', expected: 'OK', observed: codeOf(() => taskDiagFd({ ns: 'global' })) });
      row({ id: 'S9', scenario: 'GLOBAL from a child pid namespace with its own /proc, in-process', expected: 'EPERM', observed: own.global });
      row({ id: 'S9', scenario: 'GLOBAL from a child pid namespace still showing the host /proc, in-process', expected: 'EPERM', observed: hostProc.global });
      row({ id: 'S9', scenario: 'control: CURRENT_PIDNS from the child pid namespace with its own /proc', expected: 'OK', observed: own.current });
      row({ id: 'S12', scenario: 'a caller in a child pid namespace passes the host\'s (its ancestor\'s) fd, in-process', expected: 'EPERM / EPERM', observed: `${own.hostFd} / ${hostProc.hostFd}` });
      row({ id: 'S16', scenario: 'a broker client in a child pid namespace asks for GLOBAL', expected: 'EPERM / EPERM', observed: `${own.brokerGlobal} / ${hostProc.brokerGlobal}` });
      row({ id: 'S16', scenario: 'CURRENT_PIDNS through the broker from a child pid namespace vs its /proc', expected: 'same pids', observed: sameRows(own.broker.map(String), stable(own.before, own.after).map(String)) === 'same rows' ? 'same pids' : `broker ${own.broker.join(',')}; /proc ${own.before.join(',')}` });
      row({ id: 'S16', scenario: 'the same from a child pid namespace without its own /proc: its own pid there', expected: 'pid 1 only', observed: hostProc.broker.join(',') === '1' ? 'pid 1 only' : `pids ${hostProc.broker.slice(0, 5).join(',')}${hostProc.broker.length > 5 ? '…' : ''}` });
    } finally {
      closeSync(host);
    }
  });

  it('S12, S26: a pid-namespace fd scopes and renumbers a dump as ps inside it does; hidepid rules still apply', async () => {
    const su = (uid: number, what: string) => `setpriv --reuid=${uid} --regid=${uid} --clear-groups ${what}`;
    const init = await pidns(`sleep 1000 & (sleep 1001 & wait) & ${su(UID, 'sleep 1002')} & ${su(OTHER, 'sleep 1003')} & echo up; wait`);
    await until('four sleeps in the namespace', () => psInside(init).filter((r) => r.endsWith(' sleep')).length === 4);
    const ns = `/proc/${init}/ns/pid`;
    const ps = psInside(init);
    const ikc = taskDiagSync({ ns, strategy: 'all' }).map(psRow);
    row({ id: 'S12', scenario: 'ALL of a child pid namespace (pid ppid pgid sid comm) vs ps inside it', expected: 'same rows', observed: sameRows(ikc, ps) });
    row({ id: 'S12', scenario: 'its init, whose parent, group and session are outside', expected: ps.find((r) => r.startsWith('1 ')) ?? '', observed: ikc.find((r) => r.startsWith('1 ')) ?? 'absent' });
    const pidsInside = ps.map((r) => Number(r.split(' ')[0]));
    const [one] = taskDiagSync({ ns, strategy: 'one', pid: 1 });
    row({ id: 'S12', scenario: 'ONE on pid 1 read in the namespace\'s numbering', expected: `pid 1 ${ps[0].split(' ').pop()}`, observed: `pid ${one.pid} ${one.base!.comm}` });
    row({ id: 'S12', scenario: `ONE on the init's host pid ${init} (no such pid inside)`, expected: 'ESRCH', observed: pidsInside.includes(init) ? 'skipped: the number exists inside' : codeOf(() => taskDiagFd({ ns, strategy: 'one', pid: init })) });
    row({ id: 'S12', scenario: 'this test\'s own process (a host process) in the namespace dump', expected: 'absent', observed: ikc.some((r) => r.endsWith(' node')) ? 'present' : 'absent' });
    // hidepid rules on top: UID dumps the namespace through its fd, from outside; the oracle is
    // a hidepid=2 procfs of that namespace, read as UID.
    const mnt = join(work, `pidns-proc-${init}`);
    mkdirSync(mnt, { mode: 0o755 });
    const kernel = () =>
      execFileSync('nsenter', ['-t', String(init), '-p', '-m', 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t proc -o hidepid=2 proc ${mnt} && ${su(UID, `ls ${mnt}`)}`], { encoding: 'utf8' })
        .split(/\s+/)
        .filter((x) => /^\d+$/.test(x))
        .map(Number);
    const before = kernel();
    const seen = node<number[]>(`
      import { openSync } from 'node:fs';
      import { taskDiagSync } from '@ikc/sdk';
      const ns = openSync(${JSON.stringify(ns)}, 'r');
      ${drop(UID)}
      console.log(JSON.stringify(taskDiagSync({ ns, strategy: 'all' }).map((t) => t.pid)));`);
    const after = kernel();
    const r: ViewerReport = { self: 0, before, ikc: seen, after, threadsBefore: [], ikcThreads: [], threadsAfter: [] };
    row({ id: 'S12', scenario: `uid ${UID} dumps the namespace by its fd vs a hidepid=2 procfs of it read as ${UID}`, expected: 'same as the kernel', observed: verdict(r) });
    figure('S12 hidepid inside a pid namespace', `uid ${UID} sees ${seen.join(',')} of ${ps.length} tasks`);
    if (canBpf) {
      const bpf = taskDiagSync({ ns, strategy: 'all', backend: 'bpf' }).map(psRow);
      row({ id: 'S26', scenario: 'ALL of the same pid namespace read with the BPF backend vs ps inside it', expected: 'same rows', observed: sameRows(bpf, psInside(init)) });
    }
  });

  it('S11: a pid reused during dumps is never reported half-filled or mixed with its predecessor', async () => {
    // In a pid namespace the test controls ns_last_pid: pid 100 is, in turn, root's `sleep`
    // and uid UID's `zzsleep` (a copy of sleep), each living about 20 ms.
    const zz = join(work, 'zzsleep');
    if (!existsSync(zz)) {
      cpSync('/bin/sleep', zz);
      chmodSync(zz, 0o755);
    }
    const last = '/proc/sys/kernel/ns_last_pid';
    const init = await pidns(
      `echo up; while :; do echo 99 > ${last}; sleep 0.02 & wait; echo 99 > ${last}; setpriv --reuid=${UID} --regid=${UID} --clear-groups ${zz} 0.02 & wait; done`,
    );
    const ns = openSync(`/proc/${init}/ns/pid`, 'r');
    const tally = { records: 0, sleep: 0, zz: 0, other: 0, esrch: 0, mixed: [] as string[], partial: 0, dumps: 0 };
    const check = (t: Task) => {
      if (t.pid !== 100) return;
      tally.records++;
      const c = t.creds;
      if (!t.base || !c || t.base.pid !== 100 || t.base.tgid !== 100 || t.tgid !== 100) {
        tally.partial++;
        return;
      }
      const ids = [c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid];
      const want = t.base.comm === 'sleep' ? 0 : t.base.comm === 'zzsleep' ? UID : undefined;
      if (want === undefined) tally.other++;
      else if (ids.some((x) => x !== want)) tally.mixed.push(`${t.base.comm} with ids ${ids.join(',')}`);
      else tally[want === 0 ? 'sleep' : 'zz']++;
    };
    const end = Date.now() + (FULL ? 6000 : 1500);
    for (let i = 0; Date.now() < end; i++) {
      tally.dumps++;
      try {
        const tasks = taskDiagSync({ ns, strategy: i % 8 === 7 ? 'all' : 'one', pid: 100, show: ['base', 'creds'] });
        tasks.forEach(check);
      } catch (e) {
        if ((e as { code?: string }).code === 'ESRCH') tally.esrch++;
        else tally.mixed.push(String(e));
      }
    }
    closeSync(ns);
    figure('S11 pid 100 reused', `${tally.dumps} dumps: ${tally.sleep} root sleep, ${tally.zz} uid-${UID} zzsleep, ${tally.other} in between (sh/setpriv), ${tally.esrch} ESRCH`);
    row({
      id: 'S11',
      scenario: `ONE/ALL on pid 100 of a pid namespace while root's sleep and uid ${UID}'s zzsleep take turns at it`,
      expected: 'never mixed or half-filled',
      observed: tally.mixed.length || tally.partial ? `${tally.mixed.length} mixed (${tally.mixed.slice(0, 2).join('; ')}), ${tally.partial} half-filled` : `never mixed or half-filled (${tally.sleep}+${tally.zz} records)`,
      pass: !tally.mixed.length && !tally.partial && tally.sleep > 0 && tally.zz > 0,
    });
  });

  it('S13: through the broker, a client sees what a hidepid=2 procfs shows it; root sees everything', async () => {
    const r = runViewer(UID, UID, broker.socket);
    row({ id: 'S13', scenario: `uid ${UID} lists processes and threads through the broker vs its own hidepid=2 procfs`, expected: 'same as the kernel', observed: verdict(r) });
    for (const [rule, id] of rules) {
      const s = says(r, id);
      row({ id: 'S13', scenario: `  rule: ${rule}, to uid ${UID} through the broker`, expected: s.kernel, observed: s.ikc });
    }
    const caps = capFixtures();
    await until('the capability fixtures to exec', () => caps.every(([, pid]) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep'));
    const np = viewerWithoutPtrace(broker.socket);
    row({ id: 'S13', scenario: `uid 0, gid ${UID}, without CAP_SYS_PTRACE lists through the broker vs its own hidepid=2 procfs`, expected: 'same as the kernel', observed: verdict(np) });
    for (const [rule, pid] of caps) {
      const s = says(np, pid);
      row({ id: 'S13', scenario: `  rule: ${rule}, to it through the broker`, expected: s.kernel, observed: s.ikc });
    }
    const client = BrokerClient.connect(broker.socket);
    const before = numeric('/proc');
    const all = client.taskDiagSync({ strategy: 'all' }).map((t) => t.pid);
    const missed = stable(before, numeric('/proc')).filter((p) => !all.includes(p));
    client.close();
    row({ id: 'S13', scenario: 'root (CAP_SYS_PTRACE) through the broker: every pid /proc lists before and after', expected: 'all listed', observed: missed.length ? `${missed.length} missed (${missed.slice(0, 3)})` : 'all listed' });
  });

  it('S14: the broker takes each request\'s identity from the kernel', () => {
    const target = rootSleeper();
    const drops = node<{ before: boolean; after: boolean }>(`
      import { BrokerClient } from '@ikc/sdk';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const before = c.taskDiagSync({ strategy: 'all' }).some((t) => t.pid === ${target});
      ${drop(UID)}
      const after = c.taskDiagSync({ strategy: 'all' }).some((t) => t.pid === ${target});
      console.log(JSON.stringify({ before, after }));`);
    const v = (b: boolean) => (b ? 'shown' : 'hidden');
    row({ id: 'S14', scenario: `root connects, asks, drops to uid ${UID} on the same connection, asks again (a root process)`, expected: 'shown, then hidden', observed: `${v(drops.before)}, then ${v(drops.after)}` });
    const forge = JSON.parse(execFileSync(FIXTURE, ['broker-forge', broker.socket, String(UID)], { encoding: 'utf8' })) as { forged: string; honest: number };
    row({ id: 'S14', scenario: `uid ${UID} sends a request with SCM_CREDENTIALS forged as pid 1, uid 0`, expected: 'EPERM (the kernel refuses the send)', observed: forge.forged === 'EPERM' ? 'EPERM (the kernel refuses the send)' : `send: ${forge.forged}` });
    row({ id: 'S14', scenario: '  then the honest request on that connection: ONE on pid 1', expected: 'ESRCH (-3)', observed: forge.honest === -3 ? 'ESRCH (-3)' : String(forge.honest) });
    // A sender in a child pid namespace: the broker reads it through /proc/PID/status.
    const dir = mkdtempSync(join(tmpdir(), 'ikc-hidepid-'));
    try {
      const su = `setpriv --reuid=${UID} --regid=${UID} --clear-groups`;
      const out = execFileSync(
        'unshare',
        ['--pid', '--fork', '--mount', '--propagation', 'private', 'sh', '-c', `sleep 1000 & ${su} sleep 1000 & exec "$@"`, 'sh', process.execPath, VIEWER, dir, String(UID), String(UID), broker.socket],
        { encoding: 'utf8', cwd: ROOT },
      );
      const r = JSON.parse(out) as ViewerReport;
      row({ id: 'S14', scenario: `uid ${UID} in a child pid namespace (a root and a ${UID} sleep beside it) lists through the broker`, expected: 'same as the kernel', observed: verdict(r) });
      figure('S14 client in a child pid namespace', `ikc ${r.ikc.join(',')}; hidepid=2 procfs ${r.before.join(',')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('S15: a request whose sender exited before the broker read it is refused', async () => {
    const child = track(spawn(FIXTURE, ['broker-orphan', broker.socket], { stdio: ['pipe', 'pipe', 'inherit'] }));
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => (buf += d.toString()));
    const line = async (n: number) => {
      await until(`line ${n} from broker-orphan`, () => buf.split('\n').length > n + 1);
      return JSON.parse(buf.split('\n')[n]) as Record<string, unknown>;
    };
    await line(0);
    broker.process.kill('SIGSTOP');
    const tasks = `/proc/${broker.process.pid}/task`;
    let reaped = false;
    try {
      await until('every broker thread stopped', () => readdirSync(tasks).every((t) => /[Tt]/.test(stateOf(broker.process.pid!, Number(t)))));
      child.stdin!.write('go\n'); // a child sends on the connection and exits while the broker is stopped
      reaped = (await line(1)).reaped === true;
    } finally {
      broker.process.kill('SIGCONT');
    }
    const reply = (await line(2)) as { result: number; fd: boolean; message: string };
    const observed = reply.result === 0 ? 'answered' : `${reply.result < 0 ? 'refused' : reply.result}${/exited/.test(reply.message) ? ' (sender exited)' : `: ${reply.message}`}, ${reply.fd ? 'with an fd' : 'no fd'}`;
    row({ id: 'S15', scenario: 'a child sends on its parent\'s connection and is reaped while the broker is stopped', expected: 'refused (sender exited), no fd', observed: reaped ? observed : 'sender was not reaped first' });
  });
});

// ------------------------------------------------------- network namespaces

describe.skipIf(!isRoot)('promises S16, S21-S25 in a real network namespace (needs root: ip netns)', () => {
  const tag = randomBytes(3).toString('hex');
  const NS = `ikc-p${tag}`;
  const NS_PATH = `/run/netns/${NS}`;
  const ADDR = `10.${200 + (parseInt(tag.slice(0, 2), 16) % 50)}.${parseInt(tag.slice(2, 4), 16)}.1`;
  const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
  const ss = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, 'ss', ...args], { encoding: 'utf8' });
  let hostServer: Server;
  let hostPort = 0;
  let inside: { pid: number; listen: number; client: number };
  let netns = -1;

  beforeAll(async () => {
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    ip('-n', NS, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
    ip('-n', NS, 'addr', 'add', `${ADDR}/24`, 'dev', 'd0');
    ip('-n', NS, 'link', 'set', 'd0', 'up');
    const script = `
      const net = require('net'); const { once } = require('events');
      (async () => {
        const s = net.createServer(); s.listen(0, '0.0.0.0'); await once(s, 'listening');
        const c = net.connect(s.address().port, '127.0.0.1'); await once(c, 'connect');
        console.log(JSON.stringify({ pid: process.pid, listen: s.address().port, client: c.localPort }));
        setInterval(() => {}, 1 << 30);
      })();`;
    inside = (await startProcess('ip', ['netns', 'exec', NS, process.execPath, '-e', script])) as never;
    hostServer = createServer();
    await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
    hostPort = (hostServer.address() as { port: number }).port;
    netns = openSync(NS_PATH, 'r');
  });
  afterAll(async () => {
    killFixtures();
    if (netns >= 0) closeSync(netns);
    await new Promise((resolve) => (hostServer ? hostServer.close(resolve) : resolve(undefined)));
    try {
      ip('netns', 'del', NS);
    } catch {
      /* gone */
    }
  });

  const tcpListeners = (issue: (req: Buffer) => number) => parseSockDiag(readResponseSync(issue(socketQueries({ tcp: true, listening: true })[0].request)), 2, 6).map((s) => (s.kind === 'inet' ? s.sport : -1));

  it('S21: a network command answers about the namespace its ns argument names and nothing else', async () => {
    const here = tcpListeners((r) => issueKernelCommand(CURRENT_NETNS, SOCK_DIAG, [r]));
    row({ id: 'S21', scenario: 'control: the host\'s listener in a dump of the host namespace', expected: 'present', observed: here.includes(hostPort) ? 'present' : 'absent' });
    const there = tcpListeners((r) => issueKernelCommand(netns, SOCK_DIAG, [r]));
    row({ id: 'S21', scenario: 'a socket listening on the host, in a dump of a child netns (in-process, by fd)', expected: 'absent', observed: there.includes(hostPort) ? 'present' : 'absent' });
    row({ id: 'S21', scenario: 'the child netns\'s own listener in that dump', expected: 'present', observed: there.includes(inside.listen) ? 'present' : 'absent' });
    const client = BrokerClient.connect(broker.socket);
    const viaBroker = tcpListeners((r) => client.issueKernelCommand(netns, SOCK_DIAG, [r]));
    client.close();
    row({ id: 'S21', scenario: 'the same dump through the broker, passing the netns fd', expected: 'host absent, own present', observed: `host ${viaBroker.includes(hostPort) ? 'present' : 'absent'}, own ${viaBroker.includes(inside.listen) ? 'present' : 'absent'}` });
    // Every TCP/UDP socket, as ss run inside the namespace prints it: netid state local-port peer-port.
    const key = (netid: string, state: string, local: string, peer: string) => `${netid} ${state} ${local.split(':').pop()} ${peer.split(':').pop()}`;
    const ours = (await sockets({ ns: NS_PATH, tcp: true, udp: true, all: true })).map((s) => (s.kind === 'inet' ? key(s.netid, socketStateName(s.state), `:${s.sport || '*'}`, `:${s.dport || '*'}`) : '')).sort();
    const theirs = ss('-Htuan').trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)).map((t) => key(t[0], t[1], t[4], t[5])).sort();
    row({ id: 'S21', scenario: 'every TCP/UDP socket of the child netns vs ss -tuan inside it', expected: 'same rows', observed: sameRows(ours, theirs) });
    const ipLinks = ip('-n', NS, '-o', 'link').trim().split('\n').map((l) => l.split(': ').slice(0, 2).join(' ').replace(/@.*/, ''));
    const ikcLinks = (await links({ ns: netns })).map((l) => `${l.index} ${l.name}`);
    row({ id: 'S21', scenario: 'links of the child netns vs ip -n NS link (the host\'s interfaces absent)', expected: 'same rows', observed: sameRows(ikcLinks, ipLinks) });
  });

  it('S22: only a validated dump request reaches the kernel; the kernel\'s state shows nothing else was sent', () => {
    const hdr = (len: number, type: number, flags: number) => {
      const b = Buffer.alloc(len);
      b.writeUInt32LE(len, 0);
      b.writeUInt16LE(type, 4);
      b.writeUInt16LE(flags, 6);
      b.writeUInt32LE(1, 8);
      return b;
    };
    const attr = (type: number, data: Buffer) => {
      const a = Buffer.alloc((4 + data.length + 3) & ~3);
      a.writeUInt16LE(4 + data.length, 0);
      a.writeUInt16LE(type, 2);
      data.copy(a, 4);
      return a;
    };
    const withBody = (type: number, flags: number, body: Buffer) => {
      const h = hdr(16, type, flags);
      const m = Buffer.concat([h, body]);
      m.writeUInt32LE(m.length, 0);
      return m;
    };
    const estab = () => ss('-Htn', 'state', 'established').includes(`:${inside.client}`);
    // SOCK_DESTROY naming the namespace's established connection (client side).
    const inet = Buffer.alloc(56);
    inet[0] = 2; // AF_INET
    inet[1] = 6; // TCP
    inet.writeUInt32LE(1 << 1, 4); // TCP_ESTABLISHED
    inet.writeUInt16BE(inside.client, 8);
    inet.writeUInt16BE(inside.listen, 10);
    inet.set([127, 0, 0, 1], 12);
    inet.set([127, 0, 0, 1], 28);
    inet.writeUInt32LE(0xffffffff, 48);
    inet.writeUInt32LE(0xffffffff, 52);
    const before = estab();
    const destroy = codeOf(() => issueKernelCommand(netns, SOCK_DIAG, [withBody(21, 0x5, inet)]));
    row({ id: 'S22', scenario: 'SOCK_DESTROY through SOCK_DIAG naming an established TCP connection of the netns', expected: 'EINVAL, still ESTAB (ss)', observed: `${destroy}, ${before && estab() ? 'still ESTAB (ss)' : 'not established'}` });
    // RTM_DELADDR through ADDR_DUMP.
    const index = Number(ip('-n', NS, '-o', 'link', 'show', 'd0').split(':')[0]);
    const ifa = Buffer.alloc(8);
    ifa[0] = 2;
    ifa[1] = 24;
    ifa.writeUInt32LE(index, 4);
    const v4 = Buffer.from(ADDR.split('.').map(Number));
    const delAddr = withBody(21, 0x5, Buffer.concat([ifa, attr(2, v4), attr(1, v4)]));
    const hasAddr = () => ip('-n', NS, '-o', 'addr', 'show', 'dev', 'd0').includes(`${ADDR}/24`);
    row({ id: 'S22', scenario: 'RTM_DELADDR of the netns\'s address sent as ADDR_DUMP', expected: 'EINVAL, address still there (ip addr)', observed: `${codeOf(() => issueKernelCommand(netns, ADDR_DUMP, [delAddr]))}, ${hasAddr() ? 'address still there (ip addr)' : 'address gone'}` });
    // RTM_NEWLINK creating a dummy, and RTM_DELLINK of d0, through LINK_DUMP.
    const ifi = Buffer.alloc(16);
    const newLink = withBody(16, 0x601, Buffer.concat([ifi, attr(3, Buffer.from('evil0\0')), attr(18, attr(1, Buffer.from('veth\0')))]));
    const linkNames = () => ip('-n', NS, '-o', 'link').split('\n').map((l) => l.split(': ')[1]).filter(Boolean);
    row({ id: 'S22', scenario: 'RTM_NEWLINK creating a veth pair sent as LINK_DUMP', expected: 'EINVAL, no new link (ip link)', observed: `${codeOf(() => issueKernelCommand(netns, LINK_DUMP, [newLink]))}, ${linkNames().some((n) => n.startsWith('evil0')) ? 'evil0 created' : 'no new link (ip link)'}` });
    const ifiDel = Buffer.alloc(16);
    ifiDel.writeInt32LE(index, 4);
    const delLink = withBody(17, 0x5, ifiDel);
    row({ id: 'S22', scenario: 'RTM_DELLINK of d0 sent as LINK_DUMP', expected: 'EINVAL, d0 still there (ip link)', observed: `${codeOf(() => issueKernelCommand(netns, LINK_DUMP, [delLink]))}, ${linkNames().some((n) => n.startsWith('d0')) ? 'd0 still there (ip link)' : 'd0 gone'}` });
    // Everything else that is not the one dump shape.
    const sock = (o: { type?: number; flags?: number; family?: number; protocol?: number; states?: number; extra?: number } = {}) => {
      const family = o.family ?? 2;
      const b = hdr(16 + (family === 1 ? 24 : 56) + (o.extra ?? 0), o.type ?? 20, o.flags ?? 0x301);
      b[16] = family;
      b[17] = o.protocol ?? (family === 1 ? 0 : 6);
      b.writeUInt32LE(o.states ?? 0xfff, 20);
      return b;
    };
    const others: Array<[string, number, Buffer]> = [
      ['a lookup (no NLM_F_DUMP)', SOCK_DIAG, sock({ flags: 0x1 })],
      ['NLM_F_ACK', SOCK_DIAG, sock({ flags: 0x305 })],
      ['AF_NETLINK', SOCK_DIAG, sock({ family: 16 })],
      ['AF_PACKET', SOCK_DIAG, sock({ family: 17 })],
      ['IPPROTO_RAW', SOCK_DIAG, sock({ protocol: 255 })],
      ['an unknown state bit', SOCK_DIAG, sock({ states: 1 << 20 })],

      ['RTM_GETLINK sent as ADDR_DUMP', ADDR_DUMP, withBody(18, 0x301, Buffer.alloc(16))],
      ['AF_UNIX addresses', ADDR_DUMP, withBody(22, 0x301, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]))],
    ];
    const wrong = others.map(([name, cmd, msg]) => [name, codeOf(() => issueKernelCommand(netns, cmd, [msg]))]).filter(([, c]) => c !== 'EINVAL');
    row({ id: 'S22', scenario: `${others.map(([n]) => n).join(', ')}`, expected: 'EINVAL each', observed: wrong.length ? wrong.map(([n, c]) => `${n}: ${c}`).join('; ') : 'EINVAL each' });
    // After the request struct, attributes (a bytecode filter, IFLA_EXT_MASK) are E2BIG:
    // ikc sends none of them. Zero bytes there are dropped, never sent.
    const filter = sock({ extra: 8 });
    filter.writeUInt16LE(8, 72);
    filter.writeUInt16LE(1, 74); // INET_DIAG_REQ_BYTECODE
    const attributes: Array<[string, number, Buffer]> = [
      ['a bytecode filter after inet_diag_req_v2', SOCK_DIAG, filter],
      ['an attribute on RTM_GETLINK', LINK_DUMP, withBody(18, 0x301, Buffer.concat([Buffer.alloc(16), attr(29, Buffer.alloc(4))]))],
    ];
    const notBig = attributes.map(([name, cmd, msg]) => [name, codeOf(() => issueKernelCommand(netns, cmd, [msg]))]).filter(([, c]) => c !== 'E2BIG');
    row({ id: 'S22', scenario: attributes.map(([n]) => n).join(', '), expected: 'E2BIG each', observed: notBig.length ? notBig.map(([n, c]) => `${n}: ${c}`).join('; ') : 'E2BIG each' });
    row({ id: 'S22', scenario: 'inet_diag_req_v2 followed by 8 zero bytes', expected: 'OK', observed: codeOf(() => issueKernelCommand(netns, SOCK_DIAG, [sock({ extra: 8 })])) });
  });

  it('S23: no thread of the caller is moved to, or left in, another network namespace', async () => {
    const home = readlinkSync('/proc/self/ns/net');
    const threads = () =>
      readdirSync('/proc/self/task').flatMap((tid) => {
        try {
          return [{ tid, comm: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), net: readlinkSync(`/proc/self/task/${tid}/ns/net`) }];
        } catch {
          return []; // ended while we looked
        }
      });
    const bad = Buffer.alloc(72); // a SOCK_DIAG lookup, not a dump: refused
    bad.writeUInt32LE(72, 0);
    bad.writeUInt16LE(20, 4);
    bad.writeUInt16LE(0x1, 6);
    bad[16] = 2;
    bad[17] = 6;
    for (let i = 0; i < 30; i++) {
      codeOf(() => issueKernelCommand(netns, SOCK_DIAG, [socketQueries({ unix: true, all: true })[0].request]));
      codeOf(() => issueKernelCommand(netns, SOCK_DIAG, [bad]));
    }
    // While async dumps of the foreign namespace run (six in flight), sample every thread.
    const away = new Set<string>();
    let [workersSeen, samples, calls, inFlight] = [0, 0, 0, 0];
    const launch = () => {
      inFlight++;
      const p = calls++ % 4 === 3 ? issueKernelCommandAsync(netns, SOCK_DIAG, [bad]) : sockets({ ns: netns, all: true });
      void p.then(() => 0, () => 0).then(() => inFlight--);
    };
    for (const end = Date.now() + (FULL ? 3000 : 600); Date.now() < end; await sleepMs(0)) {
      while (inFlight < 6) launch();
      samples++;
      for (const t of threads()) {
        if (t.net === home) continue;
        if (t.comm === 'ikc-netns') workersSeen++;
        else away.add(`${t.comm}(${t.tid})`);
      }
    }
    await until('the last calls to finish', () => inFlight === 0);
    figure('S23 thread samples', `${samples} samples during ${calls} async calls; ikc's own worker seen in the namespace ${workersSeen} times`);
    row({ id: 'S23', scenario: `threads other than ikc's worker found in the foreign netns while ${calls} async calls ran`, expected: 'none', observed: away.size ? [...away].join(', ') : 'none' });
    await sleepMs(50);
    const after = threads();
    row({ id: 'S23', scenario: `after 60 sync and ${calls} async calls (good and refused): threads not in the home netns`, expected: 'none', observed: after.filter((t) => t.net !== home).map((t) => t.comm).join(', ') || 'none' });
    row({ id: 'S23', scenario: '  ikc worker threads left after the calls', expected: 'none', observed: after.filter((t) => t.comm === 'ikc-netns').length ? `${after.filter((t) => t.comm === 'ikc-netns').length} left` : 'none' });
  });

  it('S16, S24: GLOBAL from a child netns; CURRENT_NETNS through the broker; a foreign netns needs what setns needs', () => {
    type Out = Record<string, number[] | string>;
    const inChild = node<Out>(`
      import { inProcess, BrokerClient, CURRENT_NETNS, GLOBAL, SOCK_DIAG, socketQueries, parseSockDiag, readResponseSync } from '@ikc/sdk';
      const req = socketQueries({ tcp: true, listening: true })[0].request;
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const ports = (client, ns) => { try { return parseSockDiag(readResponseSync(client.issueKernelCommand(ns, SOCK_DIAG, [req])), 2, 6).map((s) => s.sport); } catch (e) { return e.code; } };
      console.log(JSON.stringify({ inCurrent: ports(inProcess, CURRENT_NETNS), inGlobal: ports(inProcess, GLOBAL), brCurrent: ports(c, CURRENT_NETNS), brGlobal: ports(c, GLOBAL) }));`, { wrap: ['ip', 'netns', 'exec', NS] });
    const code = (v: number[] | string) => (typeof v === 'string' ? v : 'OK');
    row({ id: 'S24', scenario: 'GLOBAL from inside a child network namespace, in-process (SOCK_DIAG)', expected: 'EPERM', observed: code(inChild.inGlobal) });
    row({ id: 'S24', scenario: 'control: CURRENT_NETNS there', expected: 'OK', observed: code(inChild.inCurrent) });
    row({ id: 'S16', scenario: 'a broker client in a child netns asks for GLOBAL', expected: 'EPERM', observed: code(inChild.brGlobal) });
    const cur = inChild.brCurrent;
    row({ id: 'S16', scenario: 'its CURRENT_NETNS through the broker: its own listener, not the host\'s', expected: 'own present, host absent', observed: typeof cur === 'string' ? cur : `own ${cur.includes(inside.listen) ? 'present' : 'absent'}, host ${cur.includes(hostPort) ? 'present' : 'absent'}` });
    // An unprivileged caller holding a foreign netns fd: the kernel's own answer is setns's.
    const unpriv = node<Record<string, string>>(`
      import { openSync } from 'node:fs';
      import { issueKernelCommand, CURRENT_NETNS, SOCK_DIAG, socketQueries } from '@ikc/sdk';
      const foreign = openSync(${JSON.stringify(NS_PATH)}, 'r');
      ${drop(NOBODY)}
      const req = socketQueries({ unix: true, all: true })[0].request;
      const out = {};
      for (const [k, ns] of [['foreign', foreign], ['current', CURRENT_NETNS]]) { try { issueKernelCommand(ns, SOCK_DIAG, [req]); out[k] = 'OK'; } catch (e) { out[k] = e.code; } }
      console.log(JSON.stringify(out));`);
    const setns = spawnSync('nsenter', [`--net=${NS_PATH}`, 'true'], { encoding: 'utf8', uid: NOBODY, gid: NOBODY, cwd: '/' });
    const kernel = setns.status === 0 ? 'OK' : /Operation not permitted/.test(setns.stderr) ? 'EPERM' : setns.stderr.trim();
    row({ id: 'S24', scenario: `uid ${NOBODY} names a foreign netns fd (the kernel: nsenter --net as ${NOBODY})`, expected: kernel, observed: unpriv.foreign });
    row({ id: 'S24', scenario: `control: uid ${NOBODY} asks about its own (CURRENT_NETNS); root names the foreign fd`, expected: 'OK / OK', observed: `${unpriv.current} / ${codeOf(() => issueKernelCommand(netns, SOCK_DIAG, [socketQueries({ unix: true, all: true })[0].request]))}` });
  });

  it('S25: kernel answers come only from the kernel: forged netlink answers sprayed at ikc\'s socket never show', async () => {
    // The forger is uid 65534 as root of its own user and network namespace: it holds
    // CAP_NET_ADMIN there, which sending to a netlink port id needs. Root dumps that
    // namespace in-process (by fd), so ikc's socket lives where the forger can reach it.
    const ms = FULL ? 4000 : 1200;
    const victim = spawn(
      process.execPath,
      ['--input-type=module', '-e', `
        import { openSync, fstatSync, statSync, readFileSync } from 'node:fs';
        import { issueKernelCommand, SOCK_DIAG, socketQueries, parseSockDiag, readResponseSync } from '@ikc/sdk';
        const forger = Number(readFileSync(0, 'utf8').trim());
        const home = statSync('/proc/self/ns/net').ino;
        let ns = -1;
        for (let i = 0; i < 2000 && ns < 0; i++) {
          try { const fd = openSync('/proc/' + forger + '/ns/net', 'r'); if (fstatSync(fd).ino !== home) ns = fd; } catch {}
          if (ns < 0) await new Promise((r) => setTimeout(r, 2));
        }
        const req = socketQueries({ tcp: true, listening: true })[0].request;
        const ports = () => parseSockDiag(readResponseSync(issueKernelCommand(ns, SOCK_DIAG, [req])), 2, 6).map((s) => s.sport);
        // The forger's real listener (port 31338) is up before the count starts.
        for (let i = 0; i < 2000 && !ports().includes(31338); i++) await new Promise((r) => setTimeout(r, 2));
        const out = { dumps: 0, forged: 0, real: 0, errors: {} };
        for (const end = Date.now() + ${ms}; Date.now() < end; out.dumps++) {
          try {
            const seen = ports();
            if (seen.includes(31337)) out.forged++;
            if (seen.includes(31338)) out.real++;
          } catch (e) { out.errors[e.code] = (out.errors[e.code] ?? 0) + 1; }
        }
        console.log(JSON.stringify(out));`],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const forger = spawn('unshare', ['-Urn', probe, 'nlforge', String(ms + 20_000), String(victim.pid)], { uid: NOBODY, gid: NOBODY, cwd: work, stdio: ['pipe', 'pipe', 'inherit'] });
    victim.stdin!.end(`${forger.pid}\n`);
    victim.once('exit', () => forger.stdin!.end()); // the forger sprays until the victim is done
    const collect = (c: ChildProcess) => new Promise<string>((resolve) => {
      let o = '';
      c.stdout!.on('data', (d: Buffer) => (o += d.toString()));
      c.on('close', () => resolve(o));
    });
    const [v, f] = await Promise.all([collect(victim), collect(forger)]);
    const dumps = JSON.parse(v) as { dumps: number; forged: number; real: number; errors: Record<string, number> };
    const spray = JSON.parse(f) as { control: string; sent: number; accepted: number; refused: number; other: number; other_errno: string; listed: number; seen: number };
    figure('S25 forged netlink answers', `${spray.sent} sent (${spray.accepted} accepted, ${spray.refused} ECONNREFUSED, ${spray.other} ${spray.other_errno}; ${spray.listed} to other listed sock_diag ports; ikc's socket listed open ${spray.seen} times) during ${dumps.dumps} dumps`);
    row({ id: 'S25', scenario: `control: uid ${NOBODY}'s forged SOCK_DIAG answer sent to an unconnected sock_diag socket (its netns)`, expected: 'delivered', observed: spray.control });
    const errors = Object.entries(dumps.errors).map(([k, n]) => `${k} ${n}`).join(', ');
    row({
      id: 'S25',
      scenario: `it sprays a forged listener (port 31337) and NLMSG_DONE at root's ikc netlink port in that netns during ${dumps.dumps} dumps`,
      expected: 'never shown, every dump whole',
      observed:
        dumps.forged || errors || dumps.real !== dumps.dumps || !spray.seen
          ? `forged shown ${dumps.forged}, errors [${errors}], real listener in ${dumps.real}/${dumps.dumps}, ikc's socket seen open ${spray.seen} times`
          : 'never shown, every dump whole',
      pass: dumps.forged === 0 && !errors && dumps.real === dumps.dumps && dumps.dumps > 0 && spray.seen > 0,
    });
  });
});

// ----------------------------------------------------------------- BPF

describe.skipIf(!canBpf)('promises S26, S27: the BPF backend (needs root and kernel BTF)', () => {
  it('S26: a broker reading with BPF answers each client with what the kernel would show it', async () => {
    const rules = await ruleFixtures();
    const r = runViewer(UID, UID, broker.socket, 'bpf');
    row({ id: 'S26', scenario: `broker reading with BPF, uid ${UID} vs its own hidepid=2 procfs`, expected: 'same as the kernel', observed: verdict(r) });
    for (const [rule, id] of rules) {
      const s = says(r, id);
      row({ id: 'S26', scenario: `  rule: ${rule}, to uid ${UID} through the BPF broker`, expected: s.kernel, observed: s.ikc });
    }
    const caps = capFixtures();
    await until('the capability fixtures to exec', () => caps.every(([, pid]) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep'));
    const np = viewerWithoutPtrace(broker.socket, 'bpf');
    row({ id: 'S26', scenario: `broker reading with BPF, uid 0, gid ${UID}, without CAP_SYS_PTRACE vs its own hidepid=2 procfs`, expected: 'same as the kernel', observed: verdict(np) });
    for (const [rule, pid] of caps) {
      const s = says(np, pid);
      row({ id: 'S26', scenario: `  rule: ${rule}, to it through the BPF broker`, expected: s.kernel, observed: s.ikc });
    }
  });

  it('S27: the BPF backend hides no task procfs shows (frozen fixtures)', async () => {
    const tree = await startFixture(['tree', '3']);
    const threads = await startFixture(['threads', '3', 's27t']);
    for (const pid of [...tree.children!, threads.pid]) process.kill(pid, 'SIGSTOP');
    const frozenTids = [...tree.children!.map((p) => [p, p]), ...[threads.pid, ...threads.tids!].map((t) => [threads.pid, t])];
    await until('the fixtures to stop', () => frozenTids.every(([p, t]) => /[Tt]/.test(stateOf(p, t))));
    const procThreads = () => numeric('/proc').flatMap((p) => {
      try {
        return numeric(`/proc/${p}/task`).map((t) => `${p}/${t}`);
      } catch {
        return [];
      }
    });
    const [pb, tb] = [numeric('/proc'), procThreads()];
    const bpf = taskDiagSync({ strategy: 'all', backend: 'bpf' }).map((t) => t.pid);
    const bpfThreads = taskDiagSync({ strategy: 'all-thread', backend: 'bpf', show: ['base', 'creds'] });
    const [pa, ta] = [numeric('/proc'), procThreads()];
    const missing = stable(pb, pa).filter((p) => !bpf.includes(p));
    const tids = new Set(bpfThreads.map((t) => `${t.tgid}/${t.pid}`));
    const missingThreads = stable(tb, ta).filter((t) => !tids.has(t));
    row({ id: 'S27', scenario: 'every process /proc lists before and after, in a BPF ALL dump', expected: 'none missing', observed: missing.length ? `${missing.length} missing (${missing.slice(0, 3)})` : 'none missing' });
    row({ id: 'S27', scenario: 'every thread /proc/*/task lists before and after, in a BPF ALL_THREAD dump', expected: 'none missing', observed: missingThreads.length ? `${missingThreads.length} missing (${missingThreads.slice(0, 3)})` : 'none missing' });
    row({ id: 'S27', scenario: 'pid 1 (which some kernels keep from BPF iterators) in the BPF dump', expected: 'present', observed: bpf.includes(1) ? 'present' : 'absent' });
    figure('S27 BPF dump', `${bpf.length} processes, ${bpfThreads.length} threads; /proc listed ${pb.length} / ${tb.length}`);
    const json = (t: Task | undefined) => JSON.stringify(t, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    const viaProcfs = taskDiagSync({ strategy: 'all-thread', backend: 'procfs', show: ['base', 'creds'] });
    const differ = frozenTids.filter(([, t]) => json(bpfThreads.find((x) => x.pid === t)) !== json(viaProcfs.find((x) => x.pid === t)) || !bpfThreads.some((x) => x.pid === t));
    row({ id: 'S27', scenario: `records (base, creds) of the ${frozenTids.length} frozen fixture tasks, BPF vs procfs`, expected: 'identical', observed: differ.length ? `${differ.length} differ (${differ.map(([, t]) => t).slice(0, 3)})` : 'identical' });
  });
});

// --------------------------------------------------------------- S10 fuzz

describe.skipIf(!isRoot)('promise S10: decoders never panic, nothing panics across napi', () => {
  it('S10: mutated requests of every command, in-process and through the broker, get only errno codes', () => {
    const n = FULL ? 30000 : 3000;
    const out = node<{ n: number; codes: Record<string, number>; bad: string[]; bn: number; bcodes: Record<string, number>; bbad: string[]; after: string }>(`
      import { closeSync } from 'node:fs';
      import { issueKernelCommand, BrokerClient, encodeTaskDiagRequest, socketQueries, TASK_DIAG, SOCK_DIAG, LINK_DUMP, ADDR_DUMP, CURRENT_PIDNS, CURRENT_NETNS, GLOBAL } from '@ikc/sdk';
      let seed = 0x1c0ffee;
      const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 4294967296; };
      const int = (n) => Math.floor(rnd() * n);
      const rt = (type, body) => { const b = Buffer.alloc(16 + body); b.writeUInt32LE(b.length, 0); b.writeUInt16LE(type, 4); b.writeUInt16LE(0x301, 6); return b; };
      const seeds = [
        [TASK_DIAG, CURRENT_PIDNS, encodeTaskDiagRequest({ strategy: 'one', pid: process.pid, show: ['base', 'creds'] })],
        [TASK_DIAG, CURRENT_PIDNS, encodeTaskDiagRequest({ strategy: 'thread', pid: process.pid })],
        [TASK_DIAG, CURRENT_PIDNS, encodeTaskDiagRequest({ strategy: 'children', pid: process.ppid })],
        ...socketQueries({ all: true }).map((q) => [SOCK_DIAG, CURRENT_NETNS, q.request]),
        [LINK_DUMP, CURRENT_NETNS, rt(18, 16)], [ADDR_DUMP, CURRENT_NETNS, rt(22, 8)],
      ];
      const edge = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
      function mutate(b) {
        let m = Buffer.from(b);
        for (let k = 1 + int(3); k > 0; k--) {
          switch (int(6)) {
            case 0: if (m.length) m[int(m.length)] ^= 1 << int(8); break;
            case 1: m = m.subarray(0, int(m.length + 1)); break;
            case 2: m = Buffer.concat([m, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]); break;
            case 3: if (m.length >= 4) m.writeUInt32LE(edge[int(edge.length)], int(m.length - 3)); break;
            case 4: if (m.length >= 4) m.writeUInt32LE(int(2) ? int(m.length + 64) : edge[int(edge.length)], 0); break;
            default: if (m.length) m[int(m.length)] = int(256);
          }
        }
        return m;
      }
      function one(issue) {
        let [cmd, ns, req] = seeds[int(seeds.length)];
        const m = mutate(req);
        let flags = 0;
        const r = rnd();
        if (r < 0.05) cmd = edge[int(edge.length)] >>> 0; else if (r < 0.1) ns = int(2) ? int(40) : -int(5); else if (r < 0.15) flags = edge[int(edge.length)] >>> 0; else if (r < 0.2) ns = GLOBAL;
        const iov = int(4) ? [m] : [m.subarray(0, m.length >> 1), m.subarray(m.length >> 1)];
        try { closeSync(issue(ns, cmd, iov, flags)); return ['OK']; }
        catch (e) { return typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && e.errno > 0 && e.message.startsWith(e.code) ? [e.code] : [null, String(e?.message ?? e).slice(0, 80)]; }
      }
      const tally = (n, issue) => {
        const codes = {}, bad = [];
        for (let i = 0; i < n; i++) { const [code, why] = one(issue); if (code) codes[code] = (codes[code] ?? 0) + 1; else bad.push(why); }
        return [codes, bad];
      };
      const [codes, bad] = tally(${n}, issueKernelCommand);
      let c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const [bcodes, bbad] = tally(${Math.floor(n / 3)}, (...a) => c.issueKernelCommand(...a));
      let after; try { closeSync(c.issueKernelCommand(CURRENT_PIDNS, TASK_DIAG, [encodeTaskDiagRequest({ strategy: 'one', pid: process.pid })])); after = 'OK'; } catch (e) { after = e.code; }
      console.log(JSON.stringify({ n: ${n}, codes, bad: bad.slice(0, 3), bn: ${Math.floor(n / 3)}, bcodes, bbad: bbad.slice(0, 3), after }));`);
    const fmt = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ');
    figure('S10 mutated requests in-process', fmt(out.codes));
    figure('S10 mutated requests through the broker', fmt(out.bcodes));
    row({ id: 'S10', scenario: `${out.n} mutated requests of every command (and random ns, command, flags), in-process`, expected: 'only errno codes', observed: out.bad.length ? `non-errno errors: ${out.bad.join(' | ')}` : 'only errno codes' });
    row({ id: 'S10', scenario: `${out.bn} of them through the broker, then a valid request on the same connection`, expected: 'only errno codes; OK', observed: `${out.bbad.length ? `non-errno errors: ${out.bbad.join(' | ')}` : 'only errno codes'}; ${out.after}` });
    row({ id: 'S10', scenario: '  the broker process after them', expected: 'alive', observed: broker.process.exitCode === null && broker.process.signalCode === null ? 'alive' : `ended (${broker.process.exitCode ?? broker.process.signalCode})` });
  });
});

// ------------------------------------------ S3: a /proc view the caller built
// In-process, ikc takes the caller's user namespace from a stat of
// /proc/thread-self/ns/user and its capabilities from /proc/thread-self/status.
// A process that may mount (the root of its own user+mount namespace, which any
// user can make) can put a tmpfs over its own task's ns directory, so that
// `user` names the initial user namespace through an fd it kept: its full
// capabilities there then read as CAP_SYS_PTRACE over the whole system.

describe.skipIf(!isRoot)('promise S3: the caller\'s credentials come from the kernel, not from a view the caller built', () => {
  it('S3: a user+mount namespace\'s root forges /proc/thread-self/ns/user', () => {
    // The SDK where an unprivileged process that never was root can import it.
    const sdk = join(work, 'sdk');
    if (!existsSync(sdk)) {
      cpSync(join(ROOT, 'packages/ikc'), sdk, { recursive: true, filter: (p) => !p.includes('/src') });
      execFileSync('chmod', ['-R', 'a+rX', sdk]);
    }
    const view = join(work, 'forge-view.mjs');
    writeFileSync(
      view,
      `import { readdirSync } from 'node:fs';
      const { inProcess, BrokerClient } = await import(${JSON.stringify(join(sdk, 'dist/index.js'))});
      const [mnt, sock] = process.argv.slice(2);
      const numeric = () => readdirSync(mnt).filter((n) => /^\\d+$/.test(n)).map(Number);
      const list = (c) => { try { return c.taskDiagSync({ strategy: 'all' }).map((t) => t.pid); } catch (e) { return [e.code]; } };
      const before = numeric();
      const ikc = list(inProcess);
      const viaBroker = list(BrokerClient.connect(sock));
      const after = numeric();
      console.log(JSON.stringify({ self: process.pid, before, ikc, viaBroker, after }));`,
      { mode: 0o644 },
    );
    // As uid UID: keep an fd of the initial user namespace, make a user+mount namespace,
    // and (when asked) mount a tmpfs over its own /proc/PID/task/PID/ns whose links name
    // fds it holds: `user` the initial user namespace, the others its real ones.
    const forge = join(work, 'forge.sh');
    writeFileSync(
      forge,
      `forge=$1; shift
exec 9</proc/self/ns/user
exec unshare -Urm sh -c '
  if [ "$0" = 1 ]; then
    exec 5</proc/$$/ns/pid 6</proc/$$/ns/net 7</proc/$$/ns/mnt
    d=/proc/$$/task/$$/ns
    mount -t tmpfs none $d && ln -s /proc/self/fd/9 $d/user && ln -s /proc/self/fd/5 $d/pid && ln -s /proc/self/fd/6 $d/net && ln -s /proc/self/fd/7 $d/mnt || exit 9
  fi
  exec "$@"' "$forge" "$@"
`,
      { mode: 0o755 },
    );
    const mnt = join(work, 'forge-proc');
    if (!existsSync(mnt)) mkdirSync(mnt, { mode: 0o755 });
    const run = (forged: boolean) => {
      const out = execFileSync(
        'unshare',
        ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t proc -o hidepid=2 proc "$0" && exec "$@"', mnt,
          'setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', 'sh', forge, forged ? '1' : '0', process.execPath, view, mnt, broker.socket],
        { encoding: 'utf8', cwd: work },
      );
      const r = JSON.parse(out) as ViewerReport & { viaBroker: number[] };
      const base = { threadsBefore: [], ikcThreads: [], threadsAfter: [] };
      const refused = (ikc: unknown[]) => (typeof ikc[0] === 'string' ? `refused (${ikc[0]})` : undefined);
      return { inProcess: refused(r.ikc) ?? verdict({ ...r, ...base }), broker: refused(r.viaBroker) ?? verdict({ ...r, ...base, ikc: r.viaBroker }), shown: r.ikc.length, kernel: r.before.length };
    };
    const plain = run(false);
    row({ id: 'S3', scenario: `control: uid ${UID} as root of its own user+mount namespace lists in-process`, expected: 'same as the kernel', observed: plain.inProcess });
    const forged = run(true);
    figure('S3 forged user-namespace link', `in-process ikc showed ${forged.shown} processes; the hidepid=2 procfs showed ${forged.kernel}`);
    row({ id: 'S3', scenario: '  after a tmpfs over its /proc/self/task/TID/ns names the initial user namespace, asking the broker', expected: 'same as the kernel', observed: forged.broker });
    // ikc reads /proc without crossing a mount (openat2 RESOLVE_NO_XDEV): a procfs with
    // something mounted inside it is refused, never believed.
    row({ id: 'S3', scenario: '  the same forged process listing in-process', expected: 'refused (EXDEV)', observed: forged.inProcess });
  });
});
