// SECURITY.md promises 37 and 38: stream responses (a pipe that keeps
// delivering) and the broker protocol's version. Each row attacks what a
// hostile holder of a stream, or an old or greedy client, would try.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, fstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BrokerClient, CURRENT_NETNS, issueKernelCommand, LINK_STATS, subscribeLinkStats } from '@ikc/sdk';
import { native } from '../../packages/ikc/src/binding.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { ROOT } from '../helpers/fixture.js';
import { fdFlags, O_CLOEXEC } from '../helpers/fd.js';
import { row } from '../helpers/security.js';

const isRoot = process.getuid?.() === 0;
const UID = 4714;
/** Debian's python3, the raw-socket client below (a pyenv shim on PATH may live in /root, closed to other uids). */
const PYTHON = '/usr/bin/python3';
const threads = (pid: number) => readdirSync(`/proc/${pid}/task`).length;

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (let t = 0; t < ms && !cond(); t += 20) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

/** Runs an ES module snippet in a new node process (as root, from the checkout); returns its stdout as JSON. */
function node(script: string): Record<string, unknown> {
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT }));
}

/** Counts the netlink messages a program as `uid` reads from its stdin (a stream fd), by their nlmsg_seq. */
function readAs(uid: number, fd: number, messages: number): Promise<string> {
  const py = `
import os, struct, sys
buf = b''
seqs = []
while len(seqs) < ${messages}:
    chunk = os.read(0, 65536)
    if not chunk: break
    buf += chunk
    while len(buf) >= 16:
        n, t, f, seq, port = struct.unpack('=IHHII', buf[:16])
        if len(buf) < n: break
        seqs.append(seq)
        buf = buf[(n + 3) & ~3:]
print(os.getuid(), ','.join(map(str, seqs[:${messages}])))`;
  const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', PYTHON, '-c', py], { stdio: [fd, 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('exit', () => resolve(out.trim())));
}

