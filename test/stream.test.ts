// The stream response kind, end to end: LINK_STATS (STATS_SUBSCRIBE for links)
// in-process and through a real broker, for root and another uid. The kernel
// is the oracle for the counters (`ip -s -j link`), /proc for the fd's kind.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, fstatSync, writeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands, CURRENT_NETNS, CURRENT_PIDNS, IKC_STATS_SNAPSHOT, issueKernelCommand, LINK_STATS, parseSnapshot, Show, streamMessages, subscribeLinkStats, TASK_STATS, type Link, type Snapshot } from '@ikc/sdk';
import { native } from '../packages/ikc/src/binding.js';
import { startBroker, type TestBroker } from './helpers/broker.js';
import { ROOT } from './helpers/fixture.js';
import { fdFlags, O_CLOEXEC } from './helpers/fd.js';

const isRoot = process.getuid?.() === 0;
const UID = 4713;

/** Sends `n` UDP datagrams over lo (to a port nobody listens on: the kernel counts them either way). */
async function udpToLoopback(n: number): Promise<void> {
  const sock = createSocket('udp4');
  for (let i = 0; i < n; i++) await new Promise<void>((r) => sock.send(Buffer.alloc(100), 9, '127.0.0.1', () => r()));
  sock.close();
}

/** show_flags for group names (ikc's groups sit above bit 31: added, not or-ed). */
const showBits = (names: (keyof typeof Show)[]) => [...new Set(names.map((n) => Show[n]))].reduce((a, b) => a + b, 0);

const ipLinks = () => execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.split(': ')[1].split('@')[0]);

/** Runs an ES module snippet in a new node process; returns its stdout as JSON. */
function node(script: string): unknown {
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT }));
}


