// Periodic statistics (STATS_SUBSCRIBE): subscribe once, receive a snapshot
// every interval on a stream (stream.ts). LINK_STATS: the links of a network
// namespace with their raw counters (IFLA_STATS64), as links.ts parses them;
// TASK_STATS: a task_diag dump (task-diag.ts) each tick. Rates are the
// reader's to compute from two snapshots: `linkRates`, `taskRates`.
import { native } from './binding.js';
import { LINK_STATS, TASK_STATS } from './commands.js';
import { backendFlags, type BackendName } from './backend.js';
import { parseTaskDiag, showFlags, strategyNumber, type Task, type TaskDiagOptions } from './task-diag.js';
import { IkcError, wrap } from './errors.js';
import { issueAsync, inProcessIssuer, type NetIssuer } from './issuer.js';
import { parseLinkDump, type Link, type LinkStats } from './links.js';
import { u64, u64Bits } from './netlink.js';
import { withNs, type NsArg } from './ns.js';
import { parseEnd, streamMessages, type StreamEnd } from './stream.js';

export const IKC_STATS_SNAPSHOT = 0x7e11;
const STATS_TICK_LEN = 40;

/** One tick's snapshot. */
export interface Snapshot<T> {
  /** Deadline k: taken at anchor + k·interval. */
  tick: number;
  /** Ticks since the previous snapshot the producer never took (it was late). */
  missed: number;
  /** Ticks since the previous snapshot taken but replaced, since this reader was behind (latest wins). */
  skipped: number;
  /** CLOCK_MONOTONIC when taken, in nanoseconds. */
  monotonicNs: bigint;
  data: T;
}

export interface LinkStatsOptions {
  /** Milliseconds between snapshots, 100 to 3 600 000 (default 1000). */
  intervalMs?: number;
  /** Snapshots to deliver, then the stream ends (default: until the iteration stops). */
  count?: number;
  /** Network namespace: 'current' (default), 'global', a path such as /run/netns/NAME, or an fd. */
  ns?: NsArg;
  /** Who issues the command: an IkcClient such as a BrokerClient; this process by default. */
  client?: NetIssuer;
  /** Ends the iteration (and closes the stream) at once when aborted. */
  signal?: AbortSignal;
}

/** A subscription: its snapshots as an async iterable, and why it ended. */
export interface StatsStream<T> extends AsyncIterable<Snapshot<T>> {
  /** Set once the stream ended by itself (count reached, broker stopping). */
  readonly end: StreamEnd | undefined;
}

export type LinkStatsStream = StatsStream<Link[]>;

/** Who issues: an IkcClient (BrokerClient) or this process. */
function issuerOf(client: NetIssuer | undefined): NetIssuer {
  return client ?? { issueKernelCommandAsync: (ns, command, iov, flags = 0) => issueAsync(inProcessIssuer, ns, command, iov, flags) };
}

/** Issues a stats command once iteration starts, and parses each snapshot with `parse`. */
function subscribe<T>(open: () => Promise<number>, parse: (kernel: Buffer) => T, signal?: AbortSignal): StatsStream<T> {
  const state: { end: StreamEnd | undefined } = { end: undefined };
  const iterate = async function* (): AsyncGenerator<Snapshot<T>> {
    const fd = await open();
    for await (const m of streamMessages(fd, { signal })) {
      const end = parseEnd(m);
      if (end) {
        state.end = end;
        if (end.error) throw end.error;
        return;
      }
      if (m.type !== IKC_STATS_SNAPSHOT) continue;
      yield parseSnapshot(m.payload, parse);
    }
  };
  return {
    [Symbol.asyncIterator]: () => iterate(),
    get end() {
      return state.end;
    },
  };
}

/**
 * The links' counters every `intervalMs`, as an async iterable of snapshots.
 * Stopping the iteration closes the stream; an error end is thrown as an IkcError.
 */
export function subscribeLinkStats(opts: LinkStatsOptions = {}): LinkStatsStream {
  const request = native.encodeLinkStatsRequest(opts.intervalMs ?? 1000, opts.count ?? 0);
  const issuer = issuerOf(opts.client);
  return subscribe(() => withNs(opts.ns, 'net', (raw) => issuer.issueKernelCommandAsync(raw, LINK_STATS, [request], 0)), parseLinkDump, opts.signal);
}

export interface TaskStatsOptions extends Omit<TaskDiagOptions, 'backend'> {
  /** Milliseconds between snapshots, 100 to 3 600 000 (default 1000). */
  intervalMs?: number;
  /** Snapshots to deliver, then the stream ends (default: until the iteration stops). */
  count?: number;
  /** Where ALL/ALL_THREAD dumps read tasks: 'auto' (default), 'procfs' or 'bpf'. */
  backend?: BackendName;
  /** Who issues the command: an IkcClient such as a BrokerClient; this process by default. */
  client?: NetIssuer;
  signal?: AbortSignal;
}

