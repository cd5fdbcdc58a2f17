// Bad input gets its documented errno, through the raw call and the SDK alike,
// and leaves nothing behind: the caller's count of open fds is unchanged.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CURRENT_NETNS,
  CURRENT_PIDNS,
  encodeTaskDiagRequest,
  GLOBAL,
  issueKernelCommand,
  issueKernelCommandAsync,
  READ_ONLY,
  TASK_DIAG,
  taskDiag,
  taskDiagSync,
} from '@ikc/sdk';
import { closedFd, codeOf } from './helpers/errno.js';
import { openFds, ROOT } from './helpers/fixture.js';

const good = () => encodeTaskDiagRequest({ strategy: 'one', pid: process.pid });

/** A request with fields set by hand: [nlmsg_len, type, flags, show, strategy, pid]. */
function request(o: { len?: number; type?: number; flags?: number; show?: bigint; strategy?: bigint; pid?: number; extra?: number } = {}): Buffer {
  const b = Buffer.alloc(40 + (o.extra ?? 0));
  b.writeUInt32LE(o.len ?? b.length, 0);
  b.writeUInt16LE(o.type ?? 0xd101, 4);
  b.writeUInt16LE(o.flags ?? 0x301, 6);
  b.writeBigUInt64LE(o.show ?? 1n, 16);
  b.writeBigUInt64LE(o.strategy ?? 1n, 24);
  b.writeUInt32LE(o.pid ?? process.pid, 32);
  return b;
}

/** `b` with byte `at` set to 1. */
const dirty = (b: Buffer, at: number) => {
  b[at] = 1;
  return b;
};

const call = (ns: number, command: number, iov: Buffer[], flags = 0) => () => issueKernelCommand(ns, command, iov, flags);

