// `ikc ps` with the columns STAT, PS, CMDLINE and NAME feed (args, %cpu, %mem,
// rss, vsz, tty, stat, time, etime, start, ...) and the formats and selections
// built on them (aux, -ef, -F, -j, -C, -u, -t), against procps ps on processes
// this test spawns: identical rows for what does not move between two reads.
import { describe, expect, it } from 'vitest';
import { ikc, run } from './helpers/cli.js';
import { cliSuiteHooks, quiet, read, sleeper, start, until } from './helpers/procs.js';

const ps = (...args: string[]) => run('ps', args);

cliSuiteHooks();

/** A process started and settled (its comm is `comm`). */
async function settled(cmd: string, args: string[], comm: string): Promise<number> {
  const pid = start(cmd, args).pid!;
  await until(`${cmd} to settle`, () => read(`/proc/${pid}/comm`).trim() === comm);
  return pid;
}

describe('ikc ps columns from STAT, PS, CMDLINE and NAME', () => {
  it('-o LIST -p PID prints what ps prints, for lists that do not move between two reads', async () => {
    const pid = await sleeper();
    const nice = await settled('nice', ['-n', '7', 'sleep', '1000'], 'sleep');
    await quiet(pid);
    await quiet(nice);
    const lists = [
      'pid,args', 'pid,cmd', 'pid,command', 'args,pid', 'pid,vsz,rss,sz,rsz', 'pid,tty,tt,tname,tpgid', 'pid,stat',
      'pid,time,cputime,bsdtime', 'pid,start,start_time,stime,lstart', 'pid,ni,nice,pri,cls,rtprio,f',
      'pid,user,pid,%mem,vsz,rss,tname,stat,bsdtime,args', 'pid,comm,args,fname', 'pid,majflt,minflt',
    ];
    for (const list of lists) {
      for (const p of [pid, nice]) {
        const theirs = await ps('-o', list, '-p', String(p));
        expect(await ikc('ps', '-o', list, '-p', String(p)), `${list} of ${p}`).toEqual(theirs);
      }
    }
  });

  it('args of an empty, a long and a non-UTF-8 argument vector; kernel threads in brackets with their whole names', async () => {
    const long = 'x'.repeat(40_000);
    const bash = start('bash', ['-c', 'sleep 1000; :', 'name', '', long, 'end']).pid!;
    await until('bash to run sleep', () => read(`/proc/${bash}/cmdline`).includes('end'));
    const bad = start('bash', ['-c', 'exec -a "$(printf "b\\xffd")" sleep 1000']).pid!;
    await until('the renamed sleep', () => read(`/proc/${bad}/comm`).trim() === 'sleep');
    const controls = start('bash', ['-c', 'sleep 1000; :', 'new\nline', 'tab\there', 'bell\x07']).pid!;
    await until('bash to run sleep', () => read(`/proc/${controls}/cmdline`).includes('bell'));
    for (const p of [bash, bad, controls, 2]) {
      const theirs = await ps('ww', '-o', 'pid,args', '-p', String(p));
      expect(await ikc('ps', '-ww', '-o', 'pid,args', '-p', String(p)), `args of ${p}`).toEqual(theirs);
    }
    // Kernel threads and workers whose names pass 15 bytes, as ps -e -o pid,comm,args prints them.
    const theirs = (await ps('-e', '-o', 'pid=,comm=,args=')).stdout.split('\n').filter((l) => /\[kworker\/|\[kthreadd\]/.test(l));
    const mine = new Set((await ikc('ps', '-e', '-o', 'pid=,comm=,args=')).stdout.split('\n'));
    const stable = theirs.filter((l) => !/kworker\/[^\]]*[+-]/.test(l)); // busy/idle workers change their names
    expect(stable.length + theirs.length).toBeGreaterThan(0);
    for (const line of stable) expect(mine.has(line), line).toBe(true);
  });

  it('STAT letters: < and N (nice), s (session leader), l (threads), + (foreground on a terminal)', async () => {
    const leader = await settled('setsid', ['sleep', '1000'], 'sleep');
    const negative = await settled('nice', ['-n', '-5', 'sleep', '1000'], 'sleep');
    const threaded = start(process.execPath, ['-e', 'setInterval(() => {}, 1000)']).pid!;
    await until('node to start its threads', () => Number(/Threads:\s+(\d+)/.exec(read(`/proc/${threaded}/status`))?.[1] ?? 0) > 1);
    // script(1) gives its child a pty, where the child's group is the foreground one.
    const onTty = start('script', ['-qc', 'sleep 1000', '/dev/null']).pid!;
    let fg = 0;
    await until('sleep on its pty', () => {
      const kids = read(`/proc/${onTty}/task/${onTty}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
      fg = kids.find((k) => read(`/proc/${k}/comm`).trim() === 'sleep') ?? kids.map((k) => read(`/proc/${k}/task/${k}/children`).trim().split(/\s+/).filter(Boolean).map(Number)).flat().find((k) => read(`/proc/${k}/comm`).trim() === 'sleep') ?? 0;
      return fg !== 0;
    });
    const pids = [leader, negative, threaded, fg].join(',');
    const theirs = await ps('-o', 'pid,stat,tty,tpgid', '-p', pids);
    const mine = await ikc('ps', '-o', 'pid,stat,tty,tpgid', '-p', pids);
    expect(mine.stdout.replace(/ [RS]/g, ' ?')).toBe(theirs.stdout.replace(/ [RS]/g, ' ?'));
    expect(theirs.stdout).toMatch(/S<|SN|Ss|Sl|S\+/);
    // -t selects by that terminal as ps does.
    const tty = theirs.stdout.split('\n').find((l) => l.trim().startsWith(String(fg)))!.trim().split(/\s+/)[2];
    expect((await ikc('ps', '-t', tty, '-o', 'pid,tty,comm')).stdout).toBe((await ps('-t', tty, '-o', 'pid,tty,comm')).stdout);
  });

  it('aux and -ef: the same rows as ps for every process alive through both runs (%CPU, TIME, RSS within a tolerance)', async () => {
    await sleeper();
    for (const [mineArgs, theirArgs] of [[['aux'], ['aux']], [['-ef'], ['-ef']], [['-eF'], ['-eF']], [['-ej'], ['-ej']]]) {
      const before = await ps(...theirArgs);
      const mine = await ikc('ps', ...mineArgs);
      const after = await ps(...theirArgs);
      expect(mine.code).toBe(0);
      const [header, ...rows] = mine.stdout.trimEnd().split('\n');
      expect(header).toBe(before.stdout.split('\n')[0]);
      // Compare with the columns that move (times, %CPU, sizes) blanked, the pid as key.
      const cols = header.trim().split(/\s+/);
      const pidAt = cols.indexOf('PID');
      const moving = new Set(['%CPU', '%MEM', 'VSZ', 'RSS', 'SZ', 'TIME', 'C', 'STAT', 'PSR']);
      const key = (line: string) => {
        const f = line.trim().split(/\s+/);
        return [f[pidAt], f.slice(0, cols.length - 1).map((v, i) => (moving.has(cols[i]) ? '*' : v)).join(' '), f.slice(cols.length - 1).join(' ')] as const;
      };
      const of = (text: string) => new Map(text.trimEnd().split('\n').slice(1).map((l) => { const [p, ...rest] = key(l); return [p, rest.join(' | ')]; }));
      const [a, b, m] = [of(before.stdout), of(after.stdout), of(rows.join('\n') ? `h\n${rows.join('\n')}` : 'h')];
      // Workqueue workers rename themselves as they work (kworker/1:1-events, -mm_percpu_wq).
      const stable = [...a].filter(([p, v]) => b.get(p) === v && !/ps (aux|-e[fFj])/.test(v) && !v.includes('kworker/'));
      expect(stable.length).toBeGreaterThan(10);
      for (const [p, v] of stable) expect([p, m.get(p)], `${theirArgs.join(" ")}: ps before ${v} / after ${b.get(p)}`).toEqual([p, v]);
    }
  });

  it('-C NAME and -u USER select as ps does', async () => {
    const pid = await sleeper();
    for (const args of [['-C', 'sleep'], ['-u', 'root'], ['-U', '0'], ['-G', 'root'], ['-C', 'sleep,kthreadd']]) {
      const theirs = await ps(...args, '-o', 'pid,user,comm');
      const mine = await ikc('ps', ...args, '-o', 'pid,user,comm');
      const after = new Set((await ps(...args, '-o', 'pid,user,comm')).stdout.split('\n'));
      const m = new Set(mine.stdout.split('\n'));
      expect(mine.stdout.split('\n')[0]).toBe(theirs.stdout.split('\n')[0]);
      // What ps listed before and after (this machine is shared: other processes come and go),
      // less workers, which rename themselves as they work.
      const steady = theirs.stdout.split('\n').filter((l) => after.has(l) && !l.includes('kworker/') && !/ ps$/.test(l));
      expect(steady.filter((l) => !m.has(l)), args.join(' ')).toEqual([]);
      expect(steady.length).toBeGreaterThan(1);
      if (args[1] === 'sleep') expect([...m].some((l) => l.trim().startsWith(`${pid} `))).toBe(true);
    }
  });
});
