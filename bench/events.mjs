// PROC_EVENTS end to end (npm run bench runs it after the task_diag benches;
// alone: node bench/events.mjs [--children 1000] [--subscribers 1,10,100]).
// A shell forks N short children (/bin/true); 1, 10 and 100 subscribers read
// their fork, exec and exit through a real broker while forkstat watches the
// same storm. Per run: events delivered per second (all subscribers together),
// the loss rate (events of the storm not delivered, per subscriber), and the
// latency from the kernel's timestamp (CLOCK_MONOTONIC, as process.hrtime) to
// delivery in this process, p50/p99. Needs root (the connector, forkstat).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BrokerClient } from '@ikc/sdk';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    children: { type: 'string', default: '1000' },
    subscribers: { type: 'string', default: '1,10,100' },
  },
  strict: false,
});
const N = Number(values.children);
const COUNTS = String(values.subscribers).split(',').map(Number);

const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] : NaN);

async function startBroker() {
  const dir = mkdtempSync(join(tmpdir(), 'ikc-bench-events-'));
  const socket = join(dir, 'ikc.sock');
  const proc = spawn(process.execPath, [join(ROOT, 'packages/cli/bin/ikc.js'), 'broker', '--socket', socket, '--mode', '600', '--log-level', 'warn', '--max-streams', '1024'], { stdio: 'inherit' });
  for (let i = 0; i < 500 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 10));
  return { socket, stop: () => (proc.kill('SIGTERM'), rmSync(dir, { recursive: true, force: true })) };
}

function hasForkstat() {
  return spawnSync('sh', ['-c', 'command -v forkstat'], { stdio: 'ignore' }).status === 0;
}

async function one(socket, k) {
  const sh = spawn('/bin/sh', ['-c', `read x; i=0; while [ $i -lt ${N} ]; do /bin/true; i=$((i+1)); done`], { stdio: ['pipe', 'ignore', 'ignore'] });
  const fs = hasForkstat() ? spawn('forkstat', ['-l', '-e', 'fork,exec,exit'], { stdio: ['ignore', 'pipe', 'ignore'] }) : undefined;
  let fsOut = '';
  fs?.stdout.on('data', (d) => (fsOut += d.toString()));
  const client = BrokerClient.connect(socket);
  const lat = [];
  const delivered = new Array(k).fill(0);
  let lost = 0;
  let first = 0n;
  let last = 0n;
  const readers = [];
  for (let s = 0; s < k; s++) {
    const it = client.events({ types: ['fork', 'exec', 'exit'], pids: [sh.pid], subtree: true })[Symbol.asyncIterator]();
    readers.push(
      (async () => {
        for (let r = await it.next(); !r.done; r = await it.next()) {
          const e = r.value;
          if (e.type === 'lost' || e.type === 'possibly-lost') {
            lost += e.count ?? 0;
            continue;
          }
          const now = process.hrtime.bigint();
          if (!first) first = now;
          last = now;
          lat.push(Number(now - e.timestampNs) / 1e3);
          if (e.tgid !== sh.pid) delivered[s]++;
          // The shell's own exit ends the storm.
          if (e.type === 'exit' && e.pid === sh.pid) break;
        }
        await it.return?.();
      })(),
    );
  }
  await new Promise((r) => setTimeout(r, 300)); // subscriptions and forkstat in
  sh.stdin.end('go\n');
  await Promise.all(readers);
  client.close();
  await new Promise((r) => setTimeout(r, 200));
  fs?.kill('SIGINT');
  await new Promise((r) => (fs ? fs.once('exit', r) : r()));
  lat.sort((a, b) => a - b);
  const total = delivered.reduce((a, b) => a + b, 0);
  const expected = 3 * N * k;
  const seconds = Number(last - first) / 1e9;
  // forkstat: lines naming the storm's children (fork "child" lines, exec and exit lines of pids after the shell's).
  const rows = fsOut.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => /^[0-9]+$/.test(f[2] ?? ''));
  const kids = new Set(rows.filter((f, i) => f[1] === 'fork' && f[3] === 'child' && rows[i - 1]?.[1] === 'fork' && Number(rows[i - 1][2]) === sh.pid).map((f) => Number(f[2])));
  const fsEvents = rows.filter((f) => kids.has(Number(f[2])) && (f[1] !== 'fork' || f[3] === 'child')).length;
  return {
    subscribers: k,
    children: N,
    events_delivered: total,
    events_per_second: Math.round(total / seconds),
    loss_rate: (expected - total) / expected,
    lost_announced: lost,
    latency_us_p50: Math.round(pct(lat, 50)),
    latency_us_p99: Math.round(pct(lat, 99)),
    forkstat_storm_events: fs ? fsEvents : null,
  };
}

export async function benchEvents() {
  const broker = await startBroker();
  const out = [];
  try {
    console.log(`\nPROC_EVENTS through the broker: a storm of ${N} children (fork+exec+exit each = ${3 * N} events per subscriber), forkstat beside it`);
    console.log(`${'subs'.padStart(5)} ${'events/s'.padStart(10)} ${'loss'.padStart(8)} ${'p50 µs'.padStart(8)} ${'p99 µs'.padStart(8)} ${'forkstat'.padStart(9)}`);
    for (const k of COUNTS) {
      const r = await one(broker.socket, k);
      out.push(r);
      console.log(
        `${String(k).padStart(5)} ${String(r.events_per_second).padStart(10)} ${(r.loss_rate * 100).toFixed(2).padStart(7)}% ${String(r.latency_us_p50).padStart(8)} ${String(r.latency_us_p99).padStart(8)} ${String(r.forkstat_storm_events ?? 'n/a').padStart(9)}`,
      );
    }
  } finally {
    broker.stop();
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchEvents();
  console.log(JSON.stringify(r));
  process.exit(0);
}
