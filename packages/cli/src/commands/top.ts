// `ikc top`: a live process view like procps top, refreshed from one
// TASK_STATS subscription (a task_diag dump pushed every interval on absolute
// deadlines, judged for the caller at every tick), %CPU computed from two
// consecutive snapshots. `-b` prints frames as text (top -b); otherwise a
// full-screen view on the terminal's alternate screen, restored on exit, on
// Ctrl-C and on `q`.
import { readFileSync } from 'node:fs';
import { stateLetter, subscribeTaskStats, taskRates, type Snapshot, type Task, type TaskRates } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand, UsageError } from '../command.js';
import { userId, userName } from '../names.js';
import { pidnsArg, pidnsOption } from '../options.js';
import { printText } from '../output.js';
import { intervalMs, pidFilter, positiveCount } from './watch.js';

interface TopArgs {
  b?: boolean;
  d: string;
  n?: string;
  p?: string;
  u?: string;
  o: string;
  c?: boolean;
  ns: string;
}

const HZ = 100; // USER_HZ: the unit of task_diag_stat's times on Linux

/** Sort keys as top's -o names them; larger first, as top sorts. */
const SORTS: Record<string, (r: TaskRates) => number> = {
  '%CPU': (r) => r.cpuPercent,
  '%MEM': (r) => r.rssBytes,
  RES: (r) => r.rssBytes,
  VIRT: (r) => r.task.ps?.vsize ?? 0,
  'TIME+': (r) => (r.task.stat ? r.task.stat.utime + r.task.stat.stime : 0),
  TIME: (r) => (r.task.stat ? r.task.stat.utime + r.task.stat.stime : 0),
  PID: (r) => r.pid,
};

