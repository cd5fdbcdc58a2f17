// Rows S40 (SECURITY.md promise 40): the BPF iterator links a root `ikc` keeps
// pinned in bpffs (crates/ikc-core/src/backend/bpf/pin.rs) give nobody else
// anything. Reading a pinned iterator shows every task of the system, so the
// pins live in a directory only root can enter; a pin is used only after the
// directory and the link are checked. The oracles: the kernel's permission
// check for an unprivileged uid, and strace (a BPF_PROG_LOAD means the pin was
// not used). Each test uses its own directory (IKC_BPF_PIN_DIR), removed after.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { ROOT } from '../helpers/fixture.js';
import { row } from '../helpers/security.js';

const BPF_FS_MAGIC = 0xcafe4a11;
const bpffs = (() => {
  try {
    return statfsSync('/sys/fs/bpf').type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
})();
const canPin = process.getuid?.() === 0 && existsSync('/sys/kernel/btf/vmlinux') && bpffs;
const hasStrace = spawnSync('strace', ['-V']).status === 0;
const DIR = `/sys/fs/bpf/ikc-sec-${process.pid}`;
const CLI = join(ROOT, 'packages/cli/bin/ikc.js');

afterAll(() => {
  if (existsSync(DIR)) {
    chmodSync(DIR, 0o700);
    rmSync(DIR, { recursive: true, force: true });
  }
});

/** `ikc ps` as root with the test's pin directory; its stdout. */
function ikcPs(args: string[], env: Record<string, string> = {}): string {
  return execFileSync(process.execPath, [CLI, 'ps', ...args, '--backend', 'bpf'], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, IKC_BPF_PIN_DIR: DIR, ...env } });
}

/** How many programs a root `ikc ps -e` loads (BPF_PROG_LOAD calls strace sees). */
function programLoads(): number {
  const log = join(mkdtempSync(join(tmpdir(), 'ikc-strace-')), 'log');
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=bpf', '-o', log, process.execPath, CLI, 'ps', '-e', '-o', 'pid', '--backend', 'bpf'], {
    stdio: 'ignore',
    env: { ...process.env, IKC_BPF_PIN_DIR: DIR },
  });
  if (r.status !== 0) throw new Error(`strace ikc ps: status ${r.status}`);
  const loads = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('BPF_PROG_LOAD')).length;
  rmSync(dirname(log), { recursive: true, force: true });
  return loads;
}

/** What uid 65534 gets opening the pin directory and a pin in it: an errno name or 'opened'. */
function asNobody(path: string): string {
  const script = `
    const fs = require('node:fs');
    process.setgroups([]); process.setgid(65534); process.setuid(65534);
    const what = [];
    for (const f of [() => fs.readdirSync(${JSON.stringify(DIR)}), () => fs.closeSync(fs.openSync(${JSON.stringify(path)}, 'r'))]) {
      try { f(); what.push('opened'); } catch (e) { what.push(e.code); }
    }
    console.log(what.join(' '));`;
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: '/' }).trim();
}

const pins = () => readdirSync(DIR).sort();

describe.skipIf(!canPin)('S40: the pinned BPF iterator is root\'s alone', () => {
  it('made on first use in a 0700 root directory, which uid 65534 cannot enter', () => {
    rmSync(DIR, { recursive: true, force: true });
    ikcPs(['-e', '-o', 'pid']);
    ikcPs(['-eL', '-o', 'pid,lwp']);
    const st = statSync(DIR);
    row({ id: 'S40', scenario: 'a root ikc ps -e and -eL: the pin directory', expected: 'uid 0, mode 0700, 2 pins', observed: `uid ${st.uid}, mode 0${(st.mode & 0o7777).toString(8)}, ${pins().length} pins` });
    row({ id: 'S40', scenario: 'uid 65534 lists the pin directory and opens a pinned iterator (which would show every task)', expected: 'EACCES EACCES', observed: asNobody(join(DIR, pins()[0])) });
  });

  it.skipIf(!hasStrace)('used only while checked: a pin in a directory others may enter is not used', () => {
    ikcPs(['-e', '-o', 'pid']);
    row({ id: 'S40', scenario: 'control: root ikc ps -e with the pins in place (strace: BPF_PROG_LOAD calls)', expected: '0 program loads', observed: `${programLoads()} program loads` });
    chmodSync(DIR, 0o755);
    const loads = programLoads();
    chmodSync(DIR, 0o700);
    row({ id: 'S40', scenario: 'the pin directory made mode 0755: root ikc ps -e', expected: 'program loaded, pin not used', observed: loads > 0 ? 'program loaded, pin not used' : 'pin used' });
  });

  it('a pin that is not what its name says is removed, not used: the two modes\' links swapped', () => {
    ikcPs(['-eL', '-o', 'pid']);
    const [leaders, threads] = ['leaders', 'threads'].map((m) => pins().find((p) => p.includes(`-${m}-`))!);
    renameSync(join(DIR, leaders), join(DIR, 'swap'));
    renameSync(join(DIR, threads), join(DIR, leaders));
    renameSync(join(DIR, 'swap'), join(DIR, threads));
    // Through the swapped names, ALL would list every thread and ALL_THREAD leaders alone.
    const all = ikcPs(['-e', '-o', 'pid=,lwp=']).trim().split('\n').map((l) => l.trim().split(/\s+/));
    const threadsOut = ikcPs(['-eL', '-o', 'pid=,lwp=']).trim().split('\n').map((l) => l.trim().split(/\s+/));
    const observed = [
      all.every(([p, l]) => p === l) ? 'ALL lists leaders' : 'ALL lists threads',
      threadsOut.some(([p, l]) => p !== l) ? 'ALL_THREAD lists threads' : 'ALL_THREAD lists leaders only',
      pins().includes('swap') ? 'swap pin kept' : `${pins().length} pins`,
    ].join(', ');
    row({ id: 'S40', scenario: 'the leaders and threads pins renamed into each other\'s places, then root ikc ps -e and -eL', expected: 'ALL lists leaders, ALL_THREAD lists threads, 2 pins', observed });
  });
});
