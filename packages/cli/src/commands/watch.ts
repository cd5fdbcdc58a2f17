// `ikc watch links|tasks`: rates from a statistics stream (STATS_SUBSCRIBE),
// one block per interval: links like `sar -n DEV` (LINK_STATS), tasks like
// `pidstat` (TASK_STATS). The kernel's raw counters are pushed every interval
// on absolute deadlines; rates come from two consecutive snapshots.
import { linkRates, subscribeLinkStats, subscribeTaskStats, taskRates, type Link, type Snapshot, type Task } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand, UsageError } from '../command.js';
import { netnsArg, netnsOption, pidnsArg } from '../options.js';
import { printText } from '../output.js';

interface WatchArgs {
  what: string;
  p?: string;
  ns: string;
  interval: string;
  count?: string;
  netns: string;
  json?: boolean;
}

/** `-n SECONDS`: 0.1 to 3600, decimals allowed, nothing else. */
export function intervalMs(value: string): number {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new UsageError(`EINVAL: -n '${value}' is not a number of seconds`);
  const ms = Math.round(Number(value) * 1000);
  if (ms < 100 || ms > 3_600_000) throw new UsageError(`EINVAL: -n ${value}: the interval is 0.1 to 3600 seconds`);
  return ms;
}

/** `--count N`: a positive integer. */
export function positiveCount(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`EINVAL: --count '${value}' is not a positive integer`);
  return Number(value);
}

const clock = (d: Date) => [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
const num = (x: number) => x.toFixed(2).padStart(9);

function printBlock(prev: Snapshot<Link[]>, cur: Snapshot<Link[]>, json: boolean): void {
  const rates = linkRates(prev, cur);
  const now = new Date();
  if (json) {
    const links = rates.map((r) => ({
      ifname: r.name,
      ifindex: r.index,
      rx_packets_per_sec: r.rxPacketsPerSec,
      tx_packets_per_sec: r.txPacketsPerSec,
      rx_bytes_per_sec: r.rxBytesPerSec,
      tx_bytes_per_sec: r.txBytesPerSec,
      reset: r.reset,
    }));
    printText(JSON.stringify({ time: now.toISOString(), tick: cur.tick, missed: cur.missed, skipped: cur.skipped, links }));
    return;
  }
  const t = clock(now);
  const lines = [`${t}     IFACE   rxpck/s   txpck/s    rxkB/s    txkB/s`];
  for (const r of rates) {
    lines.push(`${t} ${r.name.padStart(9)} ${num(r.rxPacketsPerSec)} ${num(r.txPacketsPerSec)} ${num(r.rxBytesPerSec / 1024)} ${num(r.txBytesPerSec / 1024)}${r.reset ? '  (counters reset)' : ''}`);
  }
  if (cur.missed + cur.skipped > 0) lines.push(`${t} (${cur.missed + cur.skipped} ticks not shown: ${cur.missed} missed, ${cur.skipped} replaced while output was behind)`);
  // A blank line after each block, as sar prints them.
  printText(lines.join('\n') + '\n\n');
}

/** pidstat's columns: Time UID PID %CPU CPU RSS(KiB) Command, busiest first. */
function printTasks(prev: Snapshot<Task[]>, cur: Snapshot<Task[]>, json: boolean): void {
  const rates = taskRates(prev, cur).sort((a, b) => b.cpuPercent - a.cpuPercent || a.pid - b.pid);
  const now = new Date();
  if (json) {
    const tasks = rates.map((r) => ({ pid: r.pid, uid: r.task.creds?.euid, cpu_percent: r.cpuPercent, cpu: r.task.ps?.processor, rss: r.rssBytes, comm: r.task.name ?? r.task.base?.comm, reused: r.reused }));
    printText(JSON.stringify({ time: now.toISOString(), tick: cur.tick, missed: cur.missed, skipped: cur.skipped, tasks }));
    return;
  }
  const t = clock(now);
  const lines = [`${t}      UID       PID    %CPU   CPU    RSS(KiB)  Command`];
  for (const r of rates) {
    const uid = String(r.task.creds?.euid ?? '?');
    lines.push(`${t} ${uid.padStart(8)} ${String(r.pid).padStart(9)} ${r.cpuPercent.toFixed(2).padStart(7)} ${String(r.task.ps?.processor ?? '?').padStart(5)} ${String(Math.floor(r.rssBytes / 1024)).padStart(11)}  ${r.task.name ?? r.task.base?.comm ?? '?'}`);
  }
  if (cur.missed + cur.skipped > 0) lines.push(`${t} (${cur.missed + cur.skipped} ticks not shown: ${cur.missed} missed, ${cur.skipped} replaced while output was behind)`);
  printText(lines.join('\n') + '\n\n');
}

/** `-p PID[,PID...]`: a comma-separated list of pids, nothing else (also ikc top's -p). */
export function pidFilter(value: string | undefined): Set<number> | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',');
  if (parts.some((p) => !/^[1-9][0-9]*$/.test(p))) throw new UsageError(`EINVAL: -p '${value}' is not a comma-separated list of pids`);
  return new Set(parts.map(Number));
}

