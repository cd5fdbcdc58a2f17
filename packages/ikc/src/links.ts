// The links of a network namespace (LINK_DUMP): the parser of RTM_NEWLINK
// messages (`struct ifinfomsg` and the IFLA_* attributes ip prints).
import { native } from './binding.js';
import { LINK_DUMP } from './commands.js';
import { issueNet, type NetIssuer } from './issuer.js';
import { attributes, cString, DecodeError, i32, netlinkMessages, u16, u32, u64, type OtherAttribute } from './netlink.js';
import type { NsArg } from './ns.js';

export const RTM_NEWLINK = 16;
const IFINFOMSG_LEN = 16;
const IFLA = {
  ADDRESS: 1, BROADCAST: 2, IFNAME: 3, MTU: 4, LINK: 5, QDISC: 6, MASTER: 10, TXQLEN: 13,
  OPERSTATE: 16, LINKMODE: 17, STATS64: 23, GROUP: 27, LINK_NETNSID: 37,
} as const;

/** `IF_OPER_*`, as ip names them. */
export const OperState = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'] as const;
export function operStateName(state: number): string {
  return OperState[state] ?? `${state}`;
}

/** The first ten counters of `struct rtnl_link_stats64`, and the ones `ip -s link` adds. */
export interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
  multicast: number;
  collisions: number;
  rxOverErrors: number;
  rxMissedErrors: number;
  txCarrierErrors: number;
  rxCompressed: number;
  txCompressed: number;
}

export interface Link {
  index: number;
  name: string;
  /** `ARPHRD_*` (1 ether, 772 loopback, ...). */
  type: number;
  /** `IFF_*` flags. */
  flags: number;
  mtu?: number;
  /** `IF_OPER_*`; see operStateName. */
  operstate?: number;
  linkmode?: number;
  /** The hardware address, "aa:bb:..". */
  address?: string;
  broadcast?: string;
  qdisc?: string;
  txqlen?: number;
  group?: number;
  /** Master device index (bridge, bond). */
  master?: number;
  /** The underlying or peer link's index, and the netns id it lives in when not this one. */
  link?: number;
  linkNetnsid?: number;
  stats64?: LinkStats;
  other?: OtherAttribute[];
}

/** A link-layer address as ip prints it: lower-case hex pairs joined by ':'. */
export function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function parseStats(v: Buffer): LinkStats | undefined {
  if (v.length < 144) return undefined;
  const at = (i: number) => u64(v, i * 8);
  return {
    rxPackets: at(0), txPackets: at(1), rxBytes: at(2), txBytes: at(3), rxErrors: at(4),
    txErrors: at(5), rxDropped: at(6), txDropped: at(7), multicast: at(8), collisions: at(9),
    rxOverErrors: at(11), rxMissedErrors: at(15), txCarrierErrors: at(17),
    rxCompressed: v.length >= 184 ? at(21) : 0, txCompressed: v.length >= 184 ? at(22) : 0,
  };
}

/** Applies one IFLA_* attribute to `link`; false if it is not one this SDK names. */
function applyAttribute(link: Link, type: number, v: Buffer): boolean {
  const num = () => (v.length >= 4 ? u32(v, 0) : undefined);
  switch (type) {
    case IFLA.IFNAME: link.name = cString(v); break;
    case IFLA.ADDRESS: link.address = formatMac(v); break;
    case IFLA.BROADCAST: link.broadcast = formatMac(v); break;
    case IFLA.MTU: link.mtu = num(); break;
    case IFLA.LINK: link.link = num(); break;
    case IFLA.QDISC: link.qdisc = cString(v); break;
    case IFLA.MASTER: link.master = num(); break;
    case IFLA.TXQLEN: link.txqlen = num(); break;
    case IFLA.OPERSTATE: link.operstate = v[0]; break;
    case IFLA.LINKMODE: link.linkmode = v[0]; break;
    case IFLA.GROUP: link.group = num(); break;
    case IFLA.LINK_NETNSID: link.linkNetnsid = v.length >= 4 ? i32(v, 0) : undefined; break;
    case IFLA.STATS64: link.stats64 = parseStats(v); break;
    default: return false;
  }
  return true;
}

/** One RTM_NEWLINK payload. */
export function parseLinkMsg(p: Buffer): Link {
  if (p.length < IFINFOMSG_LEN) throw new DecodeError('ifinfomsg truncated');
  const link: Link = { index: i32(p, 4), name: '', type: u16(p, 2), flags: u32(p, 8) };
  for (const [type, v] of attributes(p, IFINFOMSG_LEN)) {
    if (!applyAttribute(link, type, v)) (link.other ??= []).push({ type, data: Buffer.from(v) });
  }
  return link;
}

/** Every link of one LINK_DUMP response. */
export function parseLinkDump(bytes: Buffer): Link[] {
  return netlinkMessages(bytes).filter((m) => m.type === RTM_NEWLINK).map((m) => parseLinkMsg(m.payload));
}

export interface LinkOptions {
  /** Network namespace: 'current' (default), 'global', a path such as /run/netns/NAME, or an fd. */
  ns?: NsArg;
  /** Who issues the commands: an IkcClient such as a BrokerClient; this process by default. */
  client?: NetIssuer;
}

/** The links of a network namespace with their statistics, like `ip -s link`. */
export async function links(opts: LinkOptions = {}): Promise<Link[]> {
  const [bytes] = await issueNet(opts.ns, LINK_DUMP, [native.encodeLinkDumpRequest(1)], opts.client);
  return parseLinkDump(bytes);
}