function memTotalBytes(): number {
  const m = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** `M:SS.hh` from clock ticks, as top's TIME+. */
function timePlus(ticks: number): string {
  const hundredths = Math.floor((ticks * 100) / HZ);
  const minutes = Math.floor(hundredths / 6000);
  const rest = hundredths % 6000;
  return `${minutes}:${String(Math.floor(rest / 100)).padStart(2, '0')}.${String(rest % 100).padStart(2, '0')}`;
}

function uptimeLine(now: Date): string {
  const up = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(', ');
  const days = Math.floor(up / 86400);
  const hours = Math.floor((up % 86400) / 3600);
  const mins = Math.floor((up % 3600) / 60);
  const clock = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const upText = `${days ? `${days} day${days === 1 ? '' : 's'}, ` : ''}${String(hours).padStart(2)}:${String(mins).padStart(2, '0')}`;
  return `top - ${clock} up ${upText},  load average: ${load}`;
}

function tasksLine(tasks: readonly Task[]): string {
  const count = (letters: string) => tasks.filter((t) => t.base && letters.includes(stateLetter(t.base.state))).length;
  return `Tasks: ${String(tasks.length).padStart(3)} total, ${String(count('R')).padStart(3)} running, ${String(count('SDIP')).padStart(3)} sleeping, ${String(count('Tt')).padStart(3)} stopped, ${String(count('Z')).padStart(3)} zombie`;
}

export const TOP_HEADER = '    PID USER      PR  NI    VIRT    RES S  %CPU  %MEM     TIME+ COMMAND';

function row(r: TaskRates, memTotal: number, args: boolean): string {
  const t = r.task;
  const ps = t.ps;
  const uid = t.creds?.euid;
  const user = (uid === undefined ? '?' : (userName(uid) ?? String(uid))).slice(0, 8).padEnd(8);
  const pr = ps ? (ps.priority <= -100 ? 'rt' : String(ps.priority)) : '?';
  const kib = (bytes: number) => String(Math.floor(bytes / 1024));
  const mem = memTotal > 0 ? (100 * r.rssBytes) / memTotal : 0;
  const command = (args && t.cmdline && t.cmdline.length > 0 ? t.cmdline.subarray(0, t.cmdline.length - 1).toString('latin1').replaceAll('\0', ' ') : undefined) ?? t.name ?? t.base?.comm ?? '?';
  return [
    String(t.pid).padStart(7),
    user,
    pr.padStart(3),
    String(ps?.nice ?? 0).padStart(3),
    kib(ps?.vsize ?? 0).padStart(7),
    kib(r.rssBytes).padStart(6),
    t.base ? stateLetter(t.base.state) : '?',
    r.cpuPercent.toFixed(1).padStart(5),
    mem.toFixed(1).padStart(5),
    timePlus(t.stat ? t.stat.utime + t.stat.stime : 0).padStart(9),
    command,
  ].join(' ');
}

/** One frame: the summary lines, a blank line, the header and the sorted rows. */
export function frame(prev: Snapshot<Task[]>, cur: Snapshot<Task[]>, opts: { sort: string; args: boolean; pids?: Set<number>; uid?: number; rows?: number; cols?: number }): string[] {
  const key = SORTS[opts.sort];
  let rates = taskRates(prev, cur, HZ);
  if (opts.pids) rates = rates.filter((r) => opts.pids!.has(r.pid));
  if (opts.uid !== undefined) rates = rates.filter((r) => r.task.creds?.euid === opts.uid);
  rates.sort((a, b) => key(b) - key(a) || a.pid - b.pid);
  const memTotal = memTotalBytes();
  const lines = [uptimeLine(new Date()), tasksLine(cur.data)];
  if (cur.missed + cur.skipped > 0) lines.push(`(${cur.missed + cur.skipped} refreshes not shown: ${cur.missed} missed, ${cur.skipped} replaced while output was behind)`);
  lines.push('', TOP_HEADER, ...rates.map((r) => row(r, memTotal, opts.args)));
  const fit = opts.rows ? lines.slice(0, opts.rows) : lines;
  return opts.cols ? fit.map((l) => l.slice(0, opts.cols)) : fit;
}

function uidOf(value: string): number {
  if (/^[0-9]+$/.test(value)) return Number(value);
  const uid = userId(value);
  if (uid === undefined) throw new UsageError(`EINVAL: -u '${value}': no such user in /etc/passwd`);
  return uid;
}

async function run(argv: TopArgs): Promise<number> {
  const ms = intervalMs(argv.d);
  const iterations = argv.n === undefined ? undefined : positiveCount(argv.n);
  const sort = argv.o.replace(/^[+-]/, '').toUpperCase();
  if (!(sort in SORTS)) throw new UsageError(`EINVAL: -o '${argv.o}': sort by one of ${Object.keys(SORTS).join(', ')}`);
  const pids = pidFilter(argv.p);
  const uid = argv.u === undefined ? undefined : uidOf(argv.u);
  const screen = argv.b !== true && process.stdout.isTTY === true;
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const restore = screen ? enterScreen(stop) : () => {};
  try {
    const show = argv.c ? (['base', 'creds', 'stat', 'ps', 'name', 'cmdline'] as const) : (['base', 'creds', 'stat', 'ps', 'name'] as const);
    const stream = subscribeTaskStats({ intervalMs: ms, count: iterations === undefined ? 0 : iterations + 1, show: [...show], ns: pidnsArg(argv.ns), client: client(), signal: abort.signal });
    let prev: Snapshot<Task[]> | undefined;
    for await (const snap of stream) {
      if (prev) {
        const lines = frame(prev, snap, { sort, args: argv.c === true, pids, uid, rows: screen ? process.stdout.rows : undefined, cols: screen ? process.stdout.columns : undefined });
        // Full screen: home and clear, then the frame; batch: frames one after another, a blank line between.
        printText(screen ? `\x1b[H\x1b[2J${lines.join('\n')}` : `${lines.join('\n')}\n\n`);
      }
      prev = snap;
    }
  } finally {
    restore();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}

/** The alternate screen, cursor hidden, `q` quits; returns what puts the terminal back. */
function enterScreen(quit: () => void): () => void {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  process.stdout.write('\x1b[?1049h\x1b[?25l');
  const onKey = (key: Buffer) => {
    // q, or Ctrl-C arriving as a byte in raw mode.
    if (key.includes(0x71) || key.includes(0x03)) quit();
  };
  if (raw) {
    stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    if (raw) {
      stdin.off('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
    process.stdout.write('\x1b[?25h\x1b[?1049l');
  };
  process.once('exit', restore);
  return restore;
}

function builder(y: Argv): Argv<TopArgs> {
  return y
    .usage('$0 top [options]\n\nA live process view like top, from one TASK_STATS subscription: the kernel\'s task counters pushed every interval (absolute deadlines, judged for you at every tick: you see what a hidepid=2 /proc shows you), %CPU from consecutive snapshots.')
    .option('b', { alias: 'batch', type: 'boolean', describe: 'Batch mode: print frames as text (for files and pipes), as top -b' })
    .option('d', { alias: 'delay', type: 'string', default: '3', requiresArg: true, describe: 'Seconds between refreshes, 0.1 to 3600 (top -d)' })
    .option('n', { alias: 'iterations', type: 'string', requiresArg: true, describe: 'Frames to show, then exit (top -n)' })
    .option('p', { alias: 'pid', type: 'string', requiresArg: true, describe: 'Only these pids, comma-separated (top -p)' })
    .option('u', { alias: 'user', type: 'string', requiresArg: true, describe: 'Only tasks of this effective user, name or uid (top -u)' })
    .option('o', { alias: 'sort', type: 'string', default: '%CPU', requiresArg: true, describe: `Sort field, largest first: ${Object.keys(SORTS).join(', ')}` })
    .option('c', { alias: 'command-line', type: 'boolean', describe: 'Show command lines instead of names (top -c)' })
    .options(pidnsOption())
    .example('$0 top', 'full screen, refreshed every 3 s; q or Ctrl-C quits and restores the terminal')
    .example('$0 top -b -n 2 -d 1', 'two frames as text, one second apart')
    .epilogue(`Columns as top prints them: PID USER PR NI VIRT RES (KiB) S %CPU %MEM TIME+ COMMAND; a pid reused by a new process between frames (told apart by its start time) is rated from its start, never from the old one's counters.`) as unknown as Argv<TopArgs>;
}

export const topCommand = defineCommand({
  command: 'top',
  describe: 'A live process view like top, from a TASK_STATS subscription (-b, -n, -d, -p, -u, -o)',
  builder,
  run,
});
