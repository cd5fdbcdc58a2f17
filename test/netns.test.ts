// SOCK_DIAG, LINK_DUMP and ADDR_DUMP in a real network namespace (ip netns add,
// a veth pair, sockets made by a node process inside it), compared with what
// ss and ip print for that namespace; plus the errors, the fd count and the
// namespace of every thread after many calls. Needs root (ip netns, setns).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import {
  ADDR_DUMP,
  addrs,
  CURRENT_NETNS,
  CURRENT_PIDNS,
  encodeTaskDiagRequest,
  GLOBAL,
  issueKernelCommand,
  LINK_DUMP,
  links,
  formatIp,
  SOCK_DIAG,
  socketQueries,
  sockets,
  socketStateName,
  TASK_DIAG,
  type Socket,
} from '@ikc/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IKC } from './helpers/broker.js';
import { closedFd, codeOf } from './helpers/errno.js';
import { killFixtures, openFds, ROOT, startProcess } from './helpers/fixture.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const tag = randomBytes(3).toString('hex');
const NS = `ikc-${tag}`;
const NS_PATH = `/run/netns/${NS}`;
const [HOST_VETH, NS_VETH] = [`ikh${tag}`, `ikn${tag}`];
const subnet = 200 + (parseInt(tag, 16) % 50);
const [HOST4, NS4] = [`10.${subnet}.${parseInt(tag.slice(0, 2), 16)}.1`, `10.${subnet}.${parseInt(tag.slice(0, 2), 16)}.2`];
const [HOST6, NS6] = [`fd00:1c:${tag.slice(0, 4)}::1`, `fd00:1c:${tag.slice(0, 4)}::2`];
const UNIX_PATH = `/tmp/ikc-${tag}.sock`;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const ikc = async (...args: string[]) => (await run(process.execPath, [IKC, ...args], { maxBuffer: 64 << 20 })).stdout;
const inNs = async (cmd: string, ...args: string[]) => (await run('ip', ['netns', 'exec', NS, cmd, ...args], { maxBuffer: 64 << 20 })).stdout;

/** The program run inside the namespace: every kind of socket, one JSON line when ready. */
const SOCKETS_SCRIPT = `
const net = require('net'), dgram = require('dgram'), { once } = require('events');
(async () => {
  const listen = async (s, ...a) => { s.listen(...a); await once(s, 'listening'); return s; };
  const tcp = await listen(net.createServer(), 0, '0.0.0.0');
  const tcp6 = await listen(net.createServer(), { port: 0, host: '::', ipv6Only: true });
  const c4 = net.connect(tcp.address().port, '${NS4}'); await once(c4, 'connect');
  const c6 = net.connect(tcp6.address().port, '${NS6}'); await once(c6, 'connect');
  const u4 = dgram.createSocket('udp4'); u4.bind(0, '0.0.0.0'); await once(u4, 'listening');
  const u6 = dgram.createSocket({ type: 'udp6', ipv6Only: true }); u6.bind(0, '::1'); await once(u6, 'listening');
  const uc = dgram.createSocket('udp4'); uc.bind(0, '127.0.0.1'); await once(uc, 'listening');
  uc.connect(u4.address().port, '127.0.0.1'); await once(uc, 'connect');
  const ux = await listen(net.createServer(), '${UNIX_PATH}');
  const uxc = net.connect('${UNIX_PATH}'); await once(uxc, 'connect');
  await listen(net.createServer(), '\\0ikc-abstract-${tag}');
  console.log(JSON.stringify({ pid: process.pid, tcp: tcp.address().port, tcp6: tcp6.address().port }));
  setInterval(() => {}, 1 << 30);
})();`;

/**
 * ss or ikc table rows as "netid state local peer" keys (queues left out: they
 * move). With one kind only (-t or -u) ss leaves the Netid column out: `netid` fills it.
 */
