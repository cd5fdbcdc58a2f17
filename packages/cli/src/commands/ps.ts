// `ikc ps`: procps ps's everyday options (-e, ax, -p, --ppid, -L, -o, h) over
// task_diag instead of /proc. Picks rows (select.ts) and columns (columns.ts),
// then hands both to output.ts.
import { readFileSync } from 'node:fs';
import type { BackendName } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { baseFields, groupsNeeded, needsCreds, needsNlwp, parseFormat, SUPPORTED_COLUMNS } from '../columns.js';
import { client } from '../client.js';
import { parseSort, sortRows } from '../sort.js';
import { defineCommand, UsageError } from '../command.js';
import { backendOption, pidnsArg, pidnsOption } from '../options.js';
import { printPsColumns, printPsJson, printPsTable } from '../output.js';
import { groupId, userId } from '../names.js';
import { isDefaultSelection, selectRows, type Selection } from '../select.js';

export const DEFAULT_FORMAT = 'pid,ppid,state,comm';
export const DEFAULT_THREAD_FORMAT = 'pid,lwp,state,comm';
/** procps's formats: BSD u, -f, -F, -j (output.c's u_format, f_format, F_format, j_format). */
const U_FORMAT = 'user,pid,%cpu,%mem,vsz,rss,tname,stat,start_time,bsdtime,args';
const F_FORMAT = 'user=UID,pid,ppid,c,stime,tname,time,cmd';
const FF_FORMAT = 'user=UID,pid,ppid,c,sz,rss,psr,stime,tname,time,cmd';
const J_FORMAT = 'pid,pgid,sid,tname,time,ucmd';
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
  f?: boolean;
  F?: boolean;
  j?: boolean;
  u?: string[];
  U?: string[];
  G?: string[];
  C?: string[];
  t?: string[];
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
  a: 'it selects every process with a terminal except session leaders, which is not implemented; use BSD a or -t',
  d: 'it is not implemented; use -e with --json and filter on sid',
  tty: 'use -t',
  l: 'the long format needs wait channels and addresses, which task_diag does not report; use -o f,s,uid,pid,ppid,c,pri,ni,sz,tty,time,cmd',
  c: 'the -c format is not implemented; use -o pid,cls,pri,tty,time,comm',
  N: 'negated selections are not implemented',
  y: 'it only changes the -l format',
  M: 'security labels are not in task_diag',
  Z: 'security labels are not in task_diag',
  context: 'security labels are not in task_diag',
  H: 'the process hierarchy view is not implemented',
  forest: 'the process hierarchy view is not implemented',
  m: 'threads after processes are not implemented; use -L',
  g: 'selection by group or session is not implemented',
  group: 'selection by group is not implemented',
  s: 'selection by session is not implemented; use -e -o pid,sid and filter',
  sid: 'selection by session is not implemented; use -e -o pid,sid and filter',
  q: 'quick-pid mode is not implemented; use -p',
  O: 'preloaded formats are not implemented; use -o',
  V: "use 'ikc --version'",
};

/** BSD letters ikc knows but cannot honour. */
const BSD_UNSUPPORTED: Record<string, string> = {
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
  u: boolean;
  h: boolean;
  w: number;
  pids: number[];
}

