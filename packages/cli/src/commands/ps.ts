// `ikc ps`: procps ps's everyday options (-e, ax, -p, --ppid, -L, -o, h) over
// task_diag instead of /proc. Picks rows (select.ts) and columns (columns.ts),
// then hands both to output.ts.
import { readFileSync } from 'node:fs';
import type { BackendName } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { needsCreds, needsNlwp, parseFormat, SUPPORTED_COLUMNS } from '../columns.js';
import { parseSort, sortRows } from '../sort.js';
import { defineCommand, UsageError } from '../command.js';
import { backendOption, pidnsArg, pidnsOption } from '../options.js';
import { printPsJson, printPsTable } from '../output.js';
import { isDefaultSelection, selectRows, type Selection } from '../select.js';

export const DEFAULT_FORMAT = 'pid,ppid,state,comm';
export const DEFAULT_THREAD_FORMAT = 'pid,lwp,state,comm';
/** -T's default: procps's pid,spid,tty,time,cmd without what task_diag lacks. */
export const DEFAULT_SPID_FORMAT = 'pid,spid,state,comm';

interface PsArgs {
  e?: boolean;
  p?: string[];
  ppid?: string[];
  L?: boolean;
  T?: boolean;
  sort?: string;
  o?: string[];
  'no-headers'?: boolean;
  json?: boolean;
  ns: string;
  backend: BackendName;
  w?: number;
  bsd?: string[];
  [unsupported: string]: unknown;
}

/** ps options that take a value in procps (so `-uroot` reads as -u root before it is refused). */
const TAKES_VALUE = new Set(['t', 'tty', 'u', 'U', 'user', 'g', 'G', 'group', 'C', 's', 'sid', 'q', 'O']);

/** ps options that ikc knows but cannot honour, and why. */
const UNSUPPORTED: Record<string, string> = {
  a: 'it selects processes with a terminal, and task_diag reports no terminal',
  d: 'it is not implemented; use -e with --json and filter on sid',
  N: 'negated selections are not implemented',
  t: 'it selects by terminal, and task_diag reports no terminal',
  tty: 'it selects by terminal, and task_diag reports no terminal',
  f: 'the full format needs CPU times, start times, the terminal and the command line, which task_diag does not report',
  F: 'the extra full format needs memory sizes and times, which task_diag does not report',
  l: 'the long format needs flags, priorities, sizes and wait channels, which task_diag does not report',
  j: 'the jobs format needs the terminal and CPU times, which task_diag does not report',
  y: 'it only changes the -l format',
  c: 'the -c format needs scheduling data, which task_diag does not report',
  M: 'security labels are not in task_diag',
  Z: 'security labels are not in task_diag',
  context: 'security labels are not in task_diag',
  H: 'the process hierarchy view is not implemented',
  forest: 'the process hierarchy view is not implemented',
  m: 'threads after processes are not implemented; use -L',
  u: 'selection by user is not implemented; use -e -o pid,euid,user and filter',
  U: 'selection by user is not implemented; use -e -o pid,ruid,ruser and filter',
  user: 'selection by user is not implemented',
  g: 'selection by group or session is not implemented',
  G: 'selection by group is not implemented',
  group: 'selection by group is not implemented',
  C: 'selection by command name is not implemented; use -e -o pid,comm and filter',
  s: 'selection by session is not implemented; use -e -o pid,sid and filter',
  sid: 'selection by session is not implemented; use -e -o pid,sid and filter',
  q: 'quick-pid mode is not implemented; use -p',
  O: 'preloaded formats are not implemented; use -o',
  V: "use 'ikc --version'",
};

/** BSD letters ikc knows but cannot honour. */
const BSD_UNSUPPORTED: Record<string, string> = {
  u: 'user-oriented format (%CPU, %MEM, VSZ, RSS, TTY, START, TIME, COMMAND)',
  v: 'virtual memory format', j: 'job control format', l: 'long format', s: 'signal format',
  f: 'forest', e: 'environment', c: 'true command name', r: 'running processes only',
  T: 'processes of this terminal', S: 'child CPU time', H: 'threads as processes', m: 'threads after processes',
  n: 'numeric output', X: 'register format', L: 'format specifier list', O: 'preloaded format',
  o: 'format', p: 'pid list', t: 'terminal list', U: 'user list', k: 'sort', Z: 'security labels',
};

