// The sockets of a network namespace (SOCK_DIAG): request encoding from ss-like
// options and the parsers of `struct inet_diag_msg` and `struct unix_diag_msg`.
import { native } from './binding.js';
import { SOCK_DIAG } from './commands.js';
import { IkcError, wrap } from './errors.js';
import { AF_INET, AF_INET6, AF_UNIX, formatIp } from './inet.js';
import { issueNet, type NetIssuer } from './issuer.js';
import { attributes, cString, DecodeError, netlinkMessages, u32, u64Bits, type OtherAttribute } from './netlink.js';
import type { NsArg } from './ns.js';

export const SOCK_DIAG_BY_FAMILY = 20;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
const INET_DIAG_MSG_LEN = 72;
const UNIX_DIAG_MSG_LEN = 16;
const INET_DIAG_SHUTDOWN = 8;
const INET_DIAG_SKV6ONLY = 11;
const UNIX_DIAG_NAME = 0;
const UNIX_DIAG_PEER = 2;
const UNIX_DIAG_RQLEN = 4;
const UNIX_DIAG_SHUTDOWN = 6;
/** UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN, what ss asks for. */
const UNIX_SHOW = 0x01 | 0x04 | 0x10;

/** Socket states (TCP's numbers, used by UDP and UNIX sockets too) and the names ss prints. */
export const SocketState = ['UNKNOWN', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'UNCONN', 'CLOSE-WAIT', 'LAST-ACK', 'LISTEN', 'CLOSING'] as const;
export function socketStateName(state: number): string {
  return SocketState[state] ?? `STATE-${state}`;
}
const bit = (state: string) => 1 << SocketState.indexOf(state as (typeof SocketState)[number]);
/** ss's state sets: -a, -l, and the default (connected sockets). */
export const STATES_ALL = (1 << SocketState.length) - 1;
export const STATES_LISTENING = bit('LISTEN') | bit('UNCONN');
export const STATES_CONNECTED = STATES_ALL & ~(bit('LISTEN') | bit('UNCONN') | bit('TIME-WAIT') | bit('SYN-RECV'));

/** A TCP or UDP socket (`struct inet_diag_msg` and the attributes the kernel always adds). */
export interface InetSocket {
  kind: 'inet';
  netid: 'tcp' | 'udp';
  /** AF_INET (2) or AF_INET6 (10). */
  family: number;
  state: number;
  timer: number;
  retrans: number;
  sport: number;
  dport: number;
  src: string;
  dst: string;
  /** The interface index the socket is bound to (0: none). */
  interface: number;
  cookie: bigint;
  expires: number;
  rqueue: number;
  wqueue: number;
  uid: number;
  inode: number;
  /** IPv6 sockets: IPV6_V6ONLY (a [::] socket without it also takes IPv4). */
  v6only?: boolean;
  shutdown?: number;
  other?: OtherAttribute[];
}

/** A UNIX socket (`struct unix_diag_msg` with NAME, PEER and RQLEN). */
export interface UnixSocket {
  kind: 'unix';
  netid: 'u_str' | 'u_dgr' | 'u_seq';
  /** SOCK_STREAM (1), SOCK_DGRAM (2) or SOCK_SEQPACKET (5). */
  type: number;
  state: number;
  inode: number;
  cookie: bigint;
  /** The bound path; abstract names start with '@' (every NUL shown as '@', as ss does). */
  name?: string;
  /** The peer's inode. */
  peer?: number;
  /** Listening: pending connections and the backlog; otherwise bytes queued in and out. */
  rqlen?: number;
  wqlen?: number;
  shutdown?: number;
  other?: OtherAttribute[];
}

export type Socket = InetSocket | UnixSocket;


/** One SOCK_DIAG_BY_FAMILY payload of a TCP or UDP dump. */
export function parseInetDiagMsg(p: Buffer, protocol: number): InetSocket {
  if (p.length < INET_DIAG_MSG_LEN) throw new DecodeError('inet_diag_msg truncated');
  const family = p[0];
  const s: InetSocket = {
    kind: 'inet',
    netid: protocol === IPPROTO_TCP ? 'tcp' : 'udp',
    family,
    state: p[1],
    timer: p[2],
    retrans: p[3],
    sport: p.readUInt16BE(4),
    dport: p.readUInt16BE(6),
    src: formatIp(family, p.subarray(8, 24)),
    dst: formatIp(family, p.subarray(24, 40)),
    interface: u32(p, 40),
    cookie: u64Bits(p, 44),
    expires: u32(p, 52),
    rqueue: u32(p, 56),
    wqueue: u32(p, 60),
    uid: u32(p, 64),
    inode: u32(p, 68),
  };
  for (const [type, v] of attributes(p, INET_DIAG_MSG_LEN)) {
    if (type === INET_DIAG_SKV6ONLY && v.length >= 1) s.v6only = v[0] !== 0;
    else if (type === INET_DIAG_SHUTDOWN && v.length >= 1) s.shutdown = v[0];
    else (s.other ??= []).push({ type, data: Buffer.from(v) });
  }
  return s;
}

