// `ikc task-diag` and `ikc commands` against the kernel's own /proc files:
// --json fields, the line format, --raw bytes, strategies and errors.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { parseTaskDiag } from '@ikc/sdk';
import { describe, expect, it } from 'vitest';
import { IKC } from './helpers/broker.js';
import { childrenOf, statFields, statusField } from './helpers/fixture.js';
import { cliSuiteHooks, comm, sleeper, start, until } from './helpers/procs.js';

const isRoot = process.getuid?.() === 0;

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function ikc(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [IKC, ...args], { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr.toString() });
    });
  });
}
const json = async (...args: string[]) => {
  const r = await ikc(...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout.toString()) as Array<Record<string, any>>;
};

cliSuiteHooks();

if (!isRoot) console.warn('cli-task-diag: not root: the sleep runs as yourself instead of uid 65534 (on CI it runs as 65534)');

describe('ikc task-diag', () => {
  it('--json fields of one process match /proc/PID/status and stat', async () => {
    const pid = await sleeper(isRoot ? { uid: 65534, gid: 65534 } : {});
    const [task] = await json('task-diag', '--strategy', 'one', '--pid', String(pid), '--show', 'base,creds');
    const s = (key: string) => statusField(pid, key);
    const st = statFields(pid);
    expect(task.pid).toBe(pid);
    expect(task.tgid).toBe(Number(s('Tgid')[0]));
    expect(task.base).toMatchObject({
      pid, tgid: Number(s('Tgid')[0]), ppid: Number(s('PPid')[0]), tpid: Number(s('TracerPid')[0]),
      pgid: Number(st.rest[2]), sid: Number(st.rest[3]), comm: s('Name')[0],
    });
    const [uid, euid, suid, fsuid] = s('Uid').map(Number);
    const [gid, egid, sgid, fsgid] = s('Gid').map(Number);
    expect(task.creds).toMatchObject({ uid, euid, suid, fsuid, gid, egid, sgid, fsgid });
    if (isRoot) expect(uid).toBe(65534);
    const cap = (k: string) => `0x${BigInt(`0x${s(k)[0]}`).toString(16)}`;
    expect(task.creds).toMatchObject({ capInheritable: cap('CapInh'), capPermitted: cap('CapPrm'), capEffective: cap('CapEff'), capBset: cap('CapBnd') });
  });

  it('prints one line per task with the fields of /proc', async () => {
    const pid = await sleeper();
    const r = await ikc('task-diag', '--strategy', 'one', '--pid', String(pid));
    const st = statFields(pid);
    const s = (key: string) => statusField(pid, key);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(
      `pid=${pid} tgid=${pid} ppid=${st.rest[1]} pgid=${st.rest[2]} sid=${st.rest[3]} tpid=${s('TracerPid')[0]} state=${st.rest[0]} comm=sleep\n`,
    );
    const creds = (await ikc('task-diag', '--strategy', 'one', '--pid', String(pid), '--show', 'creds,base')).stdout.toString();
    expect(creds).toContain(`uid=${s('Uid')[0]} euid=${s('Uid')[1]} suid=${s('Uid')[2]} fsuid=${s('Uid')[3]} gid=${s('Gid')[0]}`);
    expect(creds).toContain(`capbnd=0x${s('CapBnd')[0]}`);
  });

  it('--raw writes bytes that parseTaskDiag reads back as the --json output', async () => {
    const pid = await sleeper();
    const sh = start('sh', ['-c', 'sleep 1000 & sleep 1000 & wait']).pid!;
    await until('two children', () => childrenOf(sh).length === 2);
    for (const args of [['--strategy', 'one', '--pid', String(pid), '--show', 'base,creds'], ['--strategy', 'children', '--pid', String(sh)]]) {
      const raw = await ikc('task-diag', ...args, '--raw');
      expect(raw.code).toBe(0);
      expect(raw.stdout.readUInt16LE(4)).toBe(0xd101); // the first nlmsg is a TASK_DIAG_CMD_GET
      const fromRaw = JSON.parse(JSON.stringify(parseTaskDiag(raw.stdout), (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));
      expect(fromRaw).toEqual(await json('task-diag', ...args));
    }
  });

  it('--strategy children lists what /proc/PID/task/PID/children lists', async () => {
    const sh = start('sh', ['-c', 'sleep 1000 & sleep 1000 & sleep 1000 & wait']).pid!;
    await until('three children', () => childrenOf(sh).length === 3);
    const tasks = await json('task-diag', '--strategy', 'children', '--pid', String(sh));
    expect(tasks.map((t) => t.pid)).toEqual(childrenOf(sh).sort((a, b) => a - b));
    for (const t of tasks) expect(t.base.ppid).toBe(sh);
  });

  it('--strategy thread lists every thread of /proc/PID/task', async () => {
    const pid = start(process.execPath, ['-e', "new (require('node:worker_threads').Worker)('setInterval(() => {}, 1000)', { eval: true }); setInterval(() => {}, 1000)"]).pid!;
    await until('a worker thread', () => readdirSync(`/proc/${pid}/task`).length > 2 && comm(pid) === 'node');
    const tids = () => readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
    let before: number[] = [];
    let got: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      before = tids();
      got = (await json('task-diag', '--strategy', 'thread', '--pid', String(pid))).map((t) => t.pid);
      if (JSON.stringify(tids()) === JSON.stringify(before)) break; // node did not start or end a thread meanwhile
    }
    expect(got).toEqual(before);
  });

  it.each(['one', 'children', 'thread'])('--strategy %s without --pid is an error', async (strategy) => {
    const r = await ikc('task-diag', '--strategy', strategy);
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/^ikc: .*--pid/);
  });

  it('--strategy one --pid <dead pid> exits 1 with ESRCH', async () => {
    const child = spawn('true', [], { stdio: 'ignore' });
    const dead = child.pid!;
    await new Promise((r) => child.once('exit', r));
    await until('the dead pid to be reaped', () => !existsSync(`/proc/${dead}`));
    const r = await ikc('task-diag', '--strategy', 'one', '--pid', String(dead));
    expect(r.code).toBe(1);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/^ikc: ESRCH/);
  });

  it('rejects unknown strategies and attribute groups', async () => {
    for (const args of [['--strategy', 'nope'], ['--show', 'base,bogus'], ['--json', '--raw']]) {
      const r = await ikc('task-diag', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      // With --json the error is JSON too.
      expect(r.stderr).toMatch(args.includes('--json') ? /^\{"error":\{"code":"EINVAL",/ : /^ikc: EINVAL: /);
    }
  });

  it('--help documents every option with examples', async () => {
    const r = await ikc('task-diag', '--help');
    const text = r.stdout.toString();
    for (const word of ['--strategy', 'all-thread', 'children', 'thread', '--pid', '--show', 'base,creds', '--ns', '--json', '--raw', 'Examples:']) {
      expect(text, word).toContain(word);
    }
  });
});

describe('ikc commands', () => {
  it('lists TASK_DIAG, a read-only command issued in a pid namespace', async () => {
    const table = await json('commands');
    expect(table).toContainEqual(expect.objectContaining({ name: 'TASK_DIAG', nsType: 'pid', readOnly: true }));
    const text = (await ikc('commands')).stdout.toString();
    const row = table.find((c) => c.name === 'TASK_DIAG')!;
    expect(text).toMatch(new RegExp(`^TASK_DIAG +0x${row.id.toString(16).padStart(8, '0')} +pid +yes$`, 'm'));
  });
});
