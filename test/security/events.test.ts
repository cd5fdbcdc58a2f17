// SECURITY.md promises 39-41: PROC_EVENTS. What a subscriber can learn
// (only tasks task_diag would show it, numbered in its pid namespace), what
// another subscriber cannot take from it (events, by subscribing, leaving or
// IGNOREs on its own connector socket), and what a stalled reader costs (its
// own events, announced; bounded memory in the broker). Plus the sandbox:
// no NETLINK_CONNECTOR socket, the broker is the only way in.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BrokerClient, CURRENT_PIDNS, encodeEventsRequest, events, PROC_EVENTS, type ProcEvent } from '@ikc/sdk';
import { IKC, startBroker, type TestBroker } from '../helpers/broker.js';
import { ROOT } from '../helpers/fixture.js';
import { figure, FULL, row } from '../helpers/security.js';

const isRoot = process.getuid?.() === 0;
const UID = 4719;
const OTHER = 4720;
const PYTHON = '/usr/bin/python3';

interface Seen {
  me: number;
  sh: number;
  hidden?: number;
  got: { type: string; pid: number; tgid: number; parentTgid: number | null }[];
}

/** Runs an ES module snippet in a new node process (as root, in the checkout); returns its stdout as JSON. */
function node(script: string, prefix: string[] = []): unknown {
  const argv = [...prefix, process.execPath, '--input-type=module', '-e', script];
  const run = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', cwd: ROOT, timeout: 90_000 });
  if (run.status !== 0) throw new Error(`node exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/**
 * A subscriber as `uid` (in-process, or through the broker at `socket`) while
 * its own shell forks 6 sleeps and, if `xsleep` is given, runs that
 * execute-only (so non-dumpable) program once; root and uid OTHER make noise
 * meanwhile. Returns every event it got until its shell's exit.
 */
function subscribeAs(uid: number, socket: string | undefined, xsleep?: string): Seen {
  const noise = [0, OTHER].map((u) => spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 150 ]; do /bin/true; i=$((i+1)); done'], { uid: u, gid: u, stdio: 'ignore' }));
  try {
    return node(`
      import { BrokerClient, events } from '@ikc/sdk';
      import { spawn } from 'node:child_process';
      const c = ${socket ? `BrokerClient.connect(${JSON.stringify(socket)})` : 'undefined'};
      process.setgroups([]); process.setgid(${uid}); process.setuid(${uid});
      // A deadline, so that a missing event shows in the row instead of hanging the test.
      const it = events({ types: ['fork', 'exec', 'exit', 'uid', 'gid', 'comm'], client: c, signal: AbortSignal.timeout(20000) })[Symbol.asyncIterator]();
      const first = it.next();
      await new Promise((r) => setTimeout(r, 50));
      // node changed uid (not dumpable): the storm is a shell's, whose children fork from a dumpable parent.
      const x = ${JSON.stringify(xsleep ?? '')};
      const sh = spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 6 ]; do /bin/sleep 0.1; i=$((i+1)); done' + (x ? '; ' + x + ' 0.1 & echo $! >&2; wait' : '') + '; exec /bin/sleep 0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let hidden = 0;
      sh.stderr.on('data', (d) => (hidden = Number(String(d).trim())));
      const got = [];
      for (let r = await first; !r.done; r = await it.next()) {
        const e = r.value;
        got.push({ type: e.type, pid: e.pid ?? 0, tgid: e.tgid ?? 0, parentTgid: e.parentTgid ?? null });
        if (e.type === 'exit' && e.tgid === sh.pid) break;
      }
      await it.return();
      c?.close();
      console.log(JSON.stringify({ me: process.pid, sh: sh.pid, hidden, got }));`) as Seen;
  } finally {
    for (const p of noise) p.kill();
  }
}

/** "own only" if every event is of the shell or a child it forked (as its fork events say), else the first stranger. */
function ownOnly(s: Seen): string {
  const kids = new Set(s.got.filter((e) => e.type === 'fork' && e.parentTgid === s.sh).map((e) => e.tgid));
  // Its own threads (node's, and in-process the hub's) are its own too.
  const stranger = s.got.find((e) => !(kids.has(e.tgid) || e.tgid === s.sh || e.tgid === s.me));
  const perKid = [...kids].filter((k) => k !== s.hidden).map((k) => s.got.filter((e) => e.tgid === k).map((e) => e.type).join('/'));
  const full = perKid.filter((t) => t === 'fork/exec/exit').length;
  return stranger ? `a stranger's ${stranger.type} of ${stranger.pid}/${stranger.tgid} (parent ${stranger.parentTgid}; shell ${s.sh})` : `own only; ${full} of ${perKid.length} sleeps fork/exec/exit`;
}

