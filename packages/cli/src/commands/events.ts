// `ikc events`: process events (PROC_EVENTS) as they happen, in the style of
// forkstat: one line per event (Time, Event, PID, Info, Duration, Process), or
// one JSON object per line. Losses are said on stderr (and as JSON objects
// with --json), never skipped. Stops after --count events or --duration
// seconds, or at Ctrl-C (which closes the stream at once).
import { EVENT_TYPE_NAMES, type EventTypeName, IkcError, encodeEventsRequest, type ProcEvent } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand, UsageError } from '../command.js';
import { pidnsArg, pidnsOption } from '../options.js';
import { printNotice, printText } from '../output.js';
import { positiveCount } from './watch.js';

interface EventsArgs {
  e?: string;
  p?: string[];
  subtree?: boolean;
  json?: boolean;
  cmdline?: boolean;
  count?: string;
  duration?: string;
  ns: string;
}

/** `-e LIST`: event names, comma-separated; 'all' is every type. Unknown names are refused. */
export function eventTypes(value: string): EventTypeName[] {
  const names = value.split(',');
  if (names.includes('all') && names.length === 1) return EVENT_TYPE_NAMES.filter((n) => n !== 'nonzero-exit');
  for (const n of names) {
    if (!(EVENT_TYPE_NAMES as readonly string[]).includes(n)) {
      throw new UsageError(`EINVAL: -e: unknown event '${n}' (known: ${EVENT_TYPE_NAMES.join(', ')}, or all)`);
    }
  }
  return names as EventTypeName[];
}

/** `-p PID[,PID]` (repeatable): decimal pids, 1 to 2^31-1, nothing else. */
export function pidList(values: string[]): number[] {
  const out: number[] = [];
  for (const part of values.flatMap((v) => v.split(','))) {
    if (!/^[1-9][0-9]*$/.test(part) || Number(part) > 0x7fff_ffff) throw new UsageError(`EINVAL: -p '${part}' is not a pid`);
    out.push(Number(part));
  }
  return out;
}

/** `--duration S`: positive seconds, decimals allowed. */
export function durationMs(value: string): number {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || Number(value) <= 0) throw new UsageError(`EINVAL: --duration '${value}' is not a positive number of seconds`);
  return Math.round(Number(value) * 1000);
}

