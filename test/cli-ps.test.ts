// `ikc ps` against procps ps: the same processes, headers, widths and rows,
// with real processes (sleep, sh, node threads) spawned and killed per test.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IKC } from './helpers/broker.js';
import { childrenOf } from './helpers/fixture.js';
import { cliSuiteHooks, comm, read, sleeper, start, until } from './helpers/procs.js';

const isRoot = process.getuid?.() === 0;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
const ikc = (...args: string[]) => run(process.execPath, [IKC, ...args]);
const ps = (...args: string[]) => run('ps', args);

cliSuiteHooks();

/** pid -> ppid from `ps -o pid,ppid`-shaped output without header. */
function pidMap(text: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of text.trim().split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    m.set(pid, ppid);
  }
  return m;
}

describe('ikc ps selection', () => {
  it('-e -o pid,ppid agrees with ps ax on every process that lives through both ps runs', async () => {
    const sleepPid = await sleeper();
    const before = await ps('ax', '-o', 'pid=,ppid=');
    const mine = await ikc('ps', '-e', '-o', 'pid,ppid');
    const after = await ps('ax', '-o', 'pid=,ppid=');
    expect(mine.code).toBe(0);
    const [header, ...rows] = mine.stdout.trimEnd().split('\n');
    expect(header).toBe((await ps('-o', 'pid,ppid', '-p', '1')).stdout.split('\n')[0]);
    const a = pidMap(before.stdout);
    const b = pidMap(after.stdout);
    const got = pidMap(rows.join('\n'));
    const stable = [...a].filter(([pid, ppid]) => b.get(pid) === ppid);
    expect(stable.map(([pid]) => pid)).toContain(sleepPid);
    expect(stable.length).toBeGreaterThan(1);
    for (const [pid, ppid] of stable) expect([pid, got.get(pid)]).toEqual([pid, ppid]);
  });

  it('-A, ax and axh select the same processes as -e', async () => {
    const sleepPid = await sleeper();
    const pidsOf = (r: Run) => r.stdout.trim().split('\n').map(Number);
    for (const args of [['-A'], ['ax'], ['axh'], ['-e', '--no-headers']]) {
      const r = await ikc('ps', ...args, '-o', 'pid=');
      expect(r.code, args.join(' ')).toBe(0);
      expect(pidsOf(r)).toContain(1);
      expect(pidsOf(r)).toContain(sleepPid);
    }
    const axh = await ikc('ps', 'axh', '-o', 'pid,comm');
    const line1 = (await ps('h', '-p', '1', '-o', 'pid,comm')).stdout;
    expect(axh.stdout.startsWith(line1)).toBe(true);
  });

  it('--ppid matches ps --ppid for the children of a shell', async () => {
    const sh = start('sh', ['-c', 'sleep 1000 & sleep 1000 & wait']);
    await until('two sleeping children', () => childrenOf(sh.pid!).filter((k) => comm(k) === 'sleep').length === 2);
    const expected = await ps('--ppid', String(sh.pid), '-o', 'pid,ppid,pgid,state,comm');
    const got = await ikc('ps', '--ppid', String(sh.pid), '-o', 'pid,ppid,pgid,state,comm');
    expect(expected.stdout.trim().split('\n')).toHaveLength(3);
    expect(got).toEqual(expected);
  });

  it('-p takes comma and space lists and repeats, like ps', async () => {
    const [a, b, c] = [await sleeper(), await sleeper(), await sleeper()];
    const o = ['-o', 'pid,ppid,comm'];
    for (const args of [['-p', `${a},${b}`, '-p', String(c), ...o], ['-p', `${c} ${a}`, ...o], ['--pid', String(b), ...o], [...o, String(a)]]) {
      const expected = await ps(...args);
      expect(expected.code).toBe(0);
      expect(await ikc('ps', ...args), args.join(' ')).toEqual(expected);
    }
  });

  it('-p of a dead pid prints the header and exits 1, as ps does', async () => {
    const child = start('sleep', ['1000']);
    const dead = child.pid!;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await until('the dead pid to be reaped', () => !existsSync(`/proc/${dead}`));
    const expected = await ps('-p', String(dead), '-o', 'pid,comm');
    expect(expected.code).toBe(1);
    expect(await ikc('ps', '-p', String(dead), '-o', 'pid,comm')).toEqual({ ...expected, stderr: '' });
    const mixed = await ps('-p', `1,${dead}`, '-o', 'pid,comm');
    expect(await ikc('ps', '-p', `1,${dead}`, '-o', 'pid,comm')).toEqual(mixed);
  });

  it('without a selection lists what ps lists: its euid and its terminal (here none)', async () => {
    // A new session without a terminal: sh starts a sleep, waits for it to exec, then runs ps and ikc.
    const script = `sleep 1000 & while [ "$(cat /proc/$!/comm)" != sleep ]; do :; done; ps -o pid,tty,comm; echo ---; "${process.execPath}" "${IKC}" ps -o pid,tty,comm; echo ---; ps -o pid,tty,comm`;
    const sh = start('setsid', ['sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    sh.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => sh.once('exit', r));
    try {
      process.kill(-sh.pid!, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
    const [theirs, mine, after] = out.split('---\n').map((t) => t.trimEnd().split('\n'));
    expect(mine[0]).toBe(theirs[0]);
    const pidsOf = (lines: string[]) => lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
    // Every process ps listed that is still there when ikc ran (ps itself is not), ikc lists with the same row.
    // Workers rename themselves as they work; ps itself is gone when ikc runs.
    const steady = theirs.slice(1).filter((l) => after.includes(l) && !l.includes('kworker/') && !/ ps$/.test(l));
    expect(steady.filter((l) => !mine.includes(l))).toEqual([]);
    expect(pidsOf(mine)).toContain(sh.pid);
    expect(mine.slice(1).every((l) => / \? /.test(l))).toBe(true);
  });
});

describe('ikc ps columns', () => {
  const lists = [
    'pid', 'pid,ppid', 'ppid,pid', 'pid,comm', 'comm,pid', 'user,pid', 'pid,user,group,comm', 'pgid,pgrp,sid,sess,session',
    'lwp,tid,spid,tgid', 'nlwp,thcount,pid', 's,state,comm', 'uid,euid,ruid,suid,svuid,fsuid,fuid',
    'gid,egid,rgid,sgid,svgid,fsgid,fgid', 'user,euser,uname,ruser,suser,svuser,fuser,fsuser',
    'group,egroup,rgroup,sgroup,svgroup,fgroup,fsgroup', 'ucmd,ucomm,comm', 'fname,pid', 'pid,fname',
    'pid=A,ppid=', 'user=XX,ruser=,pid', 'comm:3,pid', 'pid:9,comm,ppid', 'user:4,pid', 'pid,user:4',
    'comm=A-LONG-HEADER-FOR-COMM,pid', 'pid= comm=',
  ];

  it('prints the same header and row as ps -o LIST -p 1 for many lists', async () => {
    for (const list of lists) {
      const expected = await ps('-o', list, '-p', '1');
      expect(await ikc('ps', '-o', list, '-p', '1'), list).toEqual(expected);
    }
  });

  it('prints the same rows as ps for a spawned sleep, renames included', async () => {
    const pid = String(await sleeper());
    for (const list of [
      'pid,ppid,pgid,sid,tgid,state,comm,uid,gid,euid,user',
      'pid=PROCESS,ppid=,comm=NAME,user=WHO',
      'comm,pid,user,group,ruid',
      ...lists,
    ]) {
      expect(await ikc('ps', '-p', pid, '-o', list), list).toEqual(await ps('-p', pid, '-o', list));
    }
  });

  it('lays out cut and overflowing columns like ps under COLUMNS', async () => {
    const pid = String(await sleeper());
    for (const cols of ['1', '12', '20', '30']) {
      const env = { ...process.env, COLUMNS: cols };
      for (const list of ['user,comm', 'pid,comm,ppid,user', 'comm,user', 'pid,user']) {
        const expected = await run('ps', ['-o', list, '-p', `1,${pid}`], env);
        const got = await run(process.execPath, [IKC, 'ps', '-o', list, '-p', `1,${pid}`], env);
        expect(got.stdout, `COLUMNS=${cols} ${list}`).toBe(expected.stdout);
      }
    }
  });

  it('repeats -o and joins its lists like ps', async () => {
    const pid = String(await sleeper());
    const args = ['-p', pid, '-o', 'pid', '-o', 'comm ppid', '-o', 'state'];
    expect(await ikc('ps', ...args)).toEqual(await ps(...args));
  });

  it('--no-headers, --no-heading, -h and h drop the header as ps does', async () => {
    const pid = String(await sleeper());
    const expected = await ps('--no-headers', '-p', pid, '-o', 'pid,ppid,comm');
    expect(expected.stdout.trim().split('\n')).toHaveLength(1);
    for (const flag of ['--no-headers', '--no-heading', '-h', 'h']) {
      expect(await ikc('ps', flag, '-p', pid, '-o', 'pid,ppid,comm'), flag).toEqual(expected);
    }
  });

  it('--json gives objects keyed by canonical column name (ps(1): uid is euid), numbers as numbers, values as ps prints them', async () => {
    const pid = await sleeper();
    const r = await ikc('ps', '-p', String(pid), '-o', 'pid,ppid,sid,state,comm=NAME,uid,user', '--json');
    expect(r.code).toBe(0);
    const [psLine] = (await ps('h', '-p', String(pid), '-o', 'pid,ppid,sid,state,comm,uid,user')).stdout.trim().split('\n');
    const [p, pp, sid, state, name, uid, user] = psLine.trim().split(/\s+/);
    expect(JSON.parse(r.stdout)).toEqual([
      { pid: Number(p), ppid: Number(pp), sess: Number(sid), s: state, comm: name, euid: Number(uid), euser: user },
    ]);
  });
});

describe.skipIf(!isRoot)('ikc ps user and group names (needs root to spawn as other users)', () => {
  const passwd = read('/etc/passwd').split('\n').map((l) => l.split(':')).filter((f) => f.length > 3);
  const longest = passwd.reduce((a, b) => (b[0].length > a[0].length ? b : a));

  for (const [label, uid, gid] of [
    ['nobody-ish 65534', 65534, 65534],
    [`the longest name (${longest[0]})`, Number(longest[2]), Number(longest[3])],
    ['an unknown uid', 54321, 54321],
  ] as const) {
    it(`prints ${label} like ps`, async () => {
      const pid = String(await sleeper({ uid, gid }));
      for (const list of ['pid,user,group,comm', 'user,ruser,pid', 'pid,comm,user', 'pid,uid,euser,fsuser,egroup,fsgroup', 'pid,user=A-WIDE-USER-HEADER,group:3']) {
        expect(await ikc('ps', '-p', pid, '-o', list), `${label}: ${list}`).toEqual(await ps('-p', pid, '-o', list));
      }
    });
  }
});

if (!isRoot) console.warn('cli-ps: not root: the user-name tests are skipped (on CI they run)');

describe('ikc ps -L', () => {
  /** A node process with named worker threads that stay idle. */
  async function threaded(): Promise<number> {
    const src = `
      const { Worker } = require('node:worker_threads');
      const body = "require('node:fs').writeFileSync('/proc/thread-self/comm', 'ikc-w' + require('node:worker_threads').workerData); setInterval(() => {}, 1000)";
      for (let i = 0; i < 3; i++) new Worker(body, { eval: true, workerData: i });
      setInterval(() => {}, 1000);`;
    const pid = start(process.execPath, ['-e', src]).pid!;
    const names = () => readdirSync(`/proc/${pid}/task`).map((t) => read(`/proc/${pid}/task/${t}/comm`).trim());
    await until('three named workers', () => names().filter((n) => n.startsWith('ikc-w')).length === 3);
    return pid;
  }

  it('-L -p PID matches ps thread for thread, comms included', async () => {
    const pid = String(await threaded());
    const sorted = (r: Run) => r.stdout.trimEnd().split('\n').sort();
    let expected: string[] = [];
    let got: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      // Node may start or end a helper thread between the runs: retry until ps agrees with itself.
      const a = await ps('-L', '-p', pid, '-o', 'pid,lwp,comm,nlwp');
      got = sorted(await ikc('ps', '-L', '-p', pid, '-o', 'pid,lwp,comm,nlwp'));
      expected = sorted(a);
      if (JSON.stringify(sorted(await ps('-L', '-p', pid, '-o', 'pid,lwp,comm,nlwp'))) === JSON.stringify(expected)) break;
    }
    expect(got.filter((l) => l.includes('ikc-w'))).toHaveLength(3);
    expect(got).toEqual(expected);
  });

  it('-eL lists the same threads of that process as ps -eL, with the -L default format', async () => {
    const pid = await threaded();
    const rowsOf = (r: Run) => r.stdout.trimEnd().split('\n').filter((l) => Number(l.trim().split(/\s+/)[0]) === pid);
    const expected = rowsOf(await ps('-eL', '-o', 'pid,lwp,state,comm'));
    const mine = await ikc('ps', '-eL');
    expect(mine.stdout.split('\n')[0]).toBe((await ps('-L', '-p', '1', '-o', 'pid,lwp,state,comm')).stdout.split('\n')[0]);
    expect(rowsOf(mine).map((l) => l.replace(/ [RS] /, ' ? '))).toEqual(expected.map((l) => l.replace(/ [RS] /, ' ? ')));
  });

  it('-p of a thread id that is not a process selects nothing, as ps', async () => {
    const pid = await threaded();
    const tid = readdirSync(`/proc/${pid}/task`).map(Number).find((t) => t !== pid)!;
    for (const args of [['-p', String(tid)], ['-L', '-p', String(tid)]]) {
      const expected = await ps(...args, '-o', 'pid,lwp');
      expect(expected.code).toBe(1);
      expect(await ikc('ps', ...args, '-o', 'pid,lwp'), args.join(' ')).toEqual(expected);
    }
  });
});

describe('ikc ps errors and help', () => {
  it.each([
    [['-o', 'pid,wchan'], 'wchan'],
    [['-o', 'pid,bogus'], 'bogus'],
    [['-o', 'exe'], 'exe'],
    [['-l'], '-l'],
    [['-u', 'no-such-user-here'], 'no-such-user-here'],
    [['axv'], "'v'"],
    [['-f', '-j'], '-j'],
    [['--bogus-flag'], 'bogus-flag'],
  ])('ps %j exits 2 (a refused command line) and names %s', async (args, name) => {
    const r = await ikc('ps', ...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ikc: E[A-Z]+: /);
    expect(r.stderr).toContain(name);
  });

  it('lists the supported columns when a column is not available', async () => {
    const r = await ikc('ps', '-o', 'pid,wchan');
    expect(r.stderr).toContain('supported: pid,');
    expect(r.stderr).toContain('tpid');
  });

  it('--help mentions every option, the default format and the default selection', async () => {
    const r = await ikc('ps', '--help');
    expect(r.code).toBe(0);
    for (const word of ['-e', '-A', '-p', '--pid', '--ppid', '-L', '-o', '--format', '--no-headers', '--no-heading', '--json', '--ns', '-w', 'ax', "'h'", 'pid,ppid,state,comm', 'pid,lwp,state,comm', 'session', 'tpid']) {
      expect(r.stdout, word).toContain(word);
    }
  });
});
