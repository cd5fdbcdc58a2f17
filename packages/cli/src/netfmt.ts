// Text layouts of the network commands, pure: `ikc sockets` as `ss -n` prints
// them, `ikc links` as `ip -o link`, `ikc addrs` as `ip -o addr`. output.ts
// writes what these return.
import { operStateName, scopeName, socketStateName, type Addr, type Link, type LinkStats, type Socket } from '@ikc/sdk';

const AF_INET6 = 10;

/** ifindex -> name, for `%dev` suffixes, `@peer` and `master`. */
export type IfNames = ReadonlyMap<number, string>;

/** One socket as ss splits it: the two addresses are (host, port) pairs joined by `delim`. */
interface SocketRow {
  netid: string;
  state: string;
  recvQ: string;
  sendQ: string;
  local: [string, string];
  peer: [string, string];
  delim: string;
}

/** ss's inet address: v4 dotted; v6 bracketed, or `*` for an any-address that also takes IPv4. */
function inetHost(family: number, addr: string, v6only: boolean | undefined, ifindex: number, names: IfNames): string {
  let host = addr;
  if (family === AF_INET6) host = addr === '::' && !v6only ? '*' : `[${addr}]`;
  if (ifindex) host += `%${names.get(ifindex) ?? ifindex}`;
  return host;
}

const port = (p: number) => (p === 0 ? '*' : `${p}`);

function socketRow(s: Socket, names: IfNames): SocketRow {
  if (s.kind === 'unix') {
    return {
      netid: s.netid,
      state: socketStateName(s.state),
      recvQ: `${s.rqlen ?? 0}`,
      sendQ: `${s.wqlen ?? 0}`,
      local: [s.name ?? '*', `${s.inode}`],
      peer: ['*', `${s.peer ?? 0}`],
      delim: ' ',
    };
  }
  return {
    netid: s.netid,
    state: socketStateName(s.state),
    recvQ: `${s.rqueue}`,
    sendQ: `${s.wqueue}`,
    local: [inetHost(s.family, s.src, s.v6only, s.interface, names), port(s.sport)],
    peer: [inetHost(s.family, s.dst, s.v6only, 0, names), port(s.dport)],
    delim: ':',
  };
}

const width = (cells: string[]) => Math.max(0, ...cells.map((c) => c.length));

/**
 * The ss table: Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port.
 * Like ss, without the Netid column when one kind was asked for (`netid` false),
 * and without State when the filter leaves one state (`state` false).
 */
export function socketLines(sockets: readonly Socket[], names: IfNames, opts: { headers: boolean; netid: boolean; state: boolean }): string[] {
  const rows = sockets.map((s) => socketRow(s, names));
  // As ss: the headers count towards the widths only when printed (-H recomputes them from the
  // rows), and the queues are printed "%-6d" either way.
  const h = (header: string) => (opts.headers ? [header] : []);
  const w = {
    netid: width([...h('Netid'), ...rows.map((r) => r.netid)]),
    state: width([...h('State'), ...rows.map((r) => r.state)]),
    recvQ: Math.max(6, width(rows.map((r) => r.recvQ))),
    sendQ: Math.max(6, width(rows.map((r) => r.sendQ))),
    lhost: width([...h('Local Address'), ...rows.map((r) => r.local[0])]),
    lport: width([...h('Port'), ...rows.map((r) => r.local[1])]),
    phost: width([...h('Peer Address'), ...rows.map((r) => r.peer[0])]),
  };
  const line = (netid: string, state: string, rq: string, sq: string, l: [string, string], p: [string, string], delim: string) =>
    [
      ...(opts.netid ? [netid.padEnd(w.netid)] : []),
      ...(opts.state ? [state.padEnd(w.state)] : []),
      rq.padEnd(w.recvQ),
      sq.padEnd(w.sendQ),
      `${l[0].padStart(w.lhost)}${delim}${l[1].padEnd(w.lport)}`,
      `${p[0].padStart(w.phost)}${delim}${p[1]}`,
    ].join(' ').trimEnd();
  const out = rows.map((r) => line(r.netid, r.state, r.recvQ, r.sendQ, r.local, r.peer, r.delim));
  if (opts.headers) out.unshift(line('Netid', 'State', 'Recv-Q', 'Send-Q', ['Local Address', 'Port'], ['Peer Address', 'Port'], ':'));
  return out;
}

/** `IFF_*` flags in the order ip prints them (NO-CARRIER first when up without carrier). */
const IFF: Array<[string, number]> = [
  ['LOOPBACK', 0x8], ['BROADCAST', 0x2], ['POINTOPOINT', 0x10], ['MULTICAST', 0x1000], ['NOARP', 0x80],
  ['ALLMULTI', 0x200], ['PROMISC', 0x100], ['MASTER', 0x400], ['SLAVE', 0x800], ['DEBUG', 0x4],
  ['DYNAMIC', 0x8000], ['AUTOMEDIA', 0x4000], ['PORTSEL', 0x2000], ['NOTRAILERS', 0x20], ['UP', 0x1],
  ['LOWER_UP', 0x10000], ['DORMANT', 0x20000], ['ECHO', 0x40000],
];
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

