// The response fd: read-only, close-on-exec, a regular file, unwritable, and a
// snapshot that reads the same in another process, even one with another uid.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTaskDiag, taskDiagFd } from '@ikc/sdk';
import { fdFlags, O_CLOEXEC, preadAll } from './helpers/fd.js';

let fd = -1;
afterEach(() => {
  if (fd >= 0) closeSync(fd);
  fd = -1;
});

const O_ACCMODE = 0o3;

describe('response fd', () => {
  it('is a sealed memfd opened read-only and close-on-exec', () => {
    fd = taskDiagFd({ strategy: 'all' });
    expect(fstatSync(fd).isFile()).toBe(true);
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/^\/memfd:ikc-response/);
    expect(fdFlags(fd) & O_ACCMODE).toBe(0);
    expect(fdFlags(fd) & O_CLOEXEC).toBe(O_CLOEXEC);
  });

  it('cannot be written', () => {
    fd = taskDiagFd({ strategy: 'one', pid: process.pid });
    const before = preadAll(fd);
    expect(() => writeSync(fd, Buffer.from('x'), 0, 1, 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(preadAll(fd)).toEqual(before);
  });

  it('does not leak into a program started with exec', () => {
    fd = taskDiagFd({ strategy: 'all' });
    const listing = execFileSync('sh', ['-c', 'ls -l /proc/self/fd/'], { encoding: 'utf8' });
    expect(listing).not.toContain('ikc-response');
  });

  it('reads the same bytes in a child it is passed to, also under another uid', () => {
    fd = taskDiagFd({ strategy: 'all', show: ['base', 'creds'] });
    const mine = preadAll(fd);
    expect(parseTaskDiag(mine).length).toBeGreaterThan(5);
    const asRoot = spawnSync('cat', [], { stdio: [fd, 'pipe', 'inherit'], maxBuffer: 1 << 30 });
    expect(asRoot.stdout).toEqual(mine);
    if (process.getuid?.() === 0) {
      // Rewind: the child's reads moved the shared offset.
      readSync(fd, Buffer.alloc(0), 0, 0, 0);
      const again = taskDiagFd({ strategy: 'all', show: ['base', 'creds'] });
      const bytes = preadAll(again);
      const asNobody = spawnSync('cat', [], { stdio: [again, 'pipe', 'inherit'], uid: 65534, gid: 65534, maxBuffer: 1 << 30 });
      closeSync(again);
      expect(asNobody.status).toBe(0);
      expect(asNobody.stdout).toEqual(bytes);
    }
  });
});