async function run(argv: WatchArgs): Promise<number> {
  if (argv.what !== 'links' && argv.what !== 'tasks') throw new UsageError(`EINVAL: ikc watch ${argv.what}: watch 'links' or 'tasks'`);
  if (argv.what === 'links' && argv.p !== undefined) throw new UsageError('EINVAL: -p selects tasks; ikc watch links takes --netns');
  const ms = intervalMs(argv.interval);
  const count = argv.count === undefined ? undefined : positiveCount(argv.count);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (argv.what === 'tasks') {
      const pids = pidFilter(argv.p);
      const stream = subscribeTaskStats({ intervalMs: ms, count: count === undefined ? 0 : count + 1, show: ['base', 'creds', 'stat', 'ps', 'name'], ns: pidnsArg(argv.ns), client: client(), signal: abort.signal });
      let prev: Snapshot<Task[]> | undefined;
      for await (const snap of stream) {
        const mine = pids ? { ...snap, data: snap.data.filter((t) => pids.has(t.pid)) } : snap;
        if (prev) printTasks(prev, mine, argv.json === true);
        prev = mine;
      }
      return 0;
    }
    // N lines of rates take N + 1 snapshots.
    const stream = subscribeLinkStats({ intervalMs: ms, count: count === undefined ? 0 : count + 1, ns: netnsArg(argv.netns), client: client(), signal: abort.signal });
    let prev: Snapshot<Link[]> | undefined;
    for await (const snap of stream) {
      if (prev) printBlock(prev, snap, argv.json === true);
      prev = snap;
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}

function builder(y: Argv): Argv<WatchArgs> {
  return y
    .usage('$0 watch links|tasks [options]\n\nRates every interval from one statistics subscription: per-link packet and byte rates like sar -n DEV (LINK_STATS), or per-task %CPU and RSS like pidstat (TASK_STATS, every task you may see). The kernel\'s raw counters are pushed on absolute deadlines (no drift); rates are computed here from consecutive snapshots.')
    .positional('what', { choices: ['links', 'tasks'] as const, describe: 'What to watch: links (sar -n DEV) or tasks (pidstat)' })
    .option('p', { alias: 'pid', type: 'string', requiresArg: true, describe: 'tasks: only these pids, comma-separated' })
    .option('ns', { type: 'string', default: 'current', requiresArg: true, describe: "tasks: pid namespace ('current', 'global', a path such as /proc/PID/ns/pid)" })
    .option('n', { alias: 'interval', type: 'string', default: '1', requiresArg: true, describe: 'Seconds between samples, 0.1 to 3600' })
    .option('count', { alias: 'c', type: 'string', requiresArg: true, describe: 'Print this many samples, then exit (default: until Ctrl-C)' })
    .options(netnsOption())
    .option('json', { type: 'boolean', describe: 'One JSON object per sample: {"time","tick","missed","skipped","links":[{"ifname","ifindex","rx_packets_per_sec","tx_packets_per_sec","rx_bytes_per_sec","tx_bytes_per_sec","reset"}]}' })
    .example('$0 watch links', 'rates of every link each second until Ctrl-C')
    .example('$0 watch links -n 0.5 --count 10 --netns blue', 'ten half-second samples in /run/netns/blue')
    .example('$0 watch tasks -p 1234 --count 5', 'five one-second samples of one process')
    .epilogue('Columns: rxpck/s txpck/s packets, rxkB/s txkB/s kilobytes (1024 bytes) per second, as sar -n DEV prints them. A link whose counters went backwards (recreated) is marked "(counters reset)" and never shows a negative rate.') as unknown as Argv<WatchArgs>;
}

export const watchCommand = defineCommand({
  command: 'watch <what>',
  describe: 'Watch rates from a statistics stream: links like sar -n DEV, tasks like pidstat (-n, --count, --json)',
  builder,
  run: (argv) => run({ ...argv, interval: String(argv.n ?? argv.interval) }),
});
