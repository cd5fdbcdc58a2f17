// npm run bench: times ikc against `ps` and against raw /proc reads, in the same
// run, on a workload it makes itself. Prints medians and ratios, writes JSON.
//   node bench/run.mjs [--procs N] [--reps R] [--out FILE]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BrokerClient, taskDiagSync } from '@ikc/sdk';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    procs: { type: 'string', default: '2000' },
    reps: { type: 'string', default: '7' },
    out: { type: 'string', default: 'bench-results.json' },
  },
});
const procs = Number(values.procs);
const reps = Number(values.reps);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn) {
  fn(); // warm up caches, JIT and the page cache of procfs dentries
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(ms);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
  return r.stdout;
}

/** The raw procfs loop ikc replaces: list /proc, read every /proc/PID/stat. */
function rawProcStat() {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue;
    try {
      n += readFileSync(`/proc/${name}/stat`).length > 0 ? 1 : 0;
    } catch {
      /* exited */
    }
  }
  return n;
}

/** The core's own numbers (Rust, release): raw /proc/PID/stat loop vs task_diag dumps. */
function benchCore() {
  const out = execFileSync(`${ROOT}target/release/examples/bench-core`, [String(reps)], { encoding: 'utf8' });
  return JSON.parse(out);
}

async function startWorkload() {
  execFileSync('cargo', ['build', '--quiet', '--example', 'ikc-fixture', '-p', 'ikc-core'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('cargo', ['build', '--quiet', '--release', '--example', 'bench-core', '-p', 'ikc-core'], { cwd: ROOT, stdio: 'inherit' });
  const child = spawn(`${ROOT}target/debug/examples/ikc-fixture`, ['tree', String(procs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return child;
}

/** p50 and p99 of one ONE-pid request, in microseconds. */
function latency(fn, n = 2000) {
  for (let i = 0; i < 100; i++) fn();
  const us = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    us.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  us.sort((a, b) => a - b);
  return { p50: us[Math.floor(n * 0.5)], p99: us[Math.floor(n * 0.99)] };
}

/** `ikc broker` in its own process, as it would run for real. */
async function startBrokerProcess() {
  const dir = mkdtempSync(join(tmpdir(), 'ikc-bench-'));
  const socket = join(dir, 'ikc.sock');
  const proc = spawn(process.execPath, [`${ROOT}packages/cli/bin/ikc.js`, 'broker', '--socket', socket, '--log-level', 'warn'], { stdio: 'ignore' });
  for (let i = 0; i < 500 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 10));
  return { socket, stop: () => (proc.kill('SIGTERM'), rmSync(dir, { recursive: true, force: true })) };
}

const workload = await startWorkload();
const broker = await startBrokerProcess();
const client = BrokerClient.connect(broker.socket);
try {
  const tasks = taskDiagSync({ strategy: 'all' }).length;
  const ikcBin = [`${ROOT}packages/cli/bin/ikc.js`];
  const rows = [
    ['ps ax -o pid,ppid (end to end)', time(() => run('ps', ['ax', '-o', 'pid,ppid']))],
    ['ikc ps -e -o pid,ppid (end to end)', time(() => run(process.execPath, [...ikcBin, 'ps', '-e', '-o', 'pid,ppid']))],
    ['node -e 0 (Node start-up alone)', time(() => run(process.execPath, ['-e', '0']))],
    ['raw /proc/PID/stat loop (in-process)', time(rawProcStat)],
    ['SDK taskDiagSync ALL BASE (in-process, backend auto)', time(() => taskDiagSync({ strategy: 'all' }))],
    ['SDK taskDiagSync ALL BASE+CRED (in-process)', time(() => taskDiagSync({ strategy: 'all', show: ['base', 'creds'] }))],
    ['SDK taskDiagSync ALL BASE (through the broker)', time(() => client.taskDiagSync({ strategy: 'all' }))],
  ];
  const [psMs, ikcPsMs, , rawMs, sdkMs, , brokerMs] = rows.map((r) => r[1]);
  const core = benchCore();
  rows.push(
    ['Rust: raw /proc/PID/stat loop', core.raw_stat_loop_ms],
    ['Rust: core ALL BASE dump (procfs backend)', core.core_all_base_ms],
    ['Rust: core ALL BASE+CRED dump', core.core_all_base_cred_ms],
    ['Rust: raw /proc/PID/task/TID/stat loop', core.raw_stat_loop_threads_ms],
    ['Rust: core ALL_THREAD BASE dump', core.core_all_thread_base_ms],
  );
  if (core.bpf_all_base_ms !== null) {
    rows.push(
      ['Rust: core ALL BASE dump (BPF backend)', core.bpf_all_base_ms],
      ['Rust: core ALL_THREAD BASE dump (BPF backend)', core.bpf_all_thread_base_ms],
      ['SDK taskDiagSync ALL BASE (BPF backend)', time(() => taskDiagSync({ strategy: 'all', backend: 'bpf' }))],
      ['ikc ps -e -o pid,ppid --backend bpf (end to end)', time(() => run(process.execPath, [...ikcBin, 'ps', '-e', '-o', 'pid,ppid', '--backend', 'bpf']))],
      ['ikc ps -eL -o pid,lwp --backend bpf (end to end)', time(() => run(process.execPath, [...ikcBin, 'ps', '-eL', '-o', 'pid,lwp', '--backend', 'bpf']))],
      ['ps -eL -o pid,lwp (end to end)', time(() => run('ps', ['-eL', '-o', 'pid,lwp']))],
    );
  }
  const one = { strategy: 'one', pid: process.pid };
  const oneLocal = latency(() => taskDiagSync(one));
  const oneBroker = latency(() => client.taskDiagSync(one));
  rows.push(['ONE pid p50 (in-process)', oneLocal.p50 / 1000], ['ONE pid p99 (in-process)', oneLocal.p99 / 1000]);
  rows.push(['ONE pid p50 (through the broker)', oneBroker.p50 / 1000], ['ONE pid p99 (through the broker)', oneBroker.p99 / 1000]);
  console.log(`ikc bench: ${tasks} processes visible, median of ${reps} runs\n`);
  for (const [name, ms] of rows) console.log(`${name.padEnd(46)} ${ms.toFixed(3).padStart(9)} ms`);
  const ratios = {
    'ps / ikc ps (end to end)': psMs / ikcPsMs,
    'raw /proc stat loop / SDK ALL BASE': rawMs / sdkMs,
    'broker / in-process, ALL BASE': brokerMs / sdkMs,
    'core ALL BASE / raw stat loop (Rust)': core.core_all_base_ms / core.raw_stat_loop_ms,
    'SDK into JS objects / core (ALL BASE)': sdkMs / core.core_all_base_ms,
    ...(core.bpf_all_base_ms !== null && {
      'raw stat loop / core ALL BASE with BPF (Rust)': core.raw_stat_loop_ms / core.bpf_all_base_ms,
      'ps ax / ikc ps -e --backend bpf': psMs / rows.find((r) => r[0].startsWith('ikc ps -e -o pid,ppid --backend bpf'))[1],
      'ps -eL / ikc ps -eL --backend bpf': rows.find((r) => r[0].startsWith('ps -eL'))[1] / rows.find((r) => r[0].startsWith('ikc ps -eL'))[1],
    }),
    'broker / in-process, ONE pid p50': oneBroker.p50 / oneLocal.p50,
  };
  console.log('');
  for (const [name, r] of Object.entries(ratios)) console.log(`${name.padEnd(46)} ${r.toFixed(2).padStart(9)} x`);
  writeFileSync(values.out, JSON.stringify({ tasks, reps, ms: Object.fromEntries(rows), ratios }, null, 2));
  console.log(`\nwrote ${values.out}`);
} finally {
  client.close();
  broker.stop();
  // Children first: once the parent is gone they are reparented and harder to find.
  for (const pid of readFileSync(`/proc/${workload.pid}/task/${workload.pid}/children`, 'utf8').split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  workload.kill('SIGKILL');
}
