// task_diag strategies against real process trees and threads made by the
// fixture; every field is checked against what the kernel reports in /proc.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { stateLetter, taskDiag, taskDiagSync, type Task } from '@ikc/sdk';
import { killFixtures, startFixture, statFields, statusField, threadIds } from './helpers/fixture.js';

afterAll(killFixtures);

const pids = (tasks: Task[]) => tasks.map((t) => t.pid);

/** The kernel's own view of a task, from /proc/PID/task/TID/{stat,status}. */
function kernelView(pid: number, tid = pid) {
  const { comm, rest } = statFields(pid, tid);
  return {
    tgid: pid,
    pid: tid,
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    sid: Number(rest[3]),
    tpid: Number(statusField(tid, 'TracerPid')[0]),
    state: rest[0],
    comm,
  };
}

async function waitForState(pid: number, letter: string): Promise<void> {
  for (let i = 0; i < 500 && statFields(pid).rest[0] !== letter; i++) await new Promise((r) => setTimeout(r, 10));
  expect(statFields(pid).rest[0]).toBe(letter);
}

function diagView(t: Task) {
  const b = t.base!;
  return { tgid: b.tgid, pid: b.pid, ppid: b.ppid, pgid: b.pgid, sid: b.sid, tpid: b.tpid, state: stateLetter(b.state), comm: b.comm };
}

