// The addresses of a network namespace (ADDR_DUMP): the parser of RTM_NEWADDR
// messages (`struct ifaddrmsg` and the IFA_* attributes ip prints).
import { native } from './binding.js';
import { ADDR_DUMP } from './commands.js';
import { IkcError, wrap } from './errors.js';
import { AF_INET, AF_INET6, AF_UNSPEC, formatIp } from './inet.js';
import { issueNet, type NetIssuer } from './issuer.js';
import { attributes, cString, DecodeError, netlinkMessages, u32, type OtherAttribute } from './netlink.js';
import type { NsArg } from './ns.js';

export const RTM_NEWADDR = 20;
const IFADDRMSG_LEN = 8;
const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, CACHEINFO: 6, FLAGS: 8, PROTO: 11 } as const;
/** `ifa_cacheinfo` lifetimes: this value means forever. */
export const INFINITY_LIFE_TIME = 0xffffffff;

/** `RT_SCOPE_*` names as ip prints them. */
export function scopeName(scope: number): string {
  return ({ 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' } as Record<number, string>)[scope] ?? `${scope}`;
}

export interface Addr {
  /** AF_INET (2) or AF_INET6 (10). */
  family: number;
  prefixlen: number;
  /** `IFA_F_*`: IFA_FLAGS when present (32 bits), else ifa_flags. */
  flags: number;
  scope: number;
  /** The link's index. */
  index: number;
  /** IFA_ADDRESS: the peer on point-to-point links, else the same as local. */
  address?: string;
  /** IFA_LOCAL: the address of the interface (IPv4). */
  local?: string;
  broadcast?: string;
  /** IFA_LABEL (IPv4): the link name or an alias such as eth0:1. */
  label?: string;
  /** Lifetimes in seconds; INFINITY_LIFE_TIME is forever. */
  validLft?: number;
  preferredLft?: number;
  proto?: number;
  other?: OtherAttribute[];
}

/** One RTM_NEWADDR payload. */
export function parseAddrMsg(p: Buffer): Addr {
  if (p.length < IFADDRMSG_LEN) throw new DecodeError('ifaddrmsg truncated');
  const family = p[0];
  const a: Addr = { family, prefixlen: p[1], flags: p[2], scope: p[3], index: u32(p, 4) };
  for (const [type, v] of attributes(p, IFADDRMSG_LEN)) {
    if (type === IFA.ADDRESS) a.address = formatIp(family, v);
    else if (type === IFA.LOCAL) a.local = formatIp(family, v);
    else if (type === IFA.BROADCAST) a.broadcast = formatIp(family, v);
    else if (type === IFA.LABEL) a.label = cString(v);
    else if (type === IFA.FLAGS && v.length >= 4) a.flags = u32(v, 0);
    else if (type === IFA.PROTO && v.length >= 1) a.proto = v[0];
    else if (type === IFA.CACHEINFO && v.length >= 8) [a.preferredLft, a.validLft] = [u32(v, 0), u32(v, 4)];
    else (a.other ??= []).push({ type, data: Buffer.from(v) });
  }
  return a;
}

/** Every address of one ADDR_DUMP response. */
export function parseAddrDump(bytes: Buffer): Addr[] {
  return netlinkMessages(bytes).filter((m) => m.type === RTM_NEWADDR).map((m) => parseAddrMsg(m.payload));
}

export interface AddrOptions {
  /** Network namespace: 'current' (default), 'global', a path such as /run/netns/NAME, or an fd. */
  ns?: NsArg;
  /** Who issues the commands: an IkcClient such as a BrokerClient; this process by default. */
  client?: NetIssuer;
  /** 4 or 6 for one family; both by default. */
  family?: 4 | 6;
}

/** The addresses of a network namespace, like `ip addr`. */
export async function addrs(opts: AddrOptions = {}): Promise<Addr[]> {
  if (opts.family !== undefined && opts.family !== 4 && opts.family !== 6) {
    throw new IkcError('EINVAL', `EINVAL: family ${String(opts.family)} is neither 4 nor 6`);
  }
  const family = opts.family === 4 ? AF_INET : opts.family === 6 ? AF_INET6 : AF_UNSPEC;
  const request = wrap(() => native.encodeAddrDumpRequest(family, 1));
  const [bytes] = await issueNet(opts.ns, ADDR_DUMP, [request], opts.client);
  return parseAddrDump(bytes);
}
