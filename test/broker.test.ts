// The broker: unprivileged and sandboxed clients get answers as fds over a unix
// socket, with the rights the kernel says they have at each request. Runs a
// real broker process (ikc broker) and real clients of several uids.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerClient } from '@ikc/sdk';
import { startBroker, IKC, type TestBroker } from './helpers/broker.js';
import { FIXTURE, killFixtures, ROOT, startFixture } from './helpers/fixture.js';
import { expectSameAsKernel, runViewer } from './helpers/hidepid.js';

const isRoot = process.getuid?.() === 0;
const UID = 4711;
let broker: TestBroker;

beforeAll(async () => {
  if (isRoot) broker = await startBroker();
});
afterAll(async () => {
  killFixtures();
  await broker?.stop();
});

/** Runs an ES module snippet in a new node process (under `unshare ARGS` if given); returns its stdout as JSON. */
function node(script: string, opts: { env?: NodeJS.ProcessEnv; args?: string[] } = {}): unknown {
  const nodeArgs = [process.execPath, '--input-type=module', '-e', script];
  const [cmd, ...args] = opts.args?.length ? ['unshare', ...opts.args, ...nodeArgs] : nodeArgs;
  const out = execFileSync(cmd, args, { encoding: 'utf8', cwd: ROOT, env: { ...process.env, ...opts.env } });
  return JSON.parse(out);
}

