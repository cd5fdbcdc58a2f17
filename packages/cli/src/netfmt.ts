// Text layouts of the network commands, pure: `ikc sockets` as `ss -n` prints
// them, `ikc links` as `ip -o link`, `ikc addrs` as `ip -o addr`. output.ts
// writes what these return.
import { operStateName, scopeName, socketStateName, type Addr, type Link, type Socket } from '@ikc/sdk';

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

const width = (cells: string[]) => Math.max(...cells.map((c) => c.length));

/**
 * The ss table: Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port.
 * Like ss, without the Netid column when one kind was asked for (`netid` false),
 * and without State when the filter leaves one state (`state` false).
 */
export function socketLines(sockets: readonly Socket[], names: IfNames, opts: { headers: boolean; netid: boolean; state: boolean }): string[] {
  const rows = sockets.map((s) => socketRow(s, names));
  const w = {
    netid: width(['Netid', ...rows.map((r) => r.netid)]),
    state: width(['State', ...rows.map((r) => r.state)]),
    recvQ: width(['Recv-Q', ...rows.map((r) => r.recvQ)]),
    sendQ: width(['Send-Q', ...rows.map((r) => r.sendQ)]),
    lhost: width(['Local Address', ...rows.map((r) => r.local[0])]),
    lport: width(['Port', ...rows.map((r) => r.local[1])]),
    phost: width(['Peer Address', ...rows.map((r) => r.peer[0])]),
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

/** One `ip -o link` line. */
export function linkLine(l: Link, names: IfNames, stats: boolean): string {
  let at = '';
  if (l.link !== undefined && l.link !== l.index) {
    if (l.link === 0) at = '@NONE';
    else at = l.linkNetnsid !== undefined ? `@if${l.link}` : `@${names.get(l.link) ?? `if${l.link}`}`;
  }
  const f = [`${l.index}: ${l.name}${at}: ${linkFlags(l.flags)}`];
  if (l.mtu !== undefined) f.push(`mtu ${l.mtu}`);
  if (l.qdisc !== undefined) f.push(`qdisc ${l.qdisc}`);
  if (l.master) f.push(`master ${names.get(l.master) ?? l.master}`);
  if (l.operstate !== undefined) f.push(`state ${operStateName(l.operstate)}`);
  if (l.linkmode !== undefined) f.push(`mode ${LINKMODE[l.linkmode] ?? l.linkmode}`);
  if (l.group !== undefined) f.push(`group ${l.group === 0 ? 'default' : l.group}`);
  if (l.txqlen !== undefined) f.push(`qlen ${l.txqlen}`);
  let text = f.join(' ');
  const kind = ARPHRD[l.type] ?? `[${l.type}]`;
  text += `\\    link/${kind}`;
  if (l.address !== undefined) text += ` ${l.address}`;
  if (l.broadcast !== undefined) text += ` brd ${l.broadcast}`;
  if (l.linkNetnsid !== undefined) text += ` link-netnsid ${l.linkNetnsid}`;
  const s = l.stats64;
  if (stats && s) {
    text += `\\    RX: bytes ${s.rxBytes} packets ${s.rxPackets} errors ${s.rxErrors} dropped ${s.rxDropped} mcast ${s.multicast}`;
    text += `\\    TX: bytes ${s.txBytes} packets ${s.txPackets} errors ${s.txErrors} dropped ${s.txDropped} collsns ${s.collisions}`;
  }
  return text;
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

/** One `ip -o addr` line. */
export function addrLine(a: Addr, names: IfNames): string {
  const inet6 = a.family === AF_INET6;
  const local = a.local ?? a.address ?? '';
  let text = `${a.index}: ${names.get(a.index) ?? `if${a.index}`}    ${inet6 ? 'inet6' : 'inet'} ${local}`;
  if (a.address !== undefined && a.local !== undefined && a.address !== a.local) text += ` peer ${a.address}`;
  text += `/${a.prefixlen}`;
  if (a.broadcast !== undefined) text += ` brd ${a.broadcast}`;
  text += ` scope ${scopeName(a.scope)} `;
  text += addrFlagWords(a).map((w) => `${w} `).join('');
  text += a.label ?? '';
  return `${text}\\       valid_lft ${lifetime(a.validLft)} preferred_lft ${lifetime(a.preferredLft)}`;
}
