// The BPF task-iterator backend against the procfs backend and against ps:
// the same tasks with the same fields, the same hidepid=2 filtering (checked
// against the kernel through a broker that reads with BPF), and a clear
// EOPNOTSUPP where BPF cannot be had.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendInUse, BrokerClient, readResponseSync, taskDiagFd, type TaskDiagOptions } from '@ikc/sdk';
import { IKC, startBroker, type TestBroker } from './helpers/broker.js';
import { killFixtures, startFixture } from './helpers/fixture.js';
import { expectSameAsKernel, runViewer } from './helpers/hidepid.js';

const canBpf = process.getuid?.() === 0 && existsSync('/sys/kernel/btf/vmlinux');
const UID = 4711;
let broker: TestBroker | undefined;

beforeAll(async () => {
  if (canBpf) broker = await startBroker();
});
afterAll(async () => {
  killFixtures();
  await broker?.stop();
});

/** `ikc ps -e` rows keyed by pid: pid ppid pgid sid tgid uid gid comm. */
function ikcPs(backend: string): Map<number, string> {
  const out = execFileSync(process.execPath, [IKC, 'ps', '-e', '--no-headers', '--backend', backend, '-o', 'pid,ppid,pgid,sid,tgid,uid,gid,comm'], { encoding: 'utf8' });
  return new Map(out.trim().split('\n').map((l) => [Number(l.trim().split(/\s+/)[0]), l.trim().split(/\s+/).join(' ')]));
}

describe.skipIf(!canBpf)('BPF backend (needs root and kernel BTF)', () => {
  it('is available here and chosen when asked', () => {
    expect(backendInUse('bpf')).toBe('bpf');
    expect(['procfs', 'bpf']).toContain(backendInUse('auto'));
    const json = JSON.parse(execFileSync(process.execPath, [IKC, 'backend', '--json'], { encoding: 'utf8' })) as { bpf: { available: boolean } };
    expect(json.bpf.available).toBe(true);
  });

  it('ikc ps -e reads the same tasks with BPF as with procfs, and the pids and ppids ps reads', async () => {
    const tree = await startFixture(['tree', '3']);
    const threads = await startFixture(['threads', '2', 'bpfw']);
    const psBefore = execFileSync('ps', ['ax', '--no-headers', '-o', 'pid=,ppid='], { encoding: 'utf8' });
    const bpf = ikcPs('bpf');
    const procfs = ikcPs('procfs');
    const psAfter = execFileSync('ps', ['ax', '--no-headers', '-o', 'pid=,ppid='], { encoding: 'utf8' });
    const psRows = (t: string) => new Map(t.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number]));
    const [before, after] = [psRows(psBefore), psRows(psAfter)];
    const stable = [...before.keys()].filter((p) => after.has(p) && bpf.has(p) && procfs.has(p));
    expect(stable.length).toBeGreaterThan(10);
    for (const pid of [tree.pid, ...tree.children!, threads.pid]) expect(stable).toContain(pid);
    for (const pid of stable) {
      const [b, p] = [bpf.get(pid)!, procfs.get(pid)!];
      // Kernel workers rename themselves as they work: compare their ids only.
      const isWorker = b.split(' ')[7]?.startsWith('kworker');
      expect(isWorker ? b.split(' ').slice(0, 7) : b, `pid ${pid}`).toEqual(isWorker ? p.split(' ').slice(0, 7) : p);
      expect(Number(b.split(' ')[1]), `ppid of ${pid} as ps reads it`).toBe(before.get(pid));
    }
  });

  it('every strategy gives byte-identical responses from both backends on frozen tasks', async () => {
    const tree = await startFixture(['tree', '3']);
    for (const kid of tree.children!) process.kill(kid, 'SIGSTOP');
    const stopped = (pid: number) => /\) T /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
    for (let i = 0; i < 500 && !tree.children!.every(stopped); i++) await new Promise((r) => setTimeout(r, 10));
    const threads = await startFixture(['threads', '3', 'bpft']);
    const raw = (opts: TaskDiagOptions) => readResponseSync(taskDiagFd({ show: ['base', 'creds'], ...opts }));
    const cases: TaskDiagOptions[] = [
      { strategy: 'children', pid: tree.pid },
      { strategy: 'one', pid: tree.children![1] },
      { strategy: 'thread', pid: threads.pid },
      { strategy: 'thread', pid: threads.tids![2] },
      { strategy: 'one', pid: threads.tids![0] },
    ];
    for (const c of cases) {
      const viaBpf = raw({ ...c, backend: 'bpf' });
      expect(viaBpf.length, JSON.stringify(c)).toBeGreaterThan(20);
      expect(viaBpf, JSON.stringify(c)).toEqual(raw({ ...c, backend: 'procfs' }));
    }
    expect(() => taskDiagFd({ strategy: 'one', pid: 4_000_000, backend: 'bpf' })).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('a client of a broker reading with BPF sees exactly what a hidepid=2 procfs shows it', async () => {
    const mine = await startFixture(['cred', String(UID), String(UID)]);
    const nodump = await startFixture(['cred', String(UID), String(UID), 'nodump']);
    const r = runViewer(UID, UID, broker!.socket, 'bpf');
    expectSameAsKernel(r);
    expect(r.ikc).toContain(mine.pid);
    expect(r.ikc).not.toContain(nodump.pid);
    expect(r.ikc).not.toContain(1);
  });

  it('root through the broker gets the BPF dump it asks for', () => {
    const client = BrokerClient.connect(broker!.socket);
    const viaBpf = client.taskDiagSync({ strategy: 'all', backend: 'bpf' }).map((t) => t.pid);
    client.close();
    expect(viaBpf).toContain(1); // pid 1 is read through procfs where the iterator leaves it out
    expect(viaBpf).toEqual([...viaBpf].sort((a, b) => a - b));
  });

  it('an unprivileged caller asking for BPF gets EOPNOTSUPP with the reason', () => {
    const run = spawnSync(process.execPath, [IKC, 'ps', '-e', '--backend', 'bpf'], { encoding: 'utf8', uid: 65534, gid: 65534 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ikc: EOPNOTSUPP: BPF task iterator/);
    const auto = spawnSync(process.execPath, [IKC, 'ps', '-e', '--backend', 'auto'], { encoding: 'utf8', uid: 65534, gid: 65534 });
    expect(auto.status).toBe(0);
  });
});
