// B8: no existence oracle by timing. Through the broker, a per-process request
// (ONE, CHILDREN, THREAD) on a pid the client may not see and on a pid that
// does not exist must take the same path. An unsandboxed process can already
// learn whether a pid exists from the kernel (kill(pid, 0)); what ikc promises
// is to add no oracle of its own, and a program under `ikc sandbox` talks only
// to the broker. Measured over many interleaved requests; a threshold
// classifier trained on one half must do no better than chance on the other.
// Timing only means something on a quiet machine: this runs under
// `npm run security` (FULL), never in `npm test`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { killFixtures, ROOT, track } from '../helpers/fixture.js';
import { figure, FULL, row } from '../helpers/security.js';

const isRoot = process.getuid?.() === 0;
const UID = 4713;
const ROUNDS = 3000;
let broker: TestBroker;

beforeAll(async () => {
  if (isRoot && FULL) broker = await startBroker();
});
afterAll(async () => {
  killFixtures();
  await broker?.stop();
});

/** A pid that no task has now, high enough that none will get it during the test. */
function freePid(): number {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  for (let p = max - 1; p > max - 1000; p--) if (!existsSync(`/proc/${p}`)) return p;
  throw new Error('no free pid');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** The best single threshold on `train` (either direction), scored on `test`: accuracy in [0, 1]. */
function thresholdAccuracy(train: { hidden: number[]; free: number[] }, test: { hidden: number[]; free: number[] }): number {
  const candidates = [...train.hidden, ...train.free].sort((a, b) => a - b).filter((_, i) => i % 10 === 0);
  let best = { t: 0, above: true, acc: 0 };
  for (const t of candidates) {
    for (const above of [true, false]) {
      const says = (x: number) => (above ? x > t : x <= t);
      const acc = (train.hidden.filter(says).length + train.free.filter((x) => !says(x)).length) / (train.hidden.length + train.free.length);
      if (acc > best.acc) best = { t, above, acc };
    }
  }
  const says = (x: number) => (best.above ? x > best.t : x <= best.t);
  return (test.hidden.filter(says).length + test.free.filter((x) => !says(x)).length) / (test.hidden.length + test.free.length);
}

describe.skipIf(!isRoot || !FULL)('timing (npm run security only: needs root and a quiet machine)', () => {
  it('B8: hidden and missing pids cost the same through the broker', () => {
    const hidden = track(spawn('sleep', ['1000'], { stdio: 'ignore' })).pid!; // root's: hidden from UID
    const free = freePid();
    for (const strategy of ['one', 'children', 'thread']) {
      const script = `
        import { BrokerClient } from '@ikc/sdk';
        process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
        const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
        const ask = (pid) => {
          const t0 = process.hrtime.bigint();
          let code = 'ok';
          try { c.taskDiagSync({ strategy: '${strategy}', pid }); } catch (e) { code = e.code; }
          return [Number(process.hrtime.bigint() - t0) / 1000, code];
        };
        for (let i = 0; i < 200; i++) { ask(${hidden}); ask(${free}); } // warm up
        const out = { hidden: [], free: [], codes: new Set() };
        for (let i = 0; i < ${ROUNDS}; i++) {
          // Interleaved, in a random order each round, so drift hits both alike.
          const order = Math.random() < 0.5 ? [['hidden', ${hidden}], ['free', ${free}]] : [['free', ${free}], ['hidden', ${hidden}]];
          for (const [k, pid] of order) { const [us, code] = ask(pid); out[k].push(us); out.codes.add(k + ':' + code); }
        }
        console.log(JSON.stringify({ ...out, codes: [...out.codes] }));`;
      const r = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20 })) as {
        hidden: number[];
        free: number[];
        codes: string[];
      };
      const half = (xs: number[], i: number) => xs.filter((_, j) => j % 2 === i);
      const acc = thresholdAccuracy({ hidden: half(r.hidden, 0), free: half(r.free, 0) }, { hidden: half(r.hidden, 1), free: half(r.free, 1) });
      const [mh, mf] = [median(r.hidden), median(r.free)];
      figure(`B8 ${strategy} medians (µs, ${ROUNDS} each)`, `hidden ${mh.toFixed(1)}, free ${mf.toFixed(1)}; classifier accuracy ${(acc * 100).toFixed(1)}%`);
      row({ id: 'B8', scenario: `${strategy.toUpperCase()} on a hidden pid and on a free pid: the same answer`, expected: 'ESRCH for both', observed: r.codes.sort().join(' ') === 'free:ESRCH hidden:ESRCH' ? 'ESRCH for both' : r.codes.join(' ') });
      row({
        id: 'B8',
        scenario: `${strategy.toUpperCase()}: a threshold classifier tells hidden from free (chance is 50%)`,
        expected: 'at most 60% right',
        observed: `${(acc * 100).toFixed(1)}% right (medians ${mh.toFixed(1)} / ${mf.toFixed(1)} µs)`,
        pass: acc <= 0.6,
      });
    }
  });
});