function tableRows(text: string, netid = ''): string[] {
  const [header, ...lines] = text.split('\n');
  const prefix = header.startsWith('State') ? `${netid} ` : '';
  return lines
    .map((l) => `${prefix}${l.trim()}`.split(/\s+/))
    .filter((t) => t.length >= 6)
    .map((t) => (t[0].startsWith('u_') ? [t[0], t[1], t[4], t[5], t[6], t[7]] : [t[0], t[1], t[4], t[5]]).join(' '))
    .sort();
}

/** One socket as (netid, state, local address, local port, peer address, peer port), ss's any-address rules applied. */
function sdkKey(s: Socket): string {
  if (s.kind === 'unix') return [s.netid, socketStateName(s.state), s.name ?? '*', s.inode, '*', s.peer ?? 0].join(' ');
  const host = (a: string) => (s.family === 10 ? (a === '::' && !s.v6only ? '*' : `[${a}]`) : a);
  const port = (p: number) => (p === 0 ? '*' : `${p}`);
  return [s.netid, socketStateName(s.state), `${host(s.src)}:${port(s.sport)}`, `${host(s.dst)}:${port(s.dport)}`].join(' ');
}

/** "index name mtu type mac" of each `ip -o link` (or ikc links) line. */
const linkRows = (text: string) =>
  text.split('\n').filter(Boolean).map((l) => {
    const m = /^(\d+): ([^:@]+)(?:@\S+)?: <[^>]*> mtu (\d+) .*\\\s+link\/(\S+)(?: (\S+))?/.exec(l);
    if (!m) throw new Error(`not an ip -o link line: ${l}`);
    return m.slice(1, 6).join(' ');
  });

/** "index name family address/prefix" of each `ip -o addr` (or ikc addrs) line. */
const addrRows = (text: string) =>
  text.split('\n').filter(Boolean).map((l) => /^(\d+): (\S+)\s+(inet6?) (\S+)/.exec(l)!.slice(1, 5).join(' ')).sort();

const netOf = (path: string) => readlinkSync(path);

