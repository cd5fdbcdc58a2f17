// Attacks on the broker's bounds (SECURITY.md promises 17, 18 and 28-31): fds
// attached to requests, the broker's fd limit, one uid holding every connection,
// response memory pinned by a client that keeps its answers, and the broker
// under exactly the systemd unit's capabilities. Each attack is one row of
// `npm run security`; the slow versions (floods of thousands of messages,
// 1,000 clients) run only there (FULL), a light version of each always runs.
// The attacking clients are test/c/broker_attack.c (Node cannot send
// SCM_RIGHTS), built into a temp dir every uid can reach.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerClient } from '@ikc/sdk';
import { IKC, startBroker, type TestBroker } from '../helpers/broker.js';
import { ROOT } from '../helpers/fixture.js';
import { FULL, figure, row } from '../helpers/security.js';

const isRoot = process.getuid?.() === 0;
const EAGAIN = -11;
const EMSGSIZE = -90;
const ENOBUFS = -105;
const SLOW = FULL ? 600_000 : 120_000;
let dir: string;
let ATTACK: string;

beforeAll(() => {
  if (!isRoot) return;
  dir = mkdtempSync(join(tmpdir(), 'ikc-limits-'));
  chmodSync(dir, 0o755);
  ATTACK = join(dir, 'broker_attack');
  execFileSync('gcc', ['-O2', '-Wall', '-Werror', `-I${ROOT}include`, '-o', ATTACK, join(ROOT, 'test/c/broker_attack.c')]);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Counts = Record<string, number>;
interface Attack {
  /** The JSON line the attacker printed. */
  out: Promise<Record<string, unknown>>;
  child: ChildProcess;
  /** Closes its stdin (the holding modes then let go) and waits for it to exit. */
  done(): Promise<number | null>;
}

/** The hard RLIMIT_NOFILE here: attackers get it as their soft limit too (held responses, connections). */
const NOFILE = Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()) || 1024;

/** Runs broker_attack ARGS, as `uid` if given. */
function attack(args: (string | number)[], uid?: number): Attack {
  const argv = [ATTACK, ...args.map(String)];
  const as = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const cmd = ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--', ...as, ...argv];
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const out = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
    });
    void exited.then((code) => reject(new Error(`broker_attack ${args.join(' ')} exited with ${code} and printed ${buf}`)));
  });
  return {
    out,
    child,
    done: async () => {
      child.stdin!.end();
      return exited;
    },
  };
}

