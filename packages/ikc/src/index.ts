// @ikc/sdk: issue_kernel_command and task_diag for Node.js.
//
//   import { taskDiag } from '@ikc/sdk';
//   const tasks = await taskDiag({ strategy: 'all', show: ['base', 'creds'] });
//
// The public API, re-exported from one module per concept; no logic here.

// Errors and the raw call.
export { IkcError } from './errors.js';
export { DecodeError } from './netlink.js';
export type { OtherAttribute } from './netlink.js';
export { readResponseChunks, readResponseSync } from './response.js';
export { CURRENT_NETNS, CURRENT_PIDNS, GLOBAL } from './ns.js';
export type { NsArg } from './ns.js';
export { ADDR_DUMP, commands, LINK_DUMP, LINK_STATS, READ_ONLY, SOCK_DIAG, TASK_DIAG, TASK_STATS } from './commands.js';
export type { CommandInfo } from './commands.js';
export type { Issuer, NetIssuer } from './issuer.js';
export { parseEnd, parseLoss, streamMessages, STREAM_LOST, STREAM_POSSIBLY_LOST } from './stream.js';
export type { EndReason, LossCause, StreamEnd, StreamLoss, StreamMessage } from './stream.js';
export { IKC_STATS_SNAPSHOT, linkRates, parseSnapshot, subscribeLinkStats, subscribeTaskStats, taskRates } from './stats.js';
export type { LinkRates, LinkStatsOptions, LinkStatsStream, Snapshot, StatsStream, TaskRates, TaskStatsOptions } from './stats.js';
export { encodeEventsRequest, EVENT_TYPE_NAMES, events, IKC_PROC_EVENT, parseProcEvent, PROC_EVENTS } from './events.js';
export type {
  CommEvent,
  CoredumpEvent,
  EventsOptions,
  EventStream,
  EventTypeName,
  ExecEvent,
  ExitEvent,
  ForkEvent,
  GidEvent,
  LostEvent,
  PossiblyLostEvent,
  ProcEvent,
  ProcEventType,
  PtraceEvent,
  SidEvent,
  TaskEvent,
  UidEvent,
} from './events.js';

// task_diag: requests, the response reader, the backend choice.
export { argv, encodeTaskDiagRequest, parseTaskDiag, Show, stateLetter, Strategy, taskDiagColumns, TaskDiagReader, TaskState } from './task-diag.js';
export type { BaseField, ShowName, StrategyName, Task, TaskBase, TaskColumns, TaskCreds, TaskDiagOptions, TaskPs, TaskStat } from './task-diag.js';
export { backendFlags, backendInUse } from './backend.js';
export type { BackendName } from './backend.js';

// Clients: this process, or a broker.
export { IkcClient, inProcess } from './client.js';
// In-process calls, as functions (the same as inProcess.<method>).
export { issueKernelCommand, issueKernelCommandAsync, iterateTaskDiag, taskDiag, taskDiagFd, taskDiagSync } from './client.js';
export { BrokerClient, runSandboxed, startBroker } from './broker.js';
export type { BrokerOptions, RunningBroker } from './broker.js';

// Network namespaces: sockets (SOCK_DIAG), links (LINK_DUMP), addresses (ADDR_DUMP).
export { formatIp } from './inet.js';
export { parseSockDiag, socketQueries, sockets, socketStateName, SocketState } from './sockets.js';
export type { InetSocket, Socket, SocketOptions, SocketQuery, UnixSocket } from './sockets.js';
export { links, operStateName, parseLinkDump } from './links.js';
export type { Link, LinkOptions, LinkStats } from './links.js';
export { addrs, INFINITY_LIFE_TIME, parseAddrDump, scopeName } from './addrs.js';
export type { Addr, AddrOptions } from './addrs.js';
