// Which tasks `ikc ps` prints: turns ps's selection options into task_diag
// calls (one dump, or one call per -p pid) and filters the answer like procps.
import { IkcError, type BackendName, type NsArg, type Task } from '@ikc/sdk';
import { client } from './client.js';
import type { Row } from './columns.js';

export interface Selection {
  /** -e, -A, BSD ax: every process. */
  all: boolean;
  /** -p, --pid and bare pids: processes (thread groups) by pid. */
  pids: number[];
  /** --ppid: processes by parent pid. */
  ppids: number[];
  /** BSD x without a: every process with the caller's euid. */
  ownUser: boolean;
  /** -L: one row per thread. */
  threads: boolean;
}

export interface FetchOptions {
  /** Ask for the creds attribute (a column or the selection needs it). */
  creds: boolean;
  /** Count threads per process (the nlwp column). */
  nlwp: boolean;
  ns: NsArg;
  /** Where ALL/ALL_THREAD dumps read tasks. */
  backend?: BackendName;
}

/** ps with no selection option: the caller's euid and (for want of a tty) its session. */
export function isDefaultSelection(sel: Selection): boolean {
  return !sel.all && sel.pids.length === 0 && sel.ppids.length === 0 && !sel.ownUser;
}

/** Whether the selection itself reads euids. */
export const selectionNeedsCreds = (sel: Selection) => !sel.all && (sel.ownUser || isDefaultSelection(sel));

interface Me {
  sid: number;
  euid: number;
}

/** The ikc process itself, as task_diag sees it in the current pid namespace. */
async function whoAmI(): Promise<Me> {
  const [me] = await client().taskDiag({ strategy: 'one', pid: process.pid, show: ['base', 'creds'], ns: 'current' });
  return { sid: me.base!.sid, euid: me.creds!.euid };
}

/** One call per pid ('one', or 'thread' when threads are needed); pids that are gone are skipped. */
async function fetchPids(pids: number[], threads: boolean, opts: FetchOptions): Promise<Task[]> {
  const show: Array<'base' | 'creds'> = opts.creds ? ['base', 'creds'] : ['base'];
  const tasks: Task[] = [];
  for (const pid of new Set(pids)) {
    try {
      const got = await client().taskDiag({ strategy: threads ? 'thread' : 'one', pid, show, ns: opts.ns });
      // ps -p matches processes: a thread id that is not a tgid selects nothing.
      tasks.push(...got.filter((t) => t.tgid === pid));
    } catch (err) {
      if (!(err instanceof IkcError && err.code === 'ESRCH')) throw err;
    }
  }
  return tasks.sort((a, b) => a.tgid - b.tgid || a.pid - b.pid);
}

/** The predicate of a selection that needs a whole dump (the options are ORed, as in procps). */
async function matcher(sel: Selection): Promise<(t: Task) => boolean> {
  if (sel.all) return () => true;
  const pids = new Set(sel.pids);
  const ppids = new Set(sel.ppids);
  const me = sel.ownUser || isDefaultSelection(sel) ? await whoAmI() : undefined;
  return (t) => {
    if (pids.has(t.tgid) || ppids.has(t.base!.ppid)) return true;
    if (sel.ownUser) return t.creds!.euid === me!.euid;
    if (isDefaultSelection(sel)) return t.creds!.euid === me!.euid && t.base!.sid === me!.sid;
    return false;
  };
}

/** The rows ikc ps prints, in procps's order (by pid, then thread id). */
export async function selectRows(sel: Selection, opts: FetchOptions): Promise<Row[]> {
  const wantThreads = sel.threads || opts.nlwp;
  const onlyPids = !sel.all && sel.ppids.length === 0 && !sel.ownUser && sel.pids.length > 0;
  let tasks: Task[];
  if (onlyPids) {
    tasks = await fetchPids(sel.pids, wantThreads, opts);
  } else {
    const show: Array<'base' | 'creds'> = opts.creds || selectionNeedsCreds(sel) ? ['base', 'creds'] : ['base'];
    const dump = await client().taskDiag({ strategy: wantThreads ? 'all-thread' : 'all', show, ns: opts.ns, backend: opts.backend });
    tasks = dump.filter(await matcher(sel));
  }
  const nlwp = new Map<number, number>();
  for (const t of tasks) nlwp.set(t.tgid, (nlwp.get(t.tgid) ?? 0) + 1);
  return tasks
    .filter((t) => sel.threads || t.pid === t.tgid)
    .map((task) => ({ task, nlwp: nlwp.get(task.tgid) ?? 1 }));
}