const status = (pid: number, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const rssKb = (b: TestBroker) => status(b.process.pid!, 'VmRSS');
const threads = (b: TestBroker) => status(b.process.pid!, 'Threads');
/** utime + stime of the broker, in ms (clock ticks are 10 ms). */
function cpuMs(b: TestBroker): number {
  const stat = readFileSync(`/proc/${b.process.pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The broker's fd count once it has held still for 200 ms (connection threads of earlier clients gone). */
async function quiet(b: TestBroker): Promise<number> {
  let last = b.fds();
  for (let i = 0; i < 50; i++) {
    await sleep(200);
    const now = b.fds();
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** Waits (2 s at most) until the broker's fd count is back to `fds`; returns the count. */
async function settle(b: TestBroker, fds: number): Promise<number> {
  for (let i = 0; i < 200 && b.fds() > fds; i++) await sleep(10);
  return b.fds();
}

/** Whether a root client on a new connection gets its own task back: 'served' or the error code. */
function rootServed(b: TestBroker): string {
  try {
    const c = BrokerClient.connect(b.socket);
    try {
      return c.taskDiagSync({ strategy: 'one', pid: process.pid })[0]?.pid === process.pid ? 'served' : 'wrong answer';
    } finally {
      c.close();
    }
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

const sum = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);

/** Samples the broker's fd count and RSS every 50 ms until `stop()`; the peaks. */
function sampler(b: TestBroker) {
  let fds = 0;
  let rss = 0;
  let thr = 0;
  const tick = () => {
    try {
      fds = Math.max(fds, b.fds());
      rss = Math.max(rss, rssKb(b));
      thr = Math.max(thr, threads(b));
    } catch {
      /* the broker is gone: the test will say so */
    }
  };
  const timer = setInterval(tick, 50);
  return {
    stop: () => {
      clearInterval(timer);
      tick();
      return { fds, rss, threads: thr };
    },
  };
}

describe.skipIf(!isRoot)('broker limits (needs root: brokers, clients of other uids, capability sets)', () => {
  it('B4: every fd attached to a message is closed, however many and whatever the body', { timeout: SLOW }, async () => {
    const b = await startBroker();
    try {
      rootServed(b); // the first request opens what the broker keeps open for good
      const fds0 = await quiet(b);
      const rss0 = rssKb(b);
      const rounds = FULL ? 2000 : 40;
      const cases: [number, string][] = [
        [9, 'valid'],
        [9, 'garbage'],
        [20, 'valid'],
        [20, 'garbage'],
        [253, 'valid'],
        [253, 'garbage'],
        [2, 'valid'],
        [1, 'garbage'],
      ];
      const t0 = Date.now();
      const results = await Promise.all(cases.map(([n, body]) => attack(['fdflood', b.socket, n, rounds, body]).out));
      const ms = Date.now() - t0;
      const peak = b.fds();
      const fds1 = await settle(b, fds0);
      const codes: Counts = {};
      let reconnects = 0;
      let withFd = 0;
      for (const r of results) {
        for (const [k, v] of Object.entries(r.replies as Counts)) codes[k] = (codes[k] ?? 0) + v;
        reconnects += r.reconnects as number;
        withFd += r.with_fd as number;
      }
      const allErrno = Object.keys(codes).every((k) => Number(k) < 0) && reconnects === 0 && withFd === 0;
      figure('B4 broker fds before / after the fd flood', `${fds0} / ${fds1} (${peak} right after)`);
      figure('B4 broker RSS before / after', `${mb(rss0)} / ${mb(rssKb(b))}`);
      figure('B4 messages with fds sent / time', `${rounds * cases.length} in ${ms} ms; replies ${JSON.stringify(codes)}`);
      row({
        id: 'B4',
        scenario: `${rounds * cases.length} messages carrying 1, 2, 9, 20 or 253 fds, valid or garbage bodies`,
        expected: '+0 fds; each an errno; root served',
        observed: `${fds1 - fds0 >= 0 ? '+' : ''}${fds1 - fds0} fds; ${allErrno ? 'each an errno' : `replies ${JSON.stringify(codes)}, ${reconnects} dropped`}; root ${rootServed(b)}`,
      });
      expect(codes[String(EMSGSIZE)]).toBe(rounds * 6); // more fds than the control buffer holds: cut by the kernel, refused
    } finally {
      await b.stop();
    }
  });

  it('B5: at its fd limit the broker refuses promptly, logs little, spins not and keeps serving', { timeout: SLOW }, async () => {
    const limit = 256;
    const b = await startBroker(['--max-clients', '2000', '--max-clients-per-uid', '2000'], { prefix: ['prlimit', `--nofile=${limit}:${limit}`, '--'] });
    const holders: Attack[] = [];
    try {
      const existing = BrokerClient.connect(b.socket);
      existing.taskDiagSync({ strategy: 'one', pid: process.pid });
      const log0 = b.stderr().length;
      const cpu0 = cpuMs(b);
      // More connections than fds: the first ones get a hello, the rest must be refused, not left hanging.
      const first = attack(['connect', b.socket, FULL ? 1000 : 300]);
      holders.push(first);
      const got = await first.out;
      const counts = got.first as Counts;
      // More knock while the broker is full; watch what that costs it over 2 s.
      const cpu1 = cpuMs(b);
      const t1 = Date.now();
      const knock = attack(['connect', b.socket, FULL ? 2000 : 200]);
      holders.push(knock);
      const knocked = (await knock.out).first as Counts;
      await sleep(Math.max(0, 2000 - (Date.now() - t1)));
      const cpuWindow = cpuMs(b) - cpu1;
      const window = Date.now() - t1;
      const logBytes = b.stderr().length - log0;
      let servedExisting: string;
      try {
        servedExisting = existing.taskDiagSync({ strategy: 'one', pid: process.pid })[0]?.pid === process.pid ? 'served' : 'wrong answer';
      } catch (e) {
        servedExisting = (e as { code?: string }).code ?? String(e);
      }
      existing.close();
      const refused = (counts[String(EAGAIN)] ?? 0) + (knocked[String(EAGAIN)] ?? 0);
      const hung = (counts['2'] ?? 0) + (knocked['2'] ?? 0);
      figure('B5 broker at RLIMIT_NOFILE', `limit ${limit}: ${counts['0'] ?? 0} connections accepted, ${refused} refused with EAGAIN, ${hung} left hanging; ${b.fds()} fds open`);
      figure('B5 broker CPU / log while clients knock at the fd limit', `${cpuWindow} ms CPU in ${window} ms; ${logBytes} bytes of log (total ${cpuMs(b) - cpu0} ms CPU)`);
      figure('B5 time to refuse at the fd limit', `${got.worst_refusal_ms} ms worst`);
      row({
        id: 'B5',
        scenario: `${FULL ? 3000 : 500} clients at a broker with fd limit ${limit}; then an existing client asks`,
        expected: 'refused with EAGAIN; CPU < 25%; log < 4 KiB; existing served',
        observed: `${hung === 0 && refused > 0 ? 'refused with EAGAIN' : `${refused} refused, ${hung} hanging`}; CPU ${cpuWindow < window / 4 ? '< 25%' : `${Math.round((100 * cpuWindow) / window)}%`}; log ${logBytes < 4096 ? '< 4 KiB' : `${logBytes} bytes`}; existing ${servedExisting}`,
      });
      for (const h of holders.splice(0)) await h.done();
      expect(rootServed(b)).toBe('served');
    } finally {
      for (const h of holders) await h.done();
      await b.stop();
    }
  });

  it('B6: one uid cannot hold every connection; root and other uids are still served', { timeout: SLOW }, async () => {
    const b = await startBroker();
    const hog = attack(['connect', b.socket, 256], 4711);
    try {
      rootServed(b);
      const got = await hog.out;
      const first = got.first as Counts;
      const other = await attack(['mixed', b.socket, 8], 4712).out;
      const root = rootServed(b);
      figure('B6 one uid opens 256 connections', `${first['0'] ?? 0} served, ${first[String(EAGAIN)] ?? 0} refused with EAGAIN (worst ${got.worst_refusal_ms} ms); broker ${b.fds()} fds, ${mb(rssKb(b))} RSS`);
      row({
        id: 'B6',
        scenario: 'uid 4711 holds 256 idle connections; root and uid 4712 then ask',
        expected: '32 served, 224 EAGAIN; root served; 4712 served 8/8',
        observed: `${first['0'] ?? 0} served, ${first[String(EAGAIN)] ?? 0} EAGAIN; root ${root}; 4712 served ${other.correct}/8`,
      });
    } finally {
      await hog.done();
      await b.stop();
    }
  });

  it('B6: requests in flight are bounded per uid; over the quota is EAGAIN, never a wrong answer', { timeout: SLOW }, async () => {
    const b = await startBroker(['--max-requests-per-uid', '2']);
    try {
      const n = 32;
      const got = await attack(['mixed', b.socket, n], 4711).out;
      const answers = got.answer as Counts;
      row({
        id: 'B6',
        scenario: `uid 4711 sends ${n} requests at once on ${n} connections, quota 2 in flight`,
        expected: `${n} answered or EAGAIN; 0 wrong`,
        observed: `${(got.correct as number) + (answers[String(EAGAIN)] ?? 0)} answered or EAGAIN; ${(got.wrong as number) + (got.silent as number)} wrong`,
      });
      expect(answers[String(EAGAIN)] ?? 0).toBeGreaterThan(0);
      expect(rootServed(b)).toBe('served');
    } finally {
      await b.stop();
    }
  });

  it('B7: responses handed to one uid are bounded by a budget (ENOBUFS) and a size cap (EMSGSIZE)', { timeout: SLOW }, async () => {
    // Light: one client, a 2 MiB budget (512 one-page answers). FULL: four
    // clients of the same uid at once against a 16 MiB budget (the budget is the
    // uid's, not the connection's). A non-root dump takes ~25 ms here, so the
    // default 256 MiB (65,536 pages) is left to the unit tests.
    const budgetBytes = FULL ? 16 << 20 : 2 << 20;
    // A 10-minute window, so that little refills while the clients ask (the unit tests time refills).
    const windowS = 600;
    const b = await startBroker(['--response-budget', FULL ? '16M' : '2M', '--max-response-size', '1M', '--response-window', String(windowS)]);
    const holders: Attack[] = [];
    const shmem = () => Number(/^Shmem:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    try {
      rootServed(b);
      const rss0 = rssKb(b);
      const shmem0 = shmem();
      const t0 = Date.now();
      const procs = FULL ? 4 : 1;
      const perProcess = 2000;
      const asks = procs * perProcess;
      const pinners = Array.from({ length: procs }, () => attack(['pin', b.socket, perProcess], 4711));
      holders.push(...pinners);
      const outs = await Promise.all(pinners.map((p) => p.out));
      const handed = outs.reduce((n, o) => n + ((o.replies as Counts)['0'] ?? 0), 0);
      const pinnedBytes = outs.reduce((n, o) => n + (o.pinned_bytes as number), 0);
      const pinned = outs.find((o) => (o.first_refusal as number) >= 0) ?? outs[0];
      const shmem1 = shmem();
      // What the budget allows: itself, and its refill (budget per window) while the test ran.
      const allowed = budgetBytes * (1 + (Date.now() - t0) / (windowS * 1000));
      const other = await attack(['mixed', b.socket, 4], 4712).out;
      figure(
        'B7 one uid keeps every response',
        `${handed} of ${asks} handed by ${procs} client(s) (${pinnedBytes} bytes pinned), then refused (errno ${pinned.first_errno}) in ${pinned.refusal_ms} ms`,
      );
      figure('B7 memory while the responses are held', `Shmem +${mb(shmem1 - shmem0)}; broker RSS ${mb(rss0)} -> ${mb(rssKb(b))}; budget ${budgetBytes} bytes, ${Math.round(allowed)} with its refill over ${Date.now() - t0} ms`);
      row({
        id: 'B7',
        scenario: `uid 4711 asks ${asks} times from ${procs} client(s), keeping every response fd (budget ${FULL ? '16' : '2'} MiB per ${windowS / 60} min)`,
        expected: 'pinned <= budget + refill; then ENOBUFS; 4712 served 4/4; root served',
        observed: `pinned ${pinnedBytes <= allowed ? '<= budget + refill' : `${pinnedBytes} bytes (> ${Math.round(allowed)})`}; then ${pinned.first_errno === -ENOBUFS ? 'ENOBUFS' : `errno ${pinned.first_errno}`}; 4712 served ${other.correct}/4; root ${rootServed(b)}`,
      });
    } finally {
      for (const h of holders.splice(0)) await h.done();
      await b.stop();
    }
    // The cap binds root too: root's full dump is many KiB, its own task alone ~150 bytes.
    const capped = await startBroker(['--max-response-size', '1K']);
    try {
      const big = attack(['pin', capped.socket, 3]);
      holders.push(big);
      const r = await big.out;
      row({
        id: 'B7',
        scenario: 'root asks for full dumps longer than --max-response-size (1 KiB); then for its own task',
        expected: 'EMSGSIZE, nothing held; own task served',
        observed: `${(r.replies as Counts)[String(EMSGSIZE)] === 3 ? 'EMSGSIZE' : JSON.stringify(r.replies)}, ${r.held_bytes === 0 ? 'nothing held' : `${r.held_bytes} bytes held`}; own task ${rootServed(capped)}`,
      });
      figure('B7 time to refuse an oversized response', `${r.refusal_ms} ms`);
    } finally {
      for (const h of holders) await h.done();
      await capped.stop();
    }
  });

  it('S17: 1,000 concurrent clients with mixed requests: all answered when they fit, else answered or EAGAIN', { timeout: SLOW }, async () => {
    const n = FULL ? 1000 : 100;
    // Raised to fit: every client of every uid answered.
    // The last sixteenth of --max-clients is root's: raise it so that n non-root clients fit.
    const fit = await startBroker(['--max-clients', String(Math.ceil((n * 16) / 15) + 16), '--max-clients-per-uid', String(n), '--max-requests-per-uid', String(n)]);
    try {
      rootServed(fit);
      const fds0 = await quiet(fit);
      const s = sampler(fit);
      const t0 = Date.now();
      const got = await attack(['mixed', fit.socket, n], 4711).out;
      const ms = Date.now() - t0;
      const peak = s.stop();
      const fds1 = await settle(fit, fds0);
      figure(`S17 ${n} clients, limits raised to fit`, `${got.correct}/${n} correct in ${ms} ms; broker fds ${fds0} -> peak ${peak.fds} -> ${fds1}; peak RSS ${mb(peak.rss)}; peak threads ${peak.threads}`);
      row({
        id: 'S17',
        scenario: `${n} concurrent clients, mixed requests, --max-clients raised to fit`,
        expected: `${n}/${n} correct; +0 fds after`,
        observed: `${got.correct}/${n} correct; ${fds1 - fds0 >= 0 ? '+' : ''}${fds1 - fds0} fds after`,
      });
    } finally {
      await fit.stop();
    }
    // The defaults: four uids at once plus root; each client answered or cleanly refused.
    const b = await startBroker();
    try {
      rootServed(b);
      const fds0 = await quiet(b);
      const s = sampler(b);
      const uids = [4711, 4712, 4713, 4714];
      const runs = uids.map((uid) => attack(['mixed', b.socket, n / uids.length], uid).out);
      await sleep(20);
      const root = await attack(['mixed', b.socket, 20]).out;
      const all = await Promise.all(runs);
      const peak = s.stop();
      const fds1 = await settle(b, fds0);
      let fine = 0;
      let bad = 0;
      let refused = 0;
      for (const r of all) {
        const refusedHere = ((r.connect as Counts)[String(EAGAIN)] ?? 0) + ((r.answer as Counts)[String(EAGAIN)] ?? 0);
        refused += refusedHere;
        fine += (r.correct as number) + refusedHere;
        bad += (r.wrong as number) + (r.silent as number) + sum(r.connect as Counts) - ((r.connect as Counts)['0'] ?? 0) - ((r.connect as Counts)[String(EAGAIN)] ?? 0);
      }
      figure(`S17 ${n} clients of 4 uids with the default limits`, `${fine - refused} correct, ${refused} EAGAIN, ${bad} other; root ${root.correct}/20; broker fds ${fds0} -> peak ${peak.fds} -> ${fds1}; peak RSS ${mb(peak.rss)}; peak threads ${peak.threads}`);
      row({
        id: 'S17',
        scenario: `${n} concurrent clients of 4 uids plus 20 of root, default limits and quotas`,
        expected: `${n} correct or EAGAIN; root 20/20; +0 fds after`,
        observed: `${fine} correct or EAGAIN${bad ? `, ${bad} other` : ''}; root ${root.correct}/20; ${fds1 - fds0 >= 0 ? '+' : ''}${fds1 - fds0} fds after`,
      });
      expect(peak.rss).toBeLessThan(512 * 1024);
    } finally {
      await b.stop();
    }
  });

  it('B11: under exactly the unit’s capabilities and syscall filter, non-root clients are served, BPF too', { timeout: SLOW }, async () => {
    const unit = readFileSync(join(ROOT, 'contrib/systemd/ikc-broker.service.in'), 'utf8');
    const values = (key: string) =>
      unit
        .split('\n')
        .filter((l) => l.startsWith(`${key}=`))
        .flatMap((l) => l.slice(key.length + 1).trim().split(/\s+/))
        .filter(Boolean);
    const caps = values('CapabilityBoundingSet');
    expect(caps.length).toBeGreaterThan(0);
    const setpriv = [
      'setpriv',
      `--bounding-set=-all,${caps.map((c) => '+' + c.replace(/^CAP_/, '').toLowerCase()).join(',')}`,
      '--inh-caps=-all',
      '--ambient-caps=-all',
      ...(values('NoNewPrivileges').includes('yes') ? ['--no-new-privs'] : []),
      '--',
    ];
    const b = await startBroker([], { prefix: setpriv });
    try {
      const st = readFileSync(`/proc/${b.process.pid}/status`, 'utf8');
      const capEff = /^CapEff:\s+([0-9a-f]+)/m.exec(st)![1];
      expect(capEff).toBe(/^CapBnd:\s+([0-9a-f]+)/m.exec(st)![1]);
      const backend = JSON.parse(execFileSync(setpriv[0], [...setpriv.slice(1), process.execPath, IKC, 'backend', '--json'], { encoding: 'utf8' })) as {
        bpf: { available: boolean; reason?: string };
      };
      const procfs = await attack(['mixed', b.socket, 8], 4711).out;
      const bpf = await attack(['mixed', b.socket, 8, 2], 4711).out; // flags 2: the BPF backend
      const root = rootServed(b);
      figure('B11 broker capabilities under the unit', `CapEff ${capEff} (${caps.join(' ')}); ikc backend under them: bpf ${backend.bpf.available ? 'available' : `unavailable: ${backend.bpf.reason}`}`);
      const log = b.stderr().split('\n').filter((l) => /^ikc-broker: (warn|error)/.test(l));
      row({
        id: 'B11',
        scenario: `broker under the unit's bounding set (${caps.join(' ')}); uid 4711 asks 8 times by procfs, 8 by BPF`,
        expected: 'procfs 8/8; bpf available, 8/8; root served; nothing logged',
        observed: `procfs ${procfs.correct}/8; bpf ${backend.bpf.available ? `available, ${bpf.correct}/8` : `unavailable (${backend.bpf.reason})`}; root ${root}; ${log.length ? `logged: ${log[0]}` : 'nothing logged'}`,
      });
    } finally {
      await b.stop();
    }

    // Every system call the broker makes, from start to serving those clients, is one the unit allows.
    const allowed = new Set<string>();
    const expand = (name: string, seen = new Set<string>()): void => {
      if (!name.startsWith('@')) {
        allowed.add(name);
        return;
      }
      if (seen.has(name)) return;
      seen.add(name);
      const out = execFileSync('systemd-analyze', ['syscall-filter', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const l of out.split('\n').map((x) => x.trim())) if (l && !l.startsWith('#') && l !== name) expand(l, seen);
    };
    const filter = values('SystemCallFilter');
    expect(filter.some((f) => f.startsWith('~'))).toBe(false); // a deny list would need subtracting here
    filter.forEach((f) => expand(f));
    const trace = join(dir, 'broker.strace');
    const traced = await startBroker([], { prefix: ['strace', '-f', '-qq', '-o', trace, '--', ...setpriv] });
    try {
      await attack(['mixed', traced.socket, 8], 4711).out;
      await attack(['mixed', traced.socket, 8, 2], 4711).out;
      // A stream too: its producer (pipe, timerfd, poll) runs under the same filter.
      const streamed = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', `import { BrokerClient, subscribeLinkStats } from '@ikc/sdk';
          const c = BrokerClient.connect(${JSON.stringify(traced.socket)}); let n = 0; const s = subscribeLinkStats({ intervalMs: 100, count: 2, client: c });
          for await (const x of s) n++; console.log(n, s.end.reason); c.close();`],
        { encoding: 'utf8', cwd: ROOT },
      );
      expect(streamed.trim()).toBe('2 complete');
    } finally {
      // Stop the broker itself (strace, told to stop, would only detach from it); strace then ends.
      const straceExit = new Promise((r) => traced.process.once('exit', r));
      const pid = traced.process.pid!;
      for (const kid of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) process.kill(Number(kid), 'SIGTERM');
      await straceExit;
      rmSync(dirname(traced.socket), { recursive: true, force: true });
    }
    const lines = readFileSync(trace, 'utf8').split('\n');
    // Calls made after the broker's own execve (setpriv's own are systemd's job under the unit).
    const start = lines.findIndex((l) => /execve\("[^"]*node"/.test(l));
    const used = new Set<string>();
    for (const l of lines.slice(Math.max(0, start))) {
      const m = /^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]/.exec(l);
      if (m && m[1] !== 'exited' && m[1] !== 'killed') used.add(m[1]);
    }
    const outside = [...used].filter((c) => !allowed.has(c)).sort();
    figure('B11 system calls the broker made under strace', `${used.size}, all in the unit's SystemCallFilter (${filter.join(' ')})${outside.length ? `, except ${outside.join(' ')}` : ''}`);
    row({
      id: 'B11',
      scenario: 'every system call of the broker, from start to serving procfs and BPF dumps, against the unit’s SystemCallFilter',
      expected: 'none outside the filter',
      observed: outside.length ? `outside: ${outside.join(' ')}` : 'none outside the filter',
    });
  });
});
