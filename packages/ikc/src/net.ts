// Shared by the network-namespace readers (sockets.ts, links.ts, addrs.ts): the
// command numbers, issuing a net command in a namespace, walking the netlink
// messages and attributes of a response, and printing IP addresses as
// inet_ntop does (so they compare equal with ss and ip).
import { endianness } from 'node:os';
import { native } from './binding.js';
import { inProcess } from './client.js';
import { IkcError } from './errors.js';
import { DecodeError, NLMSG_DONE, NLMSG_ERROR, NLMSG_HEADER_LEN } from './netlink.js';
import { withNs, type NsArg } from './ns.js';
import { readResponseChunks } from './response.js';

export const SOCK_DIAG: number = native.SOCK_DIAG;
export const LINK_DUMP: number = native.LINK_DUMP;
export const ADDR_DUMP: number = native.ADDR_DUMP;

export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

// Netlink is native-endian.
const LE = endianness() === 'LE';
export const u16 = (b: Buffer, o: number) => (LE ? b.readUInt16LE(o) : b.readUInt16BE(o));
export const u32 = (b: Buffer, o: number) => (LE ? b.readUInt32LE(o) : b.readUInt32BE(o));
export const i32 = (b: Buffer, o: number) => (LE ? b.readInt32LE(o) : b.readInt32BE(o));
/** A u64 counter as a number (exact below 2^53, far above any real counter). */
export const u64 = (b: Buffer, o: number) => Number(LE ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
export const align4 = (n: number) => (n + 3) & ~3;

/** One netlink message of a response: its type, flags and payload (a view). */
export interface NetlinkMessage {
  type: number;
  flags: number;
  payload: Buffer;
}

/** An attribute this SDK does not interpret, kept by nla_type. */
export interface OtherAttribute {
  type: number;
  data: Buffer;
}

/** Every message before NLMSG_DONE; a stream without it, or with NLMSG_ERROR, is a DecodeError. */
export function netlinkMessages(bytes: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let o = 0;
  while (bytes.length - o >= NLMSG_HEADER_LEN) {
    const len = u32(bytes, o);
    if (len < NLMSG_HEADER_LEN || o + len > bytes.length) throw new DecodeError(`nlmsg_len ${len} out of range`);
    const type = u16(bytes, o + 4);
    if (type === NLMSG_DONE) return out;
    if (type === NLMSG_ERROR) throw new DecodeError(`response carries NLMSG_ERROR (errno ${len >= 20 ? -i32(bytes, o + 16) : 0})`);
    out.push({ type, flags: u16(bytes, o + 6), payload: bytes.subarray(o + NLMSG_HEADER_LEN, o + len) });
    o += align4(len);
  }
  throw new DecodeError('response ends without NLMSG_DONE');
}

/** The attributes in `b` from `start`: [type (flag bits masked), value]. */
export function* attributes(b: Buffer, start: number): Generator<[number, Buffer]> {
  let o = start;
  while (b.length - o >= 4) {
    const len = u16(b, o);
    if (len < 4 || o + len > b.length) throw new DecodeError(`nla_len ${len} out of range`);
    // NLA_F_NESTED and NLA_F_NET_BYTEORDER are flags, not part of the type.
    yield [u16(b, o + 2) & 0x3fff, b.subarray(o + 4, o + len)];
    o += align4(len);
  }
}

/** A NUL-terminated string attribute. */
export function cString(v: Buffer): string {
  const nul = v.indexOf(0);
  return v.toString('utf8', 0, nul < 0 ? v.length : nul);
}

/** An IPv4 or IPv6 address as inet_ntop prints it. */
export function formatIp(family: number, b: Buffer): string {
  if (family === AF_INET) return [...b.subarray(0, 4)].join('.');
  if (family !== AF_INET6 || b.length < 16) return b.toString('hex');
  const words = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // The longest run of two or more zero words (the first on a tie) becomes '::'.
  let best = { base: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { base: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  // IPv4-compatible (::a.b.c.d, not ::1) and IPv4-mapped (::ffff:a.b.c.d) keep their dotted tail.
  const v4tail =
    best.base === 0 && (best.len === 6 || (best.len === 7 && words[7] !== 1) || (best.len === 5 && words[5] === 0xffff));
  const hex = (from: number, to: number) => words.slice(from, to).map((w) => w.toString(16)).join(':');
  if (v4tail) return `::${best.len === 5 ? 'ffff:' : ''}${[...b.subarray(12, 16)].join('.')}`;
  if (best.base < 0) return hex(0, 8);
  return `${hex(0, best.base)}::${hex(best.base + best.len, 8)}`;
}

/** A link-layer address as ip prints it: lower-case hex pairs joined by ':'. */
export function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Who issues the command: an IkcClient (e.g. a BrokerClient), or this process when absent. */
export interface NetIssuer {
  issueKernelCommandAsync(ns: number, command: number, iov: Buffer[], flags?: number): Promise<number>;
}

/** Issues a net command off the main thread with a raw ns number and returns the whole response. */
async function issueRaw(issuer: NetIssuer, raw: number, command: number, request: Buffer): Promise<Buffer> {
  let fd: number;
  try {
    fd = await issuer.issueKernelCommandAsync(raw, command, [request], 0);
  } catch (err) {
    throw IkcError.from(err);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of readResponseChunks(fd)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Issues one net command per request, in order, in the network namespace `ns` (opened once). */
export function issueNet(ns: NsArg | undefined, command: number, requests: Buffer[], issuer: NetIssuer = inProcess): Promise<Buffer[]> {
  return withNs(ns, 'net', async (raw) => {
    const answers: Buffer[] = [];
    for (const request of requests) answers.push(await issueRaw(issuer, raw, command, request));
    return answers;
  });
}
