// Pid namespaces as capabilities: a dump scoped to a namespace made by the test
// holds exactly its processes, numbered as `ps` inside it numbers them; the
// host's processes never appear; hidepid rules still apply on top.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { IkcError, taskDiagSync, type Task } from '@ikc/sdk';
import { IKC } from './helpers/broker.js';
import { childrenOf, FIXTURE, ROOT } from './helpers/fixture.js';

const isRoot = process.getuid?.() === 0;
const started: ChildProcess[] = [];

afterAll(() => {
  for (const c of started) {
    try {
      process.kill(c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** Starts `unshare --pid --fork --mount-proc CMD...`; resolves to the host pid of the namespace's init. */
async function inNewPidns(cmd: string[]): Promise<{ init: number; stdout: () => string }> {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...cmd], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 200; i++) {
    const [init] = childrenOf(child.pid!);
    if (init && out.includes('\n')) return { init, stdout: () => out };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`namespace for ${cmd.join(' ')} did not come up`);
}

/** `ps` run inside the namespace of host pid `init`: the oracle. */
function psInside(init: number): string[] {
  const rows = execFileSync('nsenter', ['-t', String(init), '-p', '-m', 'ps', 'ax', '--no-headers', '-o', 'pid,ppid,pgid,sid,comm'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '));
  return rows.filter((r) => !r.endsWith(' ps') && !r.endsWith(' nsenter'));
}

const row = (t: Task) => [t.base!.pid, t.base!.ppid, t.base!.pgid, t.base!.sid, t.base!.comm].join(' ');

describe.skipIf(!isRoot)('pid namespace scope (needs root for unshare)', () => {
  it('ALL holds exactly the namespace processes, as ps inside numbers them', async () => {
    const script = 'sleep 1000 & (sleep 1001 & wait) & (unshare --pid --fork sleep 1002 &) ; echo up; wait';
    const { init } = await inNewPidns(['sh', '-c', script]);
    await new Promise((r) => setTimeout(r, 200));
    const ns = `/proc/${init}/ns/pid`;
    const ikc = taskDiagSync({ ns, strategy: 'all' }).map(row);
    expect(ikc).toEqual(psInside(init));
    expect(ikc[0]).toBe('1 0 0 0 sh');
    expect(ikc.filter((r) => r.endsWith('sleep'))).toHaveLength(3); // the nested namespace's sleep too
    const hostPids = taskDiagSync({ strategy: 'all' }).map((t) => t.pid);
    expect(hostPids).toContain(init);
    expect(ikc.some((r) => r.endsWith(' node') || r.endsWith('process_api'))).toBe(false);
  });

  it('threads and per-process strategies take and return namespace pids', async () => {
    const { init, stdout } = await inNewPidns([FIXTURE, 'threads', '2', 'nsw']);
    const inside = JSON.parse(stdout().split('\n')[0]) as { pid: number; tids: number[] };
    expect(inside.pid).toBe(1);
    const ns = `/proc/${init}/ns/pid`;
    const threads = taskDiagSync({ ns, strategy: 'thread', pid: 1 });
    expect(threads.map((t) => [t.pid, t.tgid, t.base!.tgid, t.base!.comm])).toEqual([
      [1, 1, 1, 'ikc-fixture'],
      [inside.tids[0], 1, 1, 'nsw0'],
      [inside.tids[1], 1, 1, 'nsw1'],
    ]);
    const allThreads = taskDiagSync({ ns, strategy: 'all-thread' }).map((t) => t.pid);
    expect(allThreads).toEqual([1, ...inside.tids]);
    const [one] = taskDiagSync({ ns, strategy: 'one', pid: inside.tids[1] });
    expect(one.base!.comm).toBe('nsw1');
    expect(one.base!.ppid).toBe(0); // the parent (unshare) is outside the namespace
    expect(() => taskDiagSync({ ns, strategy: 'one', pid: init })).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('CHILDREN of the namespace init lists its children by namespace pid', async () => {
    const { init } = await inNewPidns(['sh', '-c', 'sleep 1000 & sleep 1000 & echo up; wait']);
    await new Promise((r) => setTimeout(r, 100));
    const kids = taskDiagSync({ ns: `/proc/${init}/ns/pid`, strategy: 'children', pid: 1 });
    expect(kids.map((t) => [t.pid, t.base!.ppid, t.base!.comm])).toEqual([
      [2, 1, 'sleep'],
      [3, 1, 'sleep'],
    ]);
  });

  it('an ancestor namespace cannot be dumped from inside a child (EPERM), GLOBAL neither', async () => {
    const host = openSync('/proc/self/ns/pid', 'r');
    try {
      const script = `
        import { taskDiagSync } from '@ikc/sdk';
        const out = {};
        for (const [name, ns] of [['host fd', 3], ['global', 'global'], ['current', 'current']]) {
          try { out[name] = taskDiagSync({ ns, strategy: 'all' }).length > 0 ? 'OK' : 'EMPTY'; } catch (e) { out[name] = e.code; }
        }
        console.log(JSON.stringify(out));`;
      const out = execFileSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '--input-type=module', '-e', script], {
        encoding: 'utf8',
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit', host],
      });
      expect(JSON.parse(out)).toEqual({ 'host fd': 'EPERM', global: 'EPERM', current: 'OK' });
    } finally {
      closeSync(host);
    }
  });

  it('hidepid rules still apply inside the scope', async () => {
    const { init } = await inNewPidns(['sh', '-c', `${FIXTURE} cred 4711 4711 & ${FIXTURE} cred 4712 4712 & wait`]);
    await new Promise((r) => setTimeout(r, 200));
    const script = `
      import { openSync } from 'node:fs';
      import { taskDiagSync } from '@ikc/sdk';
      const ns = openSync('/proc/${init}/ns/pid', 'r');
      process.setgroups([]); process.setgid(4711); process.setuid(4711);
      console.log(JSON.stringify(taskDiagSync({ ns, strategy: 'all', show: ['base', 'creds'] }).map((t) => [t.pid, t.creds.uid])));`;
    const seen = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT })) as number[][];
    const all = taskDiagSync({ ns: `/proc/${init}/ns/pid`, strategy: 'all', show: ['base', 'creds'] });
    expect(all.map((t) => t.creds!.uid).sort()).toEqual([0, 4711, 4712]);
    expect(seen).toEqual(all.filter((t) => t.creds!.uid === 4711).map((t) => [t.pid, 4711]));
  });

  it('a namespace fd that is not a pid namespace is EINVAL', () => {
    expect(() => taskDiagSync({ ns: '/proc/self/ns/net' })).toThrow(IkcError);
    expect(() => taskDiagSync({ ns: '/proc/self/ns/uts' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe.skipIf(!isRoot)('ikc ps --pidns', () => {
  it('prints what ps prints inside the namespace', async () => {
    const { init } = await inNewPidns(['sh', '-c', 'sleep 1000 & sleep 1000 & echo up; wait']);
    await new Promise((r) => setTimeout(r, 100));
    const ikc = execFileSync(process.execPath, [IKC, 'ps', '-e', '--pidns', `/proc/${init}/ns/pid`, '--no-headers', '-o', 'pid,ppid,pgid,sid,comm'], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).join(' '));
    expect(ikc).toEqual(psInside(init));
    expect(ikc).toHaveLength(3);
  });
});
