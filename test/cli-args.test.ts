// How the ikc CLI reads its command line: short-option clusters split as ps
// (procps), ss (getopt) and ip (whole words) split them, values that start with
// '-', options given twice, numbers with trailing garbage, and errors with an
// errno code (JSON with --json; exit 2 for a refused command line, 1 otherwise).
// Each case is one that ikc once read wrongly and exited 0; the real ps and ss
// are the oracle where they accept the input.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ikc, run, type Run } from './helpers/cli.js';
import { childrenOf } from './helpers/fixture.js';
import { cliSuiteHooks, comm, start, until } from './helpers/procs.js';

const ps = (...args: string[]) => run('ps', args);

cliSuiteHooks();

/** A shell with three sleeping children, so --ppid selects a known, fixed set. */
async function family(): Promise<string> {
  const sh = start('sh', ['-c', 'sleep 1000 & sleep 1000 & sleep 1000 & wait']);
  await until('three sleeping children', () => childrenOf(sh.pid!).filter((k) => comm(k) === 'sleep').length === 3);
  return String(sh.pid);
}

/** A node process with three idle worker threads. */
async function threaded(): Promise<string> {
  const src = `const { Worker } = require('node:worker_threads');
    for (let i = 0; i < 3; i++) new Worker('setInterval(() => {}, 1000)', { eval: true });
    setInterval(() => {}, 1000);`;
  const pid = start(process.execPath, ['-e', src]).pid!;
  await until('worker threads', () => readdirSync(`/proc/${pid}/task`).length >= 4);
  return String(pid);
}

/** Runs ps twice around ikc until ps agrees with itself (node may start a helper thread between runs). */
async function againstPs(ikcArgs: string[], psArgs: string[]): Promise<[Run, Run]> {
  let pair: [Run, Run] = [await ikc(...ikcArgs), await ps(...psArgs)];
  for (let i = 0; i < 5; i++) {
    const before = await ps(...psArgs);
    const mine = await ikc(...ikcArgs);
    const after = await ps(...psArgs);
    pair = [mine, after];
    if (before.stdout === after.stdout) break;
  }
  return pair;
}