/** BSD-style words: letters a, x, u, h, w in any order (`aux`), or pid lists (`ps 1 2`). */
function parseBsd(words: readonly string[]): Bsd {
  const bsd: Bsd = { a: false, x: false, u: false, h: false, w: 0, pids: [] };
  for (const word of words.map(String)) {
    if (/^[0-9][0-9,]*$/.test(word)) {
      bsd.pids.push(...pidList([word], 'pid'));
      continue;
    }
    for (const letter of word) {
      if (letter === 'a' || letter === 'x' || letter === 'u' || letter === 'h') bsd[letter] = true;
      else if (letter === 'w') bsd.w++;
      else if (BSD_UNSUPPORTED[letter]) throw new UsageError(`BSD option '${letter}' (${BSD_UNSUPPORTED[letter]}) is not supported`);
      else throw new UsageError(`unknown BSD option '${letter}' in '${word}' (ikc ps knows a, x, u, h and w)`);
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

/** A list of user or group names or numbers (-u, -U, -G), as ids; an unknown name is refused. */
function idList(values: readonly string[] | undefined, flag: string, lookup: (name: string) => number | undefined): number[] {
  const ids: number[] = [];
  for (const item of (values ?? []).flatMap((v) => String(v).split(/[\s,]+/)).filter((s) => s !== '')) {
    const id = /^[0-9]+$/.test(item) ? Number(item) : lookup(item);
    if (id === undefined || id > 0xffffffff) throw new UsageError(`${flag}: user or group name '${item}' does not exist`);
    ids.push(id);
  }
  return ids;
}

/** Words of a list option (-C, -t): comma or space separated, repeatable. */
const words = (values: readonly string[] | undefined) => (values ?? []).flatMap((v) => String(v).split(/[\s,]+/)).filter((s) => s !== '');

/** The one format the options name: -o, -f, -F, -j or BSD u (procps refuses two). */
function formatOf(argv: PsArgs, bsd: Bsd, threads: boolean): string[] {
  const named = [argv.o?.length ? 'o' : '', argv.f ? 'f' : '', argv.F ? 'F' : '', argv.j ? 'j' : '', bsd.u ? 'u' : ''].filter(Boolean);
  if (named.length > 1) throw new UsageError(`conflicting format options: ${named.map((n) => (n === 'u' ? "BSD 'u'" : `-${n}`)).join(' and ')}`);
  if (argv.o?.length) return argv.o;
  if (argv.F) return [FF_FORMAT];
  if (argv.f) return [F_FORMAT];
  if (argv.j) return [J_FORMAT];
  if (bsd.u) return [U_FORMAT];
  if (argv.T) return [DEFAULT_SPID_FORMAT];
  return [threads ? DEFAULT_THREAD_FORMAT : DEFAULT_FORMAT];
}

async function runPs(argv: PsArgs): Promise<number> {
  rejectUnsupported(argv);
  const bsd = parseBsd(argv.bsd ?? []);
  const all = argv.e === true || (bsd.a && bsd.x);
  const ttys = words(argv.t).map((t) => (t === '-' ? '?' : t.replace(/^\/dev\//, '')));
  const sel: Selection = {
    all,
    pids: [...pidList(argv.p, '-p'), ...bsd.pids],
    ppids: pidList(argv.ppid, '--ppid'),
    ownUser: bsd.x && !all,
    threads: argv.L === true || argv.T === true,
    euids: idList(argv.u, '-u', userId),
    ruids: idList(argv.U, '-U', userId),
    rgids: idList(argv.G, '-G', groupId),
    names: words(argv.C),
    ttys,
    withTty: bsd.a && !all,
  };
  if (argv.L && argv.T) throw new UsageError("thread flags conflict; can't use both -L and -T");
  if (isDefaultSelection(sel) && argv.ns !== 'current') {
    throw new UsageError('with --ns, give a selection (-e, ax, x, -p or --ppid): the default selects the caller\'s session, which is known only in the current namespace');
  }
  const digits = pidDigits();
  const cols = parseFormat(formatOf(argv, bsd, sel.threads), digits);
  const keys = argv.sort === undefined ? [] : parseSort(argv.sort, digits);
  const needed = [...cols, ...keys.map((k) => k.column)];
  const table = { headers: argv['no-headers'] !== true && !bsd.h, wide: (argv.w ?? 0) + bsd.w };
  const fields = baseFields(cols);
  if (fields && sel.all && keys.length === 0 && !argv.json) {
    // Every task, BASE numbers only, in dump order: printed from the response's
    // columns, with no object per task (the rows selectRows would make, the same text).
    const data = client().taskDiagColumnsSync({ strategy: sel.threads ? 'all-thread' : 'all', ns: pidnsArg(argv.ns), backend: argv.backend }, fields);
    const { pid, tgid } = data.fields;
    const printed = printPsColumns(cols, fields, data, sel.threads ? () => true : (i) => pid[i] === tgid[i], table);
    return printed > 0 ? 0 : 1;
  }
  const rows = sortRows(
    await selectRows(sel, { creds: needsCreds(needed), groups: groupsNeeded(needed), nlwp: needsNlwp(needed), ns: pidnsArg(argv.ns), backend: argv.backend }),
    keys,
  );
  if (argv.json) printPsJson(cols, rows);
  else printPsTable(cols, rows, table);
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
    .option('f', { type: 'boolean', describe: `Full format: ${F_FORMAT}` })
    .option('F', { type: 'boolean', describe: `Extra full format: ${FF_FORMAT}` })
    .option('j', { type: 'boolean', describe: `Jobs format: ${J_FORMAT}` })
    .option('u', { alias: 'user', type: 'string', coerce: list, requiresArg: true, describe: 'Select by effective user: NAME|UID[,...] (repeatable)' })
    .option('U', { type: 'string', coerce: list, requiresArg: true, describe: 'Select by real user: NAME|UID[,...]' })
    .option('G', { alias: 'Group', type: 'string', coerce: list, requiresArg: true, describe: 'Select by real group: NAME|GID[,...]' })
    .option('C', { type: 'string', coerce: list, requiresArg: true, describe: 'Select by command name (the whole name, as ps): NAME[,...]' })
    .option('t', { type: 'string', coerce: list, requiresArg: true, describe: "Select by terminal: pts/1, tty1, or '-' for none (repeatable)" })
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
    .example('$0 ps aux', "every process in BSD u format: USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND")
    .example('$0 ps -ef', 'every process in full format: UID PID PPID C STIME TTY TIME CMD')
    .example('$0 ps -C sshd -o pid,args,etime', 'the sshd processes, their command lines and how long they have run')
    .example('$0 ps axh -o pid,user,comm', 'every process with its user name, no header')
    .example('$0 ps -eL -o pid,lwp,nlwp,comm', 'every thread with its process and thread count')
    .example('$0 ps -p 1,2 -o pid,tpid=TRACER,comm', 'two processes and their tracers, TPID renamed')
    .example('$0 ps --ppid 1 --json', 'the children of pid 1 as JSON')
    .epilogue(
      [
        'Without a selection option ikc ps selects, like procps, the processes with your effective uid and your terminal. Selections add up (-p 1 --ppid 1 -C sshd prints all three); -e and ax select everything, BSD a alone every process with a terminal.',
        `Columns: ${SUPPORTED_COLUMNS.join(', ')}. Headers, widths and alignment are procps's; tpid (TPID, the tracer's pid) is ikc's own. STAT shows the letters < N L s l +. Columns task_diag cannot answer (wchan, exe, cgroup, label) and ps options such as -l are errors.`,
        'Exit status: 0 when a process was printed; 1 when the selection matched none (after printing the header, as procps does) or on any error.',
      ].join('\n\n'),
    ) as unknown as Argv<PsArgs>;
}

export const psCommand = defineCommand({
  command: 'ps [bsd..]',
  words: { cluster: 'procps', repeatable: ['p', 'ppid', 'o', 'u', 'U', 'G', 'C', 't'] },
  describe: 'List processes like ps (aux, -ef, -e, -p, -C, -u, -t, -L, -T, -o, --sort, --json)',
  builder,
  run: runPs,
});
