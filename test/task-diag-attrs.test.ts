// STAT, PS, CMDLINE and NAME against the kernel's own text: /proc/PID/stat,
// /proc/PID/task/TID/stat, /proc/PID/cmdline (empty, very long, non-UTF-8)
// and /proc/PID/comm, for processes spawned here.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { argv, taskDiagSync, type Task } from '@ikc/sdk';
import { cliSuiteHooks, quiet, read, sleeper, start, until } from './helpers/procs.js';

cliSuiteHooks();

const TICK_NS = 10_000_000n; // USER_HZ = 100 on Linux

/** The numbers of /proc/.../stat after the comm, by proc(5) field number. */
function statFields(path: string): (n: number) => number {
  const text = readFileSync(path, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
  return (n: number) => Number(f[n - 3]);
}

function expectStat(t: Task, path: string): void {
  const f = statFields(path);
  const status = readFileSync(path.replace(/stat$/, 'status'), 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  expect(t.stat).toEqual({
    minflt: f(10),
    cminflt: f(11),
    majflt: f(12),
    cmajflt: f(13),
    utime: f(14),
    stime: f(15),
    cutime: f(16),
    cstime: f(17),
    threads: f(20),
  });
  const text = readFileSync(path, 'utf8');
  const starttime = BigInt(text.slice(text.lastIndexOf(')') + 2).trim().split(' ')[22 - 3]);
  expect(t.ps).toEqual({
    startTime: starttime * TICK_NS,
    vsize: f(23),
    rss: kb('VmRSS') * 1024,
    locked: kb('VmLck') * 1024,
    flags: f(9),
    ttyNr: f(7),
    tpgid: Math.max(f(8), 0),
    nice: f(19),
    priority: f(18),
    policy: f(41),
    rtPriority: f(40),
    processor: f(39),
  });
}

describe('STAT and PS', () => {
  it('ONE and ALL: every field of a sleeping process as /proc/PID/stat prints it', async () => {
    const pid = await sleeper();
    await quiet(pid);
    const [one] = taskDiagSync({ strategy: 'one', pid, show: ['base', 'stat', 'ps'] });
    expectStat(one, `/proc/${pid}/stat`);
    const all = taskDiagSync({ strategy: 'all', show: ['stat', 'ps'] }).find((t) => t.pid === pid)!;
    expectStat(all, `/proc/${pid}/stat`);
    expect(one.base?.comm).toBe('sleep');
  });

  it('ALL_THREAD: each thread its own, as /proc/PID/task/TID/stat prints it', async () => {
    // A shell loop that is stopped: its counters do not move between the two reads.
    const child = start('sh', ['-c', 'kill -STOP $$; exit 0']);
    const pid = child.pid!;
    await until('sh to stop', () => /\) T /.test(read(`/proc/${pid}/stat`)));
    const tasks = taskDiagSync({ strategy: 'all-thread', show: ['stat', 'ps'] }).filter((t) => t.tgid === pid);
    expect(tasks.map((t) => t.pid)).toEqual(readdirSync(`/proc/${pid}/task`).map(Number));
    for (const t of tasks) expectStat(t, `/proc/${pid}/task/${t.pid}/stat`);
    child.kill('SIGKILL');
  });

  it('the start time and pid tell a process from one that reuses nothing', async () => {
    const a = await sleeper();
    const b = await sleeper();
    const [ta, tb] = [a, b].map((pid) => taskDiagSync({ strategy: 'one', pid, show: ['ps'] })[0].ps!.startTime);
    expect(tb >= ta).toBe(true);
  });
});

describe('CMDLINE', () => {
  const cmdlineOf = (pid: number) => taskDiagSync({ strategy: 'one', pid, show: ['cmdline'] })[0].cmdline;

  it('an ordinary argv, byte for byte, and split by argv()', async () => {
    const pid = await sleeper();
    expect(cmdlineOf(pid)).toEqual(readFileSync(`/proc/${pid}/cmdline`));
    expect(argv({ cmdline: cmdlineOf(pid) })).toEqual(['sleep', '1000']);
  });

  it('empty arguments, non-UTF-8 bytes and 200 KiB of arguments come back whole (continued over messages)', async () => {
    const long = Array.from({ length: 4 }, (_, i) => String.fromCharCode(97 + i).repeat(50_000));
    const child = start('bash', ['-c', 'exec -a "$(printf "bad\\xff\\xfename")" sleep 1000 2>/dev/null; :', 'x']);
    const pid = child.pid!;
    await until('the renamed sleep', () => read(`/proc/${pid}/comm`).trim() === 'sleep');
    const raw = readFileSync(`/proc/${pid}/cmdline`);
    expect(raw.includes(Buffer.from([0xff, 0xfe]))).toBe(true);
    expect(cmdlineOf(pid)).toEqual(raw);

    const big = start('bash', ['-c', 'sleep 1000; :', 'name', '', ...long, '']);
    await until('bash to start sleep', () => read(`/proc/${big.pid}/cmdline`).length > 200_000);
    const whole = cmdlineOf(big.pid!)!;
    expect(whole.length).toBeGreaterThan(200_000);
    expect(whole).toEqual(readFileSync(`/proc/${big.pid}/cmdline`));
    expect(argv({ cmdline: whole })).toEqual(['bash', '-c', 'sleep 1000; :', 'name', '', ...long, '']);
  });

  it('a kernel thread has an empty one; the dump of every process carries each as /proc does', async () => {
    const pid = await sleeper();
    const all = taskDiagSync({ strategy: 'all', show: ['base', 'cmdline'] });
    const kthreadd = all.find((t) => t.base?.comm === 'kthreadd');
    if (kthreadd) expect(kthreadd.cmdline?.length).toBe(0);
    expect(all.find((t) => t.pid === pid)?.cmdline).toEqual(readFileSync(`/proc/${pid}/cmdline`));
  });
});

describe('NAME', () => {
  it('kernel threads and workers with names over 15 bytes are whole, as /proc/PID/comm gives them', () => {
    const all = taskDiagSync({ strategy: 'all', show: ['base', 'name'] });
    let compared = 0;
    let long = 0;
    for (const t of all) {
      const comm = read(`/proc/${t.pid}/comm`).replace(/\n$/, '');
      if (!comm) continue;
      // A worker's description changes as it works; compare the rest.
      if (comm.startsWith('kworker/') && comm !== t.name) continue;
      expect([t.pid, t.name]).toEqual([t.pid, comm]);
      expect(t.name!.startsWith(t.base!.comm)).toBe(true);
      compared++;
      if (comm.length > 15) long++;
    }
    expect(compared).toBeGreaterThan(10);
    if (all.some((t) => t.base!.comm.startsWith('kworker/'))) expect(long).toBeGreaterThan(0);
  });
});
