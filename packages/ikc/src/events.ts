// Process events (PROC_EVENTS): the process connector's fork, exec, exit,
// uid, gid, sid, comm, ptrace and coredump events on a stream (stream.ts),
// filtered by type, pid or subtree and shown as task_diag would show the
// tasks, in the caller's pid namespace's numbering. The request is encoded by
// the core (one codec, through the binding); each IKC_PROC_EVENT message is
// the kernel's `struct proc_event` (include/uapi/linux/cn_proc.h) followed by
// `struct ikc_proc_event_extra` and the command line (include/ikc/events.h).
// Losses are events too: 'lost' (counted) and 'possibly-lost' (the source
// went quiet). Layout and protocol: docs/wire-format.md "Events".
import { native } from './binding.js';
import { IkcError } from './errors.js';
import { issueAsync, inProcessIssuer, type NetIssuer } from './issuer.js';
import { cString, i32, u32, u64Bits } from './netlink.js';
import { withNs, type NsArg } from './ns.js';
import { parseEnd, parseLoss, streamMessages, type LossCause, type StreamEnd } from './stream.js';

/** The PROC_EVENTS command number (read-only bit included). */
export const PROC_EVENTS: number = native.PROC_EVENTS;
/** `nlmsg_type` of an event on a PROC_EVENTS stream. */
export const IKC_PROC_EVENT: number = native.IKC_PROC_EVENT;

export type ProcEventType = 'fork' | 'exec' | 'exit' | 'uid' | 'gid' | 'sid' | 'comm' | 'ptrace' | 'coredump';
/** Every name a request may use: the event types, and 'nonzero-exit' (exits with a non-zero exit_code only). */
export type EventTypeName = ProcEventType | 'nonzero-exit';

/** The types and their PROC_EVENT_* bits, as the core defines them. */
const BITS = new Map<number, ProcEventType>(
  native
    .eventTypes()
    .filter((t) => t.name !== 'nonzero-exit')
    .map((t) => [t.bit, t.name as ProcEventType]),
);
/** Every event type name a request accepts. */
export const EVENT_TYPE_NAMES: readonly EventTypeName[] = native.eventTypes().map((t) => t.name as EventTypeName);

const PROC_EVENT_LEN = 40;
const EXTRA_LEN = 24;
const HAS_COMM = 0x1;
const HAS_CMDLINE = 0x2;

interface EventCommon {
  /** The stream's sequence number of this message. */
  seq: number;
  cpu: number;
  /** CLOCK_MONOTONIC when the kernel made the event, in nanoseconds. */
  timestampNs: bigint;
  /** The task the event is about (a fork's child), numbered in the stream's pid namespace. */
  pid: number;
  tgid: number;
  /** Its comm as ikc knew it (after an exec, the new one), if known. */
  comm?: string;
}

export interface ForkEvent extends EventCommon {
  type: 'fork';
  /** 0 when the parent is not one the subscriber may see (or outside its namespace). */
  parentPid: number;
  parentTgid: number;
}
export interface ExecEvent extends EventCommon {
  type: 'exec';
  /** The arguments, when the request asked for them and the task could still be read. */
  cmdline?: string[];
}
export interface ExitEvent extends EventCommon {
  type: 'exit';
  /** The wait status as the kernel reports it. */
  exitCode: number;
  /** The killing signal (`exitCode & 0x7f`), 0 if none. */
  signal: number;
  /** The exit status (`(exitCode >> 8) & 0xff`). */
  status: number;
  /** The signal sent to the parent; -1 for a thread. */
  exitSignal: number;
  parentPid: number;
  parentTgid: number;
}
export interface UidEvent extends EventCommon {
  type: 'uid';
  ruid: number;
  euid: number;
}
export interface GidEvent extends EventCommon {
  type: 'gid';
  rgid: number;
  egid: number;
}
export interface SidEvent extends EventCommon {
  type: 'sid';
}
export interface CommEvent extends EventCommon {
  type: 'comm';
}
export interface PtraceEvent extends EventCommon {
  type: 'ptrace';
  tracerPid: number;
  tracerTgid: number;
}
export interface CoredumpEvent extends EventCommon {
  type: 'coredump';
  parentPid: number;
  parentTgid: number;
}
interface LossCommon {
  seq: number;
  /** How many were lost; null: unknown. */
  count: number | null;
  /** The stream sequence numbers they had (0 and 0 when they never had any: a source's loss). */
  firstSeq: number;
  lastSeq: number;
  cause: LossCause;
}
/** Events were lost (the reader's queue was full, or the kernel's socket overran). */
export interface LostEvent extends LossCommon {
  type: 'lost';
}
/** The source went quiet when it should not have: events may have been lost, uncounted. */
export interface PossiblyLostEvent extends LossCommon {
  type: 'possibly-lost';
}

export type TaskEvent = ForkEvent | ExecEvent | ExitEvent | UidEvent | GidEvent | SidEvent | CommEvent | PtraceEvent | CoredumpEvent;
export type ProcEvent = TaskEvent | LostEvent | PossiblyLostEvent;

export interface EventsOptions {
  /** Types to deliver (default: all); 'nonzero-exit' without 'exit' asks for failed exits only. */
  types?: EventTypeName[];
  /** Follow only these processes (at most 16), numbered in the pid namespace `ns`. */
  pids?: number[];
  /** The pids are subtree roots: their descendants forked later are followed too. */
  subtree?: boolean;
  /** Send each exec's command line. */
  cmdline?: boolean;
  /** Deliver this many events, then end (default: until the iteration stops). */
  count?: number;
  /** Only exits with a non-zero exit code (the same as adding 'nonzero-exit' to types without 'exit'). */
  nonzeroExit?: boolean;
  /** Pid namespace: 'current' (default), 'global', a path such as /proc/PID/ns/pid, or an fd. */
  ns?: NsArg;
  /** Who issues the command: a BrokerClient, or this process by default. */
  client?: NetIssuer;
  /** Ends the iteration (and closes the stream) at once when aborted. */
  signal?: AbortSignal;
}

