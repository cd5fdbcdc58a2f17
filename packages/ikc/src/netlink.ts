// Generic netlink, as every reader of the SDK sees it: native-endian field
// reads, the message header and its NLMSG_DONE / NLMSG_ERROR ends, attributes,
// and DecodeError for bytes that are not a well-formed stream. Used by
// task-diag.ts, sockets.ts, links.ts and addrs.ts; depends on nothing.
import { endianness } from 'node:os';

export const NLMSG_HEADER_LEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

/** Thrown when response bytes are not a well-formed netlink stream of the kind asked for. */
export class DecodeError extends Error {
  readonly code = 'EBADMSG';
}

// Netlink is native-endian.
const LE = endianness() === 'LE';
export const u16 = (b: Buffer, o: number) => (LE ? b.readUInt16LE(o) : b.readUInt16BE(o));
export const u32 = (b: Buffer, o: number) => (LE ? b.readUInt32LE(o) : b.readUInt32BE(o));
export const i32 = (b: Buffer, o: number) => (LE ? b.readInt32LE(o) : b.readInt32BE(o));
/** A u64 counter as a number (exact below 2^53, far above any real counter). */
export const u64 = (b: Buffer, o: number) => Number(LE ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
/** A u64 bit mask (capability sets, socket cookies) as two u32 words, exactly. */
export const u64Bits = (b: Buffer, o: number) => BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n);
export const align4 = (n: number) => (n + 3) & ~3;

/** The errno an NLMSG_ERROR message of length `len` at `o` carries (0 if it is too short to say). */
export const nlmsgErrno = (b: Buffer, o: number, len: number) => (len >= 20 ? -i32(b, o + 16) : 0);

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
    if (type === NLMSG_ERROR) throw new DecodeError(`response carries NLMSG_ERROR (errno ${nlmsgErrno(bytes, o, len)})`);
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