describe('bad input', () => {
  it('each case gives its errno and no fd is left open', () => {
    const netns = openSync('/proc/self/ns/net', 'r');
    const file = openSync('/proc/self/stat', 'r');
    const fdsBefore = openFds().length;

    const cases: Array<[string, () => unknown, string]> = [
      ['valid request', call(CURRENT_PIDNS, TASK_DIAG, [good()]), 'OK'],
      ['valid request split across three buffers', call(CURRENT_PIDNS, TASK_DIAG, [good().subarray(0, 3), good().subarray(3, 30), good().subarray(30)]), 'OK'],
      ['unknown command', call(CURRENT_PIDNS, READ_ONLY | 0x7777, [good()]), 'EINVAL'],
      ['task_diag without the read-only bit', call(CURRENT_PIDNS, TASK_DIAG & ~READ_ONLY, [good()]), 'EINVAL'],
      ['unknown flag', call(CURRENT_PIDNS, TASK_DIAG, [good()], 4), 'EINVAL'],
      ['both backend flags', call(CURRENT_PIDNS, TASK_DIAG, [good()], 3), 'EINVAL'],
      ['procfs backend flag', call(CURRENT_PIDNS, TASK_DIAG, [good()], 1), 'OK'],
      ['high flag bit', call(CURRENT_PIDNS, TASK_DIAG, [good()], 0x80000000), 'EINVAL'],
      ['network namespace fd', call(netns, TASK_DIAG, [good()]), 'EINVAL'],
      ['CURRENT_NETNS for a pid command', call(CURRENT_NETNS, TASK_DIAG, [good()]), 'EINVAL'],
      ['regular file as namespace', call(file, TASK_DIAG, [good()]), 'EINVAL'],
      ['closed fd', () => issueKernelCommand(closedFd(), TASK_DIAG, [good()]), 'EBADF'],
      ['negative fd that is no sentinel', call(-1, TASK_DIAG, [good()]), 'EBADF'],
      ['no request at all', call(CURRENT_PIDNS, TASK_DIAG, []), 'EINVAL'],
      ['truncated request', call(CURRENT_PIDNS, TASK_DIAG, [good().subarray(0, 39)]), 'EINVAL'],
      ['header only', call(CURRENT_PIDNS, TASK_DIAG, [good().subarray(0, 16)]), 'EINVAL'],
      ['nlmsg_len larger than the bytes', call(CURRENT_PIDNS, TASK_DIAG, [request({ len: 400 })]), 'EINVAL'],
      ['trailing bytes after nlmsg_len', call(CURRENT_PIDNS, TASK_DIAG, [request({ len: 40, extra: 8 })]), 'EINVAL'],
      ['task_diag_pid padded as the reference selftest pads it (28 bytes, zero tail)', call(CURRENT_PIDNS, TASK_DIAG, [request({ extra: 4 })]), 'OK'],
      ['longer task_diag_pid, zero tail', call(CURRENT_PIDNS, TASK_DIAG, [request({ extra: 8 })]), 'OK'],
      ['longer task_diag_pid, a non-zero byte in the tail', call(CURRENT_PIDNS, TASK_DIAG, [dirty(request({ extra: 8 }), 45)]), 'E2BIG'],
      ['task_diag_pid whose own padding is not zero (ignored, as C leaves it)', call(CURRENT_PIDNS, TASK_DIAG, [dirty(request(), 37)]), 'OK'],
      ['wrong nlmsg_type', call(CURRENT_PIDNS, TASK_DIAG, [request({ type: 0x10 })]), 'EINVAL'],
      ['unknown nlmsg_flags', call(CURRENT_PIDNS, TASK_DIAG, [request({ flags: 0x305 })]), 'EINVAL'],
      ['unknown show bit', call(CURRENT_PIDNS, TASK_DIAG, [request({ show: 1n << 33n })]), 'EINVAL'],
      ['VMA group (defined, not implemented)', call(CURRENT_PIDNS, TASK_DIAG, [request({ show: 4n })]), 'EOPNOTSUPP'],
      ['unknown strategy', call(CURRENT_PIDNS, TASK_DIAG, [request({ strategy: 9n })]), 'EINVAL'],
      ['huge strategy', call(CURRENT_PIDNS, TASK_DIAG, [request({ strategy: 1n << 63n })]), 'EINVAL'],
      ['ONE without a pid', call(CURRENT_PIDNS, TASK_DIAG, [request({ pid: 0 })]), 'EINVAL'],
      ['pid that does not exist', call(CURRENT_PIDNS, TASK_DIAG, [request({ pid: 4_000_000 })]), 'ESRCH'],
      ['huge request', call(CURRENT_PIDNS, TASK_DIAG, [Buffer.alloc(1 << 20)]), 'EINVAL'],
      ['SDK: unknown strategy name', () => taskDiagSync({ strategy: 'sideways' as never }), 'EINVAL'],
      ['SDK: unknown group name', () => taskDiagSync({ show: ['vma' as never] }), 'EINVAL'],
      ['SDK: namespace path that does not exist', () => taskDiagSync({ ns: '/nonexistent/ns/pid' }), 'ENOENT'],
      ['SDK: net namespace path', () => taskDiagSync({ ns: '/proc/self/ns/net' }), 'EINVAL'],
    ];
    const got = cases.map(([name, fn]) => [name, codeOf(fn)]);
    expect(got).toEqual(cases.map(([name, , code]) => [name, code]));
    expect(openFds().length).toBe(fdsBefore);
    closeSync(netns);
    closeSync(file);
  });

  it('async calls reject with the same codes', async () => {
    await expect(issueKernelCommandAsync(CURRENT_NETNS, TASK_DIAG, [good()])).rejects.toMatchObject({ code: 'EINVAL', errno: 22 });
    await expect(taskDiag({ strategy: 'one', pid: 4_000_000 })).rejects.toMatchObject({ code: 'ESRCH', errno: 3 });
    await expect(taskDiag({ ns: 99999 })).rejects.toMatchObject({ code: 'EBADF' });
    await expect(issueKernelCommandAsync(CURRENT_PIDNS, TASK_DIAG, [dirty(request({ extra: 4 }), 43)])).rejects.toMatchObject({ code: 'E2BIG', errno: 7 });
  });

  it('GLOBAL works in the initial pid namespace and is EPERM from a child one', () => {
    expect(codeOf(call(GLOBAL, TASK_DIAG, [good()]))).toBe('OK');
    if (process.getuid?.() !== 0) return;
    const script = `
      import { GLOBAL, CURRENT_PIDNS, TASK_DIAG, issueKernelCommand, encodeTaskDiagRequest } from '@ikc/sdk';
      const req = encodeTaskDiagRequest({ strategy: 'all' });
      const out = {};
      for (const [name, ns] of [['global', GLOBAL], ['current', CURRENT_PIDNS]]) {
        try { issueKernelCommand(ns, TASK_DIAG, [req]); out[name] = 'OK'; } catch (e) { out[name] = e.code; }
      }
      console.log(JSON.stringify(out));`;
    const out = execFileSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    expect(JSON.parse(out)).toEqual({ global: 'EPERM', current: 'OK' });
  });
});
