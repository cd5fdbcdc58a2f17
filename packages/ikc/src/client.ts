// IkcClient: every call of the SDK over one "issuer", which is either this
// process (the native call) or a broker connection. The same code path serves
// both, so in-process and brokered answers cannot drift apart.
import { IkcError, wrap } from './errors.js';
import { parseTaskDiag, TaskDiagReader, type Task } from './netlink.js';
import { withNs } from './ns.js';
import { readResponseChunks, readResponseSync } from './response.js';
import { native } from './binding.js';
import { addrs, type Addr, type AddrOptions } from './addrs.js';
import { links, type Link, type LinkOptions } from './links.js';
import { sockets, type Socket, type SocketOptions } from './sockets.js';

/** How a command reaches the kernel: directly, or through a broker. */
export interface Issuer {
  issue(ns: number, command: number, iov: Buffer[], flags: number): number;
  issueAsync(ns: number, command: number, iov: Buffer[], flags: number): Promise<number>;
}

/** `TASK_DIAG_DUMP_*` numbers, as in Vagin's uapi header. */
export const Strategy = { all: 0, one: 1, 'all-thread': 2, children: 3, thread: 4 } as const;
export type StrategyName = keyof typeof Strategy;

/** `TASK_DIAG_SHOW_*` bits. */
export const Show = { base: 1, creds: 2 } as const;
export type ShowName = keyof typeof Show;

export interface TaskDiagOptions {
  /** Which tasks: 'all' (default), 'all-thread', 'one', 'children', 'thread', or the raw number. */
  strategy?: StrategyName | number;
  /** The pid for 'one', 'children' and 'thread', numbered in the namespace asked about. */
  pid?: number;
  /** Attribute groups (default ['base']), or the raw show_flags. */
  show?: ShowName[] | number;
  /** Pid namespace: 'current' (default), 'global', a path like /proc/PID/ns/pid, or an fd. */
  ns?: 'current' | 'global' | string | number;
  /** Where ALL/ALL_THREAD dumps read tasks: 'auto' (default), 'procfs' or 'bpf' (EOPNOTSUPP if unavailable). */
  backend?: BackendName;
}

export type BackendName = 'auto' | 'procfs' | 'bpf';

/** The `flags` bits for a backend choice. */
export function backendFlags(backend: BackendName = 'auto'): number {
  switch (backend) {
    case 'auto':
      return 0;
    case 'procfs':
      return native.FLAG_BACKEND_PROCFS;
    case 'bpf':
      return native.FLAG_BACKEND_BPF;
    default:
      throw new IkcError('EINVAL', `EINVAL: unknown backend '${String(backend)}' (auto, procfs, bpf)`);
  }
}

/** The backend a dump issued in this process with this choice would use ('procfs' or 'bpf'). */
export function backendInUse(backend: BackendName = 'auto'): 'procfs' | 'bpf' {
  return wrap(() => native.backendInUse(backendFlags(backend))) as 'procfs' | 'bpf';
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

export class IkcClient {
  constructor(protected readonly issuer: Issuer) {}

  /** The raw call: returns the response fd (read-only, sealed, close-on-exec). You close it. */
  issueKernelCommand(ns: number, command: number, iov: Buffer[], flags = 0): number {
    return wrap(() => this.issuer.issue(ns, command, iov, flags));
  }

  /** The raw call off the main thread (every failure, even of the arguments, is a rejection). */
  async issueKernelCommandAsync(ns: number, command: number, iov: Buffer[], flags = 0): Promise<number> {
    return wrap(() => this.issuer.issueAsync(ns, command, iov, flags));
  }

  /** Issues task_diag and returns the response fd. You close it (or hand it to another process). */
  taskDiagFd(opts: TaskDiagOptions = {}): number {
    const request = encodeTaskDiagRequest(opts);
    return withNs(opts.ns, 'pid', (ns) => this.issueKernelCommand(ns, native.TASK_DIAG, [request], backendFlags(opts.backend)));
  }

  /** Synchronous task_diag: every matching task the caller may see, ordered by pid. */
  taskDiagSync(opts: TaskDiagOptions = {}): Task[] {
    return parseTaskDiag(readResponseSync(this.taskDiagFd(opts)));
  }

  private taskDiagFdAsync(opts: TaskDiagOptions): Promise<number> {
    const request = encodeTaskDiagRequest(opts);
    // A path is opened here and closed once the call has its own reference.
    return withNs(opts.ns, 'pid', (ns) => this.issueKernelCommandAsync(ns, native.TASK_DIAG, [request], backendFlags(opts.backend)));
  }

  /** task_diag off the main thread: every matching task the caller may see, ordered by pid. */
  async taskDiag(opts: TaskDiagOptions = {}): Promise<Task[]> {
    // Parsed chunk by chunk, without an await per task (30k awaits cost more than the parse).
    const tasks: Task[] = [];
    const reader = new TaskDiagReader();
    for await (const chunk of readResponseChunks(await this.taskDiagFdAsync(opts))) {
      for (const t of reader.push(chunk)) tasks.push(t);
    }
    reader.finish();
    return tasks;
  }

  /** task_diag as an async iterable, parsed chunk by chunk: for dumps too large to hold twice. */
  async *iterateTaskDiag(opts: TaskDiagOptions = {}): AsyncGenerator<Task> {
    const reader = new TaskDiagReader();
    for await (const chunk of readResponseChunks(await this.taskDiagFdAsync(opts))) {
      yield* reader.push(chunk);
    }
    reader.finish();
  }

  /** The sockets of a network namespace (SOCK_DIAG), like `ss -tuxan`. */
  sockets(opts: Omit<SocketOptions, 'client'> = {}): Promise<Socket[]> {
    return sockets({ ...opts, client: this });
  }

  /** The links of a network namespace with their statistics (LINK_DUMP), like `ip link`. */
  links(opts: Omit<LinkOptions, 'client'> = {}): Promise<Link[]> {
    return links({ ...opts, client: this });
  }

  /** The addresses of a network namespace (ADDR_DUMP), like `ip addr`. */
  addrs(opts: Omit<AddrOptions, 'client'> = {}): Promise<Addr[]> {
    return addrs({ ...opts, client: this });
  }
}

/** This process, calling into the native module directly. */
export const inProcess = new IkcClient({
  issue: (ns, command, iov, flags) => native.issueKernelCommand(ns, command, iov, flags),
  issueAsync: (ns, command, iov, flags) => native.issueKernelCommandAsync(ns, command, iov, flags),
});