const clock = (d: Date) => [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');

/** What a forkstat line shows for an event: its Info column and the name of its process. */
function info(e: Exclude<ProcEvent, { type: 'lost' | 'possibly-lost' }>): string {
  switch (e.type) {
    case 'fork':
      return `parent ${e.parentTgid}`;
    case 'exit':
      return e.signal ? `sig ${e.signal}` : String(e.status);
    case 'uid':
      return `uid ${e.euid}`;
    case 'gid':
      return `gid ${e.egid}`;
    case 'ptrace':
      return e.tracerTgid ? `tracer ${e.tracerTgid}` : 'detach';
    default:
      return '';
  }
}

/** The event as one JSON object (snake_case, as the wire names the fields). */
function jsonOf(e: ProcEvent): object {
  const { timestampNs, ...rest } = e as ProcEvent & { timestampNs?: bigint };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  if (timestampNs !== undefined) out.timestamp_ns = timestampNs.toString();
  return out;
}

async function run(argv: EventsArgs): Promise<number> {
  const types = argv.e === undefined ? undefined : eventTypes(argv.e);
  const pids = argv.p === undefined ? undefined : pidList(argv.p);
  if (argv.subtree && !pids?.length) throw new UsageError('EINVAL: --subtree needs -p PID');
  const count = argv.count === undefined ? undefined : positiveCount(argv.count);
  const duration = argv.duration === undefined ? undefined : durationMs(argv.duration);
  // The core checks the request as the command will (e.g. at most 16 pids): a
  // command line it refuses is a usage error, refused before anything starts.
  try {
    encodeEventsRequest({ types, pids, subtree: argv.subtree, cmdline: argv.cmdline, count });
  } catch (e) {
    if (e instanceof IkcError && e.code === 'EINVAL') throw new UsageError(e.message);
    throw e;
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = duration === undefined ? undefined : setTimeout(stop, duration);
  // When each task was seen starting (fork or exec), for the Duration column of its exit.
  const started = new Map<number, bigint>();
  const names = new Map<number, string>();
  let lost = 0;
  try {
    const stream = client().events({ types, pids, subtree: argv.subtree, cmdline: argv.cmdline, count, ns: pidnsArg(argv.ns), signal: abort.signal });
    if (!argv.json) printText('Time     Event     PID Info       Duration Process');
    for await (const e of stream) {
      if (e.type === 'lost' || e.type === 'possibly-lost') {
        if (e.count !== null) lost += e.count;
        const n = e.count === null ? 'an unknown number of' : String(e.count);
        const range = e.firstSeq || e.lastSeq ? ` (stream messages ${e.firstSeq}..${e.lastSeq})` : '';
        printNotice(`ikc: ${e.type === 'lost' ? 'lost' : 'possibly lost'} ${n} events${range}: ${e.cause}`);
        if (argv.json) printText(JSON.stringify(jsonOf(e)));
        continue;
      }
      if (argv.json) {
        printText(JSON.stringify(jsonOf(e)));
      } else {
        if (e.type === 'fork' || e.type === 'exec') started.set(e.pid, e.timestampNs);
        const name = (e.type === 'exec' && e.cmdline?.length ? e.cmdline.join(' ') : undefined) ?? e.comm ?? names.get(e.pid) ?? '';
        if (e.type === 'exec' || e.comm) names.set(e.pid, name);
        let dur = '';
        if (e.type === 'exit') {
          const t0 = started.get(e.pid);
          if (t0 !== undefined) dur = `${(Number(e.timestampNs - t0) / 1e9).toFixed(3)}s`;
          started.delete(e.pid);
          names.delete(e.pid);
        }
        // A new thread is a clone, as forkstat names it.
        const what = e.type === 'fork' && e.pid !== e.tgid ? 'clone' : e.type;
        printText(`${clock(new Date())} ${what.padEnd(8)} ${String(e.pid).padStart(6)} ${info(e).padEnd(10)} ${dur.padStart(8)} ${name}`);
      }
    }
  } catch (err) {
    if (err instanceof IkcError && abort.signal.aborted) return 0;
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (lost > 0 && !argv.json) printNotice(`ikc: ${lost} events lost in all`);
  return 0;
}

function builder(y: Argv): Argv<EventsArgs> {
  return y
    .usage('$0 events [options]\n\nProcess events as they happen (PROC_EVENTS), like forkstat: fork, exec, exit, uid, gid, sid, comm, ptrace, coredump. You see the events of tasks task_diag would show you, numbered in your pid namespace; every loss is said on stderr.')
    .option('e', { type: 'string', requiresArg: true, describe: `Events to show, comma-separated: ${EVENT_TYPE_NAMES.join(',')} or all (default: all). nonzero-exit without exit: failed exits only` })
    .option('p', { type: 'string', array: true, requiresArg: true, describe: 'Only these processes (PID[,PID], at most 16)' })
    .option('subtree', { type: 'boolean', describe: 'With -p: the processes and every descendant forked later' })
    .option('cmdline', { type: 'boolean', describe: 'Show each exec\'s command line (read at the exec)' })
    .option('count', { alias: 'c', type: 'string', requiresArg: true, describe: 'Exit after this many events' })
    .option('duration', { alias: 'D', type: 'string', requiresArg: true, describe: 'Exit after this many seconds' })
    .option('json', { type: 'boolean', describe: 'One JSON object per event: {"type","seq","cpu","pid","tgid","comm",...,"timestamp_ns"}; losses as {"type":"lost"|"possibly-lost","count","first_seq","last_seq","cause"}' })
    .options(pidnsOption())
    .example('$0 events -e fork,exec,exit', 'process creation and exit, like forkstat -e fork,exec,exit')
    .example('$0 events -p 1234 --subtree --cmdline --json', 'what process 1234 and its descendants run, as JSON lines')
    .example('$0 events -e nonzero-exit --duration 60', 'failed exits for a minute')
    .epilogue('Info: fork "parent PID"; exit the exit status, or "sig N" when killed; uid/gid the new effective id. Duration: an exit\'s time since its fork or exec (kernel timestamps).')
    .strict() as unknown as Argv<EventsArgs>;
}

export const eventsCommand = defineCommand({
  command: 'events',
  describe: 'Process events as they happen, like forkstat (-e fork,exec,exit, -p PID, --json, --cmdline, --count, --duration)',
  builder,
  run,
});
