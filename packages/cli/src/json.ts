// The JSON of every command, one convention (docs/json.md): names where the
// tool prints names, keys as the tool names them (`ip -j` for links and
// addresses; ss's columns, lower-cased, for sockets; ps's canonical column
// names for ps), the same key for the same field, 64-bit values that can pass
// 2^53 as decimal strings. Pure: output.ts prints what these return.
import { operStateName, scopeName, socketStateName, type Addr, type Link, type Socket } from '@ikc/sdk';
import { jsonValue, type Column, type Row } from './columns.js';
import { addrFlagWords, ARPHRD, LINKMODE, linkFlagNames, type IfNames } from './netfmt.js';

type Json = Record<string, unknown>;

/**
 * ps(1)'s canonical name of each column: the one its aliases say "see" (uid: see euid).
 * A column not listed is its own canonical name.
 */
const PS_CANONICAL: Record<string, string> = {
  tgid: 'pid', pgrp: 'pgid', sid: 'sess', session: 'sess', tid: 'lwp', spid: 'lwp', thcount: 'nlwp', state: 's',
  ucomm: 'comm', ucmd: 'comm', uid: 'euid', svuid: 'suid', fuid: 'fsuid', gid: 'egid', svgid: 'sgid', fgid: 'fsgid',
  user: 'euser', uname: 'euser', svuser: 'suser', fsuser: 'fuser', group: 'egroup', svgroup: 'sgroup', fsgroup: 'fgroup',
};

/** The JSON key of a ps column: its canonical name, whatever alias or header was typed. */
export const psKey = (spec: string) => PS_CANONICAL[spec] ?? spec;

/** ps rows as objects keyed by canonical column name. */
export function psJson(cols: readonly Column[], rows: readonly Row[]): Json[] {
  return rows.map((row) => Object.fromEntries(cols.map((c) => [psKey(c.spec), jsonValue(c, row)])));
}

const FAMILY: Record<number, string> = { 1: 'unix', 2: 'inet', 10: 'inet6' };
const familyName = (f: number) => FAMILY[f] ?? `${f}`;

/** A socket: netid, state, family, rqueue/wqueue, local and peer, then what ss -e adds. */
export function socketJson(s: Socket, names: IfNames): Json {
  if (s.kind === 'unix') {
    return {
      netid: s.netid, state: socketStateName(s.state), family: 'unix', rqueue: s.rqlen ?? 0, wqueue: s.wqlen ?? 0,
      ...(s.name !== undefined ? { name: s.name } : {}), inode: s.inode, peer: s.peer ?? 0,
      cookie: s.cookie.toString(), ...(s.shutdown !== undefined ? { shutdown: s.shutdown } : {}),
    };
  }
  return {
    netid: s.netid, state: socketStateName(s.state), family: familyName(s.family), rqueue: s.rqueue, wqueue: s.wqueue,
    src: s.src, sport: s.sport, dst: s.dst, dport: s.dport,
    ...(s.interface ? { dev: names.get(s.interface) ?? `${s.interface}` } : {}),
    ...(s.v6only !== undefined ? { v6only: s.v6only } : {}),
    uid: s.uid, inode: s.inode, cookie: s.cookie.toString(), timer: s.timer, retrans: s.retrans, expires: s.expires,
    ...(s.shutdown !== undefined ? { shutdown: s.shutdown } : {}),
  };
}

/** The keys `ip -j link` prints before the link-layer ones (`ip -j addr` prints them too). */
function linkHead(l: Link, names: IfNames, withMode: boolean): Json {
  const j: Json = { ifindex: l.index };
  if (l.link !== undefined && l.link !== l.index) {
    if (l.link === 0) j.link = null;
    else if (l.linkNetnsid !== undefined) j.link_index = l.link;
    else j.link = names.get(l.link) ?? `if${l.link}`;
  }
  j.ifname = l.name;
  j.flags = linkFlagNames(l.flags);
  if (l.mtu !== undefined) j.mtu = l.mtu;
  if (l.qdisc !== undefined) j.qdisc = l.qdisc;
  if (l.master) j.master = names.get(l.master) ?? `${l.master}`;
  if (l.operstate !== undefined) j.operstate = operStateName(l.operstate);
  if (withMode && l.linkmode !== undefined) j.linkmode = LINKMODE[l.linkmode] ?? `${l.linkmode}`;
  if (l.group !== undefined) j.group = l.group === 0 ? 'default' : `${l.group}`;
  if (l.txqlen !== undefined) j.txqlen = l.txqlen;
  return j;
}

/** The link-layer keys (which ip -j addr leaves out under -4/-6), then link_netnsid (which it keeps). */
function linkLayer(l: Link, layer: boolean): Json {
  const j: Json = {};
  if (layer) {
    j.link_type = ARPHRD[l.type] ?? `[${l.type}]`;
    if (l.address !== undefined) j.address = l.address;
    if (l.broadcast !== undefined) j.broadcast = l.broadcast;
  }
  if (l.linkNetnsid !== undefined) j.link_netnsid = l.linkNetnsid;
  return j;
}

/** One link, as `ip -j link` (with `stats`: `ip -j -s link`) prints it. */
export function linkJson(l: Link, names: IfNames, stats: boolean): Json {
  const j = { ...linkHead(l, names, true), ...linkLayer(l, true) };
  const s = l.stats64;
  if (stats && s) {
    j.stats64 = {
      rx: { bytes: s.rxBytes, packets: s.rxPackets, errors: s.rxErrors, dropped: s.rxDropped, over_errors: s.rxOverErrors, multicast: s.multicast },
      tx: { bytes: s.txBytes, packets: s.txPackets, errors: s.txErrors, dropped: s.txDropped, carrier_errors: s.txCarrierErrors, collisions: s.collisions },
    };
  }
  return j;
}

function addrInfo(a: Addr): Json {
  const j: Json = { family: familyName(a.family) };
  const local = a.local ?? a.address;
  if (local !== undefined) j.local = local;
  if (a.address !== undefined && a.local !== undefined && a.address !== a.local) j.address = a.address;
  j.prefixlen = a.prefixlen;
  if (a.broadcast !== undefined) j.broadcast = a.broadcast;
  j.scope = scopeName(a.scope);
  for (const word of addrFlagWords(a)) j[word] = true;
  if (a.label !== undefined) j.label = a.label;
  if (a.validLft !== undefined) j.valid_life_time = a.validLft;
  if (a.preferredLft !== undefined) j.preferred_life_time = a.preferredLft;
  return j;
}

/**
 * Addresses as `ip -j addr` prints them: one object per link with its
 * addresses in `addr_info`. With a family filter (-4/-6), like ip, links
 * without such an address are left out, and so are the link-layer keys; with
 * -6 also qdisc and group (ip reads links through an AF_INET6 dump then, whose
 * answers carry neither).
 */
export function addrsJson(addrs: readonly Addr[], links: readonly Link[], names: IfNames, family?: 4 | 6): Json[] {
  return links
    .map((l) => ({ l, mine: addrs.filter((a) => a.index === l.index) }))
    .filter(({ mine }) => family === undefined || mine.length > 0)
    .map(({ l, mine }) => {
      // ip's AF_INET6 link dump carries no IFLA_LINK_NETNSID either: a peer elsewhere is "link": "ifN".
      const link = family === 6 ? { ...l, linkNetnsid: undefined } : l;
      const head = linkHead(link, names, false);
      if (family === 6) {
        delete head.qdisc;
        delete head.group;
      }
      return { ...head, ...linkLayer(link, family === undefined), addr_info: mine.map(addrInfo) };
    });
}