describe.skipIf(!isRoot)('network namespaces (needs root: ip netns add, setns)', () => {
  let hostServer: Server;
  let hostPort = 0;
  let ports: { tcp: number; tcp6: number };

  beforeAll(async () => {
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_VETH, 'type', 'veth', 'peer', 'name', NS_VETH, 'netns', NS);
    ip('addr', 'add', `${HOST4}/24`, 'dev', HOST_VETH);
    ip('addr', 'add', `${HOST6}/64`, 'dev', HOST_VETH, 'nodad');
    ip('link', 'set', HOST_VETH, 'up');
    ip('-n', NS, 'addr', 'add', `${NS4}/24`, 'dev', NS_VETH);
    ip('-n', NS, 'addr', 'add', `${NS6}/64`, 'dev', NS_VETH, 'nodad');
    ip('-n', NS, 'link', 'set', NS_VETH, 'up');
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    ports = (await startProcess('ip', ['netns', 'exec', NS, process.execPath, '-e', SOCKETS_SCRIPT])) as never;
    hostServer = createServer();
    await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
    hostPort = (hostServer.address() as { port: number }).port;
  });

  afterAll(async () => {
    killFixtures();
    // Closed before the next suite counts its fds.
    await new Promise((resolve) => (hostServer ? hostServer.close(resolve) : resolve(undefined)));
    for (const args of [['netns', 'del', NS], ['link', 'del', HOST_VETH]]) {
      try {
        ip(...args);
      } catch {
        /* already gone with the namespace */
      }
    }
    rmSync(UNIX_PATH, { force: true });
  });

  it('ikc sockets -tuxan shows what ss -tuaxn shows inside the namespace', async () => {
    const [ours, theirs] = await Promise.all([ikc('sockets', '-tuxan', '--netns', NS_PATH), inNs('ss', '-tuaxn')]);
    const rows = tableRows(ours);
    expect(rows).toEqual(tableRows(theirs));
    expect(rows).toContain(`tcp LISTEN 0.0.0.0:${ports.tcp} 0.0.0.0:*`);
    expect(rows).toContain(`tcp LISTEN [::]:${ports.tcp6} [::]:*`);
    expect(rows.filter((r) => r.startsWith('tcp ESTAB'))).toHaveLength(4);
    expect(rows.some((r) => r.startsWith(`u_str LISTEN ${UNIX_PATH} `))).toBe(true);
    // Node binds abstract names with the whole sun_path: ss prints the padding NULs as '@' too.
    expect(rows.some((r) => r.startsWith(`u_str LISTEN @ikc-abstract-${tag}`))).toBe(true);
    expect(rows.some((r) => r.startsWith('udp UNCONN [::1]:'))).toBe(true);
    expect(rows.some((r) => r.startsWith('udp ESTAB 127.0.0.1:'))).toBe(true);
  });

  it('the SDK returns the same sockets, and -l / default selections match ss', async () => {
    const all = await sockets({ ns: NS_PATH, all: true });
    expect(all.map(sdkKey).sort()).toEqual(tableRows(await inNs('ss', '-tuaxn')));
    for (const flags of ['-tln', '-uln', '-xln', '-tn', '-xn']) {
      const opts = { tcp: flags.includes('t'), udp: flags.includes('u'), unix: flags.includes('x'), listening: flags.includes('l') };
      const got = (await sockets({ ns: NS_PATH, ...opts })).map(sdkKey).sort();
      const theirs = tableRows(await inNs('ss', flags), opts.tcp ? 'tcp' : 'udp');
      expect(got, flags).toEqual(theirs);
      if (!opts.unix) expect(tableRows(await ikc('sockets', flags, '--netns', NS), opts.tcp ? 'tcp' : 'udp'), flags).toEqual(theirs);
    }
    const listener = all.find((s) => s.kind === 'inet' && s.state === 10 && s.sport === ports.tcp);
    expect(listener).toMatchObject({ netid: 'tcp', family: 2, src: '0.0.0.0', uid: 0 });
  });

  it('ikc sockets selections (-4, -6, -f, -A, state filters) print what ss prints, column for column', async () => {
    // ss adds a Process column ikc does not have: its header word and padding are left out.
    const plain = (text: string) => text.split('\n').map((l, i) => (i === 0 ? l.replace(/Process$/, '') : l).trimEnd()).join('\n');
    for (const args of [
      ['-tln4'], ['-tan6'], ['-t4', '-n'], ['-tuan4'], ['-4', '-tuna'], ['-f', 'inet6', '-tan'], ['-A', 'tcp,udp', '-an'],
      ['-A', 'unix_stream', '-an'], ['-A', 'unix_stream,unix_dgram', '-ln'], ['-tn', 'state', 'established'],
      ['-tan', 'exclude', 'listening'], ['-tn', 'state', 'listening', 'state', 'established'], ['-un', 'state', 'closed'],
      ['-x', '-n', 'state', 'all'], ['-t', '-n', 'state', 'connected', 'exclude', 'established'],
      // -H: no header, and widths from the rows alone.
      ['-tanH'], ['-tuxanH'], ['-xlH'], ['-tn', '-H', 'state', 'established'],
    ]) {
      const [ours, theirs] = await Promise.all([ikc('sockets', ...args, '--netns', NS), inNs('ss', ...args)]);
      expect(plain(ours), args.join(' ')).toBe(plain(theirs));
    }
    expect(await ikc('sockets', '-tln4', '--netns', NS)).toContain(`0.0.0.0:${ports.tcp}`);
    expect(await ikc('sockets', '-tln4', '--netns', NS)).not.toContain(`:${ports.tcp6}`);
  });

  it('ikc sockets refuses what ss would list and ikc cannot dump, instead of printing less', async () => {
    for (const args of [['-4'], ['-A', 'raw'], ['-A', 'all'], ['-f', 'netlink'], ['-t', 'sport', '=', ':22'], ['-t', 'state', 'bogus'], ['-x', '-4']]) {
      const r = await run(process.execPath, [IKC, 'sockets', ...args, '--netns', NS]).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^ikc: E(INVAL|OPNOTSUPP): /);
    }
  });

  it('ikc links/addrs --json are what ip -j link/addr print, key for key', async () => {
    const json = async (p: Promise<string>) => JSON.parse(await p) as unknown;
    expect(await json(ikc('links', '--json', '--netns', NS))).toEqual(await json(inNs('ip', '-j', 'link')));
    for (const family of [[], ['-4'], ['-6']]) {
      expect(await json(ikc('addrs', ...family, '--json', '--netns', NS)), family.join('')).toEqual(await json(inNs('ip', '-j', ...family, 'addr')));
    }
    // Counters move between the runs: the same links with the same keys, every counter a number.
    type Stats = { ifname: string; stats64: { rx: Record<string, number>; tx: Record<string, number> } };
    const shape = (links: Stats[]) => links.map((l) => [l.ifname, Object.keys(l), Object.keys(l.stats64.rx), Object.keys(l.stats64.tx)]);
    const [ours, theirs] = [(await json(ikc('links', '-s', '--json', '--netns', NS))) as Stats[], (await json(inNs('ip', '-j', '-s', 'link'))) as Stats[]];
    expect(shape(ours)).toEqual(shape(theirs));
    expect(ours.flatMap((l) => [...Object.values(l.stats64.rx), ...Object.values(l.stats64.tx)]).every((v) => Number.isSafeInteger(v))).toBe(true);
  });

  it('ikc sockets --json follows docs/json.md: names for state and family, one key per field for inet and unix', async () => {
    const found = JSON.parse(await ikc('sockets', '-tuxan', '--json', '--netns', NS)) as Array<Record<string, unknown>>;
    const common = { netid: 'string', state: 'string', family: 'string', rqueue: 'number', wqueue: 'number', inode: 'number', cookie: 'string' };
    const inet = { ...common, src: 'string', sport: 'number', dst: 'string', dport: 'number', uid: 'number', timer: 'number', retrans: 'number', expires: 'number' };
    const optional: Record<string, string> = { dev: 'string', v6only: 'boolean', shutdown: 'number', name: 'string', peer: 'number' };
    const unix = { ...common, peer: 'number' };
    expect(found.length).toBeGreaterThan(8);
    for (const s of found) {
      const schema: Record<string, string> = s.family === 'unix' ? unix : inet;
      for (const [key, type] of Object.entries(schema)) expect(typeof s[key], `${key} of ${JSON.stringify(s)}`).toBe(type);
      for (const key of Object.keys(s)) expect(schema[key] ?? optional[key], `unexpected key ${key}`).toBeDefined();
      expect(['inet', 'inet6', 'unix']).toContain(s.family);
      expect(s.state).toMatch(/^(ESTAB|LISTEN|UNCONN|SYN-SENT|SYN-RECV|FIN-WAIT-1|FIN-WAIT-2|TIME-WAIT|CLOSE-WAIT|LAST-ACK|CLOSING)$/);
      expect(s.cookie).toMatch(/^[0-9]+$/);
    }
    // The same sockets as ss lists, by the same (netid state local peer) key.
    const key = (s: Record<string, unknown>) =>
      s.family === 'unix'
        ? [s.netid, s.state, s.name ?? '*', s.inode, '*', s.peer].join(' ')
        : [s.netid, s.state, `${s.family === 'inet6' ? (s.src === '::' && !s.v6only ? '*' : `[${s.src}]`) : s.src}:${s.sport || '*'}`,
            `${s.family === 'inet6' ? (s.dst === '::' && !s.v6only ? '*' : `[${s.dst}]`) : s.dst}:${s.dport || '*'}`].join(' ');
    expect(found.map(key).sort()).toEqual(tableRows(await inNs('ss', '-tuaxn')));
    expect(found).toContainEqual(expect.objectContaining({ netid: 'tcp', state: 'LISTEN', family: 'inet', sport: ports.tcp, src: '0.0.0.0' }));
  });

  it('a socket listening on the host never appears in the namespace', async () => {
    const here = await sockets({ tcp: true, listening: true });
    expect(here.some((s) => s.kind === 'inet' && s.sport === hostPort)).toBe(true);
    const there = await sockets({ ns: NS_PATH, tcp: true, all: true });
    expect(there.some((s) => s.kind === 'inet' && s.sport === hostPort)).toBe(false);
    expect(await ikc('sockets', '-tan', '--netns', NS)).not.toContain(`:${hostPort} `);
  });

  it('ikc links and links() match ip -o link, with statistics', async () => {
    const theirs = linkRows(ip('-n', NS, '-o', 'link'));
    expect(linkRows(await ikc('links', '-o', '--netns', NS_PATH))).toEqual(theirs);
    const before = JSON.parse(ip('-n', NS, '-s', '-j', 'link', 'show', 'lo'))[0].stats64;
    const found = await links({ ns: NS_PATH });
    const after = JSON.parse(ip('-n', NS, '-s', '-j', 'link', 'show', 'lo'))[0].stats64;
    expect(found.map((l) => `${l.index} ${l.name} ${l.mtu}`)).toEqual(theirs.map((r) => r.split(' ').slice(0, 3).join(' ')));
    expect(found.map((l) => l.name)).toEqual(['lo', NS_VETH]);
    const lo = found.find((l) => l.name === 'lo')!;
    expect(lo.stats64!.rxBytes).toBeGreaterThanOrEqual(before.rx.bytes);
    expect(lo.stats64!.rxBytes).toBeLessThanOrEqual(after.rx.bytes);
    expect(lo.stats64!.txPackets).toBeGreaterThan(0);
    expect(found.find((l) => l.name === NS_VETH)).toMatchObject({ operstate: 6, type: 1, mtu: 1500 });
  });

  it('ikc addrs and addrs() match ip -o addr', async () => {
    const theirs = addrRows(ip('-n', NS, '-o', 'addr'));
    expect(addrRows(await ikc('addrs', '-o', '--netns', NS))).toEqual(theirs);
    expect(theirs).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^\\d+ ${NS_VETH} inet ${NS4}/24$`))]));
    const found = await addrs({ ns: NS_PATH });
    const names = new Map((await links({ ns: NS_PATH })).map((l) => [l.index, l.name]));
    const keys = found.map((a) => `${a.index} ${names.get(a.index)} ${a.family === 10 ? 'inet6' : 'inet'} ${a.local ?? a.address}/${a.prefixlen}`);
    expect(keys.sort()).toEqual(theirs);
    expect((await addrs({ ns: NS_PATH, family: 6 })).every((a) => a.family === 10)).toBe(true);
    expect(found.find((a) => a.local === NS4)).toMatchObject({ label: NS_VETH, scope: 0, prefixlen: 24 });
  });
  it('ikc links and ikc addrs print what ip link and ip addr print, byte for byte, in every layout', async () => {
    // A veth whose peer is in another namespace: @ifN, link-netnsid, and -6's AF_INET6 link dump.
    for (const [cmd, opts] of [
      ['link', []], ['link', ['-o']], ['link', ['-br']], ['link', ['dev', NS_VETH]], ['link', ['-br', 'dev', 'lo']],
      ['addr', []], ['addr', ['-o']], ['addr', ['-4']], ['addr', ['-6']], ['addr', ['-o', '-6']], ['addr', ['-br']],
      ['addr', ['-br', '-4']], ['addr', ['-br', '-6']], ['addr', ['dev', NS_VETH]], ['addr', ['-4', 'lo']],
    ] as const) {
      const words = opts.filter((w) => w.startsWith('-'));
      const dev = opts.filter((w) => !w.startsWith('-'));
      const theirs = ip('-n', NS, ...words, cmd, 'show', ...dev);
      expect(await ikc(`${cmd}s`, ...opts, '--netns', NS), `ip ${opts.join(' ')} ${cmd}`).toBe(theirs);
    }
    // Counters move between runs: the same text with every number masked.
    const masked = (t: string) => t.replace(/\d+/g, 'N');
    for (const opts of [['-s'], ['-o', '-s']]) {
      expect(masked(await ikc('links', ...opts, '--netns', NS)), opts.join(' ')).toBe(masked(ip('-n', NS, ...opts, 'link')));
    }
  });

  it('an unknown device is ENODEV, and -s -s is refused rather than printed as -s', async () => {
    const fail = (args: string[]) => run(process.execPath, [IKC, ...args]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(await fail(['links', 'dev', 'nope0', '--netns', NS])).toMatchObject({ code: 1, stderr: 'ikc: ENODEV: Device "nope0" does not exist.\n' });
    expect(await fail(['addrs', 'nope0', '--netns', NS])).toMatchObject({ code: 1, stderr: 'ikc: ENODEV: Device "nope0" does not exist.\n' });
    const ss = await fail(['links', '-s', '-s', '--netns', NS]);
    expect(ss.code).toBe(2);
    expect(ss.stderr).toMatch(/^ikc: EOPNOTSUPP: -s -s/);
  });
});

/** A SOCK_DIAG request with fields set by hand (little-endian, as the CI machine is). */
function sockRequest(o: { len?: number; type?: number; flags?: number; family?: number; protocol?: number; states?: number; extra?: number } = {}): Buffer {
  const family = o.family ?? 2;
  const body = family === 1 ? 24 : 56;
  const b = Buffer.alloc(16 + body + (o.extra ?? 0));
  b.writeUInt32LE(o.len ?? b.length, 0);
  b.writeUInt16LE(o.type ?? 20, 4);
  b.writeUInt16LE(o.flags ?? 0x301, 6);
  b[16] = family;
  b[17] = o.protocol ?? (family === 1 ? 0 : 6);
  b.writeUInt32LE(o.states ?? 0xfff, 20);
  return b;
}

/** `b` with its last 8 bytes made an attribute of `type` (a u32 value of 1). */
function withAttr(b: Buffer, type: number): Buffer {
  const at = b.length - 8;
  b.writeUInt16LE(8, at);
  b.writeUInt16LE(type, at + 2);
  b.writeUInt32LE(1, at + 4);
  return b;
}

/** An RTM_GETLINK (18) or RTM_GETADDR (22) dump request. */
function rtRequest(type: number, family = 0, extra = 0): Buffer {
  const b = Buffer.alloc(16 + (type === 18 ? 16 : 8) + extra);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(0x301, 6);
  b[16] = family;
  return b;
}

describe.skipIf(!isRoot)('network commands: errors, fds and threads (needs root)', () => {
  const name = `ikc-${randomBytes(3).toString('hex')}e`;
  beforeAll(() => ip('netns', 'add', name));
  afterAll(() => ip('netns', 'del', name));

  it('each bad input gets its errno, no fd is left open and every thread stays home', async () => {
    const netns = openSync(`/run/netns/${name}`, 'r');
    const pidns = openSync('/proc/self/ns/pid', 'r');
    const file = openSync('/proc/self/stat', 'r');
    const good = socketQueries({ tcp: true, all: true })[0].request;
    const cases: Array<[string, () => number, string]> = [
      ['SOCK_DIAG in a foreign namespace', () => issueKernelCommand(netns, SOCK_DIAG, [good]), 'OK'],
      ['LINK_DUMP in a foreign namespace', () => issueKernelCommand(netns, LINK_DUMP, [rtRequest(18)]), 'OK'],
      ['ADDR_DUMP, CURRENT_NETNS', () => issueKernelCommand(CURRENT_NETNS, ADDR_DUMP, [rtRequest(22, 10)]), 'OK'],
      ['GLOBAL in the initial namespace', () => issueKernelCommand(GLOBAL, SOCK_DIAG, [sockRequest({ family: 1 })]), 'OK'],
      ['pid namespace fd for SOCK_DIAG', () => issueKernelCommand(pidns, SOCK_DIAG, [good]), 'EINVAL'],
      ['CURRENT_PIDNS for LINK_DUMP', () => issueKernelCommand(CURRENT_PIDNS, LINK_DUMP, [rtRequest(18)]), 'EINVAL'],
      ['net namespace fd for TASK_DIAG', () => issueKernelCommand(netns, TASK_DIAG, [encodeTaskDiagRequest()]), 'EINVAL'],
      ['regular file', () => issueKernelCommand(file, ADDR_DUMP, [rtRequest(22)]), 'EINVAL'],
      ['closed fd', () => issueKernelCommand(closedFd(), SOCK_DIAG, [good]), 'EBADF'],
      ['without the read-only bit', () => issueKernelCommand(netns, SOCK_DIAG & 0x7fffffff, [good]), 'EINVAL'],
      ['header only', () => issueKernelCommand(netns, SOCK_DIAG, [good.subarray(0, 16)]), 'EINVAL'],
      ['short body', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ len: 40 }).subarray(0, 40)]), 'EINVAL'],
      ['a zero tail past the struct', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ extra: 8 })]), 'OK'],
      ['a bytecode filter', () => issueKernelCommand(netns, SOCK_DIAG, [withAttr(sockRequest({ extra: 8 }), 1)]), 'E2BIG'],
      ['UNIX, a zero tail', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ family: 1, extra: 4 })]), 'OK'],
      ['nlmsg_len past the bytes', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ len: 200 })]), 'EINVAL'],
      ['AF_NETLINK', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ family: 16 })]), 'EINVAL'],
      ['AF_PACKET', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ family: 17 })]), 'EINVAL'],
      ['IPPROTO_RAW', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ protocol: 255 })]), 'EINVAL'],
      ['UNIX with a protocol', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ family: 1, protocol: 6 })]), 'EINVAL'],
      ['unknown state bit', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ states: 1 << 20 })]), 'EINVAL'],
      ['a lookup, not a dump', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ flags: 0x1 })]), 'EINVAL'],
      ['NLM_F_ACK', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ flags: 0x305 })]), 'EINVAL'],
      ['SOCK_DESTROY', () => issueKernelCommand(netns, SOCK_DIAG, [sockRequest({ type: 21 })]), 'EINVAL'],
      ['SOCK_DESTROY, current namespace', () => issueKernelCommand(CURRENT_NETNS, SOCK_DIAG, [sockRequest({ type: 21, flags: 0x5 })]), 'EINVAL'],
      ['RTM_GETLINK sent as ADDR_DUMP', () => issueKernelCommand(netns, ADDR_DUMP, [rtRequest(18)]), 'EINVAL'],
      ['RTM_NEWLINK', () => issueKernelCommand(netns, LINK_DUMP, [(() => { const b = rtRequest(18); b[4] = 16; return b; })()]), 'EINVAL'],
      ['LINK_DUMP, a zero tail', () => issueKernelCommand(netns, LINK_DUMP, [rtRequest(18, 0, 8)]), 'OK'],
      ['IFLA_EXT_MASK attribute', () => issueKernelCommand(netns, LINK_DUMP, [withAttr(rtRequest(18, 0, 8), 29)]), 'E2BIG'],
      ['ADDR_DUMP, a zero tail', () => issueKernelCommand(netns, ADDR_DUMP, [rtRequest(22, 2, 4)]), 'OK'],
      ['AF_UNIX addresses', () => issueKernelCommand(netns, ADDR_DUMP, [rtRequest(22, 1)]), 'EINVAL'],
    ];
    // Let the previous suite's children and sockets finish closing before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const fdsBefore = openFds().length;
    for (let round = 0; round < 5; round++) {
      expect(cases.map(([n, fn]) => [n, codeOf(fn)])).toEqual(cases.map(([n, , code]) => [n, code]));
    }
    await Promise.all(Array.from({ length: 10 }, () => sockets({ ns: netns, all: true })));
    await expect(links({ ns: '/proc/self/ns/pid' })).rejects.toMatchObject({ code: 'EINVAL' });
    expect(openFds().length).toBe(fdsBefore);

    const home = netOf('/proc/self/ns/net');
    const away = readdirSync('/proc/self/task').flatMap((tid) => {
      try {
        return netOf(`/proc/self/task/${tid}/ns/net`) === home ? [] : [tid];
      } catch {
        return []; // a thread that ended while we looked
      }
    });
    expect(away).toEqual([]);
    for (const fd of [netns, pidns, file]) closeSync(fd);
  });

  it('GLOBAL is EPERM inside a child network namespace; an unprivileged caller cannot enter a foreign one', async () => {
    const script = (prelude: string) => `
      import { openSync } from 'node:fs';
      import { CURRENT_NETNS, GLOBAL, SOCK_DIAG, issueKernelCommand, socketQueries } from '@ikc/sdk';
      const req = socketQueries({ unix: true, all: true })[0].request;
      const foreign = openSync('/run/netns/${name}', 'r');
      ${prelude}
      const out = {};
      for (const [k, ns] of [['global', GLOBAL], ['current', CURRENT_NETNS], ['foreign', foreign]]) {
        try { issueKernelCommand(ns, SOCK_DIAG, [req]); out[k] = 'OK'; } catch (e) { out[k] = e.code; }
      }
      console.log(JSON.stringify(out));`;
    const node = [process.execPath, '--input-type=module', '-e'];
    const inChild = await run('ip', ['netns', 'exec', name, ...node, script('')], { cwd: ROOT });
    expect(JSON.parse(inChild.stdout)).toEqual({ global: 'EPERM', current: 'OK', foreign: 'OK' });
    const dropped = await run(node[0], [...node.slice(1), script('process.setgroups([]); process.setgid(65534); process.setuid(65534);')], { cwd: ROOT });
    expect(JSON.parse(dropped.stdout)).toEqual({ global: 'OK', current: 'OK', foreign: 'EPERM' });
  });
});

describe('addresses print as inet_ntop prints them', () => {
  it('compresses the first longest zero run and keeps IPv4 tails', () => {
    const v6 = (hex: string) => formatIp(10, Buffer.from(hex.replace(/:/g, ''), 'hex'));
    expect(v6('0000:0000:0000:0000:0000:0000:0000:0000')).toBe('::');
    expect(v6('0000:0000:0000:0000:0000:0000:0000:0001')).toBe('::1');
    expect(v6('0000:0000:0000:0000:0000:ffff:0102:0304')).toBe('::ffff:1.2.3.4');
    expect(v6('fe80:0000:0000:0000:0000:0000:0000:0001')).toBe('fe80::1');
    expect(v6('0001:0000:0000:0001:0000:0000:0000:0001')).toBe('1:0:0:1::1');
    expect(v6('2001:0db8:0000:0000:0001:0000:0000:0001')).toBe('2001:db8::1:0:0:1');
    expect(v6('2001:0db8:0000:0001:0001:0001:0001:0001')).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIp(2, Buffer.from([10, 0, 0, 254]))).toBe('10.0.0.254');
  });
});