/** A link's flag names in ip's order (what `ip -j` lists as "flags"). */
export function linkFlagNames(flags: number): string[] {
  const names = IFF.filter(([, bit]) => flags & bit).map(([name]) => name);
  if (flags & IFF_UP && !(flags & IFF_RUNNING)) names.unshift('NO-CARRIER');
  return names;
}

const linkFlags = (flags: number) => `<${linkFlagNames(flags).join(',')}>`;

/** `ARPHRD_*` names as ip prints them after `link/`. */
export const ARPHRD: Record<number, string> = {
  1: 'ether', 24: 'ieee1394', 512: 'ppp', 768: 'ipip', 769: 'tunnel6', 772: 'loopback', 776: 'sit',
  778: 'gre', 823: 'gre6', 801: 'ieee802.11', 65534: 'none', 65535: 'void',
};
export const LINKMODE = ['DEFAULT', 'DORMANT', 'TESTING'];

/** `name@peer` as ip prints a link's name (`@ifN` for a peer in another namespace, `@NONE` for none). */
export function linkName(l: Link, names: IfNames): string {
  if (l.link === undefined || l.link === l.index) return l.name;
  if (l.link === 0) return `${l.name}@NONE`;
  return `${l.name}@${l.linkNetnsid !== undefined ? `if${l.link}` : (names.get(l.link) ?? `if${l.link}`)}`;
}

/** How much of a link ip prints: `ip link` (mode, the link-layer line) or `ip addr` (no mode; under -6 no qdisc or group, and under -4/-6 no link-layer line). */
export interface LinkLayout {
  stats: boolean;
  mode: boolean;
  qdiscGroup: boolean;
  layer: boolean;
}
export const IP_LINK: LinkLayout = { stats: false, mode: true, qdiscGroup: true, layer: true };

/**
 * ip 6.1's `-s` block (print_link_stats64): a header and a row of numbers per
 * direction, each column as wide as its widest number and at least ip's minimum.
 */
export function statsParts(s: LinkStats): string[] {
  const cols = [10, 7, 6, 7, 7, 7, 10];
  const rx = [s.rxBytes, s.rxPackets, s.rxErrors, s.rxDropped, s.rxMissedErrors, s.multicast, s.rxCompressed];
  const tx = [s.txBytes, s.txPackets, s.txErrors, s.txDropped, s.txCarrierErrors, s.collisions, s.txCompressed];
  for (const v of [rx, tx]) v.forEach((x, i) => (cols[i] = Math.max(cols[i], String(x).length)));
  const head = (dir: string, a: string, b: string, compressed: number) =>
    `    ${dir}: ${'bytes'.padStart(cols[0] - 4)} ${'packets'.padStart(cols[1])} ${'errors'.padStart(cols[2])} ` +
    `${'dropped'.padStart(cols[3])} ${a.padStart(cols[4])} ${b.padStart(cols[5])} ${(compressed ? 'compressed' : '').padStart(cols[6])}`;
  const row = (v: number[]) => `    ${v.slice(0, 6).map((x, i) => `${String(x).padStart(cols[i])} `).join('')}${v[6] ? `${String(v[6]).padStart(cols[6])} ` : ''}`;
  return [head('RX', 'missed', 'mcast', rx[6]), row(rx), head('TX', 'carrier', 'collsns', tx[6]), row(tx)];
}

/** A link as ip prints it, one part per line: `ip -o` joins them with '\\', `ip` with newlines. */
export function linkParts(l: Link, names: IfNames, layout: LinkLayout): string[] {
  const f = [`${l.index}: ${linkName(l, names)}: ${linkFlags(l.flags)}`];
  if (l.mtu !== undefined) f.push(`mtu ${l.mtu}`);
  if (l.qdisc !== undefined && layout.qdiscGroup) f.push(`qdisc ${l.qdisc}`);
  if (l.master) f.push(`master ${names.get(l.master) ?? l.master}`);
  if (l.operstate !== undefined) f.push(`state ${operStateName(l.operstate)}`);
  if (l.linkmode !== undefined && layout.mode) f.push(`mode ${LINKMODE[l.linkmode] ?? l.linkmode}`);
  if (l.group !== undefined && layout.qdiscGroup) f.push(`group ${l.group === 0 ? 'default' : l.group}`);
  if (l.txqlen !== undefined) f.push(`qlen ${l.txqlen}`);
  // Without the link-layer line (ip addr -4) the netns id ends the first line.
  if (!layout.layer && l.linkNetnsid !== undefined) f.push(`link-netnsid ${l.linkNetnsid}`);
  const parts = [f.join(' ')];
  if (layout.layer) {
    let layer = `    link/${ARPHRD[l.type] ?? `[${l.type}]`}`;
    if (l.address !== undefined) layer += ` ${l.address}`;
    if (l.broadcast !== undefined) layer += ` brd ${l.broadcast}`;
    if (l.linkNetnsid !== undefined) layer += ` link-netnsid ${l.linkNetnsid}`;
    parts.push(layer);
  }
  if (layout.stats && l.stats64) parts.push(...statsParts(l.stats64));
  return parts;
}

