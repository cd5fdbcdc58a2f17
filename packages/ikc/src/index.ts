// @ikc/sdk: issue_kernel_command and task_diag for Node.js.
//
//   import { taskDiag } from '@ikc/sdk';
//   const tasks = await taskDiag({ strategy: 'all', show: ['base', 'creds'] });
import { native } from './binding.js';
import { IkcError, wrap } from './errors.js';
import { parseTaskDiag, TaskDiagReader, type Task } from './netlink.js';
import { withNs, type NsArg } from './ns.js';
import { readResponseChunks, readResponseSync } from './response.js';

export { IkcError } from './errors.js';
export { DecodeError, parseTaskDiag, TaskDiagReader } from './netlink.js';
export type { Task, TaskBase, TaskCreds } from './netlink.js';
export type { NsArg } from './ns.js';
export { readResponseChunks, readResponseSync } from './response.js';

export const CURRENT_PIDNS: number = native.CURRENT_PIDNS;
export const CURRENT_NETNS: number = native.CURRENT_NETNS;
export const GLOBAL: number = native.GLOBAL;
export const READ_ONLY: number = native.READ_ONLY;
export const TASK_DIAG: number = native.TASK_DIAG;

/** `TASK_DIAG_DUMP_*` numbers, as in Vagin's uapi header. */
export const Strategy = { all: 0, one: 1, 'all-thread': 2, children: 3, thread: 4 } as const;
export type StrategyName = keyof typeof Strategy;

/** `TASK_DIAG_SHOW_*` bits. */
export const Show = { base: 1, creds: 2 } as const;
export type ShowName = keyof typeof Show;

/** `task_diag_base.state` numbers and the letters ps prints for them. */
export const TaskState = ['R', 'S', 'D', 'T', 't', 'X', 'Z', 'I'] as const;
export function stateLetter(state: number): string {
  return TaskState[state] ?? '?';
}

export interface TaskDiagOptions {
  /** Which tasks: 'all' (default), 'all-thread', 'one', 'children', 'thread', or the raw number. */
  strategy?: StrategyName | number;
  /** The pid for 'one', 'children' and 'thread'. */
  pid?: number;
  /** Attribute groups (default ['base']), or the raw show_flags. */
  show?: ShowName[] | number;
  /** Pid namespace: 'current' (default), 'global', a path like /proc/PID/ns/pid, or an fd. */
  ns?: NsArg;
}

/** The raw call: returns the response fd (read-only, sealed, close-on-exec). You close it. */
export function issueKernelCommand(ns: number, command: number, iov: Buffer[], flags = 0): number {
  return wrap(() => native.issueKernelCommand(ns, command, iov, flags));
}

/** The raw call on the thread pool. */
export async function issueKernelCommandAsync(ns: number, command: number, iov: Buffer[], flags = 0): Promise<number> {
  try {
    return await native.issueKernelCommandAsync(ns, command, iov, flags);
  } catch (err) {
    throw IkcError.from(err);
  }
}

function showFlags(show: TaskDiagOptions['show']): number {
  if (show === undefined) return Show.base;
  if (typeof show === 'number') return show;
  let flags = 0;
  for (const name of show) {
    const bit = Show[name];
    if (bit === undefined) throw new IkcError('EINVAL', `EINVAL: unknown attribute group '${name}' (known: ${Object.keys(Show).join(', ')})`);
    flags |= bit;
  }
  return flags;
}

function strategyNumber(strategy: TaskDiagOptions['strategy']): number {
  if (strategy === undefined) return Strategy.all;
  if (typeof strategy === 'number') return strategy;
  const n = Strategy[strategy];
  if (n === undefined) throw new IkcError('EINVAL', `EINVAL: unknown strategy '${strategy}' (known: ${Object.keys(Strategy).join(', ')})`);
  return n;
}

/** The task_diag request message for these options. */
export function encodeTaskDiagRequest(opts: TaskDiagOptions = {}, sequence = 0): Buffer {
  return wrap(() => native.encodeTaskDiagRequest(showFlags(opts.show), strategyNumber(opts.strategy), opts.pid ?? 0, sequence));
}

/** Issues task_diag and returns the response fd. You close it (or hand it to another process). */
export function taskDiagFd(opts: TaskDiagOptions = {}): number {
  const request = encodeTaskDiagRequest(opts);
  return withNs(opts.ns, 'pid', (ns) => issueKernelCommand(ns, TASK_DIAG, [request]));
}

/** Synchronous task_diag: every matching task the caller may see, ordered by pid. */
export function taskDiagSync(opts: TaskDiagOptions = {}): Task[] {
  return parseTaskDiag(readResponseSync(taskDiagFd(opts)));
}

async function taskDiagFdAsync(opts: TaskDiagOptions): Promise<number> {
  const request = encodeTaskDiagRequest(opts);
  // A path is opened here and closed once the call has duplicated the fd.
  return withNs(opts.ns, 'pid', (ns) => issueKernelCommandAsync(ns, TASK_DIAG, [request]));
}

/** task_diag on the thread pool: every matching task the caller may see, ordered by pid. */
export async function taskDiag(opts: TaskDiagOptions = {}): Promise<Task[]> {
  const reader = new TaskDiagReader();
  const tasks: Task[] = [];
  for await (const chunk of readResponseChunks(await taskDiagFdAsync(opts))) {
    for (const t of reader.push(chunk)) tasks.push(t);
  }
  reader.finish();
  return tasks;
}

/** task_diag as an async iterable, parsed chunk by chunk: for dumps too large to hold twice. */
export async function* iterateTaskDiag(opts: TaskDiagOptions = {}): AsyncGenerator<Task> {
  const reader = new TaskDiagReader();
  for await (const chunk of readResponseChunks(await taskDiagFdAsync(opts))) {
    yield* reader.push(chunk);
  }
  reader.finish();
}

/** The command table of this build. */
export function commands(): Array<{ name: string; id: number; nsType: string; readOnly: boolean }> {
  return native.commands();
}
