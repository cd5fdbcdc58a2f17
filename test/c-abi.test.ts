// A C program built against include/ikc/task_diag.h (Vagin's uapi layout) and
// <linux/netlink.h> parses an ikc response, handed to it as stdin, unchanged;
// and a C client that sizes its request as the reference selftest does is
// answered for every strategy.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CURRENT_PIDNS, encodeEventsRequest, issueKernelCommand, PROC_EVENTS, taskDiagFd } from '@ikc/sdk';
import { startBroker, type TestBroker } from './helpers/broker.js';
import { killFixtures, ROOT, startFixture, statFields, statusField, threadIds, type FixtureInfo } from './helpers/fixture.js';

afterAll(killFixtures);

const isRoot = process.getuid?.() === 0;

/** Builds test/c/NAME.c against include/. */
function buildC(name: string): string {
  const bin = join(mkdtempSync(join(tmpdir(), 'ikc-c-')), name);
  execFileSync('gcc', ['-std=c11', '-Wall', '-Werror', '-O1', `-I${ROOT}include`, '-o', bin, join(ROOT, `test/c/${name}.c`)]);
  return bin;
}

describe('C ABI', () => {
  it('a C reader sees the pids, ids and comm the kernel reports', async () => {
    const bin = buildC('task_diag_dump');
    const proc = await startFixture(['threads', '2', 'cabi']);
    const fd = taskDiagFd({ strategy: 'thread', pid: proc.pid, show: ['base', 'creds'] });
    const run = spawnSync(bin, [], { stdio: [fd, 'pipe', 'inherit'], encoding: 'utf8' });
    closeSync(fd);
    expect(run.status).toBe(0);
    const rows = run.stdout.trim().split('\n').map((l) => l.split(' '));
    expect(rows.map((r) => Number(r[0]))).toEqual(threadIds(proc));
    for (const [pid, tgid, ppid, pgid, sid, tpid, , uid, euid, gid, comm] of rows) {
      const k = statFields(proc.pid, Number(pid));
      expect([Number(tgid), Number(ppid), Number(pgid), Number(sid), comm]).toEqual([
        proc.pid,
        Number(k.rest[1]),
        Number(k.rest[2]),
        Number(k.rest[3]),
        k.comm,
      ]);
      expect(Number(tpid)).toBe(0);
      expect([uid, euid]).toEqual(statusField(Number(pid), 'Uid').slice(0, 2));
      expect(gid).toBe(statusField(Number(pid), 'Gid')[0]);
    }
    const comm = new Map(rows.map((r) => [Number(r[0]), r[10]]));
    expect([proc.pid, ...proc.tids!].map((id) => comm.get(id))).toEqual(['ikc-fixture', 'cabi0', 'cabi1']);
  });
});

describe.skipIf(!isRoot)('a C reader of a PROC_EVENTS stream (needs root: the connector)', () => {
  it('include/ikc/events.h and <linux/cn_proc.h> parse the events as ikc sends them', async () => {
    const bin = buildC('events_dump');
    const kids: number[] = [];
    const fd = issueKernelCommand(CURRENT_PIDNS, PROC_EVENTS, [encodeEventsRequest({ types: ['exec'], pids: [process.pid], subtree: true, count: 3 })]);
    const run = spawn(bin, [], { stdio: [fd, 'pipe', 'inherit'] });
    closeSync(fd);
    let out = '';
    run.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((r) => run.once('exit', (code) => r(code)));
    for (let i = 0; i < 2; i++) kids.push(spawnSync('/bin/sleep', ['0.05']).pid!);
    expect(await done).toBe(0);
    const [sizes, ...rows] = out.trim().split('\n');
    expect(sizes, 'sizeof proc_event, ikc_proc_event_extra, ikc_events_request; offsetof exit_code').toBe('sizes 40 24 88 24');
    // The reader's own exec (a child of this process, so in the subtree) comes first.
    expect(rows).toEqual([`exec ${run.pid} events_dump`, ...kids.map((pid) => `exec ${pid} sleep`)]);
  });
});

describe.skipIf(!isRoot)('a C client sizing its request as the reference selftest does (needs root: runs a broker)', () => {
  let broker: TestBroker;
  let bin: string;
  let tree: FixtureInfo;
  let threads: FixtureInfo;
  beforeAll(async () => {
    bin = buildC('selftest_client');
    broker = await startBroker();
    tree = await startFixture(['tree', '3']);
    threads = await startFixture(['threads', '2', 'selftest']);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  /** Runs the client for one strategy letter; returns its tasks as [pid, tgid, ppid]. */
  function ask(letter: string, pid?: number): number[][] {
    const run = spawnSync(bin, [broker.socket, letter, ...(pid ? [String(pid)] : [])], { encoding: 'utf8' });
    const [sizes, ...rows] = run.stdout.trim().split('\n');
    expect(sizes, 'nlmsg_total_size(0) + nla_total_size(sizeof(struct task_diag_pid))').toBe('request 44 28');
    expect(run.status, run.stdout).toBe(0);
    return rows.map((r) => r.split(' ').slice(0, 3).map(Number));
  }

  it('all: every process, leaders only', () => {
    const rows = ask('a');
    const pids = rows.map((r) => r[0]);
    for (const pid of [1, process.pid, tree.pid, ...tree.children!, threads.pid]) expect(pids).toContain(pid);
    expect(rows.every(([pid, tgid]) => pid === tgid)).toBe(true);
    expect(pids).not.toContain(threads.tids![0]);
  });

  it('All: every thread', () => {
    const rows = ask('A');
    const mine = rows.filter(([, tgid]) => tgid === threads.pid).map((r) => r[0]);
    expect(mine).toEqual(threadIds(threads));
  });

  it('one: the process asked for', () => {
    expect(ask('o', tree.pid)).toEqual([[tree.pid, tree.pid, process.pid]]);
  });

  it('threads: the threads of the process asked for', () => {
    expect(ask('t', threads.pid).map((r) => r[0])).toEqual(threadIds(threads));
  });

  it('children: the children of the process asked for', () => {
    const rows = ask('c', tree.pid);
    expect(rows.map((r) => r[0])).toEqual([...tree.children!].sort((a, b) => a - b));
    expect(rows.every(([, , ppid]) => ppid === tree.pid)).toBe(true);
  });
});