describe.skipIf(!isRoot)('broker (needs root: it runs the broker and clients of other uids)', () => {
  it('an unprivileged client sees through the broker exactly what a hidepid=2 procfs shows it', async () => {
    const mine = await startFixture(['cred', String(UID), String(UID)]);
    const nodump = await startFixture(['cred', String(UID), String(UID), 'nodump']);
    const r = runViewer(UID, UID, broker.socket);
    expectSameAsKernel(r);
    expect(r.ikc).toContain(mine.pid);
    expect(r.ikc).toContain(r.self);
    expect(r.ikc).not.toContain(nodump.pid);
    expect(r.ikc).not.toContain(1);
  });

  it('root sees every process through the broker', async () => {
    const nodump = await startFixture(['cred', String(UID), String(UID), 'nodump']);
    const client = BrokerClient.connect(broker.socket);
    const pids = (await client.taskDiag({ strategy: 'all' })).map((t) => t.pid);
    client.close();
    expect(pids).toContain(1);
    expect(pids).toContain(nodump.pid);
  });

  it('a client that drops privileges after connecting is answered with its new rights', () => {
    const seen = node(`
      import { BrokerClient } from '@ikc/sdk';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const before = c.taskDiagSync({ strategy: 'all' }).map((t) => t.pid);
      process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
      const after = c.taskDiagSync({ strategy: 'all' }).map((t) => t.pid);
      console.log(JSON.stringify({ before: before.includes(1), after: after.includes(1), self: after.includes(process.pid), n: after.length }));`) as Record<string, unknown>;
    expect(seen).toMatchObject({ before: true, after: false, self: true });
  });

  it('forged credentials are refused by the kernel; the honest request gets the real rights', () => {
    const out = execFileSync(FIXTURE, ['broker-forge', broker.socket, String(UID)], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ forged: 'EPERM', honest: -3 });
  });

  it('a request whose sender exited before the broker read it is refused (pid reuse cannot pass for it)', async () => {
    const child = spawn(FIXTURE, ['broker-orphan', broker.socket], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => (buf += d.toString()));
    const line = async (n: number) => {
      // Line n is complete once n + 1 newlines have arrived.
      for (let i = 0; i < 500 && buf.split('\n').length <= n + 1; i++) await new Promise((r) => setTimeout(r, 10));
      return JSON.parse(buf.split('\n')[n]) as Record<string, unknown>;
    };
    await line(0); // connected, hello read
    broker.process.kill('SIGSTOP');
    // A group stop reaches each thread in its own time: wait until every broker thread is stopped.
    const tasks = `/proc/${broker.process.pid}/task`;
    const allStopped = () => readdirSync(tasks).every((t) => /\) [Tt] /.test(readFileSync(`${tasks}/${t}/stat`, 'latin1')));
    for (let i = 0; i < 500 && !allStopped(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(allStopped()).toBe(true);
    try {
      child.stdin!.write('go\n'); // a child sends on the connection and exits while the broker is stopped
      expect(await line(1)).toMatchObject({ reaped: true });
    } finally {
      broker.process.kill('SIGCONT');
    }
    const reply = (await line(2)) as { result: number; fd: boolean; message: string };
    expect(reply).toMatchObject({ result: -1, fd: false });
    expect(reply.message).toMatch(/exited/);
  });

  it('CURRENT_PIDNS is the client’s namespace; GLOBAL is refused to a client in a child namespace', () => {
    const out = node(
      `
      import { BrokerClient } from '@ikc/sdk';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const tasks = c.taskDiagSync({ strategy: 'all' });
      let global; try { c.taskDiagSync({ ns: 'global' }); global = 'OK'; } catch (e) { global = e.code; }
      console.log(JSON.stringify({ pids: tasks.map((t) => t.pid), comms: tasks.map((t) => t.base.comm), global }));`,
      { args: ['--pid', '--fork', '--mount-proc'] },
    ) as { pids: number[]; comms: string[]; global: string };
    expect(out.pids[0]).toBe(1);
    expect(out.comms[0]).toBe('node');
    expect(Math.max(...out.pids)).toBeLessThan(100);
    expect(out.global).toBe('EPERM');
  });

  it('inside ikc sandbox, opening /proc fails while the broker answer works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ikc-sandbox-'));
    const bin = join(dir, 'sandboxed-ps');
    execFileSync('gcc', ['-static', '-O2', '-Wall', '-Werror', `-I${ROOT}include`, '-o', bin, join(ROOT, 'examples/sandboxed-ps.c')]);
    const proc = await startFixture(['tree', '1']);
    const run = spawnSync(process.execPath, [IKC, '--broker', broker.socket, 'sandbox', '--', bin], { encoding: 'utf8' });
    expect(run.stderr).toContain('open /proc/1/stat: Operation not permitted');
    expect(run.status).toBe(0);
    const pids = run.stdout.trim().split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
    expect(pids).toContain(1);
    expect(pids).toContain(proc.pid);
    // The same program outside the sandbox can open /proc (so the filter is what stops it).
    const outside = spawnSync(bin, [], { encoding: 'utf8' });
    expect(outside.stderr).toContain('/proc is reachable');
  });

  it('200 concurrent clients with mixed requests are all answered correctly; nothing leaks', async () => {
    const brokerFds = broker.fds();
    const flood = Array.from({ length: 4 }, () => spawn(FIXTURE, ['broker-flood', broker.socket, '50'], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const out = node(
      `
      import { readdirSync } from 'node:fs';
      import { BrokerClient, encodeTaskDiagRequest, TASK_DIAG, CURRENT_PIDNS } from '@ikc/sdk';
      const fds0 = readdirSync('/proc/self/fd').length;
      const clients = Array.from({ length: 200 }, () => BrokerClient.connect(${JSON.stringify(broker.socket)}));
      const results = await Promise.all(clients.map(async (c, i) => {
        switch (i % 4) {
          case 0: return (await c.taskDiag({ strategy: 'all' })).some((t) => t.pid === 1);
          case 1: return (await c.taskDiag({ strategy: 'one', pid: process.pid }))[0].pid === process.pid;
          case 2: return (await c.taskDiag({ strategy: 'thread', pid: process.pid })).every((t) => t.tgid === process.pid);
          default:
            try { await c.taskDiag({ strategy: 7 }); return false; } catch (e) { return e.code === 'EINVAL'; }
        }
      }));
      clients.forEach((c) => c.close());
      const fds1 = readdirSync('/proc/self/fd').length;
      console.log(JSON.stringify({ ok: results.filter(Boolean).length, fds0, fds1 }));`,
      { env: { UV_THREADPOOL_SIZE: '64' } },
    ) as { ok: number; fds0: number; fds1: number };
    expect(out.ok).toBe(200);
    expect(out.fds1).toBe(out.fds0);
    for (const f of flood) {
      const code = await new Promise((r) => f.once('exit', r));
      expect(code).toBe(0);
    }
    // Connection threads wind down once their clients are gone.
    for (let i = 0; i < 200 && broker.fds() !== brokerFds; i++) await new Promise((r) => setTimeout(r, 10));
    expect(broker.fds()).toBe(brokerFds);
  });

  it('a flood of malformed messages gets an errno each and leaves the connection serving', () => {
    const out = JSON.parse(execFileSync(FIXTURE, ['broker-flood', broker.socket, '20'], { encoding: 'utf8' })) as Record<string, number | boolean>;
    const EINVAL = -22;
    expect(out).toMatchObject({
      short: EINVAL,
      'bad magic': EINVAL,
      'bad version': -93, // EPROTONOSUPPORT: protocol v2 names a version it does not speak
      'bad ns kind': EINVAL,
      'length lies': EINVAL,
      'unknown command': EINVAL,
      'garbage request': EINVAL,
      huge: -90, // EMSGSIZE
      'fd with kind CURRENT': EINVAL,
      'three fds': EINVAL,
      'kind FD without fd': EINVAL,
      'net ns fd for task_diag': EINVAL,
      valid: 0,
      'valid fd': true,
    });
    // No refused request came back with an fd.
    for (const [k, v] of Object.entries(out)) if (typeof v === 'boolean' && k !== 'valid fd') expect(v, k).toBe(false);
  });

  it('clients beyond --max-clients get EAGAIN', async () => {
    const small = await startBroker(['--max-clients', '2']);
    try {
      const a = BrokerClient.connect(small.socket);
      const b = BrokerClient.connect(small.socket);
      expect(() => BrokerClient.connect(small.socket)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      a.close();
      b.close();
    } finally {
      await small.stop();
    }
  });

  it('the CLI asks the broker with --broker and IKC_BROKER', () => {
    const viaFlag = execFileSync(process.execPath, [IKC, '--broker', broker.socket, 'ps', '-p', '1', '-o', 'pid=,comm='], { encoding: 'utf8' });
    const viaEnv = execFileSync(process.execPath, [IKC, 'ps', '-p', '1', '-o', 'pid=,comm='], { encoding: 'utf8', env: { ...process.env, IKC_BROKER: broker.socket } });
    const direct = execFileSync(process.execPath, [IKC, 'ps', '-p', '1', '-o', 'pid=,comm='], { encoding: 'utf8' });
    expect(viaFlag).toBe(direct);
    expect(viaEnv).toBe(direct);
    expect(readdirSync(join(broker.socket, '..'))).toContain('ikc.sock');
  });
});

describe.skipIf(!isRoot)('broker under systemd', () => {
  it('starts from socket activation (LISTEN_FDS) and answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ikc-activate-'));
    const sock = join(dir, 'activated.sock');
    const activator = spawn('systemd-socket-activate', ['--seqpacket', '-l', sock, process.execPath, IKC, 'broker', '--log-level', 'warn'], {
      stdio: 'ignore',
    });
    try {
      for (let i = 0; i < 500 && !readdirSync(dir).includes('activated.sock'); i++) await new Promise((r) => setTimeout(r, 10));
      // The first connection makes systemd-socket-activate start the broker with the socket as fd 3.
      const client = BrokerClient.connect(sock);
      const [init] = client.taskDiagSync({ strategy: 'one', pid: 1 });
      client.close();
      expect(init.pid).toBe(1);
    } finally {
      activator.kill('SIGTERM');
    }
  });

  it('install.sh writes units naming this node and CLI by absolute path, and they pass systemd-analyze verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ikc-units-'));
    const cli = join(ROOT, 'packages/cli/bin/ikc.js');
    const run = spawnSync('bash', [join(ROOT, 'contrib/systemd/install.sh'), '--dest', dir, '--node', process.execPath, '--ikc', cli], { encoding: 'utf8' });
    // A checkout under /root or /tmp is warned about (the unit's sandbox hides it), nothing else.
    expect(run.stderr.replace(/^install\.sh: warning: .*\n/m, '')).toBe('');
    expect(run.status).toBe(0);
    const unit = readFileSync(join(dir, 'ikc-broker.service'), 'utf8');
    const exec = unit.split('\n').find((l) => l.startsWith('ExecStart='))!;
    expect(exec).toBe(`ExecStart=${realpathSync(process.execPath)} ${realpathSync(cli)} broker --log-level info`);
    expect(unit).not.toMatch(/@[A-Z]+@/);
    // The same verification on its own, from this test.
    const verify = spawnSync('systemd-analyze', ['verify', join(dir, 'ikc-broker.socket'), join(dir, 'ikc-broker.service')], { encoding: 'utf8' });
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
  });

  it('install.sh refuses an argument it does not know (EINVAL, exit 2) and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ikc-units-'));
    const run = spawnSync('bash', [join(ROOT, 'contrib/systemd/install.sh'), '--dest', dir, '--bogus'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^install\.sh: EINVAL: /);
    expect(readdirSync(dir)).toEqual([]);
  });
});
