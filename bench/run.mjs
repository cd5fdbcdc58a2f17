// npm run bench: times ikc against `ps` and against raw /proc reads, in the same
// run, on a workload it makes itself (N processes of T threads each; cleaned up
// after), then sweeps sizes to show cost per task. Prints medians and ratios,
// writes JSON. Raises kernel.pid_max for the run if the workload needs it (root).
//   node bench/run.mjs [--procs 6000] [--threads 5] [--reps 5] [--sweep 1000,10000,30000] [--out FILE]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BrokerClient, taskDiagSync } from '@ikc/sdk';
import { benchEvents } from './events.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    procs: { type: 'string', default: '6000' },
    threads: { type: 'string', default: '5' },
    reps: { type: 'string', default: '5' },
    sweep: { type: 'string', default: '1000,10000,30000' },
    out: { type: 'string', default: 'bench-results.json' },
    // `--only startup`: only the start-up rows (no workload, no root needed).
    // `--only ps`: only the end-to-end ps rows, interleaved, on the workload.
    only: { type: 'string' },
  },
});
const procs = Number(values.procs);
const threadsPer = Math.max(1, Number(values.threads));
const reps = Number(values.reps);
const sweep = values.sweep.split(',').filter(Boolean).map(Number);

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

/**
 * Start-up: `ikc --version` and `ikc --help` against `node -e 0`, the runs of the
 * three interleaved (so a busy machine slows them alike), median of `n` each.
 * The target: `ikc --version` within 15 ms of `node -e 0`.
 */
function startup(n = Math.max(reps, 21)) {
  const ikc = `${ROOT}packages/cli/bin/ikc.js`;
  const cmds = [
    ['node -e 0 (Node start-up alone)', ['-e', '0']],
    ['ikc --version (end to end)', [ikc, '--version']],
    ['ikc --help (end to end)', [ikc, '--help']],
  ];
  const ms = cmds.map(() => []);
  for (let i = 0; i <= n; i++) {
    cmds.forEach(([, args], j) => {
      const t = process.hrtime.bigint();
      run(process.execPath, args);
      if (i > 0) ms[j].push(Number(process.hrtime.bigint() - t) / 1e6); // run 0 warms the page cache
    });
  }
  const rows = cmds.map(([name], j) => [name, median(ms[j])]);
  const ratios = {
    'ikc --version - node -e 0 (ms; target <= 15)': rows[1][1] - rows[0][1],
    'ikc --version / node -e 0': rows[1][1] / rows[0][1],
    'ikc --help - node -e 0 (ms)': rows[2][1] - rows[0][1],
  };
  return { rows, ratios };
}

if (values.only === 'startup') {
  const { rows, ratios } = startup();
  for (const [name, ms] of rows) console.log(`${name.padEnd(46)} ${ms.toFixed(3).padStart(9)} ms`);
  for (const [name, r] of Object.entries(ratios)) console.log(`${name.padEnd(46)} ${r.toFixed(2).padStart(9)}${name.includes('(ms') ? ' ms' : ' x'}`);
  process.exit(0);
} else if (values.only !== undefined && values.only !== 'ps') {
  console.error(`bench: EINVAL: --only takes 'startup' or 'ps', not '${values.only}'`);
  process.exit(2);
}

/**
 * Commands run end to end in turns (one run of each, then again), so a busy
 * machine slows them alike: the median of `n` runs each, after one warm-up round.
 */
function interleaved(cmds, n = Math.max(reps, 9)) {
  const ms = cmds.map(() => []);
  for (let i = 0; i <= n; i++) {
    cmds.forEach(([, cmd, args], j) => {
      const t = process.hrtime.bigint();
      run(cmd, args);
      if (i > 0) ms[j].push(Number(process.hrtime.bigint() - t) / 1e6);
    });
  }
  return cmds.map(([name], j) => [name, median(ms[j])]);
}

