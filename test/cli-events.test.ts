// `ikc events` against a storm the test makes and against forkstat watching
// the same storm: the same children, each with one fork, one exec and one
// exit in both; and input it cannot parse exactly is refused.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { IKC } from './helpers/broker.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const ikc = (...args: string[]): Promise<Run> =>
  new Promise((resolve) => {
    execFile(process.execPath, [IKC, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });

const isRoot = process.getuid?.() === 0;
const hasForkstat = (() => {
  try {
    execFileSync('forkstat', ['-h'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as { status?: number }).status !== undefined; // it ran (forkstat -h exits non-zero)
  }
})();

/** Collects a child's stdout lines; `until(pred)` resolves once a line matches. */
function lines(proc: ChildProcess) {
  const got: string[] = [];
  let partial = '';
  const waiters: { pred: (l: string) => boolean; resolve: () => void }[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const l of parts) {
      got.push(l);
      for (const w of [...waiters]) if (w.pred(l)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
    }
  });
  const until = (pred: (l: string) => boolean) =>
    got.some(pred) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pred, resolve }));
  return { got, until };
}

describe('ikc events: refused input', () => {
  it.each([
    [['-e', 'forks'], /^ikc: EINVAL: -e: unknown event 'forks'/],
    [['-e', 'fork,'], /^ikc: EINVAL: -e: unknown event ''/],
    [['-p', '12x'], /^ikc: EINVAL: -p '12x' is not a pid/],
    [['-p', '0'], /^ikc: EINVAL: -p '0' is not a pid/],
    [['-p', '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17'], /^ikc: EINVAL: .*17 pids are more than 16/],
    [['--count', '0'], /^ikc: EINVAL: --count '0'/],
    [['--count', '1e3'], /^ikc: EINVAL: --count '1e3'/],
    [['--duration', '0'], /^ikc: EINVAL: --duration '0'/],
    [['--duration', '1s'], /^ikc: EINVAL: --duration '1s'/],
    [['--subtree'], /^ikc: EINVAL: --subtree needs -p PID/],
  ])('%j is refused with EINVAL, nothing on stdout', async (args, message) => {
    const r = await ikc('events', ...args);
    expect(r.code).toBe(2); // a refused command line (UsageError)
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});

describe.skipIf(!isRoot || !hasForkstat)('ikc events beside forkstat (needs root and forkstat)', () => {
  it('a storm: the same children, each with one fork, one exec and one exit, in both', async () => {
    const n = 60;
    // The storm's shell: one /bin/true per "ping" line (until both watchers show one), then n after "go".
    const sh = spawn('/bin/sh', ['-c', `while read x; do [ "$x" = go ] && break; /bin/true; done; i=0; while [ $i -lt ${n} ]; do /bin/true; i=$((i+1)); done`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const fsProc = spawn('forkstat', ['-l', '-e', 'fork,exec,exit'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const ikcProc = spawn(process.execPath, [IKC, 'events', '--json', '-e', 'fork,exec,exit', '-p', String(sh.pid), '--subtree'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let ikcErr = '';
    ikcProc.stderr!.on('data', (d: Buffer) => (ikcErr += d.toString()));
    const fsLines = lines(fsProc);
    const ikcLines = lines(ikcProc);
    const shChildFork = (l: string) => {
      try {
        const e = JSON.parse(l);
        return e.type === 'fork' && e.parent_tgid === sh.pid;
      } catch {
        return false;
      }
    };
    // Both ready: each has shown a fork of the shell.
    const ready = Promise.all([ikcLines.until(shChildFork), fsLines.until((l) => new RegExp(`^\\S+ fork +${sh.pid} parent`).test(l))]);
    let pinging = true;
    void ready.then(() => (pinging = false));
    while (pinging) {
      sh.stdin!.write('ping\n');
      await Promise.race([ready, new Promise((r) => setTimeout(r, 100))]);
    }
    sh.stdin!.end('go\n');
    await new Promise((r) => sh.once('exit', r));
    await Promise.all([
      ikcLines.until((l) => l.includes('"type":"exit"') && JSON.parse(l).pid === sh.pid),
      fsLines.until((l) => new RegExp(`^\\S+ exit +${sh.pid} `).test(l)),
    ]);
    fsProc.kill('SIGINT');
    ikcProc.kill('SIGINT');
    const ikcExit = await new Promise<number | null>((r) => ikcProc.once('exit', (code) => r(code)));
    expect(ikcExit, ikcErr).toBe(0);
    expect(ikcErr).toBe('');

    // ikc: the shell's children in fork order, and each child's events.
    const ikcEvents = ikcLines.got.map((l) => JSON.parse(l) as { type: string; pid: number; tgid: number; parent_tgid?: number; status?: number });
    const ikcKids = ikcEvents.filter((e) => e.type === 'fork' && e.parent_tgid === sh.pid).map((e) => e.pid);
    // forkstat: "fork PARENT parent" and "fork CHILD child" (not always adjacent under load); exec and exit name the pid.
    const fsRows = fsLines.got.map((l) => l.trim().split(/\s+/)).filter((f) => /^[0-9]+$/.test(f[2] ?? ''));
    // The storm proper: the last n children (the pings before it may predate one watcher).
    const storm = ikcKids.slice(-n);
    expect(storm).toHaveLength(n);
    // The shell forked them one after the other: ascending pids (no wrap in a test's time).
    expect([...storm].sort((a, b) => a - b)).toEqual(storm);
    const count = (rows: { type: string; pid: number }[]) => {
      const c = { fork: 0, exec: 0, exit: 0 };
      for (const r of rows) if (storm.includes(r.pid) && r.type in c) c[r.type as keyof typeof c]++;
      return c;
    };
    const fsCounts = count(fsRows.filter((f) => f[1] !== 'fork' || f[3] === 'child').map((f) => ({ type: f[1], pid: Number(f[2]) })));
    const ikcCounts = count(ikcEvents);
    expect(ikcCounts).toEqual({ fork: n, exec: n, exit: n });
    expect(fsCounts).toEqual(ikcCounts);
    expect(ikcEvents.filter((e) => e.type === 'exit' && storm.includes(e.pid)).every((e) => e.status === 0)).toBe(true);
  });

  it('text: a forkstat-like header and lines; --count ends it by itself', async () => {
    const run = ikc('events', '-e', 'exec', '--count', '2', '--cmdline');
    // Keep making execs until it has seen two.
    let done = false;
    void run.then(() => (done = true));
    while (!done) {
      execFileSync('/bin/true');
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = await run;
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header.split(/\s+/)).toEqual(['Time', 'Event', 'PID', 'Info', 'Duration', 'Process']);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^\d\d:\d\d:\d\d exec +\d+ /);
  });

  it('--duration ends it by itself', async () => {
    const r = await ikc('events', '-e', 'coredump', '--duration', '0.3');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1); // the header
  });
});