describe('stream responses (LINK_STATS)', () => {
  it('the command table says which commands stream', () => {
    const rows = Object.fromEntries(commands().map((c) => [c.name, c.response]));
    expect(rows).toMatchObject({ TASK_DIAG: 'snapshot', SOCK_DIAG: 'snapshot', LINK_DUMP: 'snapshot', ADDR_DUMP: 'snapshot', LINK_STATS: 'stream' });
  });

  it('the fd is a read-only, close-on-exec pipe, not a socket', () => {
    const fd = issueKernelCommand(CURRENT_NETNS, LINK_STATS, [native.encodeLinkStatsRequest(100, 1)]);
    try {
      const st = fstatSync(fd);
      expect(st.isFIFO()).toBe(true);
      expect(st.isSocket()).toBe(false);
      expect(fdFlags(fd) & O_CLOEXEC).toBe(O_CLOEXEC);
      expect(fdFlags(fd) & 3).toBe(0); // O_RDONLY
      expect(() => writeSync(fd, Buffer.from('x'))).toThrow(/EBADF/);
    } finally {
      closeSync(fd);
    }
  });

  it('delivers count snapshots with consecutive ticks, then ends complete', async () => {
    const before = ipLinks();
    const stream = subscribeLinkStats({ intervalMs: 100, count: 3 });
    const snaps: Snapshot<Link[]>[] = [];
    for await (const s of stream) snaps.push(s);
    expect(snaps.map((s) => [s.tick, s.missed, s.skipped])).toEqual([[0, 0, 0], [1, 0, 0], [2, 0, 0]]);
    expect(stream.end).toMatchObject({ reason: 'complete', delivered: 3, lost: 0 });
    // Ticks are 100 ms apart by the monotonic clock (absolute deadlines; loose bounds, no wall-time assertion on the test).
    const after = ipLinks();
    // Other programs may add or remove links meanwhile: those present throughout must be there, none unknown.
    const names = snaps[0].data.map((l) => l.name);
    expect(names).toEqual(expect.arrayContaining(before.filter((n) => after.includes(n))));
    expect(before.concat(after)).toEqual(expect.arrayContaining(names));
  });

  it('counters are the kernel’s: ip -s between two snapshots lies between them', async () => {
    const it = subscribeLinkStats({ intervalMs: 200 })[Symbol.asyncIterator]();
    const lo = (s: Snapshot<Link[]>) => s.data.find((l) => l.name === 'lo')!.stats64!;
    const a = (await it.next()).value as Snapshot<Link[]>;
    await udpToLoopback(5);
    const ip = JSON.parse(execFileSync('ip', ['-s', '-j', 'link', 'show', 'lo'], { encoding: 'utf8' }))[0].stats64.rx;
    // The snapshot taken after the ip read (the next tick).
    const b = (await it.next()).value as Snapshot<Link[]>;
    await it.return?.();
    expect(lo(a).rxPackets).toBeLessThan(ip.packets + 1);
    expect(lo(a).rxPackets).toBeLessThan(lo(b).rxPackets);
    expect(ip.packets).toBeLessThanOrEqual(lo(b).rxPackets);
    expect(ip.bytes).toBeLessThanOrEqual(lo(b).rxBytes);
  });

  it('link counters move by what the test sends through a veth pair into a namespace it made', async () => {
    if (process.getuid?.() !== 0) return;
    const ns = `ikc-stats-${process.pid}`;
    const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });
    ip('netns', 'add', ns);
    try {
      ip('link', 'add', `ikcA${process.pid % 10000}`, 'type', 'veth', 'peer', 'name', 'ikcB', 'netns', ns);
      ip('addr', 'add', '10.231.7.1/30', 'dev', `ikcA${process.pid % 10000}`);
      ip('link', 'set', `ikcA${process.pid % 10000}`, 'up');
      ip('-n', ns, 'addr', 'add', '10.231.7.2/30', 'dev', 'ikcB');
      ip('-n', ns, 'link', 'set', 'ikcB', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      const it = subscribeLinkStats({ intervalMs: 200, ns: `/run/netns/${ns}` })[Symbol.asyncIterator]();
      const veth = (snap: Snapshot<Link[]>) => snap.data.find((l) => l.name === 'ikcB')!.stats64!;
      const a = (await it.next()).value as Snapshot<Link[]>;
      expect(a.data.map((l) => l.name).sort()).toEqual(['ikcB', 'lo']); // the namespace's links only
      const sock = createSocket('udp4');
      for (let i = 0; i < 50; i++) await new Promise<void>((r) => sock.send(Buffer.alloc(300), 9, '10.231.7.2', () => r()));
      sock.close();
      // Ticks until the datagrams (and ARP) have crossed.
      let b = a;
      for (let i = 0; i < 20 && veth(b).rxPackets - veth(a).rxPackets < 50; i++) b = (await it.next()).value as Snapshot<Link[]>;
      await it.return?.();
      expect(veth(b).rxPackets - veth(a).rxPackets).toBeGreaterThanOrEqual(50);
      expect(veth(b).rxBytes - veth(a).rxBytes).toBeGreaterThanOrEqual(50 * 300);
      expect(b.tick - a.tick).toBe(b.tick); // a's tick is 0
    } finally {
      ip('netns', 'del', ns);
    }
  });

  it('a reader that stalls finds the newest snapshot with the rest counted as skipped, not a backlog', async () => {
    // Large snapshots (every thread with its command line) fill the pipe within a few ticks.
    const fd = issueKernelCommand(CURRENT_PIDNS, TASK_STATS, [native.encodeTaskStatsRequest(100, 0, showBits(['base', 'creds', 'stat', 'ps', 'cmdline', 'name']), 2, 0)]);
    await new Promise((r) => setTimeout(r, 2500));
    const ticks: { tick: number; missed: number; skipped: number; bytes: number }[] = [];
    let bytes = 0;
    for await (const m of streamMessages(fd)) {
      bytes += m.payload.length + 16;
      if (m.type !== IKC_STATS_SNAPSHOT) continue;
      const s = parseSnapshot(m.payload, (b) => b.length);
      ticks.push({ tick: s.tick, missed: s.missed, skipped: s.skipped, bytes: s.data });
      if (s.skipped > 0 || ticks.length > 200) break;
    }
    const stalled = ticks.find((t) => t.skipped > 0);
    expect(stalled, JSON.stringify(ticks.slice(0, 5))).toBeDefined();
    // Every gap is accounted for: what the reader did not get is missed or skipped, never silent.
    for (let i = 1; i < ticks.length; i++) expect(ticks[i].tick - ticks[i - 1].tick - 1).toBe(ticks[i].missed + ticks[i].skipped);
    // What waited for it was what the pipe holds (at most 1 MiB) and one snapshot, not 25 ticks of them.
    expect(bytes).toBeLessThan((1 << 20) + 3 * Math.max(...ticks.map((t) => t.bytes)));
  });

  it('bad requests are EINVAL before any stream starts', () => {
    expect(() => native.encodeLinkStatsRequest(99, 1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => native.encodeLinkStatsRequest(1000, -1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('subscribers of one namespace and interval share one producer; closing the streams ends it at once (in-process)', () => {
    const out = node(`
      import { issueKernelCommand, CURRENT_NETNS, LINK_STATS } from '@ikc/sdk';
      import { native } from './packages/ikc/dist/binding.js';
      import { readdirSync, closeSync } from 'node:fs';
      const count = () => readdirSync('/proc/self/task').length;
      const wait = (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} };
      const before = count();
      const fds = Array.from({ length: 50 }, () => issueKernelCommand(CURRENT_NETNS, LINK_STATS, [native.encodeLinkStatsRequest(3600000, 0)]));
      const shared = count();
      fds.push(issueKernelCommand(CURRENT_NETNS, LINK_STATS, [native.encodeLinkStatsRequest(1800000, 0)]));
      const during = count();
      fds.forEach(closeSync);
      let after = count();
      for (let i = 0; i < 100 && after > before; i++) { wait(20); after = count(); }
      console.log(JSON.stringify({ before, shared, during, after }));`) as { before: number; shared: number; during: number; after: number };
    expect(out.shared).toBe(out.before + 1);
    expect(out.during).toBe(out.before + 2);
    expect(out.after).toBe(out.before);
  });
});

describe.skipIf(!isRoot)('stream responses through the broker (needs root)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker(['--max-streams-per-uid', '2']);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('another uid subscribes through the broker and gets the same links', () => {
    const out = node(`
      import { BrokerClient, subscribeLinkStats } from '@ikc/sdk';
      process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const snaps = [];
      const s = subscribeLinkStats({ intervalMs: 100, count: 2, client: c });
      for await (const x of s) snaps.push({ tick: x.tick, names: x.data.map((l) => l.name) });
      console.log(JSON.stringify({ uid: process.getuid(), snaps, end: s.end }));`) as { uid: number; snaps: { tick: number; names: string[] }[]; end: { reason: string } };
    expect(out.uid).toBe(UID);
    expect(out.snaps.map((s) => s.tick)).toEqual([0, 1]);
    expect(out.snaps[0].names).toContain('lo');
    expect(out.end.reason).toBe('complete');
  });
});
