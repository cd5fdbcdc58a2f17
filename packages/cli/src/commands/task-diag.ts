// `ikc task-diag`: one task_diag request with every knob exposed, printed as
// lines, JSON or the exact response bytes (--raw, for C programs).
import { readResponseSync, Show, type BackendName, type ShowName, type StrategyName, type TaskDiagOptions } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand, UsageError } from '../command.js';
import { backendOption, pidnsArg, pidnsOption, wholeNumber } from '../options.js';
import { printJson, printRaw, printTasks } from '../output.js';

/** The SDK's strategies in the order --help lists them. */
const STRATEGIES = ['all', 'all-thread', 'one', 'children', 'thread'] as const satisfies readonly StrategyName[];
const NEEDS_PID: readonly string[] = ['one', 'children', 'thread'] satisfies StrategyName[];
/** The SDK's attribute groups (the core's table). */
const SHOW = Object.keys(Show) as ShowName[];

interface TaskDiagArgs {
  strategy: StrategyName;
  pid?: number;
  show: ShowName[];
  ns: string;
  backend: BackendName;
  json?: boolean;
  raw?: boolean;
}

/** `--show base,creds` (repeatable) as a checked list. */
function showList(v: unknown): ShowName[] {
  const names = ([] as unknown[]).concat(v).flatMap((s) => String(s).split(/[\s,]+/)).filter((s) => s !== '');
  for (const n of names) {
    if (!(SHOW as string[]).includes(n)) throw new UsageError(`--show: unknown attribute group '${n}' (known: ${SHOW.join(', ')})`);
  }
  return [...new Set(names)] as ShowName[];
}

function check(argv: { strategy: string; pid?: number; json?: boolean; raw?: boolean }): true {
  const needsPid = NEEDS_PID.includes(argv.strategy);
  if (needsPid && argv.pid === undefined) throw new UsageError(`--strategy ${argv.strategy} needs --pid`);
  if (!needsPid && argv.pid !== undefined) throw new UsageError(`--pid is for --strategy one, children or thread, not ${argv.strategy}`);
  if (argv.pid !== undefined && (!Number.isInteger(argv.pid) || argv.pid < 1 || argv.pid > 0x7fffffff)) {
    throw new UsageError(`--pid must be a process id, not ${argv.pid}`);
  }
  return true;
}

async function runTaskDiag(argv: TaskDiagArgs): Promise<number> {
  const opts: TaskDiagOptions = { strategy: argv.strategy, pid: argv.pid, show: argv.show, ns: pidnsArg(argv.ns), backend: argv.backend };
  if (argv.raw) {
    printRaw(readResponseSync(client().taskDiagFd(opts)));
    return 0;
  }
  const tasks = await client().taskDiag(opts);
  if (argv.json) printJson(tasks);
  else printTasks(tasks);
  return 0;
}

function builder(y: Argv): Argv<TaskDiagArgs> {
  return y
    .usage('$0 task-diag [options]\n\nIssue one task_diag request and print every task it returns, ordered by pid.')
    .option('strategy', {
      choices: STRATEGIES, default: 'all' as StrategyName, requiresArg: true,
      describe: "Which tasks: 'all' processes, 'all-thread' every thread, 'one' task, 'children' of --pid, 'thread's of --pid's process",
    })
    .option('pid', { type: 'string', coerce: wholeNumber('pid', 0x7fffffff), requiresArg: true, describe: 'The pid for one, children and thread (required there, refused elsewhere)' })
    .option('show', { type: 'string', default: 'base', coerce: showList, requiresArg: true, describe: 'Attribute groups: base, creds or base,creds' })
    .options(pidnsOption())
    .options(backendOption("Where all/all-thread read tasks: 'procfs', 'bpf' (BPF task iterator; root, kernel BTF) or 'auto'"))
    .option('json', { type: 'boolean', describe: 'Print a JSON array of tasks (capabilities as "0x..." strings)' })
    .option('raw', { type: 'boolean', describe: 'Write the exact response bytes (netlink messages ending in NLMSG_DONE) to stdout' })
    .conflicts('json', 'raw')
    .check(check)
    .example('$0 task-diag', 'every process: pid= tgid= ppid= pgid= sid= tpid= state= comm=')
    .example('$0 task-diag --strategy one --pid 1 --show base,creds', 'pid 1 with uids, gids and capabilities (hex)')
    .example('$0 task-diag --strategy thread --pid 1234 --json', 'every thread of process 1234 as JSON')
    .example('$0 task-diag --strategy children --pid 1', 'the children of pid 1')
    .example('$0 task-diag --raw > dump.bin', 'the response bytes, for a C program or parseTaskDiag()')
    .example('$0 task-diag --ns /proc/1234/ns/pid', 'every process of the pid namespace of 1234, with its pids')
    .epilogue(
      [
        'Default output: one line per task, "pid=.. tgid=.. ppid=.. pgid=.. sid=.. tpid=.. state=S comm=..", then with --show creds "uid=.. euid=.. suid=.. fsuid=.. gid=.. egid=.. sgid=.. fsgid=.. capinh=0x.. capprm=0x.. capeff=0x.. capbnd=0x..". tpid is the tracer\'s pid (0 when not traced). A comm with blanks or quotes is printed as a JSON string.',
        'Errors exit 1 with the errno name first, e.g. "ikc: ESRCH: ..." when the --pid task is gone or hidden from you; a command line ikc refuses exits 2 ("ikc: EINVAL: ...").',
      ].join('\n\n'),
    ) as unknown as Argv<TaskDiagArgs>;
}

export const taskDiagCommand = defineCommand({
  command: 'task-diag',
  describe: 'Run one task_diag request (--strategy, --pid, --show, --ns) and print lines, --json or --raw bytes',
  builder,
  run: runTaskDiag,
});