/** The end-to-end ps rows (issue 17's targets), interleaved, and their ratios. */
function psRows(ikcBin, socket) {
  const node = process.execPath;
  const rows = interleaved([
    ['ps ax -o pid,ppid (end to end)', 'ps', ['ax', '-o', 'pid,ppid']],
    ['ikc ps -e -o pid,ppid (end to end)', node, [...ikcBin, 'ps', '-e', '-o', 'pid,ppid']],
    ['ikc ps -e -o pid,ppid --broker (end to end)', node, [...ikcBin, 'ps', '-e', '-o', 'pid,ppid', '--broker', socket]],
    ['ps -eL -o pid,lwp (end to end)', 'ps', ['-eL', '-o', 'pid,lwp']],
    ['ikc ps -eL -o pid,lwp (end to end)', node, [...ikcBin, 'ps', '-eL', '-o', 'pid,lwp']],
    ['ikc ps -eL -o pid,lwp --broker (end to end)', node, [...ikcBin, 'ps', '-eL', '-o', 'pid,lwp', '--broker', socket]],
    ['node -e 0 (beside the ps rows)', node, ['-e', '0']],
  ]);
  const ms = Object.fromEntries(rows);
  const ratios = {
    'ps ax / ikc ps -e (one-shot; target >= 2)': ms['ps ax -o pid,ppid (end to end)'] / ms['ikc ps -e -o pid,ppid (end to end)'],
    'ps ax / ikc ps -e --broker (target >= 3)': ms['ps ax -o pid,ppid (end to end)'] / ms['ikc ps -e -o pid,ppid --broker (end to end)'],
    'ps -eL / ikc ps -eL (one-shot; target >= 5)': ms['ps -eL -o pid,lwp (end to end)'] / ms['ikc ps -eL -o pid,lwp (end to end)'],
    'ps -eL / ikc ps -eL --broker': ms['ps -eL -o pid,lwp (end to end)'] / ms['ikc ps -eL -o pid,lwp --broker (end to end)'],
  };
  return { rows, ratios };
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

function build() {
  execFileSync('cargo', ['build', '--quiet', '--example', 'ikc-fixture', '-p', 'ikc-core'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('cargo', ['build', '--quiet', '--release', '--example', 'bench-core', '-p', 'ikc-core'], { cwd: ROOT, stdio: 'inherit' });
}

/** Makes room for `tasks` more pids (kernel.pid_max); returns how to undo it. */
function roomForPids(tasks) {
  const path = '/proc/sys/kernel/pid_max';
  const before = Number(readFileSync(path, 'utf8'));
  const needed = 2 * (tasks + 10000);
  if (before >= needed) return () => {};
  try {
    writeFileSync(path, String(Math.min(needed, 4194304)));
  } catch {
    console.error(`bench: pid_max ${before} is too small for ${tasks} tasks and cannot be raised (not root); expect fork failures`);
    return () => {};
  }
  return () => writeFileSync(path, String(before));
}

/** N processes of T threads each, as one fixture process tree. */
async function startWorkload(n, t) {
  const child = spawn(`${ROOT}target/debug/examples/ikc-fixture`, ['forest', String(n), String(t)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  // Let the children finish starting their threads.
  await new Promise((r) => setTimeout(r, 500 + n / 5));
  return child;
}

function stopWorkload(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  let kids = [];
  try {
    kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    /* already gone */
  }
  // Children first: once the parent is gone they are reparented and harder to find.
  for (const pid of kids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  child.kill('SIGKILL');
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

build();
const restorePidMax = roomForPids(Math.max(procs * threadsPer, ...sweep));
const workload = await startWorkload(procs, threadsPer);
const broker = await startBrokerProcess();
/** A fresh connection for each use: the broker closes connections idle for a minute. */
const viaBroker = (fn) => {
  const c = BrokerClient.connect(broker.socket);
  try {
    return fn(c);
  } finally {
    c.close();
  }
};
try {
  const tasks = taskDiagSync({ strategy: 'all' }).length;
  const ikcBin = [`${ROOT}packages/cli/bin/ikc.js`];
  const ps = psRows(ikcBin, broker.socket);
  if (values.only === 'ps') {
    const allTasks = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3].split('/')[1]);
    console.log(`ikc bench --only ps: ${tasks} processes, ${allTasks} tasks, interleaved, median of ${Math.max(reps, 9)} runs\n`);
    for (const [name, ms] of ps.rows) console.log(`${name.padEnd(46)} ${ms.toFixed(3).padStart(9)} ms`);
    console.log('');
    for (const [name, r] of Object.entries(ps.ratios)) console.log(`${name.padEnd(46)} ${r.toFixed(2).padStart(9)} x`);
    closeAll();
    restorePidMax();
    process.exit(0);
  }
  const rows = [
    ...ps.rows,
    ['raw /proc/PID/stat loop (in-process)', time(rawProcStat)],
    ['SDK taskDiagSync ALL BASE (in-process, backend auto)', time(() => taskDiagSync({ strategy: 'all' }))],
    ['SDK taskDiagSync ALL BASE+CRED (in-process)', time(() => taskDiagSync({ strategy: 'all', show: ['base', 'creds'] }))],
    ['SDK taskDiagSync ALL BASE (through the broker)', viaBroker((c) => time(() => c.taskDiagSync({ strategy: 'all' })))],
  ];
  const psMs = ps.rows[0][1];
  const ikcPsMs = ps.rows[1][1];
  const [rawMs, sdkMs, , brokerMs] = rows.slice(ps.rows.length).map((r) => r[1]);
  const start = startup();
  rows.push(...start.rows);
  const core = benchCore();
  rows.push(
    ['Rust: raw /proc/PID/stat loop', core.raw_stat_loop_ms],
    ['Rust: raw /proc/PID/status loop (the file procfs must read)', core.raw_status_loop_ms],
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
      ['Rust: BPF iterator load, fresh (what a pin saves; once per process without one)', core.bpf_load_ms],
    );
  }
  // A broker keeps the BPF iterator loaded, so a one-shot CLI run pays only Node's start-up and the dump.
  const one = { strategy: 'one', pid: process.pid };
  const oneLocal = latency(() => taskDiagSync(one));
  const oneBroker = viaBroker((c) => latency(() => c.taskDiagSync(one)));
  rows.push(['ONE pid p50 (in-process)', oneLocal.p50 / 1000], ['ONE pid p99 (in-process)', oneLocal.p99 / 1000]);
  rows.push(['ONE pid p50 (through the broker)', oneBroker.p50 / 1000], ['ONE pid p99 (through the broker)', oneBroker.p99 / 1000]);
  rows.push(['unix socket round trip p50 (the floor under a broker request)', core.socket_round_trip_us / 1000]);
  const allTasks = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3].split('/')[1]);
  console.log(`ikc bench: ${tasks} processes, ${allTasks} tasks, median of ${reps} runs\n`);
  for (const [name, ms] of rows) console.log(`${name.padEnd(46)} ${ms.toFixed(3).padStart(9)} ms`);
  const ratios = {
    'raw /proc stat loop / SDK ALL BASE': rawMs / sdkMs,
    'broker / in-process, ALL BASE': brokerMs / sdkMs,
    'core ALL BASE / raw stat loop (Rust)': core.core_all_base_ms / core.raw_stat_loop_ms,
    'core ALL BASE / raw status loop (Rust)': core.core_all_base_ms / core.raw_status_loop_ms,
    'SDK into JS objects / core (ALL BASE)': sdkMs / core.core_all_base_ms,
    ...(core.bpf_all_base_ms !== null && {
      'raw stat loop / core ALL BASE with BPF (Rust)': core.raw_stat_loop_ms / core.bpf_all_base_ms,
    }),
    ...ps.ratios,
    'broker / in-process, ONE pid p50': oneBroker.p50 / oneLocal.p50,
    ...start.ratios,
  };
  console.log('');
  for (const [name, r] of Object.entries(ratios)) console.log(`${name.padEnd(46)} ${r.toFixed(2).padStart(9)}${name.includes('(ms') ? ' ms' : ' x'}`);
  closeAll();
  const sweepRows = await sizeSweep();
  // PROC_EVENTS: delivery to 1, 10, 100 subscribers during a fork/exec/exit storm, beside forkstat (bench/events.mjs).
  const eventRows = await benchEvents();
  writeFileSync(values.out, JSON.stringify({ processes: tasks, tasks: allTasks, reps, ms: Object.fromEntries(rows), ratios, sweep: sweepRows, events: eventRows }, null, 2));
  console.log(`\nwrote ${values.out}`);
} finally {
  closeAll();
  restorePidMax();
}

function closeAll() {
  broker.stop();
  stopWorkload(workload);
}

/** Cost per task at several sizes (all threads: ALL_THREAD), to show it stays linear. */
async function sizeSweep() {
  console.log(`\nsize sweep (µs per task, Rust, ALL_THREAD BASE; processes of ${threadsPer} threads)`);
  console.log(`${'tasks'.padStart(8)} ${'raw stat'.padStart(10)} ${'procfs'.padStart(10)} ${'bpf'.padStart(10)}`);
  const out = [];
  for (const size of sweep) {
    const w = await startWorkload(Math.ceil(size / threadsPer), threadsPer);
    try {
      const core = benchCore();
      const per = (ms) => (ms === null ? null : (ms * 1000) / core.threads);
      const row = { tasks: core.threads, raw_us: per(core.raw_stat_loop_threads_ms), procfs_us: per(core.core_all_thread_base_ms), bpf_us: per(core.bpf_all_thread_base_ms) };
      out.push(row);
      const f = (v) => (v === null ? 'n/a' : v.toFixed(2)).padStart(10);
      console.log(`${String(row.tasks).padStart(8)} ${f(row.raw_us)} ${f(row.procfs_us)} ${f(row.bpf_us)}`);
    } finally {
      stopWorkload(w);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return out;
}
