// `ikc top -b` and `ikc watch tasks` against the kernel: a process the test
// keeps busy shows its CPU use, an idle one none; RES is its VmRSS; frames and
// columns as top -b prints them; input it cannot parse is refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IKC } from './helpers/broker.js';
import { ikc } from './helpers/cli.js';

let busy: ChildProcess;
let idle: ChildProcess;

beforeAll(() => {
  busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  idle = spawn('sleep', ['600'], { stdio: 'ignore' });
});
afterAll(() => {
  busy.kill('SIGKILL');
  idle.kill('SIGKILL');
});

const vmRssKib = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('ikc top -b', () => {
  it('prints -n frames with top’s summary and columns; a busy process uses CPU, an idle one none', async () => {
    const r = await ikc('top', '-b', '-n', '2', '-d', '0.5', '-p', `${busy.pid},${idle.pid}`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const frames = r.stdout.trim().split(/\n\n(?=top - )/);
    expect(frames).toHaveLength(2);
    for (const f of frames) {
      const lines = f.split('\n');
      expect(lines[0]).toMatch(/^top - \d\d:\d\d:\d\d up .+, {2}load average: [\d.]+, [\d.]+, [\d.]+$/);
      expect(lines[1]).toMatch(/^Tasks: +\d+ total, +\d+ running, +\d+ sleeping, +\d+ stopped, +\d+ zombie$/);
      const header = lines.indexOf('    PID USER      PR  NI    VIRT    RES S  %CPU  %MEM     TIME+ COMMAND');
      expect(header).toBeGreaterThan(1);
      const rows = lines.slice(header + 1).map((l) => l.trim().split(/\s+/));
      expect(rows.map((c) => Number(c[0]))).toEqual([busy.pid, idle.pid]); // sorted by %CPU
      const [b, s] = rows;
      // Loose: the machine may be busy; the busy loop still uses more than the sleeper, which uses none.
      expect(Number(b[7])).toBeGreaterThan(1);
      expect(Number(s[7])).toBe(0);
      expect(s[6]).toBe('S');
      expect(s[10]).toBe('sleep');
      // RES is VmRSS through procfs; the BPF backend (auto's choice on a large machine) reads the mm's counters without their per-CPU deltas.
      expect(Math.abs(Number(s[5]) - vmRssKib(idle.pid!))).toBeLessThanOrEqual(vmRssKib(idle.pid!) * 0.2);
      expect(b[9]).toMatch(/^\d+:\d\d\.\d\d$/);
    }
  });

  it('sorts by -o and filters by -u', async () => {
    const r = await ikc('top', '-b', '-n', '1', '-d', '0.2', '-o', 'PID', '-u', 'root');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const rows = lines.slice(lines.findIndex((l) => l.includes('PID USER')) + 1).filter(Boolean).map((l) => l.trim().split(/\s+/));
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.every((c) => c[1] === 'root')).toBe(true);
    const pids = rows.map((c) => Number(c[0]));
    expect(pids).toEqual([...pids].sort((a, b) => b - a));
  });

  it('refuses what it cannot parse exactly', async () => {
    for (const args of [['-o', 'bogus'], ['-d', '0'], ['-d', '2x'], ['-n', '0'], ['-p', '12x'], ['-p', ''], ['-u', 'no-such-user-here']]) {
      const r = await ikc('top', '-b', ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(/EINVAL/);
    }
  });
});

describe('ikc top on a terminal', () => {
  // `script` gives it a pseudo-terminal; the test types into it as a user would.
  const onTerminal = (keys: string | null, signal?: NodeJS.Signals): Promise<{ code: number | null; out: string }> => {
    const child = spawn('script', ['-qfec', `${process.execPath} ${IKC} top -d 0.2`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm', COLUMNS: '100', LINES: '30' } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
    return new Promise((resolve) => {
      const poll = setInterval(() => {
        // Once a frame is on the screen, quit the way the test was asked to.
        if (!out.includes('PID USER')) return;
        clearInterval(poll);
        if (keys !== null) child.stdin!.write(keys);
        if (signal) child.kill(signal);
      }, 20);
      child.once('exit', (code) => {
        clearInterval(poll);
        resolve({ code, out });
      });
    });
  };

  it('takes the alternate screen and gives it back on q', async () => {
    const r = await onTerminal('q');
    expect(r.code).toBe(0);
    expect(r.out).toContain('\x1b[?1049h');
    expect(r.out).toContain('\x1b[?25l');
    // The last thing it writes puts the terminal back: cursor shown, normal screen.
    expect(r.out.lastIndexOf('\x1b[?1049l')).toBeGreaterThan(r.out.lastIndexOf('PID USER'));
    expect(r.out).toContain('\x1b[?25h');
  });

  it('gives it back on Ctrl-C too', async () => {
    const r = await onTerminal('\x03');
    expect(r.code).toBe(0);
    expect(r.out.lastIndexOf('\x1b[?1049l')).toBeGreaterThan(r.out.lastIndexOf('PID USER'));
  });
});

describe('ikc watch tasks', () => {
  it('--json: %CPU per task like pidstat, the busy one busy', async () => {
    const r = await ikc('watch', 'tasks', '-n', '0.3', '--count', '2', '-p', `${busy.pid},${idle.pid}`, '--json');
    expect(r.code).toBe(0);
    const samples = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(samples).toHaveLength(2);
    for (const s of samples) {
      const byPid = new Map(s.tasks.map((t: { pid: number }) => [t.pid, t]));
      expect((byPid.get(busy.pid) as { cpu_percent: number }).cpu_percent).toBeGreaterThan(1);
      expect((byPid.get(idle.pid) as { cpu_percent: number }).cpu_percent).toBe(0);
      expect((byPid.get(idle.pid) as { cpu_percent: number; comm: string }).comm).toBe('sleep');
    }
  });
});