/** One `ip -o link` line. */
export function linkLine(l: Link, names: IfNames, stats: boolean): string {
  return linkParts(l, names, { ...IP_LINK, stats }).join('\\');
}

/** One `ip -br link` line: name, state, address, flags. */
export function linkBrief(l: Link, names: IfNames): string {
  const state = l.operstate !== undefined ? operStateName(l.operstate) : '';
  return `${linkName(l, names).padEnd(16)} ${state.padEnd(14)} ${(l.address ?? '').padEnd(17)} ${linkFlags(l.flags)} `;
}

/** `IFA_F_*` flag words ip prints after the scope. */
const IFA_F: Array<[string, number]> = [
  ['secondary', 0x01], ['nodad', 0x02], ['optimistic', 0x04], ['dadfailed', 0x08], ['home', 0x10],
  ['deprecated', 0x20], ['tentative', 0x40], ['mngtmpaddr', 0x100], ['noprefixroute', 0x200],
  ['autojoin', 0x400], ['stable-privacy', 0x800],
];
const IFA_F_PERMANENT = 0x80;
const lifetime = (v: number | undefined) => (v === undefined || v === 0xffffffff ? 'forever' : `${v}sec`);

/** An address's flag words in ip's order (`ip -j` makes each a `true` key). */
export function addrFlagWords(a: Addr): string[] {
  const inet6 = a.family === AF_INET6;
  const words = IFA_F.filter(([name, bit]) => a.flags & bit && !(inet6 && name === 'secondary')).map(([name]) => name);
  if (inet6 && a.flags & 0x01) words.unshift('temporary');
  if (!(a.flags & IFA_F_PERMANENT)) words.unshift('dynamic');
  return words;
}

/** An address as ip prints it after the link: `inet ADDR/PFX [peer] [brd B] scope S [flags] [LABEL]`. */
export function addrBody(a: Addr): string {
  const local = a.local ?? a.address ?? '';
  let text = `${a.family === AF_INET6 ? 'inet6' : 'inet'} ${local}`;
  if (a.address !== undefined && a.local !== undefined && a.address !== a.local) text += ` peer ${a.address}`;
  text += `/${a.prefixlen}`;
  if (a.broadcast !== undefined) text += ` brd ${a.broadcast}`;
  text += ` scope ${scopeName(a.scope)} `;
  text += addrFlagWords(a).map((w) => `${w} `).join('');
  return text + (a.label ?? '');
}

/** The lifetimes line of an address. */
export const addrLifetimes = (a: Addr) => `       valid_lft ${lifetime(a.validLft)} preferred_lft ${lifetime(a.preferredLft)}`;

/** One `ip -o addr` line. */
export function addrLine(a: Addr, names: IfNames): string {
  return `${a.index}: ${names.get(a.index) ?? `if${a.index}`}    ${addrBody(a)}\\${addrLifetimes(a)}`;
}

/** `ip addr` (multi-line): each link (under -4/-6 only those with such an address), then its addresses. */
export function addrBlocks(addrs: readonly Addr[], links: readonly Link[], names: IfNames, family?: 4 | 6): string[] {
  const layout: LinkLayout = { stats: false, mode: false, qdiscGroup: family !== 6, layer: family === undefined };
  const lines: string[] = [];
  for (const l of links) {
    const mine = addrs.filter((a) => a.index === l.index);
    if (family !== undefined && mine.length === 0) continue;
    // ip's AF_INET6 link dump carries no IFLA_LINK_NETNSID: a peer elsewhere is @ifN all the same.
    lines.push(...linkParts(family === 6 ? { ...l, linkNetnsid: undefined } : l, names, layout));
    for (const a of mine) lines.push(`    ${addrBody(a)}`, addrLifetimes(a));
  }
  return lines;
}

/** One `ip -br addr` line per link: name, state, then each address/prefix. */
export function addrBriefs(addrs: readonly Addr[], links: readonly Link[], names: IfNames, family?: 4 | 6): string[] {
  return links.flatMap((l) => {
    const mine = addrs.filter((a) => a.index === l.index);
    if (family !== undefined && mine.length === 0) return [];
    const state = l.operstate !== undefined ? operStateName(l.operstate) : '';
    return [`${linkName(l, names).padEnd(16)} ${state.padEnd(14)} ${mine.map((a) => `${a.local ?? a.address}/${a.prefixlen} `).join('')}`];
  });
}
