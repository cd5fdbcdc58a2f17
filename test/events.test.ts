// PROC_EVENTS through the SDK: in-process and through a real broker. The
// oracle is what the test itself made: the pids its storms spawned (as node
// reports them), their parents and exit codes; root's and other uids' tasks
// must never reach an unprivileged subscriber; a child pid namespace sees its
// own numbering.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEventsRequest, events, IkcError, parseProcEvent, type ProcEvent } from '@ikc/sdk';
import { startBroker, type TestBroker } from './helpers/broker.js';
import { ROOT } from './helpers/fixture.js';

const isRoot = process.getuid?.() === 0;
const UID = 4711;
const OTHER = 4712;

/** Runs an ES module snippet in a new node process (as root, in the checkout); returns its stdout as JSON. */
function node(script: string, prefix: string[] = []): unknown {
  const argv = [...prefix, process.execPath, '--input-type=module', '-e', script];
  const run = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', cwd: ROOT, timeout: 60_000 });
  if (run.status !== 0) throw new Error(`node exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

const pipes = () =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`, { encoding: 'utf8' }).startsWith('pipe:');
    } catch {
      return false; // closed while listed (readdir's own fd)
    }
  }).length;

/** Waits until this process holds no more pipes than `n` (libuv closes a destroyed socket's fd on a later turn of its loop). */
async function pipesBackTo(n: number): Promise<void> {
  for (let i = 0; i < 200 && pipes() > n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(pipes()).toBeLessThanOrEqual(n);
}

/** The storm's shell: waits for a line on stdin, then forks `n` children one after the
 *  other, `/bin/sleep 0.02` (exit 0, alive long enough to be read at its exec) and
 *  `/bin/false` (exit 1, gone at once) in turn. */
const STORM = (n: number) => `read x; i=0; while [ $i -lt ${n} ]; do if [ $((i % 2)) -eq 0 ]; then /bin/sleep 0.02; else /bin/false; fi; i=$((i+1)); done`;
function storm(n: number) {
  const sh = spawn('/bin/sh', ['-c', STORM(n)], { stdio: ['pipe', 'ignore', 'ignore'] });
  const done = new Promise<void>((r) => sh.once('exit', () => r()));
  return { pid: sh.pid!, go: () => sh.stdin!.end('go\n'), done };
}

describe('events(): the request codec', () => {
  it('is the core codec: bad names, counts, too many pids and a subtree without pids are EINVAL', () => {
    for (const bad of [{ types: ['forks'] }, { types: ['none'] }, { count: -1 }, { count: 1.5 }, { pids: Array(17).fill(1) }, { subtree: true }, { pids: [0] }]) {
      expect(() => encodeEventsRequest(bad as never), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    const req = encodeEventsRequest({ types: ['fork', 'exit'], pids: [1], subtree: true, cmdline: true, count: 3 });
    expect(req.length).toBe(16 + 24 + 64);
    expect(req.readBigUInt64LE(16)).toBe(3n);
    expect(req.readUInt32LE(24)).toBe(0x8000_0001);
    expect(req.readUInt32LE(28)).toBe(3);
    expect(encodeEventsRequest({ nonzeroExit: true }).readUInt32LE(24) & 0xa000_0000).toBe(0x2000_0000);
  });

  it('a short event payload is EIO, an unknown what is skipped', () => {
    expect(() => parseProcEvent(Buffer.alloc(63))).toThrow(IkcError);
    expect(parseProcEvent(Buffer.alloc(64))).toBeUndefined();
  });
});

describe.skipIf(!isRoot)('events() in-process (needs root: the connector is root-only before Linux 6.6)', () => {
  it('a storm: every fork, exec and exit of every child, in order, with parents, exit codes and comms', async () => {
    const n = 40;
    const s = storm(n);
    const got: ProcEvent[] = [];
    const stream = events({ types: ['fork', 'exec', 'exit'], pids: [s.pid], subtree: true, cmdline: true });
    const it = stream[Symbol.asyncIterator]();
    // The first event is the shell's own; a subscription is in once issue returns, so start the storm after the first next() is pending.
    const first = it.next();
    await new Promise((r) => setTimeout(r, 50));
    s.go();
    let exits = 0;
    for (let r = await first; !r.done; r = await it.next()) {
      got.push(r.value);
      if (r.value.type === 'exit' && r.value.parentTgid === s.pid) exits++;
      if (exits === n) break;
    }
    await it.return?.();
    await s.done;
    const kids = new Map<number, ProcEvent[]>();
    for (const e of got) {
      if (e.type === 'lost' || e.type === 'possibly-lost') throw new Error(`loss during the storm: ${JSON.stringify(e)}`);
      if (e.tgid === s.pid) continue;
      kids.set(e.tgid, [...(kids.get(e.tgid) ?? []), e]);
    }
    expect(kids.size).toBe(n);
    let i = 0;
    for (const [pid, evs] of [...kids].sort((a, b) => (a[1][0] as { seq: number }).seq - (b[1][0] as { seq: number }).seq)) {
      expect(evs.map((e) => e.type), `child ${pid}`).toEqual(['fork', 'exec', 'exit']);
      const [fork, exec, exit] = evs as [ProcEvent & { timestampNs: bigint }, ProcEvent & { timestampNs: bigint; comm?: string }, ProcEvent & { timestampNs: bigint }];
      expect(fork).toMatchObject({ parentTgid: s.pid, pid, tgid: pid });
      // A comm and command line read at the exec, or none if the task was gone by then (never the old ones).
      const [prog, args] = i % 2 === 0 ? ['sleep', ['/bin/sleep', '0.02']] : ['false', ['/bin/false']];
      if (prog === 'sleep' || exec.comm !== undefined) expect(exec.comm).toBe(prog);
      const cmdline = (exec as { cmdline?: string[] }).cmdline;
      if (prog === 'sleep' || cmdline !== undefined) expect(cmdline).toEqual(args);
      expect(exit).toMatchObject({ parentTgid: s.pid, status: i % 2, signal: 0, exitSignal: 17 });
      expect(exec.timestampNs > fork.timestampNs && exit.timestampNs > exec.timestampNs).toBe(true);
      i++;
    }
  });

  it('stopping the iteration closes the stream fd; count ends it complete', async () => {
    const before = pipes();
    const stream = events({ types: ['exec'], count: 2 });
    const it = stream[Symbol.asyncIterator]();
    const next = it.next();
    await new Promise((r) => setTimeout(r, 50));
    execFileSync('/bin/true');
    execFileSync('/bin/true');
    expect((await next).value).toMatchObject({ type: 'exec' });
    expect((await it.next()).value).toMatchObject({ type: 'exec' });
    expect((await it.next()).done).toBe(true);
    expect(stream.end).toMatchObject({ reason: 'complete', delivered: 2, lost: 0 });
    await pipesBackTo(before);
    // Broken off early: the fd goes at once.
    const again = events({ types: ['exec'] })[Symbol.asyncIterator]();
    const pending = again.next();
    await new Promise((r) => setTimeout(r, 50));
    execFileSync('/bin/true');
    await pending;
    await again.return?.();
    await pipesBackTo(before);
  });

  it('outside the initial pid namespace, in-process use is a clear EOPNOTSUPP, not a silent stream', () => {
    const out = node(
      `import { events } from '@ikc/sdk';
       try { for await (const e of events()) { console.log(JSON.stringify({ got: e })); process.exit(0); } }
       catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
      ['unshare', '--pid', '--fork', '--mount-proc'],
    ) as { code: string; message: string };
    expect(out.code).toBe('EOPNOTSUPP');
    expect(out.message).toMatch(/^EOPNOTSUPP: .*broker/);
  });
});

describe.skipIf(!isRoot)('events() through a broker (needs root: runs a broker)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it(`uid ${UID} sees its own tasks' fork, exec and exit, never root's or uid ${OTHER}'s`, () => {
    // Noise as root and as another uid while the subscriber runs.
    const noise = [0, OTHER].map((uid) =>
      spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 150 ]; do /bin/true; i=$((i+1)); done'], { uid, gid: uid, stdio: 'ignore' }),
    );
    const out = node(`
      import { BrokerClient, events } from '@ikc/sdk';
      import { spawn } from 'node:child_process';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
      const mine = [];
      const got = [];
      const it = c.events({ types: ['fork', 'exec', 'exit'] })[Symbol.asyncIterator]();
      const first = it.next();
      await new Promise((r) => setTimeout(r, 50));
      // node itself changed uid, so it is not dumpable (suid_dumpable 0) and neither is a child
      // until its exec: the storm is a shell's, whose children fork from a dumpable parent.
      const sh = spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 8 ]; do /bin/sleep 0.1; i=$((i+1)); done; exec /bin/sleep 0.1'], { stdio: 'ignore' });
      const shDone = new Promise((r) => sh.once('exit', r));
      for (let r = await first; !r.done; r = await it.next()) {
        const e = r.value;
        got.push({ type: e.type, pid: e.pid, tgid: e.tgid, parentTgid: e.parentTgid ?? null });
        if (e.type === 'exit' && e.tgid === sh.pid) break;
      }
      await shDone;
      await it.return();
      c.close();
      console.log(JSON.stringify({ me: process.pid, sh: sh.pid, got }));`) as {
      me: number;
      sh: number;
      got: { type: string; pid: number; tgid: number; parentTgid: number | null }[];
    };
    for (const p of noise) p.kill();
    // Every event is of the shell or a child it forked (known by their fork events), none of root's or the other uid's.
    const kids = new Set(out.got.filter((e) => e.type === 'fork' && e.parentTgid === out.sh).map((e) => e.tgid));
    for (const e of out.got) expect(kids.has(e.tgid) || e.tgid === out.sh, `an event of a task not uid ${UID}'s: ${JSON.stringify(e)}`).toBe(true);
    expect(kids.size).toBe(8);
    for (const pid of kids) expect(out.got.filter((e) => e.tgid === pid).map((e) => e.type), `child ${pid}`).toEqual(['fork', 'exec', 'exit']);
    // The shell's fork came from node after its setuid (not dumpable): hidden. Its two execs and exit are shown.
    expect(out.got.filter((e) => e.tgid === out.sh).map((e) => e.type)).toEqual(['exec', 'exec', 'exit']);
  });

  it('a pid filter naming a task it may not see is ESRCH, as for a pid that names none', () => {
    const out = node(`
      import { BrokerClient, events } from '@ikc/sdk';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
      const ask = async (pid) => { try { for await (const e of c.events({ pids: [pid] })) return 'ok'; } catch (e) { return e.code; } };
      console.log(JSON.stringify({ hidden: await ask(1), missing: await ask(2147483647) }));
      c.close();`) as { hidden: string; missing: string };
    expect(out).toEqual({ hidden: 'ESRCH', missing: 'ESRCH' });
  });

  it('a subscriber in a child pid namespace (unshare --pid --fork --mount-proc) sees only its namespace, in its numbering', () => {
    // Noise outside the namespace.
    const noise = spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done'], { stdio: 'ignore' });
    const out = node(
      `
      import { BrokerClient, events } from '@ikc/sdk';
      import { spawn } from 'node:child_process';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const mine = [];
      const got = [];
      const it = c.events({ types: ['fork', 'exec', 'exit'] })[Symbol.asyncIterator]();
      const first = it.next();
      await new Promise((r) => setTimeout(r, 50));
      const run = () => new Promise((r) => { const p = spawn('/bin/true'); mine.push(p.pid); p.once('exit', r); });
      for (let i = 0; i < 5; i++) await run();
      const last = mine[mine.length - 1];
      for (let r = await first; !r.done; r = await it.next()) {
        got.push({ type: r.value.type, pid: r.value.pid, tgid: r.value.tgid, parentTgid: r.value.parentTgid ?? null });
        if (r.value.type === 'exit' && r.value.tgid === last) break;
      }
      await it.return();
      c.close();
      console.log(JSON.stringify({ me: process.pid, mine, got }));`,
      ['unshare', '--pid', '--fork', '--mount-proc'],
    ) as { me: number; mine: number[]; got: { type: string; pid: number; tgid: number; parentTgid: number | null }[] };
    noise.kill();
    expect(out.me).toBe(1);
    const mine = new Set(out.mine);
    for (const e of out.got) expect(mine.has(e.tgid) || e.tgid === out.me, `not the namespace's: ${JSON.stringify(e)}`).toBe(true);
    for (const pid of out.mine) expect(out.got.filter((e) => e.tgid === pid && e.pid === pid).map((e) => e.type)).toEqual(['fork', 'exec', 'exit']);
    expect(out.got.filter((e) => e.type === 'fork' && mine.has(e.tgid)).every((e) => e.parentTgid === 1)).toBe(true);
  });
});
