// Errno checks shared by errors.test.ts and netns.test.ts: a closed fd number, and the code a call fails with.
import { closeSync, openSync } from 'node:fs';
import { IkcError } from '@ikc/sdk';
import { expect } from 'vitest';

/** An fd number that is closed now. Call it right before the call, so no other open can reuse the number in between. */
export function closedFd(): number {
  const fd = openSync('/proc/self/stat', 'r');
  closeSync(fd);
  return fd;
}

/** 'OK' when fn succeeds (closing the fd it returns), else the code of the IkcError it throws. */
export function codeOf(fn: () => unknown): string {
  try {
    const fd = fn();
    if (typeof fd === 'number') closeSync(fd);
    return 'OK';
  } catch (e) {
    expect(e).toBeInstanceOf(IkcError);
    const err = e as IkcError;
    expect(err.message.startsWith(err.code)).toBe(true);
    expect(err.errno).toBeGreaterThan(0);
    return err.code;
  }
}

/** The errno numbers of the codes the tests expect (Linux), 0 for 'OK'. */
export const ERRNO: Record<string, number> = { OK: 0, EPERM: 1, ENOENT: 2, ESRCH: 3, E2BIG: 7, EBADF: 9, EXDEV: 18, EINVAL: 22, EOPNOTSUPP: 95 };

/** What a call, sync or async, came to: 'OK 0' (closing the fd it gave), else
 *  'CODE ERRNO' of the IkcError it threw or rejected with (or what else it was). */
export async function outcomeOf(fn: () => unknown): Promise<string> {
  try {
    const fd = await fn();
    if (typeof fd === 'number') closeSync(fd);
    return 'OK 0';
  } catch (e) {
    if (!(e instanceof IkcError)) return `not an IkcError: ${String(e)}`;
    return `${e.code} ${e.errno}`;
  }
}
