// The hidepid=2 oracle: runs test/scripts/hidepid-viewer.mjs in a private mount
// namespace, where it mounts a fresh hidepid=2 procfs, becomes another uid and
// lists what that procfs and ikc (in-process or through a broker) show it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ROOT } from './fixture.js';

export interface ViewerReport {
  self: number;
  before: number[];
  ikc: number[];
  after: number[];
  threadsBefore: string[];
  ikcThreads: string[];
  threadsAfter: string[];
}

export function runViewer(uid: number, gid: number, broker?: string, backend = 'auto'): ViewerReport {
  const dir = mkdtempSync(join(tmpdir(), 'ikc-hidepid-'));
  try {
    const out = execFileSync(
      'unshare',
      ['--mount', '--propagation', 'private', process.execPath, join(ROOT, 'test/scripts/hidepid-viewer.mjs'), dir, String(uid), String(gid), broker ?? '', backend],
      { encoding: 'utf8', cwd: ROOT },
    );
    return JSON.parse(out) as ViewerReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Items the kernel listed both before and after ikc ran. */
export const stable = <T>(a: T[], b: T[]) => a.filter((x) => b.includes(x));


/** Everything the kernel showed throughout, ikc shows; ikc shows nothing the kernel hid. */
export function expectSameAsKernel(r: ViewerReport): void {
  const kernel = stable(r.before, r.after);
  // Everything the kernel showed throughout, ikc shows; ikc shows nothing the kernel hid.
  for (const pid of kernel) expect(r.ikc, `pid ${pid} visible in hidepid=2 procfs`).toContain(pid);
  for (const pid of r.ikc) expect([...r.before, ...r.after], `pid ${pid} hidden by hidepid=2 procfs`).toContain(pid);
  const kernelThreads = stable(r.threadsBefore, r.threadsAfter);
  for (const t of kernelThreads) expect(r.ikcThreads).toContain(t);
  for (const t of r.ikcThreads) expect([...r.threadsBefore, ...r.threadsAfter]).toContain(t);
}
