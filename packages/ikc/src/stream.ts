// Streams: the response kind of commands that keep answering (LINK_STATS,
// PROC_EVENTS). The fd is the read end of a pipe carrying netlink messages
// (crates/ikc-core/src/stream.rs, docs/wire-format.md "Streams"): nlmsg_seq is
// the stream's own sequence number, loss is announced (STREAM_LOST), and the
// stream ends with one NLMSG_DONE saying why, then EOF. It is read through a
// net.Socket on the fd, so reads wait in libuv's event loop (epoll), not on
// the 4-thread pool. Depends on netlink.ts and errors.ts only.
import net from 'node:net';
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { IkcError } from './errors.js';
import { align4, i32, NLMSG_DONE, NLMSG_HEADER_LEN, u16, u32, u64 } from './netlink.js';

export const STREAM_LOST = 0x7f01;
export const STREAM_POSSIBLY_LOST = 0x7f02;

/** One message as the producer framed it. */
export interface StreamMessage {
  type: number;
  flags: number;
  /** The stream's own sequence number: 0, 1, 2, ... A gap is a loss (announced by a `lost` notice). */
  seq: number;
  payload: Buffer;
}

export type LossCause = 'queue-full' | 'source' | 'silence';
const LOSS_CAUSES: Record<number, LossCause> = { 1: 'queue-full', 2: 'source', 3: 'silence' };

/** A loss notice: `count` null when unknown (a source that went quiet). */
export interface StreamLoss {
  count: number | null;
  /** The sequence numbers the lost messages had (0 and 0 when they had none). */
  firstSeq: number;
  lastSeq: number;
  cause: LossCause;
  /** True for STREAM_POSSIBLY_LOST: messages may have been lost, uncounted. */
  possibly: boolean;
}

export type EndReason = 'complete' | 'shutdown' | 'too-slow' | 'error' | 'revoked';
const END_REASONS: Record<number, EndReason> = { 1: 'complete', 2: 'shutdown', 3: 'too-slow', 4: 'error', 5: 'revoked' };

/** Why a stream ended (its final message). */
export interface StreamEnd {
  reason: EndReason;
  /** The errno of an `error` or `revoked` end, as an IkcError; undefined otherwise. */
  error?: IkcError;
  /** Messages before the end, and messages dropped for this reader. */
  delivered: number;
  lost: number;
}

/** The loss notice `m` is, if it is one. */
export function parseLoss(m: StreamMessage): StreamLoss | undefined {
  if (m.type !== STREAM_LOST && m.type !== STREAM_POSSIBLY_LOST) return undefined;
  if (m.payload.length < 24) throw new IkcError('EIO', `stream loss notice is ${m.payload.length} bytes, not 24`);
  // u64::MAX is "unknown" (LOST_UNKNOWN).
  const unknown = u32(m.payload, 0) === 0xffff_ffff && u32(m.payload, 4) === 0xffff_ffff;
  return {
    count: unknown ? null : u64(m.payload, 0),
    firstSeq: u32(m.payload, 8),
    lastSeq: u32(m.payload, 12),
    cause: LOSS_CAUSES[u32(m.payload, 16)] ?? 'source',
    possibly: m.type === STREAM_POSSIBLY_LOST,
  };
}

/** The end `m` is, if it is the final message. */
export function parseEnd(m: StreamMessage): StreamEnd | undefined {
  if (m.type !== NLMSG_DONE) return undefined;
  if (m.payload.length < 24) throw new IkcError('EIO', `stream end is ${m.payload.length} bytes, not 24`);
  const errno = -i32(m.payload, 0);
  const reason = END_REASONS[u32(m.payload, 4)] ?? 'error';
  const end: StreamEnd = { reason, delivered: u64(m.payload, 8), lost: u64(m.payload, 16) };
  if (errno > 0) end.error = errnoError(errno, `the stream ended (${reason})`);
  return end;
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno as Record<string, number>).map(([name, n]) => [n, name]));

function errnoError(errno: number, what: string): IkcError {
  const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
  return new IkcError(code, `${code}: ${what}`, errno);
}

/**
 * The messages of the stream on `fd`, as they arrive, up to and including its
 * final message (NLMSG_DONE). Takes ownership of `fd`: it is closed when the
 * stream ends, when the iteration stops early (`break`, `return`), or on error.
 * A stream whose bytes are not netlink messages is an IkcError EIO.
 */
export async function* streamMessages(fd: number, opts: { signal?: AbortSignal } = {}): AsyncGenerator<StreamMessage, void, undefined> {
  let socket: net.Socket;
  try {
    socket = new net.Socket({ fd, readable: true, writable: false });
  } catch (err) {
    closeSync(fd);
    throw new IkcError('EBADF', `EBADF: fd ${fd} is not a stream (${(err as Error).message})`);
  }
  let pending: Buffer = Buffer.alloc(0);
  // An abort closes the fd at once, even while a read waits (an iterator's
  // return() would wait for the next message first).
  const abort = () => socket.destroy();
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let o = 0;
      while (pending.length - o >= NLMSG_HEADER_LEN) {
        const len = u32(pending, o);
        if (len < NLMSG_HEADER_LEN) throw new IkcError('EIO', `EIO: stream message declares ${len} bytes`);
        if (pending.length - o < len) break;
        const m: StreamMessage = { type: u16(pending, o + 4), flags: u16(pending, o + 6), seq: u32(pending, o + 8), payload: Buffer.from(pending.subarray(o + NLMSG_HEADER_LEN, o + len)) };
        o = Math.min(o + align4(len), pending.length);
        yield m;
        if (m.type === NLMSG_DONE) return;
      }
      pending = pending.subarray(o);
    }
    if (opts.signal?.aborted) return;
    if (pending.length > 0) throw new IkcError('EIO', 'EIO: the stream ends inside a message');
    throw new IkcError('EIO', 'EIO: the stream ended without its final message');
  } catch (err) {
    if (opts.signal?.aborted) return;
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    socket.destroy();
  }
}
