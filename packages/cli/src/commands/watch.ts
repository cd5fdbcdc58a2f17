// `ikc watch links`: per-link rates from a LINK_STATS stream (STATS_SUBSCRIBE
// for links), one block per interval like `sar -n DEV`: the kernel pushes raw
// counters every interval on absolute deadlines; rates come from two snapshots.
import { linkRates, subscribeLinkStats, type Link, type Snapshot } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand, UsageError } from '../command.js';
import { netnsArg, netnsOption } from '../options.js';
import { printText } from '../output.js';

interface WatchArgs {
  what: string;
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

async function run(argv: WatchArgs): Promise<number> {
  if (argv.what !== 'links') throw new UsageError(`EINVAL: ikc watch ${argv.what}: only 'links' can be watched (tasks: ikc watch links for now)`);
  const ms = intervalMs(argv.interval);
  const count = argv.count === undefined ? undefined : positiveCount(argv.count);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
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
    .usage('$0 watch links [options]\n\nPer-link packet and byte rates every interval, like sar -n DEV, from one LINK_STATS subscription: the kernel\'s raw counters pushed on absolute deadlines (no drift), rates computed here from consecutive snapshots.')
    .positional('what', { choices: ['links'] as const, describe: 'What to watch' })
    .option('n', { alias: 'interval', type: 'string', default: '1', requiresArg: true, describe: 'Seconds between samples, 0.1 to 3600' })
    .option('count', { alias: 'c', type: 'string', requiresArg: true, describe: 'Print this many samples, then exit (default: until Ctrl-C)' })
    .options(netnsOption())
    .option('json', { type: 'boolean', describe: 'One JSON object per sample: {"time","tick","missed","skipped","links":[{"ifname","ifindex","rx_packets_per_sec","tx_packets_per_sec","rx_bytes_per_sec","tx_bytes_per_sec","reset"}]}' })
    .example('$0 watch links', 'rates of every link each second until Ctrl-C')
    .example('$0 watch links -n 0.5 --count 10 --netns blue', 'ten half-second samples in /run/netns/blue')
    .epilogue('Columns: rxpck/s txpck/s packets, rxkB/s txkB/s kilobytes (1024 bytes) per second, as sar -n DEV prints them. A link whose counters went backwards (recreated) is marked "(counters reset)" and never shows a negative rate.') as unknown as Argv<WatchArgs>;
}

export const watchCommand = defineCommand({
  command: 'watch <what>',
  describe: 'Watch rates from a statistics stream: ikc watch links (like sar -n DEV; -n, --count, --json)',
  builder,
  run: (argv) => run({ ...argv, interval: String(argv.n ?? argv.interval) }),
});
