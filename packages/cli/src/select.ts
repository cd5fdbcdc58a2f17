// Which tasks `ikc ps` prints: turns ps's selection options into task_diag
// calls (one dump, or one call per -p pid) and filters the answer like procps.
import { IkcError, type BackendName, type NsArg, type ShowName, type Task } from '@ikc/sdk';
import { client } from './client.js';
import type { Row } from './columns.js';
import { ttyName } from './psfmt.js';

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
  /** -u: by effective uid; -U: by real uid; -G: by real gid. */
  euids: number[];
  ruids: number[];
  rgids: number[];
  /** -C: by command name (the whole name, as ps matches it). */
  names: string[];
  /** -t: by terminal name ("pts/1", "tty1"; "?" for none). */
  ttys: string[];
  /** BSD a without x: every process with a terminal. */
  withTty: boolean;
}

export interface FetchOptions {
  /** Ask for the creds attribute (a column or the selection needs it). */
  creds: boolean;
  /** The other attribute groups the columns read. */
  groups: readonly ShowName[];
  /** Count threads per process (the nlwp column). */
  nlwp: boolean;
  ns: NsArg;
  /** Where ALL/ALL_THREAD dumps read tasks. */
  backend?: BackendName;
}

const byList = (sel: Selection) => sel.withTty || [sel.euids, sel.ruids, sel.rgids, sel.names, sel.ttys].some((l) => l.length > 0);

/** ps with no selection option: the caller's euid and terminal. */
export function isDefaultSelection(sel: Selection): boolean {
  return !sel.all && sel.pids.length === 0 && sel.ppids.length === 0 && !sel.ownUser && !byList(sel);
}

/** Whether the selection itself reads credentials. */
export const selectionNeedsCreds = (sel: Selection) =>
  !sel.all && (sel.ownUser || isDefaultSelection(sel) || sel.euids.length > 0 || sel.ruids.length > 0 || sel.rgids.length > 0);

/** The attribute groups the selection itself reads. */
function selectionGroups(sel: Selection): ShowName[] {
  if (sel.all) return [];
  const groups: ShowName[] = [];
  if (isDefaultSelection(sel) || sel.ttys.length > 0 || sel.withTty) groups.push('ps');
  if (sel.names.length > 0) groups.push('name');
  return groups;
}

interface Me {
  tty: number;
  euid: number;
}

/** The ikc process itself, as task_diag sees it in the current pid namespace. */
async function whoAmI(): Promise<Me> {
  const [me] = await client().taskDiag({ strategy: 'one', pid: process.pid, show: ['base', 'creds', 'ps'], ns: 'current' });
  return { tty: me.ps!.ttyNr, euid: me.creds!.euid };
}

/** BASE, and CRED and the other groups when the columns or the selection read them. */
function showFor(sel: Selection, opts: FetchOptions): ShowName[] {
  const creds: ShowName[] = opts.creds || selectionNeedsCreds(sel) ? ['creds'] : [];
  return [...new Set<ShowName>(['base', ...creds, ...opts.groups, ...selectionGroups(sel)])];
}

/** One call per pid ('one', or 'thread' when threads are needed); pids that are gone are skipped. */
async function fetchPids(pids: number[], threads: boolean, show: ShowName[], opts: FetchOptions): Promise<Task[]> {
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
  const [euids, ruids, rgids, names, ttys] = [sel.euids, sel.ruids, sel.rgids, sel.names, sel.ttys].map((l) => new Set<number | string>(l));
  const me = sel.ownUser || isDefaultSelection(sel) ? await whoAmI() : undefined;
  return (t) => {
    if (pids.has(t.tgid) || ppids.has(t.base!.ppid)) return true;
    if (euids.has(t.creds?.euid ?? -1) || ruids.has(t.creds?.uid ?? -1) || rgids.has(t.creds?.gid ?? -1)) return true;
    if (names.has(t.name ?? t.base!.comm)) return true;
    if (ttys.size && ttys.has(ttyName(t.ps!.ttyNr))) return true;
    if (sel.withTty && t.ps!.ttyNr !== 0) return true;
    if (sel.ownUser) return t.creds!.euid === me!.euid;
    if (isDefaultSelection(sel)) return t.creds!.euid === me!.euid && t.ps!.ttyNr === me!.tty;
    return false;
  };
}

/** The rows ikc ps prints, in procps's order (by pid, then thread id). */
export async function selectRows(sel: Selection, opts: FetchOptions): Promise<Row[]> {
  const wantThreads = sel.threads || opts.nlwp;
  const onlyPids = !sel.all && sel.ppids.length === 0 && !sel.ownUser && !byList(sel) && sel.pids.length > 0;
  const show = showFor(sel, opts);
  let tasks: Task[];
  if (onlyPids) {
    tasks = await fetchPids(sel.pids, wantThreads, show, opts);
  } else {
    const dump = await client().taskDiag({ strategy: wantThreads ? 'all-thread' : 'all', show, ns: opts.ns, backend: opts.backend });
    tasks = dump.filter(await matcher(sel));
  }
  const nlwp = new Map<number, number>();
  for (const t of tasks) nlwp.set(t.tgid, (nlwp.get(t.tgid) ?? 0) + 1);
  return tasks
    .filter((t) => sel.threads || t.pid === t.tgid)
    .map((task) => ({ task, nlwp: nlwp.get(task.tgid) ?? 1 }));
}