/** The stream `events()` returns: iterate it; `end` says why it stopped by itself. */
export interface EventStream extends AsyncIterable<ProcEvent> {
  readonly end: StreamEnd | undefined;
}

/** The request bytes for `opts` (validated by the core: a bad name or count is an IkcError EINVAL). */
export function encodeEventsRequest(opts: EventsOptions = {}): Buffer {
  let types = opts.types;
  if (opts.nonzeroExit) types = [...(types ?? EVENT_TYPE_NAMES.filter((t) => t !== 'nonzero-exit')).filter((t) => t !== 'exit'), 'nonzero-exit'];
  if (opts.count !== undefined && (!Number.isSafeInteger(opts.count) || opts.count < 0)) {
    throw new IkcError('EINVAL', `EINVAL: count ${opts.count} is not a count`);
  }
  try {
    return native.encodeEventsRequest({ types, pids: opts.pids, subtree: opts.subtree, cmdline: opts.cmdline, count: opts.count });
  } catch (err) {
    throw IkcError.from(err);
  }
}

/**
 * Process events as they happen, as an async iterable. Stopping the iteration
 * (or aborting `signal`) closes the stream; an error end is thrown as an IkcError.
 */
export function events(opts: EventsOptions = {}): EventStream {
  const request = encodeEventsRequest(opts);
  const issuer: NetIssuer = opts.client ?? { issueKernelCommandAsync: (ns, command, iov, flags = 0) => issueAsync(inProcessIssuer, ns, command, iov, flags) };
  const state: { end: StreamEnd | undefined } = { end: undefined };
  const iterate = async function* (): AsyncGenerator<ProcEvent> {
    const fd = await withNs(opts.ns, 'pid', (raw) => issuer.issueKernelCommandAsync(raw, PROC_EVENTS, [request], 0));
    for await (const m of streamMessages(fd, { signal: opts.signal })) {
      const end = parseEnd(m);
      if (end) {
        state.end = end;
        if (end.error) throw end.error;
        return;
      }
      const loss = parseLoss(m);
      if (loss) {
        const common: LossCommon = { seq: m.seq, count: loss.count, firstSeq: loss.firstSeq, lastSeq: loss.lastSeq, cause: loss.cause };
        yield loss.possibly ? { type: 'possibly-lost', ...common } : { type: 'lost', ...common };
        continue;
      }
      if (m.type !== IKC_PROC_EVENT) continue;
      const ev = parseProcEvent(m.payload, m.seq);
      if (ev) yield ev;
    }
  };
  return {
    [Symbol.asyncIterator]: () => iterate(),
    get end() {
      return state.end;
    },
  };
}

/** One IKC_PROC_EVENT payload; undefined for a `what` this SDK does not know. Short payloads are IkcError EIO. */
export function parseProcEvent(p: Buffer, seq = 0): TaskEvent | undefined {
  if (p.length < PROC_EVENT_LEN + EXTRA_LEN) throw new IkcError('EIO', `EIO: an event of ${p.length} bytes is shorter than its header`);
  const type = BITS.get(u32(p, 0));
  if (!type) return undefined;
  const w = (i: number) => u32(p, 16 + 4 * i);
  const flags = u32(p, PROC_EVENT_LEN);
  const cmdLen = u32(p, PROC_EVENT_LEN + 4);
  const common: EventCommon = { seq, cpu: u32(p, 4), timestampNs: u64Bits(p, 8), pid: w(0), tgid: w(1) };
  if (flags & HAS_COMM) common.comm = cString(p.subarray(PROC_EVENT_LEN + 8, PROC_EVENT_LEN + 24));
  switch (type) {
    case 'fork':
      return { ...common, type, pid: w(2), tgid: w(3), parentPid: w(0), parentTgid: w(1) };
    case 'exec': {
      const ev: ExecEvent = { ...common, type };
      if (flags & HAS_CMDLINE) {
        const start = PROC_EVENT_LEN + EXTRA_LEN;
        if (p.length < start + cmdLen) throw new IkcError('EIO', `EIO: an exec's command line of ${cmdLen} bytes runs past its message`);
        const raw = p.subarray(start, start + cmdLen).toString('utf8');
        ev.cmdline = raw.length === 0 ? [] : raw.replace(/\0$/, '').split('\0');
      }
      return ev;
    }
    case 'exit': {
      const code = w(2);
      return { ...common, type, exitCode: code, signal: code & 0x7f, status: (code >> 8) & 0xff, exitSignal: i32(p, 16 + 12), parentPid: w(4), parentTgid: w(5) };
    }
    case 'uid':
      return { ...common, type, ruid: w(2), euid: w(3) };
    case 'gid':
      return { ...common, type, rgid: w(2), egid: w(3) };
    case 'comm':
      return { ...common, type, comm: cString(p.subarray(24, 40)) };
    case 'ptrace':
      return { ...common, type, tracerPid: w(2), tracerTgid: w(3) };
    case 'coredump':
      return { ...common, type, parentPid: w(2), parentTgid: w(3) };
    case 'sid':
      return { ...common, type };
  }
}