const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

describe.skipIf(!isRoot)('security: process events (needs root: broker, other uids, namespaces)', () => {
  let broker: TestBroker;
  let dir: string;
  let xsleep: string;
  beforeAll(async () => {
    broker = await startBroker(['--max-streams-per-uid', '2']);
    // An execute-only copy of sleep: exec of a file one may not read makes the task non-dumpable.
    dir = mkdtempSync(join(tmpdir(), 'ikc-events-sec-'));
    xsleep = join(dir, 'xsleep');
    copyFileSync('/bin/sleep', xsleep);
    chmodSync(xsleep, 0o711);
    chmodSync(dir, 0o711);
  });
  afterAll(async () => {
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('S41: an unprivileged subscriber sees only tasks it may see: in-process and through the broker', () => {
    for (const [how, socket] of [
      ['in-process', undefined],
      ['through the broker', broker.socket],
    ] as const) {
      const s = subscribeAs(UID, socket, xsleep);
      row({
        id: 'S41',
        scenario: `uid ${UID} ${how}, while root and uid ${OTHER} fork 150 tasks each: whose events it gets`,
        expected: 'own only; 6 of 6 sleeps fork/exec/exit',
        observed: ownOnly(s),
      });
      // Its fork (while still dumpable) may be shown or not, as the hub reads it before or after the exec; nothing after.
      const x = s.got.filter((e) => e.tgid === s.hidden && e.type !== 'fork').map((e) => e.type);
      row({
        id: 'S41',
        scenario: `uid ${UID} ${how}: its own task after exec of an execute-only file (not dumpable, hidden by hidepid=2)`,
        expected: 'nothing after the exec',
        observed: s.hidden ? (x.length ? x.join('/') : 'nothing after the exec') : 'the task did not run',
      });
    }
  });

  it('S41: a pid filter naming a hidden task is the ESRCH of a missing one', () => {
    const out = node(`
      import { BrokerClient, events } from '@ikc/sdk';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
      const ask = async (client, pid) => { try { for await (const e of events({ client, pids: [pid] })) return 'ok'; } catch (e) { return e.message.replace(String(pid), 'N'); } };
      console.log(JSON.stringify({ broker: [await ask(c, 1), await ask(c, 2147483647)], own: [await ask(undefined, 1), await ask(undefined, 2147483647)] }));
      c.close();`) as { broker: string[]; own: string[] };
    row({ id: 'S41', scenario: `uid ${UID} through the broker: -p 1 (root's) and -p 2147483647 (none)`, expected: 'the same ESRCH', observed: out.broker[0] === out.broker[1] && /^ESRCH/.test(out.broker[0]) ? 'the same ESRCH' : out.broker.join(' | ') });
    row({ id: 'S41', scenario: `uid ${UID} in-process: -p 1 (root's) and -p 2147483647 (none)`, expected: 'the same ESRCH', observed: out.own[0] === out.own[1] && /^ESRCH/.test(out.own[0]) ? 'the same ESRCH' : out.own.join(' | ') });
  });

  it('S41: a subscriber in a child pid namespace sees only that namespace, in its numbering (through the broker); in-process there is EOPNOTSUPP', () => {
    const noise = spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done'], { stdio: 'ignore' });
    const s = node(
      `
      import { BrokerClient, events } from '@ikc/sdk';
      import { spawn } from 'node:child_process';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const it = c.events({ types: ['fork', 'exec', 'exit'] })[Symbol.asyncIterator]();
      const first = it.next();
      await new Promise((r) => setTimeout(r, 50));
      const sh = spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 6 ]; do /bin/sleep 0.05; i=$((i+1)); done; exec /bin/sleep 0.05'], { stdio: 'ignore' });
      const got = [];
      for (let r = await first; !r.done; r = await it.next()) {
        const e = r.value;
        got.push({ type: e.type, pid: e.pid, tgid: e.tgid, parentTgid: e.parentTgid ?? null });
        if (e.type === 'exit' && e.tgid === sh.pid) break;
      }
      await it.return();
      c.close();
      let inProcess = 'a stream';
      try { for await (const e of events()) break; } catch (e) { inProcess = e.code; }
      console.log(JSON.stringify({ me: process.pid, sh: sh.pid, got, inProcess }));`,
      ['unshare', '--pid', '--fork', '--mount-proc'],
    ) as Seen & { inProcess: string };
    noise.kill();
    const numbering = s.got.every((e) => e.pid < 100) ? 'numbered from 1' : 'host numbers';
    row({ id: 'S41', scenario: 'root in unshare --pid --fork --mount-proc, through the broker, while the host forks 100 tasks', expected: `own only; 6 of 6 sleeps fork/exec/exit; numbered from 1 (itself ${1})`, observed: `${ownOnly(s)}; ${numbering} (itself ${s.me})` });
    row({ id: 'S41', scenario: 'the same subscriber in-process (the kernel ignores LISTEN from a child pid namespace)', expected: 'EOPNOTSUPP', observed: s.inProcess });
  });

  it('S42: a misbehaving subscriber (joins and leaves in a loop, floods IGNORE on its own connector socket) takes nothing from another', async () => {
    const n = FULL ? 200 : 60;
    const sh = spawn('/bin/sh', ['-c', `read x; i=0; while [ $i -lt ${n} ]; do /bin/true; i=$((i+1)); done`], { stdio: ['pipe', 'ignore', 'ignore'] });
    const steady = events({ types: ['fork', 'exec', 'exit'], pids: [sh.pid!], subtree: true })[Symbol.asyncIterator]();
    const firstSteady = steady.next();
    // IGNORE after IGNORE (no LISTEN) on a socket of its own: before Linux 6.6 that zeroed everyone's listener count.
    const flood = spawn(
      PYTHON,
      [
        '-c',
        `import os, socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 11)
s.bind((0, 1))
n = 0
while True:
    cn = struct.pack('=IIIIHH', 1, 1, n, n, 4, 0) + struct.pack('=I', 2)
    s.sendto(struct.pack('=IHHII', 16 + len(cn), 3, 0, n, os.getpid()) + cn, (0, 0))
    n += 1
    if n == 2000: print('flooding', flush=True)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((r) => flood.stdout!.once('data', () => r()));
    // Joins and leaves, in this process's hub and in the broker's, as fast as it can.
    let churning = true;
    const churn = (async () => {
      let k = 0;
      const c = BrokerClient.connect(broker.socket);
      while (churning) {
        const it = events({ types: ['exec'], client: k++ % 2 ? c : undefined })[Symbol.asyncIterator]();
        const p = it.next();
        await new Promise((r) => setTimeout(r, 1));
        await it.return?.();
        void p.catch(() => {});
      }
      c.close();
      return k;
    })();
    await new Promise((r) => setTimeout(r, 50));
    sh.stdin!.end('go\n');
    const got: ProcEvent[] = [];
    let exits = 0;
    for (let r = await firstSteady; !r.done; r = await steady.next()) {
      got.push(r.value);
      if (r.value.type === 'exit' && r.value.pid !== sh.pid) exits++;
      if (exits === n) break;
    }
    await steady.return?.();
    churning = false;
    const joins = await churn;
    flood.kill();
    const kids = new Set(got.filter((e) => e.type === 'fork').map((e) => (e as { tgid: number }).tgid));
    const losses = got.filter((e) => e.type === 'lost' || e.type === 'possibly-lost').length;
    const full = [...kids].filter((k) => got.filter((e) => 'tgid' in e && e.tgid === k).map((e) => e.type).join('/') === 'fork/exec/exit').length;
    row({
      id: 'S42',
      scenario: `a storm of ${n} children while another subscriber joined and left ${joins} times (in-process and via the broker) and a raw socket sent IGNOREs`,
      expected: `${n} of ${n} children fork/exec/exit, no loss notice`,
      observed: `${full} of ${kids.size} children fork/exec/exit, ${losses ? `${losses} loss notices` : 'no loss notice'}`,
    });
  });

  it('S43: a stalled reader through the broker gets LOST with the exact count, the stream goes on, the broker stays bounded', async () => {
    const client = BrokerClient.connect(broker.socket);
    // Subscribed, never read while the storm runs.
    const stalledFd = await client.issueKernelCommandAsync(CURRENT_PIDNS, PROC_EVENTS, [encodeEventsRequest({ types: ['fork', 'exit'] })]);
    const before = rss(broker.process.pid!);
    // 30000 threads forked and exited: some 2.4 MB of messages, past the pipe and the queue (1 MiB each).
    execFileSync(PYTHON, ['-c', 'import threading\nfor _ in range(30000):\n  t = threading.Thread(target=lambda: None); t.start(); t.join()']);
    const after = rss(broker.process.pid!);
    figure('broker RSS before / after a stalled PROC_EVENTS reader and 60000 events', `${before} / ${after} KiB`);
    // Now read: consecutive numbers up to a LOST notice that names exactly the missing ones, then the stream goes on.
    const py = `
import os, struct, sys, subprocess
buf = b''; expected = 0; verdict = None
subprocess.run(['/bin/true'])
while verdict is None:
    chunk = os.read(0, 1 << 20)
    if not chunk: verdict = 'EOF'; break
    buf += chunk
    while len(buf) >= 16 and verdict is None:
        n, t, f, seq, port = struct.unpack('=IHHII', buf[:16])
        if len(buf) < n: break
        if t == 0x7f01:
            count, first, last, cause = struct.unpack('=QIII', buf[16:36])
            ok = (first, last) == (expected, seq - 1) and count == last - first + 1
            verdict = 'LOST %s, names the missing numbers: %s, cause %d' % ('>0' if count > 0 else '0', 'yes' if ok else 'no (%d %d..%d after %d)' % (count, first, last, expected), cause)
        elif seq != expected:
            verdict = 'a gap at %d without a notice' % expected
        expected = seq + 1
        buf = buf[(n + 3) & ~3:]
print(verdict)`;
    const seen = spawnSync(PYTHON, ['-c', py], { stdio: [stalledFd, 'pipe', 'inherit'], encoding: 'utf8', timeout: 60_000 }).stdout.trim();
    // After the notice the stream goes on: an event made now arrives.
    const goesOn = node(`
      import { BrokerClient } from '@ikc/sdk';
      import { execFileSync } from 'node:child_process';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const it = c.events({ types: ['exit'], count: 1 })[Symbol.asyncIterator]();
      const p = it.next();
      await new Promise((r) => setTimeout(r, 50));
      execFileSync('/bin/true');
      console.log(JSON.stringify((await p).value.type)); c.close();`);
    closeSync(stalledFd);
    client.close();
    row({ id: 'S43', scenario: 'a reader that read nothing during 60000 events, then reads', expected: 'LOST >0, names the missing numbers: yes, cause 1', observed: seen });
    row({ id: 'S43', scenario: 'the broker\'s RSS growth meanwhile (its queue for the reader is bounded at 1 MiB)', expected: 'under 32 MiB', observed: after - before < 32 * 1024 ? 'under 32 MiB' : `${after - before} KiB` });
    row({ id: 'S43', scenario: 'another subscriber of the same broker, afterwards', expected: '"exit"', observed: JSON.stringify(goesOn) });
  });

  it('S43: the stream quota applies to PROC_EVENTS (--max-streams-per-uid 2)', () => {
    const out = node(`
      import { BrokerClient, CURRENT_PIDNS, PROC_EVENTS, encodeEventsRequest } from '@ikc/sdk';
      // Connected as the uid: quotas are keyed by the uid at connect (SO_PEERCRED).
      process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const open = () => { try { return typeof c.issueKernelCommand(CURRENT_PIDNS, PROC_EVENTS, [encodeEventsRequest()]) === 'number' ? 'fd' : '?'; } catch (e) { return e.code; } };
      console.log(JSON.stringify([open(), open(), open()].join(' '))); c.close();`);
    row({ id: 'S43', scenario: `uid ${UID} asks the broker for 3 PROC_EVENTS streams`, expected: 'fd fd EAGAIN', observed: out as string });
  });

  it('S44: under ikc sandbox a program cannot open a NETLINK_CONNECTOR socket; outside it can', () => {
    const probe = join(dir, 'connector_probe');
    execFileSync('gcc', ['-static', '-O2', '-Wall', '-Werror', '-o', probe, join(ROOT, 'test/c/connector_probe.c')]);
    const outside = execFileSync(probe, { encoding: 'utf8' }).trim();
    const inside = spawnSync(process.execPath, [IKC, '--broker', broker.socket, 'sandbox', '--', probe], { encoding: 'utf8' }).stdout.trim();
    row({ id: 'S44', scenario: 'socket(AF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR) as root, outside / inside ikc sandbox', expected: 'OK / EPERM', observed: `${outside} / ${inside || 'no answer'}` });
  });
});