describe('ikc ps reads options as procps does', () => {
  it('--sort -pid, --sort=-pid and --sort +pid,-ppid order rows like ps', async () => {
    const sh = await family();
    for (const sort of [['--sort', '-pid'], ['--sort=-pid'], ['--sort', '+pid,-ppid'], ['--sort', 'ppid,-pid'], ['--sort=comm,pid']]) {
      const args = ['--ppid', sh, '-o', 'pid,ppid,comm', ...sort];
      const expected = await ps(...args);
      expect(expected.code, sort.join(' ')).toBe(0);
      expect(await ikc('ps', ...args), sort.join(' ')).toEqual(expected);
    }
    // A key that is not printed still orders the rows.
    const hidden = ['--ppid', sh, '-o', 'comm', '--sort', '-pid'];
    expect(await ikc('ps', ...hidden)).toEqual(await ps(...hidden));
  });

  it('-T shows threads with an SPID column, as procps -T does', async () => {
    const pid = await threaded();
    const [mine, theirs] = await againstPs(['ps', '-T', '-p', pid, '-o', 'pid,spid,comm'], ['-T', '-p', pid, '-o', 'pid,spid,comm']);
    expect(theirs.stdout.trim().split('\n').length).toBeGreaterThan(4);
    expect(mine).toEqual(theirs);
    // The default -T format is procps's pid,spid,tty,time,cmd without the columns task_diag lacks.
    const [dflt, withState] = await againstPs(['ps', '-T', '-p', pid], ['-T', '-p', pid, '-o', 'pid,spid,state,comm']);
    expect(dflt.stdout.split('\n')[0]).toBe(withState.stdout.split('\n')[0]);
    expect(dflt.stdout.trim().split('\n')).toHaveLength(withState.stdout.trim().split('\n').length);
  });

  it('splits SysV clusters like procps: -Lp PID, -p1, -o taking the rest', async () => {
    const pid = await threaded();
    for (const args of [['-Lp', pid, '-o', 'pid,lwp'], [`-Lp${pid}`, '-o', 'pid,lwp'], [`-p${pid}`, '-opid,comm']]) {
      const [mine, theirs] = await againstPs(['ps', ...args], args);
      expect(mine, args.join(' ')).toEqual(theirs);
    }
  });

  it.each([
    [['-e1'], /^ikc: EINVAL: unknown option '1' in '-e1': procps would reread/],
    [['-LT'], /^ikc: EINVAL: thread flags conflict/],
    [['-p', '12x'], /^ikc: EINVAL: -p: process ID list syntax error at '12x'/],
    [['--ppid', '1x'], /^ikc: EINVAL: --ppid: process ID list syntax error/],
    [['-p', '-1'], /^ikc: EINVAL: -p: process ID list syntax error/],
    [['--sort', 'pid', '--sort', 'ppid'], /^ikc: EINVAL: option --sort given twice/],
    [['--sort='], /^ikc: EINVAL: long sort specification must follow --sort/],
    [['--sort', 'bogus'], /^ikc: EINVAL: unknown column 'bogus'/],
    [['-e', '--ns', 'current', '--pidns', 'current'], /^ikc: EINVAL: option --pidns given twice \(also as --ns\)/],
    [['-e=1'], /^ikc: EINVAL: unknown option '='/],
    [['--json=1'], /^ikc: EINVAL: option --json takes no value/],
    [['-l'], /^ikc: EOPNOTSUPP: ps option -l is not supported/],
    [['-o'], /^ikc: EINVAL: option -o needs a value/],
    [['-p', ','], /^ikc: EINVAL: -p: improper list/],
    [['-p', '1,'], /^ikc: EINVAL: -p: improper list/],
    [['--ppid='], /^ikc: EINVAL: list of process IDs must follow --ppid/],
    [['-e', '--ns='], /^ikc: EINVAL: --ns needs a namespace/],
  ])('ikc ps %j is refused: exit 2, %s, nothing on stdout', async (args, message) => {
    const r = await ikc('ps', ...args);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('-uroot is -u root, as procps reads it', async () => {
    const [mine, theirs] = [await ikc('ps', '-uroot', '-o', 'pid='), await ps('-uroot', '-o', 'pid=')];
    expect(mine.code).toBe(0);
    const pids = (t: string) => new Set(t.trim().split(/\s+/).map(Number));
    // Processes come and go between the two reads: most must agree.
    const [a, b] = [pids(mine.stdout), pids(theirs.stdout)];
    const common = [...a].filter((p) => b.has(p)).length;
    expect(common).toBeGreaterThan(Math.max(a.size, b.size) * 0.8);
  });

  it('procps refuses or rereads the same inputs: none of them is read as ikc would have guessed', async () => {
    // ps -e1 is BSD 'e1' (environment, pid 1): not "-e", which ikc used to print.
    const e1 = await ps('-e1', '-o', 'pid=');
    expect(e1.stdout.trim().split('\n')).toEqual(['1']);
    for (const args of [['-LT'], ['-p', '12x'], ['--sort', 'pid', '--sort', 'ppid'], ['-p', ','], ['-p', '1,'], ['--ppid=']]) {
      expect((await ps(...args)).code, args.join(' ')).not.toBe(0);
    }
  });
});

describe('ikc sockets and ikc links read clusters as ss and ip do', () => {
  it('an ss cluster with a letter ikc lacks is refused, not dropped', async () => {
    const r = await ikc('sockets', '-tlnz');
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(/^ikc: EINVAL: unknown option '-z' in '-tlnz'/);
  });

  it('ss options ikc does not implement are refused with the reason, never ignored', async () => {
    for (const [args, letter] of [[['-tlp'], 'p'], [['-s'], 's'], [['-te'], 'e'], [['-ti'], 'i'], [['-K'], 'K']] as const) {
      const r = await ikc('sockets', ...args);
      expect(r, args.join(' ')).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(new RegExp(`^ikc: EOPNOTSUPP: ss option -${letter} is not supported: `));
    }
  });

  it('-a with -l is refused: ss lets the later one win, and ikc does not guess the order', async () => {
    for (const args of [['-a', '-l'], ['-la'], ['-t', '-l', '-a']]) {
      const r = await ikc('sockets', ...args);
      expect(r, args.join(' ')).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(/^ikc: EINVAL: give -a or -l, not both/);
    }
    const r = await ikc('sockets', '--netns=');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ikc: EINVAL: --netns '' is not a namespace/);
  });

  it('ip options are whole words: -s1 and -ss are refused as ip refuses them', async () => {
    for (const word of ['-s1', '-ss']) {
      expect((await run('ip', [word, 'link'])).stderr, word).toMatch(/is unknown/);
      const r = await ikc('links', word);
      expect(r, word).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(new RegExp(`^ikc: EINVAL: unknown option '${word}'`));
    }
  });
});

describe('errors carry an errno code, as JSON with --json', () => {
  it('a refused command line is {"error": {"code": "EINVAL", ...}} on stderr with --json, exit 2', async () => {
    for (const args of [['ps', '--bogus', '--json'], ['task-diag', '--strategy', 'one', '--pid', '1x', '--json'], ['sockets', '--json', '-tz']]) {
      const r = await ikc(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const err = JSON.parse(r.stderr) as { error: { code: string; message: string } };
      expect(err.error.code, args.join(' ')).toBe('EINVAL');
      expect(err.error.message.length).toBeGreaterThan(0);
    }
  });

  it('a runtime error keeps its own code and exits 1, as text or JSON', async () => {
    const args = ['task-diag', '--strategy', 'one', '--pid', '2147483647'];
    const text = await ikc(...args);
    expect(text).toMatchObject({ code: 1, stdout: '' });
    expect(text.stderr).toMatch(/^ikc: ESRCH: /);
    const json = await ikc(...args, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'ESRCH', message: expect.any(String) } });
  });

  it('numbers with trailing garbage, hex or exponents are refused', async () => {
    for (const value of ['1x', '0x10', '1e3', '-1', '']) {
      const r = await ikc('task-diag', '--strategy', 'one', '--pid', value);
      expect(r.code, value).toBe(2);
      expect(r.stderr, value).toMatch(/^ikc: EINVAL: /);
    }
    const b = await ikc('broker', '--socket', '/nonexistent/x', '--max-clients', '2x');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^ikc: EINVAL: --max-clients takes a whole decimal number/);
  });

  it('--help says how errors look', async () => {
    const r = await ikc('--help');
    expect(r.stdout).toContain('2 when the command line is refused');
  });
});
