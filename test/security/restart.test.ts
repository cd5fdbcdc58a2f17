// Faults: the broker is killed (SIGKILL, so it cleans nothing up) while
// clients are asking, then started again on the same path. Clients must get
// clean, errno-coded errors meanwhile, never a hang or a crash; the stale
// socket file must not block the restart; and clients must be served again.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { IKC } from '../helpers/broker.js';
import { ROOT } from '../helpers/fixture.js';
import { figure, FULL, row } from '../helpers/security.js';

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'ikc-restart-'));
chmodSync(dir, 0o755);
const socket = join(dir, 'ikc.sock');
const restarted = join(dir, 'restarted');
const brokers: ChildProcess[] = [];

afterAll(() => {
  for (const b of brokers) b.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startBrokerAt(): Promise<{ proc: ChildProcess; started: boolean; stderr: () => string }> {
  const proc = spawn(process.execPath, [IKC, 'broker', '--socket', socket, '--mode', '666', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  brokers.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // The broker says where it listens once it does.
  for (let i = 0; i < 1000 && !/listening/.test(out) && proc.exitCode === null; i++) await new Promise((r) => setTimeout(r, 10));
  return { proc, started: /listening/.test(out) && existsSync(socket), stderr: () => out };
}

describe.skipIf(!isRoot)('broker restart (needs root: it runs the broker)', () => {
  it('B-restart: killed under load and restarted on the same path', async () => {
    const seconds = FULL ? 6 : 3;
    const loops = FULL ? 16 : 4;
    const first = await startBrokerAt();
    row({ id: 'B-rs', scenario: 'the broker starts on a fresh path', expected: 'serving', observed: first.started ? 'serving' : `not serving: ${first.stderr()}` });
    // Clients in their own process, as uid 4714: each loop connects, asks, and on any
    // error records its code and reconnects.
    const script = `
      import { BrokerClient } from '@ikc/sdk';
      import { existsSync } from 'node:fs';
      process.setgroups([]); process.setgid(4714); process.setuid(4714);
      const until = Date.now() + ${seconds * 1000};
      const tally = { ok: 0, okAfterRestart: 0, codes: {}, uncoded: [] };
      const loop = async () => {
        let c;
        while (Date.now() < until) {
          try {
            c ??= BrokerClient.connect(${JSON.stringify(socket)});
            await c.taskDiag({ strategy: 'all' });
            if (++tally.ok === 1) console.log('answered');
            if (existsSync(${JSON.stringify(restarted)})) tally.okAfterRestart++;
          } catch (e) {
            if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) tally.codes[e.code] = (tally.codes[e.code] ?? 0) + 1;
            else tally.uncoded.push(String(e));
            try { c?.close(); } catch {}
            c = undefined;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        c?.close();
      };
      await Promise.all(Array.from({ length: ${loops} }, loop));
      console.log(JSON.stringify(tally));`;
    const load = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    load.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const finished = new Promise<number | null>((r) => load.once('exit', r));

    // Kill once the clients have been answered (their process may take long to start on a busy machine).
    for (let i = 0; i < 2000 && !out.includes('answered') && load.exitCode === null; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, (seconds * 1000) / 6));
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    const stale = existsSync(socket);
    await new Promise((r) => setTimeout(r, 300));
    const second = await startBrokerAt();
    row({
      id: 'B-rs',
      scenario: 'restarted on the path a SIGKILLed broker left its socket file at',
      expected: 'serving',
      observed: second.started ? 'serving' : `not serving: ${second.stderr().trim().split('\n')[0]}`,
    });
    if (second.started) writeFileSync(restarted, '');
    figure('B-rs stale socket file left by SIGKILL', stale ? 'yes' : 'no');
    const code = await finished;
    const tally = JSON.parse(out.trim().split('\n').pop()!) as { ok: number; okAfterRestart: number; codes: Record<string, number>; uncoded: string[] };
    figure('B-rs load', `${loops} client loops for ${seconds}s: ${tally.ok} answers (${tally.okAfterRestart} after the restart), errors ${JSON.stringify(tally.codes)}`);
    row({ id: 'B-rs', scenario: 'clients asking while the broker dies get only errno-coded errors', expected: 'only errno codes', observed: tally.uncoded.length ? `${tally.uncoded.length} uncoded: ${tally.uncoded[0]}` : code === 0 ? 'only errno codes' : `load exited ${code}` });
    const before = tally.ok - tally.okAfterRestart;
    row({ id: 'B-rs', scenario: 'clients are answered before the kill and again after the restart', expected: 'answered both times', observed: before > 0 && tally.okAfterRestart > 0 ? 'answered both times' : `${before} before, ${tally.okAfterRestart} after` });
  });
});