function rejectUnsupported(argv: PsArgs): void {
  for (const [key, why] of Object.entries(UNSUPPORTED)) {
    if (argv[key] === undefined || argv[key] === false) continue;
    const flag = key.length === 1 ? `-${key}` : `--${key}`;
    throw new UsageError(`ps option ${flag} is not supported: ${why}`, 'EOPNOTSUPP');
  }
}

/** A pid list: comma or space separated, repeatable; procps's limits. */
function pidList(values: readonly string[] | undefined, flag: string): number[] {
  const pids: number[] = [];
  const words = (values ?? []).map(String);
  // procps: an empty value, or an empty item between separators ('1,', ',', '1  2'), is an error.
  if (words.some((w) => w === '')) throw new UsageError(`list of process IDs must follow ${flag}`);
  if (words.some((w) => w.split(/[\s,]/).some((item) => item === ''))) throw new UsageError(`${flag}: improper list in '${words.join(' ')}'`);
  for (const item of words.flatMap((v) => v.split(/[\s,]/))) {
    if (!/^[0-9]+$/.test(item)) throw new UsageError(`${flag}: process ID list syntax error at '${item}'`);
    const n = Number(item);
    if (n < 1 || n > 0x7fffffff) throw new UsageError(`${flag}: process ID out of range: ${item}`);
    pids.push(n);
  }
  return pids;
}

interface Bsd {
  a: boolean;
  x: boolean;
  h: boolean;
  w: number;
  pids: number[];
}

/** BSD-style words: letters a, x, h, w in any order (`axh`), or pid lists (`ps 1 2`). */
function parseBsd(words: readonly string[]): Bsd {
  const bsd: Bsd = { a: false, x: false, h: false, w: 0, pids: [] };
  for (const word of words.map(String)) {
    if (/^[0-9][0-9,]*$/.test(word)) {
      bsd.pids.push(...pidList([word], 'pid'));
      continue;
    }
    for (const letter of word) {
      if (letter === 'a' || letter === 'x' || letter === 'h') bsd[letter] = true;
      else if (letter === 'w') bsd.w++;
      else if (BSD_UNSUPPORTED[letter]) throw new UsageError(`BSD option '${letter}' (${BSD_UNSUPPORTED[letter]}) is not supported`);
      else throw new UsageError(`unknown BSD option '${letter}' in '${word}' (ikc ps knows a, x, h and w)`);
    }
  }
  return bsd;
}

/** Digits of /proc/sys/kernel/pid_max: procps sizes pid columns with it. */
function pidDigits(): number {
  try {
    return readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim().length || 5;
  } catch {
    return 5;
  }
}

async function runPs(argv: PsArgs): Promise<number> {
  rejectUnsupported(argv);
  const bsd = parseBsd(argv.bsd ?? []);
  const all = argv.e === true || (bsd.a && bsd.x);
  if (bsd.a && !all) throw new UsageError("BSD 'a' without 'x' selects processes with a terminal, which task_diag does not report; use 'ax' or -e");
  const sel: Selection = {
    all,
    pids: [...pidList(argv.p, '-p'), ...bsd.pids],
    ppids: pidList(argv.ppid, '--ppid'),
    ownUser: bsd.x && !all,
    threads: argv.L === true || argv.T === true,
  };
  if (argv.L && argv.T) throw new UsageError("thread flags conflict; can't use both -L and -T");
  if (isDefaultSelection(sel) && argv.ns !== 'current') {
    throw new UsageError('with --ns, give a selection (-e, ax, x, -p or --ppid): the default selects the caller\'s session, which is known only in the current namespace');
  }
  const digits = pidDigits();
  const defaultFormat = argv.T ? DEFAULT_SPID_FORMAT : sel.threads ? DEFAULT_THREAD_FORMAT : DEFAULT_FORMAT;
  const cols = parseFormat(argv.o?.length ? argv.o : [defaultFormat], digits);
  const keys = argv.sort === undefined ? [] : parseSort(argv.sort, digits);
  const needed = [...cols, ...keys.map((k) => k.column)];
  const rows = sortRows(
    await selectRows(sel, { creds: needsCreds(needed), nlwp: needsNlwp(needed), ns: pidnsArg(argv.ns), backend: argv.backend }),
    keys,
  );
  if (argv.json) printPsJson(cols, rows);
  else printPsTable(cols, rows, { headers: argv['no-headers'] !== true && !bsd.h, wide: (argv.w ?? 0) + bsd.w });
  // procps: nothing selected prints the header alone and exits 1.
  return rows.length > 0 ? 0 : 1;
}

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : ([] as unknown[]).concat(v).map(String));

