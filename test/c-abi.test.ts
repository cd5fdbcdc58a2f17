// A C program built against include/ikc/task_diag.h (Vagin's uapi layout) and
// <linux/netlink.h> parses an ikc response, handed to it as stdin, unchanged.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { taskDiagFd } from '@ikc/sdk';
import { killFixtures, ROOT, startFixture, statFields, statusField, threadIds } from './helpers/fixture.js';

afterAll(killFixtures);

describe('C ABI', () => {
  it('a C reader sees the pids, ids and comm the kernel reports', async () => {
    const bin = join(mkdtempSync(join(tmpdir(), 'ikc-c-')), 'task_diag_dump');
    execFileSync('gcc', ['-std=c11', '-Wall', '-Werror', '-O1', `-I${ROOT}include`, '-o', bin, join(ROOT, 'test/c/task_diag_dump.c')]);
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
