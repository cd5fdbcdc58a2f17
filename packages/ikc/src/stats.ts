// Periodic statistics (STATS_SUBSCRIBE): subscribe once, receive a snapshot
// every interval on a stream (stream.ts). LINK_STATS: the links of a network
// namespace with their raw counters (IFLA_STATS64), as links.ts parses them.
// Rates are the reader's to compute from two snapshots: `linkRates`.
import { native } from './binding.js';
import { LINK_STATS } from './commands.js';
import { IkcError } from './errors.js';
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

/** The end of the last stream `subscribeLinkStats` read, for callers that want to know why it stopped. */
export interface LinkStatsStream extends AsyncIterable<Snapshot<Link[]>> {
  /** Set once the stream ended by itself (count reached, broker stopping). */
  readonly end: StreamEnd | undefined;
}

/**
 * The links' counters every `intervalMs`, as an async iterable of snapshots.
 * Stopping the iteration closes the stream; an error end is thrown as an IkcError.
 */
export function subscribeLinkStats(opts: LinkStatsOptions = {}): LinkStatsStream {
  const request = native.encodeLinkStatsRequest(opts.intervalMs ?? 1000, opts.count ?? 0);
  const issuer: NetIssuer = opts.client ?? { issueKernelCommandAsync: (ns, command, iov, flags = 0) => issueAsync(inProcessIssuer, ns, command, iov, flags) };
  const state: { end: StreamEnd | undefined } = { end: undefined };
  const iterate = async function* (): AsyncGenerator<Snapshot<Link[]>> {
    const fd = await withNs(opts.ns, 'net', (raw) => issuer.issueKernelCommandAsync(raw, LINK_STATS, [request], 0));
    for await (const m of streamMessages(fd, { signal: opts.signal })) {
      const end = parseEnd(m);
      if (end) {
        state.end = end;
        if (end.error) throw end.error;
        return;
      }
      if (m.type !== IKC_STATS_SNAPSHOT) continue;
      yield parseSnapshot(m.payload, parseLinkDump);
    }
  };
  return {
    [Symbol.asyncIterator]: () => iterate(),
    get end() {
      return state.end;
    },
  };
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