function builder(y: Argv): Argv<PsArgs> {
  let b = y
    .usage('$0 ps [options] [ax] [x] [h] [PID...]\n\nList processes like procps ps, from one task_diag dump instead of /proc.')
    .positional('bsd', { type: 'string', array: true, describe: "BSD words: 'ax' (every process), 'x' (every process of your euid), 'h' (no header), 'w' (wider), or pids" })
    .option('e', { alias: 'A', type: 'boolean', describe: 'Select every process (also BSD "ax")' })
    .option('p', { alias: 'pid', type: 'string', coerce: list, requiresArg: true, describe: 'Select by process id: PID[,PID...] (repeatable; comma or space separated)' })
    .option('ppid', { type: 'string', coerce: list, requiresArg: true, describe: 'Select by parent process id: PID[,PID...] (repeatable)' })
    .option('L', { type: 'boolean', describe: "Threads: one row per thread (task_diag 'all-thread', or 'thread' per -p pid); default format becomes " + DEFAULT_THREAD_FORMAT })
    .option('T', { type: 'boolean', describe: `Threads, as procps -T: one row per thread with its SPID; default format becomes ${DEFAULT_SPID_FORMAT} (not with -L)` })
    .option('sort', { type: 'string', requiresArg: true, describe: "Order rows by columns: [+|-]COL[,[+|-]COL...], '-' for largest first (e.g. --sort -pid, --sort=+ppid,-pid); default: by pid" })
    .option('o', { alias: 'format', type: 'string', coerce: list, requiresArg: true, describe: `Columns: COL[:WIDTH][=HEADER][,COL...] (repeatable; comma or space separated; 'col=' leaves the header blank). Default ${DEFAULT_FORMAT}` })
    .option('no-headers', { alias: ['no-heading', 'h'], type: 'boolean', describe: 'Print no header line (also BSD "h")' })
    .option('json', { type: 'boolean', describe: 'Print a JSON array of objects keyed by column name (numbers as numbers)' })
    .options(backendOption("Where full dumps read tasks: 'procfs', 'bpf' (the BPF task iterator: root, kernel BTF) or 'auto' (BPF on large systems when it can load)"))
    .options(pidnsOption({ alias: 'pidns', note: '(the namespace fd is the capability: only its processes, numbered as inside it)' }))
    .option('w', { type: 'count', describe: 'Wide output (as ps: at least 132 columns; twice: unlimited). Output to a pipe is never cut' });
  for (const [key, why] of Object.entries(UNSUPPORTED)) {
    b = b.option(key, { hidden: true, type: TAKES_VALUE.has(key) ? 'string' : 'boolean', describe: why });
  }
  return b
    .example('$0 ps -e', 'every process: PID PPID S COMMAND')
    .example('$0 ps axh -o pid,user,comm', 'every process with its user name, no header')
    .example('$0 ps -eL -o pid,lwp,nlwp,comm', 'every thread with its process and thread count')
    .example('$0 ps -p 1,2 -o pid,tpid=TRACER,comm', 'two processes and their tracers, TPID renamed')
    .example('$0 ps --ppid 1 --json', 'the children of pid 1 as JSON')
    .epilogue(
      [
        'Without a selection option ikc ps selects, like procps, the processes with your effective uid and your terminal; task_diag reports no terminal, so ikc uses your session instead (the sid of the ikc process itself). Selections add up (-p 1 --ppid 1 prints both); -e and ax select everything.',
        `Columns: ${SUPPORTED_COLUMNS.join(', ')}. Headers, widths and alignment are procps's; tpid (TPID, the tracer's pid) is ikc's own. Columns task_diag cannot answer (args, tty, time, %cpu, rss, ...) and ps options such as -f, -u or BSD 'u' are errors.`,
        'Exit status: 0 when a process was printed; 1 when the selection matched none (after printing the header, as procps does) or on any error.',
      ].join('\n\n'),
    ) as unknown as Argv<PsArgs>;
}

export const psCommand = defineCommand({
  command: 'ps [bsd..]',
  words: { cluster: 'procps', repeatable: ['p', 'ppid', 'o'] },
  describe: 'List processes like ps (-e, ax, -p, --ppid, -L, -o, --json)',
  builder,
  run: runPs,
});