const UNIX_NETID: Record<number, UnixSocket['netid']> = { 1: 'u_str', 2: 'u_dgr', 5: 'u_seq' };

function unixName(v: Buffer): string {
  if (v.length > 0 && v[0] === 0) return Buffer.from(v.map((c) => (c === 0 ? 0x40 : c))).toString('utf8');
  return cString(v);
}

/** One SOCK_DIAG_BY_FAMILY payload of a UNIX dump. */
export function parseUnixDiagMsg(p: Buffer): UnixSocket {
  if (p.length < UNIX_DIAG_MSG_LEN) throw new DecodeError('unix_diag_msg truncated');
  const s: UnixSocket = {
    kind: 'unix',
    netid: UNIX_NETID[p[1]] ?? 'u_str',
    type: p[1],
    state: p[2],
    inode: u32(p, 4),
    cookie: u64Bits(p, 8),
  };
  for (const [type, v] of attributes(p, UNIX_DIAG_MSG_LEN)) {
    if (type === UNIX_DIAG_NAME) s.name = unixName(v);
    else if (type === UNIX_DIAG_PEER && v.length >= 4) s.peer = u32(v, 0);
    else if (type === UNIX_DIAG_RQLEN && v.length >= 8) [s.rqlen, s.wqlen] = [u32(v, 0), u32(v, 4)];
    else if (type === UNIX_DIAG_SHUTDOWN && v.length >= 1) s.shutdown = v[0];
    else (s.other ??= []).push({ type, data: Buffer.from(v) });
  }
  return s;
}

/** Every socket of one SOCK_DIAG response (the request said which family and protocol). */
export function parseSockDiag(bytes: Buffer, family: number, protocol = 0): Socket[] {
  return netlinkMessages(bytes)
    .filter((m) => m.type === SOCK_DIAG_BY_FAMILY)
    .map((m) => (family === AF_UNIX ? parseUnixDiagMsg(m.payload) : parseInetDiagMsg(m.payload, protocol)));
}

export interface SocketOptions {
  /** Network namespace: 'current' (default), 'global', a path such as /run/netns/NAME, or an fd. */
  ns?: NsArg;
  /** Who issues the commands: an IkcClient such as a BrokerClient; this process by default. */
  client?: NetIssuer;
  /** Which kinds (ss -t, -u, -x); none given means all three. */
  tcp?: boolean;
  udp?: boolean;
  unix?: boolean;
  /** Listening (and unconnected) sockets only (ss -l). */
  listening?: boolean;
  /** Every state (ss -a); the default is connected sockets only. */
  all?: boolean;
  /** Only these inet families (ss -4 / -6): AF_INET (2), AF_INET6 (10); default both. */
  families?: readonly number[];
  /** The states to dump, as a bit mask of `1 << state` (ss `state ...`); overrides `listening` and `all`. The kernel filters by it. */
  states?: number;
}

/** One SOCK_DIAG request and what it asks for (the parser needs the protocol). */
export interface SocketQuery {
  family: number;
  protocol: number;
  request: Buffer;
}

/** The dumps `opts` needs, in ss's order: UNIX, UDP, TCP; IPv4 before IPv6. */
export function socketQueries(opts: SocketOptions = {}): SocketQuery[] {
  const any = opts.tcp || opts.udp || opts.unix;
  const states = opts.states ?? (opts.all ? STATES_ALL : opts.listening ? STATES_LISTENING : STATES_CONNECTED);
  if (!Number.isInteger(states) || states < 0 || states > STATES_ALL) throw new IkcError('EINVAL', `EINVAL: states ${states} is not a mask of socket states`);
  const families = opts.families ?? [AF_INET, AF_INET6];
  for (const f of families) if (f !== AF_INET && f !== AF_INET6) throw new IkcError('EINVAL', `EINVAL: family ${f} is not AF_INET or AF_INET6`);
  const queries: SocketQuery[] = [];
  if (!any || opts.unix) {
    queries.push({ family: AF_UNIX, protocol: 0, request: wrap(() => native.encodeUnixDiagRequest(states, UNIX_SHOW, 1)) });
  }
  for (const [wanted, protocol] of [[opts.udp, IPPROTO_UDP], [opts.tcp, IPPROTO_TCP]] as const) {
    if (any && !wanted) continue;
    for (const family of [AF_INET, AF_INET6].filter((f) => families.includes(f))) {
      queries.push({ family, protocol, request: wrap(() => native.encodeInetDiagRequest(family, protocol, states, 0, 1)) });
    }
  }
  return queries;
}

/** The sockets of a network namespace, like `ss -tuxan` (pick with the options). */
export async function sockets(opts: SocketOptions = {}): Promise<Socket[]> {
  const queries = socketQueries(opts);
  const answers = await issueNet(opts.ns, SOCK_DIAG, queries.map((q) => q.request), opts.client);
  return answers.flatMap((bytes, i) => parseSockDiag(bytes, queries[i].family, queries[i].protocol));
}