describe('task_diag strategies', () => {
  it('ALL lists a process tree with the ids and states the kernel reports', async () => {
    const tree = await startFixture(['tree', '4']);
    const all = await taskDiag({ strategy: 'all' });
    const byPid = new Map(all.map((t) => [t.pid, t]));
    for (const pid of [tree.pid, ...tree.children!]) {
      const t = byPid.get(pid);
      expect(t, `pid ${pid} in ALL`).toBeDefined();
      expect(diagView(t!)).toEqual(kernelView(pid));
    }
    const kids = tree.children!.map((p) => byPid.get(p)!.base!);
    expect(kids.every((k) => k.ppid === tree.pid)).toBe(true);
    // The odd children made their own process group.
    expect(kids.map((k) => k.pgid === k.pid)).toEqual([false, true, false, true]);
    expect(pids(all)).toEqual([...pids(all)].sort((a, b) => a - b));
  });

  it('CHILDREN returns exactly the children, ordered by pid', async () => {
    const tree = await startFixture(['tree', '3']);
    const kids = taskDiagSync({ strategy: 'children', pid: tree.pid });
    expect(pids(kids)).toEqual([...tree.children!].sort((a, b) => a - b));
    expect(kids.every((k) => k.base!.ppid === tree.pid)).toBe(true);
  });

  it('THREAD returns every thread with its own comm; ALL shows only the leader', async () => {
    const proc = await startFixture(['threads', '3', 'ikcw']);
    const threads = taskDiagSync({ strategy: 'thread', pid: proc.pid });
    expect(pids(threads)).toEqual(threadIds(proc));
    const comm = new Map(threads.map((t) => [t.pid, t.base!.comm]));
    expect([proc.pid, ...proc.tids!].map((id) => comm.get(id))).toEqual(['ikc-fixture', 'ikcw0', 'ikcw1', 'ikcw2']);
    expect(threads.every((t) => t.tgid === proc.pid && t.base!.tgid === proc.pid)).toBe(true);
    for (const t of threads) expect(diagView(t)).toEqual(kernelView(proc.pid, t.pid));

    const all = pids(taskDiagSync({ strategy: 'all' }));
    expect(all).toContain(proc.pid);
    for (const tid of proc.tids!) expect(all).not.toContain(tid);
  });

  it('THREAD from a non-leader thread id covers the whole group', async () => {
    const proc = await startFixture(['threads', '2', 'ikcx']);
    const threads = taskDiagSync({ strategy: 'thread', pid: proc.tids![1] });
    expect(pids(threads)).toEqual(threadIds(proc));
  });

  it('ALL_THREAD contains every thread, grouped by process and ordered by tid', async () => {
    const proc = await startFixture(['threads', '2', 'ikcy']);
    const all = taskDiagSync({ strategy: 'all-thread' });
    const mine = all.filter((t) => t.tgid === proc.pid);
    expect(pids(mine)).toEqual(threadIds(proc));
    // By thread group, then by thread id (after pid wrap-around a thread may have a lower id than its leader).
    const keys = all.map((t) => [t.tgid, t.pid]);
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(keys).toEqual(sorted);
  });

  it('ONE of a thread id returns that thread with its tgid', async () => {
    const proc = await startFixture(['threads', '1', 'ikcz']);
    const [t] = taskDiagSync({ strategy: 'one', pid: proc.tids![0] });
    expect(diagView(t)).toEqual(kernelView(proc.pid, proc.tids![0]));
    expect(t.base!.comm).toBe('ikcz0');
  });

  it('reports sessions, zombies, stopped and traced tasks as the kernel does', async () => {
    const session = await startFixture(['session']);
    const zombie = await startFixture(['zombie']);
    const traced = await startFixture(['traced']);
    const stopped = await startFixture(['tree', '1']);
    process.kill(stopped.children![0], 'SIGSTOP');
    // Signals and exits land asynchronously: wait until the kernel reports the settled state.
    await waitForState(stopped.children![0], 'T');
    await waitForState(zombie.children![0], 'Z');
    const check = [session.pid, session.children![0], zombie.children![0], traced.children![0], stopped.children![0]];
    for (const pid of check) {
      const [t] = taskDiagSync({ strategy: 'one', pid });
      expect(diagView(t)).toEqual(kernelView(pid));
    }
    const one = (pid: number) => taskDiagSync({ strategy: 'one', pid })[0].base!;
    expect(one(session.pid).sid).toBe(session.pid);
    expect(one(session.children![0]).sid).toBe(session.pid);
    expect(stateLetter(one(zombie.children![0]).state)).toBe('Z');
    expect(stateLetter(one(stopped.children![0]).state)).toBe('T');
    expect(one(traced.children![0]).tpid).toBe(traced.pid);
  });

  it('CRED matches the ids and capability sets in /proc/PID/status', async () => {
    const proc = await startFixture(['cred', '4242', '4343', 'euid=0', 'keepcap']);
    const [t] = taskDiagSync({ strategy: 'one', pid: proc.pid, show: ['base', 'creds'] });
    const c = t.creds!;
    expect([c.uid, c.euid, c.suid, c.fsuid].map(String)).toEqual(statusField(proc.pid, 'Uid'));
    expect([c.gid, c.egid, c.sgid, c.fsgid].map(String)).toEqual(statusField(proc.pid, 'Gid'));
    const hex = (k: string) => BigInt(`0x${statusField(proc.pid, k)[0]}`);
    expect([c.capInheritable, c.capPermitted, c.capEffective, c.capBset]).toEqual([
      hex('CapInh'),
      hex('CapPrm'),
      hex('CapEff'),
      hex('CapBnd'),
    ]);
    expect(c.uid).toBe(4242);
    expect(c.euid).toBe(0);
  });

  it('show selects the attribute groups', () => {
    const [none] = taskDiagSync({ strategy: 'one', pid: process.pid, show: [] });
    expect(none).toEqual({ pid: process.pid, tgid: process.pid, flags: 0 });
    const [both] = taskDiagSync({ strategy: 'one', pid: process.pid, show: ['base', 'creds'] });
    expect(both.base?.pid).toBe(process.pid);
    expect(both.creds?.uid).toBe(process.getuid!());
  });

  it('agrees with ps on the pid and ppid of every process that lives through both', () => {
    const ps = () =>
      new Map(
        execFileSync('ps', ['ax', '--no-headers', '-o', 'pid=,ppid='], { encoding: 'utf8' })
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]),
      );
    const before = ps();
    const ikc = new Map(taskDiagSync({ strategy: 'all' }).map((t) => [t.pid, t.base!.ppid]));
    const after = ps();
    const stable = [...before.keys()].filter((p) => after.has(p));
    expect(stable.length).toBeGreaterThan(10);
    for (const pid of stable) expect(ikc.get(pid), `pid ${pid}`).toBe(before.get(pid));
  });
});
