// @ikc/sdk: issue_kernel_command and task_diag for Node.js.
//
//   import { taskDiag } from '@ikc/sdk';
//   const tasks = await taskDiag({ strategy: 'all', show: ['base', 'creds'] });
import { native } from './binding.js';
import { inProcess } from './client.js';

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

export { backendFlags, backendInUse, encodeTaskDiagRequest, IkcClient, inProcess, Show, Strategy } from './client.js';
export type { BackendName, Issuer, ShowName, StrategyName, TaskDiagOptions } from './client.js';
export { BrokerClient, runSandboxed, startBroker } from './broker.js';
export type { BrokerOptions, RunningBroker } from './broker.js';

/** `task_diag_base.state` numbers and the letters ps prints for them. */
export const TaskState = ['R', 'S', 'D', 'T', 't', 'X', 'Z', 'P', 'I'] as const;
export function stateLetter(state: number): string {
  return TaskState[state] ?? '?';
}

// In-process calls, as functions (the same as inProcess.<method>).
export const issueKernelCommand = inProcess.issueKernelCommand.bind(inProcess);
export const issueKernelCommandAsync = inProcess.issueKernelCommandAsync.bind(inProcess);
export const taskDiagFd = inProcess.taskDiagFd.bind(inProcess);
export const taskDiagSync = inProcess.taskDiagSync.bind(inProcess);
export const taskDiag = inProcess.taskDiag.bind(inProcess);
export const iterateTaskDiag = inProcess.iterateTaskDiag.bind(inProcess);

/** The command table of this build. */
export function commands(): Array<{ name: string; id: number; nsType: string; readOnly: boolean }> {
  return native.commands();
}

// Network namespaces: sockets (SOCK_DIAG), links (LINK_DUMP), addresses (ADDR_DUMP).
export { ADDR_DUMP, formatIp, LINK_DUMP, SOCK_DIAG } from './net.js';
export type { NetIssuer, OtherAttribute } from './net.js';
export { parseSockDiag, socketQueries, sockets, socketStateName, SocketState } from './sockets.js';
export type { InetSocket, Socket, SocketOptions, SocketQuery, UnixSocket } from './sockets.js';
export { links, operStateName, parseLinkDump } from './links.js';
export type { Link, LinkOptions, LinkStats } from './links.js';
export { addrs, INFINITY_LIFE_TIME, parseAddrDump, scopeName } from './addrs.js';
export type { Addr, AddrOptions } from './addrs.js';