describe.skipIf(!isRoot)('security: stream responses (needs root)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker(['--max-streams-per-uid', '2', '--max-streams', '4']);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('S37: a stream fd is a read-only, close-on-exec pipe, not a socket, and reads the same under another uid', async () => {
    const fd = issueKernelCommand(CURRENT_NETNS, LINK_STATS, [native.encodeLinkStatsRequest(100, 3)]);
    const st = fstatSync(fd);
    const kind = `${st.isFIFO() ? 'pipe' : 'other'}${st.isSocket() ? ', socket' : ''}, ${fdFlags(fd) & 3 ? 'writable' : 'read-only'}, ${fdFlags(fd) & O_CLOEXEC ? 'close-on-exec' : 'inherited on exec'}`;
    row({ id: 'S37', scenario: 'the fd LINK_STATS returns in-process', expected: 'pipe, read-only, close-on-exec', observed: kind });
    const link = readlinkSync(`/proc/self/fd/${fd}`);
    // Passed to a process of uid 65534: it reads the stream on (tick 0 .. 2 and the end), as the subscriber would.
    const seen = await readAs(65534, fd, 4);
    closeSync(fd);
    row({ id: 'S37', scenario: `the same stream (${link.split(':')[0]}) read by a process of uid 65534 it was passed to`, expected: '65534 0,1,2,3', observed: seen });
  });

  it('S37: a reader that closes its stream ends the producer at once, in-process and in the broker', async () => {
    const inProcess = node(`
      import { issueKernelCommand, CURRENT_NETNS, LINK_STATS } from '@ikc/sdk';
      import { native } from './packages/ikc/dist/binding.js';
      import { readdirSync, closeSync } from 'node:fs';
      const count = () => readdirSync('/proc/self/task').length;
      const before = count();
      // Two intervals: two shared producers, however many subscribers.
      const fds = Array.from({ length: 8 }, (_, i) => issueKernelCommand(CURRENT_NETNS, LINK_STATS, [native.encodeLinkStatsRequest(i % 2 ? 3600000 : 1800000, 0)]));
      const during = count();
      fds.forEach(closeSync);
      let after = count();
      for (let i = 0; i < 250 && after > before; i++) { const end = Date.now() + 20; while (Date.now() < end) {} after = count(); }
      console.log(JSON.stringify({ during: during - before, after: after - before }));`);
    row({ id: 'S37', scenario: '8 streams at 2 intervals opened then closed in-process: producer threads', expected: '+2 while open, +0 after', observed: `+${inProcess.during} while open, +${inProcess.after} after` });

    const pid = broker.process.pid!;
    const client = BrokerClient.connect(broker.socket);
    await client.taskDiag({ strategy: 'one', pid: process.pid });
    const base = threads(pid);
    const fds = [0, 1].map((i) => client.issueKernelCommand(CURRENT_NETNS, LINK_STATS, [native.encodeLinkStatsRequest(3_600_000 - i, 0)]));
    const open = (await until(() => threads(pid) === base + 2)) ? 2 : threads(pid) - base;
    fds.forEach(closeSync);
    const gone = (await until(() => threads(pid) === base)) ? 0 : threads(pid) - base;
    client.close();
    row({ id: 'S37', scenario: '2 streams at 2 intervals through the broker, then closed: broker producer threads', expected: '+2 while open, +0 after', observed: `+${open} while open, +${gone} after` });
  });

  it('S37: streams are bounded per uid and in all; a freed slot serves again; a stopped broker ends its streams', async () => {
    const out = node(`
      import { BrokerClient, CURRENT_NETNS, LINK_STATS } from '@ikc/sdk';
      import { native } from './packages/ikc/dist/binding.js';
      import { closeSync } from 'node:fs';
      const connect = (uid) => { if (uid) { process.setgroups([]); process.setgid(uid); process.setuid(uid); } return BrokerClient.connect(${JSON.stringify(broker.socket)}); };
      const root = connect(0);
      const req = native.encodeLinkStatsRequest(3600000, 0);
      const open = (c) => { try { return c.issueKernelCommand(CURRENT_NETNS, LINK_STATS, [req]); } catch (e) { return e.code; } };
      const r1 = open(root), r2 = open(root);
      const c = connect(${UID});
      const a = open(c), b = open(c);
      const total = open(c);
      closeSync(r1); closeSync(r2);
      let third = 'EAGAIN';
      for (let i = 0; i < 25 && third === 'EAGAIN'; i++) { const end = Date.now() + 20; while (Date.now() < end) {} third = open(c); }
      closeSync(a);
      let again = 'EAGAIN';
      for (let i = 0; i < 250 && again === 'EAGAIN'; i++) { const end = Date.now() + 20; while (Date.now() < end) {} again = open(c); }
      const name = (v) => typeof v === 'number' ? 'fd' : v;
      console.log(JSON.stringify({ a: name(a), b: name(b), total: name(total), third: name(third), again: name(again) }));`);
    row({
      id: 'S37',
      scenario: `--max-streams 4, --max-streams-per-uid 2: root holds 2, uid ${UID} asks for 3; root closes 2; uid ${UID} asks again, closes one, asks again`,
      expected: 'fd fd EAGAIN; EAGAIN (its own limit); fd',
      observed: `${out.a} ${out.b} ${out.total}; ${out.third === 'EAGAIN' ? 'EAGAIN (its own limit)' : out.third}; ${out.again}`,
    });

    const own = await startBroker();
    const client = BrokerClient.connect(own.socket);
    const stream = subscribeLinkStats({ intervalMs: 3_600_000, client });
    const it = stream[Symbol.asyncIterator]();
    const first = (await it.next()).value?.tick;
    own.process.kill('SIGTERM');
    const next = await it.next();
    client.close();
    await own.stop();
    row({ id: 'S37', scenario: 'a broker stopped while a client reads a stream', expected: 'tick 0, then end: shutdown', observed: `tick ${first}, then ${next.done ? `end: ${stream.end?.reason}` : 'more data'}` });
  });

  it('S37: TASK_STATS judges every tick anew for the subscriber: its own task shows until it turns non-dumpable, root\'s never', async () => {
    // An execute-only copy of sleep: exec of it makes the process non-dumpable (the kernel's rule for unreadable binaries).
    const dir = mkdtempSync('/tmp/ikc-xo-');
    chmodSync(dir, 0o755);
    const xo = join(dir, 'sleep-xo');
    copyFileSync('/bin/sleep', xo);
    chmodSync(xo, 0o711);
    const watch = (via: string) =>
      node(`
      import { BrokerClient, subscribeTaskStats } from '@ikc/sdk';
      import { spawn } from 'node:child_process';
      process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
      const client = ${via === 'broker' ? `BrokerClient.connect(${JSON.stringify(broker.socket)})` : 'undefined'};
      const a = spawn('/bin/sh', ['-c', 'sleep 0.5; exec ${xo} 30'], { stdio: 'ignore' });
      const seen = [];
      for await (const s of subscribeTaskStats({ intervalMs: 100, count: 12, client })) {
        const pids = new Set(s.data.map((t) => t.pid));
        seen.push((pids.has(a.pid) ? 'A' : '-') + (pids.has(1) ? '1' : ''));
      }
      a.kill('SIGKILL');
      console.log(JSON.stringify({ seen: seen.join(' ') }));`).seen as string;
    try {
      for (const via of ['in-process', 'broker']) {
        const seen = watch(via);
        // A for the first ticks, then - once exec made it non-dumpable; never 1 (root's init).
        const shape = /^(A )+(- ?)+$/.test(seen.trim() + ' ') && !seen.includes('1') ? 'own task until its exec, then hidden; pid 1 never' : seen;
        row({ id: 'S37', scenario: `uid ${UID} subscribes to TASK_STATS (${via}, 12 ticks); its child execs an execute-only binary at ~0.5 s`, expected: 'own task until its exec, then hidden; pid 1 never', observed: shape });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('S38: a client speaking protocol v1 is refused in v1 words, never misread', () => {
    const py = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
hello = s.recv(4096)
s.send(struct.pack('=IHHIIII', 0x42434b49, 1, 1, 0x80000001, 0, 0, 0))
r = s.recv(4096)
magic, version, kind, result, mlen = struct.unpack('=IHHiI', r[:16])
print('hello v%d; reply v%d kind %d result %d %s' % (struct.unpack('=IH', hello[:6])[1], version, kind, result, r[16:16+mlen].decode().split(':')[0]))`;
    const out = execFileSync(PYTHON, ['-c', py, broker.socket], { encoding: 'utf8' }).trim();
    row({ id: 'S38', scenario: 'a v1 request (TASK_DIAG) after the v2 hello', expected: 'hello v2; reply v1 kind 1 result -93 EPROTONOSUPPORT', observed: out });
  });
});
