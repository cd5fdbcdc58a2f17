// `ikc watch links` against the kernel: the links `ip -o link` lists, rates
// that see traffic the test sends on lo, sar's columns, and refused input.
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IKC } from './helpers/broker.js';
import { ikc, type Run } from './helpers/cli.js';

const ipLinks = () =>
  execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(': ')[1].split('@')[0])
    .sort();

describe('ikc watch links', () => {
  it('--json: one sample per tick, every link ip lists, lo sees the datagrams sent meanwhile', async () => {
    const sock = createSocket('udp4');
    const timer = setInterval(() => sock.send(Buffer.alloc(200), 9, '127.0.0.1'), 5);
    let r: Run;
    const before = ipLinks();
    try {
      r = await ikc('watch', 'links', '-n', '0.2', '--count', '3', '--json');
    } finally {
      clearInterval(timer);
      sock.close();
    }
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const samples = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(samples).toHaveLength(3);
    expect(samples.map((s) => s.tick - samples[0].tick)).toEqual([0, 1, 2]);
    const after = ipLinks();
    for (const s of samples) {
      // Other programs may add or remove links meanwhile: those present throughout must be there, none unknown.
      const names: string[] = s.links.map((l: { ifname: string }) => l.ifname);
      expect(names).toEqual(expect.arrayContaining(before.filter((n) => after.includes(n))));
      expect(before.concat(after)).toEqual(expect.arrayContaining(names));
      for (const l of s.links) for (const k of ['rx_packets_per_sec', 'tx_packets_per_sec', 'rx_bytes_per_sec', 'tx_bytes_per_sec']) expect(l[k]).toBeGreaterThanOrEqual(0);
    }
    const lo = samples.map((s) => s.links.find((l: { ifname: string }) => l.ifname === 'lo'));
    expect(Math.max(...lo.map((l) => l.rx_packets_per_sec))).toBeGreaterThan(0);
  });

  it('prints sar -n DEV columns, one block per sample', async () => {
    const before = ipLinks();
    const r = await ikc('watch', 'links', '-n', '0.1', '--count', '2');
    const after = ipLinks();
    expect(r.code).toBe(0);
    const blocks = r.stdout.trim().split('\n\n');
    expect(blocks).toHaveLength(2);
    for (const b of blocks) {
      const [head, ...rows] = b.split('\n');
      expect(head).toMatch(/^\d\d:\d\d:\d\d {5}IFACE {3}rxpck\/s {3}txpck\/s {4}rxkB\/s {4}txkB\/s$/);
      const names = rows.map((l) => l.trim().split(/\s+/)[1]);
      expect(names).toEqual(expect.arrayContaining(before.filter((n) => after.includes(n))));
      expect(before.concat(after)).toEqual(expect.arrayContaining(names));
      for (const l of rows) expect(l).toMatch(/^\d\d:\d\d:\d\d +\S+( +\d+\.\d\d){4}$/);
    }
  });

  it('refuses what it cannot parse exactly, printing nothing on stdout', async () => {
    for (const args of [['-n', '0.05'], ['-n', '1x'], ['-n', '-1'], ['-n', '4000'], ['--count', '0'], ['--count', '2.5'], ['--count', '3x']]) {
      const r = await ikc('watch', 'links', ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(/EINVAL/);
    }
    const tasks = await ikc('watch', 'bogus');
    expect(tasks.code).not.toBe(0);
    expect(tasks.stdout).toBe('');
  });

  it('Ctrl-C ends it at once with status 0 and the stream closed', async () => {
    const child = spawn(process.execPath, [IKC, 'watch', 'links', '-n', '3600'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // With an hour's interval, nothing is printed; wait until its stream exists
    // (the in-process producer thread, named by the core).
    const producing = () => readdirSync(`/proc/${child.pid}/task`).some((t) => readFileSync(`/proc/${child.pid}/task/${t}/comm`, 'utf8').trim() === 'ikc-link-stats');
    for (let i = 0; i < 500 && !producing(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(producing()).toBe(true);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
