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