/**
 * A task_diag dump every `intervalMs` (default: every process, BASE + STAT +
 * PS, what `top` needs), judged for the subscriber's identity at each tick.
 */
export function subscribeTaskStats(opts: TaskStatsOptions = {}): StatsStream<Task[]> {
  const show = opts.show ?? ['base', 'stat', 'ps'];
  const request = wrap(() => native.encodeTaskStatsRequest(opts.intervalMs ?? 1000, opts.count ?? 0, showFlags(show), strategyNumber(opts.strategy), opts.pid ?? 0));
  const issuer = issuerOf(opts.client);
  const flags = backendFlags(opts.backend);
  return subscribe(() => withNs(opts.ns, 'pid', (raw) => issuer.issueKernelCommandAsync(raw, TASK_STATS, [request], flags)), parseTaskDiag, opts.signal);
}

/** Per-task rates between two task snapshots (both with STAT and PS). */
export interface TaskRates {
  pid: number;
  /** CPU used between the snapshots, in percent of one CPU (as top's %CPU without Irix mode off). */
  cpuPercent: number;
  /** Resident set size now, in bytes. */
  rssBytes: number;
  task: Task;
  /** True when the pid had another start time before (a new process reusing it): its rate is since it started. */
  reused: boolean;
}

/**
 * %CPU per task from two snapshots: (Δutime + Δstime) / Δt, matched by pid and
 * start time (pid reuse never makes a rate negative or borrowed). Tasks new
 * since `prev` are rated from their start. `hz`: clock ticks per second (USER_HZ, 100 on Linux).
 */
export function taskRates(prev: Snapshot<Task[]>, cur: Snapshot<Task[]>, hz = 100): TaskRates[] {
  const seconds = Number(cur.monotonicNs - prev.monotonicNs) / 1e9;
  const before = new Map(prev.data.map((t) => [t.pid, t]));
  const out: TaskRates[] = [];
  for (const t of cur.data) {
    if (!t.stat) continue;
    const old = before.get(t.pid);
    const reused = old !== undefined && old.ps?.startTime !== t.ps?.startTime;
    const same = old !== undefined && !reused && old.stat !== undefined;
    const ticks = t.stat.utime + t.stat.stime - (same ? old.stat!.utime + old.stat!.stime : 0);
    const cpuPercent = seconds > 0 && same ? Math.max(0, (100 * ticks) / hz / seconds) : 0;
    out.push({ pid: t.pid, cpuPercent, rssBytes: t.ps?.rss ?? 0, task: t, reused });
  }
  return out;
}

/** A snapshot message's payload: `struct ikc_stats_tick`, then the kernel's messages. */
export function parseSnapshot<T>(payload: Buffer, parse: (kernel: Buffer) => T): Snapshot<T> {
  if (payload.length < STATS_TICK_LEN) throw new IkcError('EIO', `EIO: a snapshot of ${payload.length} bytes is shorter than its header`);
  return {
    tick: u64(payload, 0),
    missed: u64(payload, 8),
    skipped: u64(payload, 16),
    monotonicNs: u64Bits(payload, 24),
    data: parse(payload.subarray(STATS_TICK_LEN)),
  };
}

/** Per-second rates of one link between two snapshots. */
export interface LinkRates {
  name: string;
  index: number;
  rxBytesPerSec: number;
  txBytesPerSec: number;
  rxPacketsPerSec: number;
  txPacketsPerSec: number;
  /** The counters went backwards (the link was recreated, or they were reset): rates are from zero. */
  reset: boolean;
}

/** Rates per link present in both snapshots (matched by index and name), never negative. */
export function linkRates(prev: Snapshot<Link[]>, cur: Snapshot<Link[]>): LinkRates[] {
  const seconds = Number(cur.monotonicNs - prev.monotonicNs) / 1e9;
  const before = new Map(prev.data.map((l) => [`${l.index}/${l.name}`, l]));
  const out: LinkRates[] = [];
  for (const link of cur.data) {
    const old = before.get(`${link.index}/${link.name}`);
    const a = old?.stats64;
    const b = link.stats64;
    if (!a || !b || seconds <= 0) continue;
    const keys: (keyof LinkStats)[] = ['rxBytes', 'txBytes', 'rxPackets', 'txPackets'];
    const reset = keys.some((k) => b[k] < a[k]);
    const rate = (k: keyof LinkStats) => (reset ? b[k] : b[k] - a[k]) / seconds;
    out.push({
      name: link.name,
      index: link.index,
      rxBytesPerSec: rate('rxBytes'),
      txBytesPerSec: rate('txBytes'),
      rxPacketsPerSec: rate('rxPackets'),
      txPacketsPerSec: rate('txPackets'),
      reset,
    });
  }
  return out;
}
