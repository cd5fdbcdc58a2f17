// IkcClient: every call of the SDK over one Issuer (issuer.ts), either this
// process or a broker connection (BrokerClient, broker.ts). The same code path
// serves both, so in-process and brokered answers cannot drift apart. Also
// `inProcess` and its methods as plain functions (what index.ts exports).
import { addrs, type Addr, type AddrOptions } from './addrs.js';
import { backendFlags } from './backend.js';
import { events, type EventsOptions, type EventStream } from './events.js';
import { TASK_DIAG } from './commands.js';
import { inProcessIssuer, issue, issueAsync, type Issuer } from './issuer.js';
import { links, type Link, type LinkOptions } from './links.js';
import { withNs } from './ns.js';
import { readResponseChunks, readResponseSync } from './response.js';
import { sockets, type Socket, type SocketOptions } from './sockets.js';
import { encodeTaskDiagRequest, parseTaskDiag, taskDiagColumns, TaskDiagReader, type BaseField, type Task, type TaskColumns, type TaskDiagOptions } from './task-diag.js';

export class IkcClient {
  constructor(protected readonly issuer: Issuer) {}

  /** The raw call: returns the response fd (read-only, sealed, close-on-exec). You close it. */
  issueKernelCommand(ns: number, command: number, iov: Buffer[], flags = 0): number {
    return issue(this.issuer, ns, command, iov, flags);
  }

  /** The raw call off the main thread (every failure, even of the arguments, is a rejection). */
  issueKernelCommandAsync(ns: number, command: number, iov: Buffer[], flags = 0): Promise<number> {
    return issueAsync(this.issuer, ns, command, iov, flags);
  }

  /** Issues task_diag and returns the response fd. You close it (or hand it to another process). */
  taskDiagFd(opts: TaskDiagOptions = {}): number {
    const request = encodeTaskDiagRequest(opts);
    return withNs(opts.ns, 'pid', (ns) => this.issueKernelCommand(ns, TASK_DIAG, [request], backendFlags(opts.backend)));
  }

  /** Synchronous task_diag: every matching task the caller may see, ordered by pid. */
  taskDiagSync(opts: TaskDiagOptions = {}): Task[] {
    return parseTaskDiag(readResponseSync(this.taskDiagFd(opts)));
  }

  /**
   * Synchronous task_diag read as columns of BASE numbers (`taskDiagColumns`):
   * no object per task, for printing large dumps. Asks for BASE whatever `show` says.
   */
  taskDiagColumnsSync(opts: Omit<TaskDiagOptions, 'show'>, fields: readonly BaseField[]): TaskColumns {
    return taskDiagColumns(readResponseSync(this.taskDiagFd({ ...opts, show: ['base'] })), fields);
  }

  private taskDiagFdAsync(opts: TaskDiagOptions): Promise<number> {
    const request = encodeTaskDiagRequest(opts);
    // A path is opened here and closed once the call has its own reference.
    return withNs(opts.ns, 'pid', (ns) => this.issueKernelCommandAsync(ns, TASK_DIAG, [request], backendFlags(opts.backend)));
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

  /** Process events (PROC_EVENTS) as an async iterable, like `forkstat`. */
  events(opts: Omit<EventsOptions, 'client'> = {}): EventStream {
    return events({ ...opts, client: this });
  }
}

/** This process, calling into the native module directly. */
export const inProcess = new IkcClient(inProcessIssuer);

// In-process calls, as functions (the same as inProcess.<method>).
export const issueKernelCommand = inProcess.issueKernelCommand.bind(inProcess);
export const issueKernelCommandAsync = inProcess.issueKernelCommandAsync.bind(inProcess);
export const taskDiagFd = inProcess.taskDiagFd.bind(inProcess);
export const taskDiagSync = inProcess.taskDiagSync.bind(inProcess);
export const taskDiag = inProcess.taskDiag.bind(inProcess);
export const iterateTaskDiag = inProcess.iterateTaskDiag.bind(inProcess);
