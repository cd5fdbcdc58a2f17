// `ikc broker`: runs the broker daemon (Rust, on a thread of this process) on a
// SOCK_SEQPACKET unix socket, or on the socket systemd passes (LISTEN_FDS).
import { readFileSync } from 'node:fs';
import { startBroker } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { defineCommand, UsageError } from '../command.js';
import { wholeNumber } from '../options.js';
import { printNotice } from '../output.js';

interface BrokerArgs {
  socket?: string;
  mode: string;
  group?: string;
  'max-clients': number;
  'max-clients-per-uid': number;
  'max-requests-per-uid': number;
  'max-streams': number;
  'max-streams-per-uid': number;
  'max-response-size': string;
  'response-budget': string;
  'response-window': number;
  'idle-timeout': number;
  'log-level': 'error' | 'warn' | 'info' | 'debug';
}

/** A group name or number, as /etc/group knows it. */
function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === group);
  if (!line) throw new UsageError(`unknown group '${group}'`);
  return Number(line.split(':')[2]);
}

/** A byte count: digits with an optional K, M or G (powers of 1024), e.g. 64M. */
function bytes(option: string, value: string): number {
  const m = /^(\d+)\s*([KMG]?)(?:i?B)?$/i.exec(String(value).trim());
  if (!m) throw new UsageError(`--${option} '${value}' is not a size (e.g. 512K, 64M, 1G)`);
  const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * scale;
}

/** A whole number of at least 1. */
function count(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${option} must be a whole number of at least 1`);
  return value;
}

function builder(y: Argv): Argv<BrokerArgs> {
  return y
    .usage(
      '$0 broker --socket PATH [options]\n\n' +
        'Answer issue_kernel_command requests from other processes over a unix socket, each filtered to what\n' +
        'the kernel lets that client see (its uid, gid and capabilities, read from the kernel per request).\n' +
        'Clients: `ikc --broker PATH ps`, IKC_BROKER=PATH, the SDK\'s BrokerClient, or `ikc sandbox`.\n' +
        'Under systemd socket activation (LISTEN_FDS) the passed socket is used and --socket is ignored.\n\n' +
        'Limits (see SECURITY.md): per-uid ones count the uid a client had when it connected, and do not\n' +
        'bind root, which also keeps the last sixteenth of --max-clients. A client over a connection or\n' +
        'request quota gets EAGAIN; a response over --max-response-size is EMSGSIZE; a uid that was handed\n' +
        'more than --response-budget bytes within --response-window seconds gets ENOBUFS until it refills.\n' +
        'The broker cannot see when a client closes a response, so the budget bounds what one uid can pin.',
    )
    .option('socket', { type: 'string', requiresArg: true, describe: 'Path of the SOCK_SEQPACKET socket to create' })
    .option('mode', { type: 'string', default: '660', requiresArg: true, describe: 'Socket file mode, octal (who may connect)' })
    .option('group', { type: 'string', requiresArg: true, describe: 'Group owning the socket file (name or gid)' })
    .option('max-clients', { type: 'string', coerce: wholeNumber('max-clients'), default: 256, requiresArg: true, describe: 'Connections served at once; more are refused with EAGAIN' })
    .option('max-clients-per-uid', { type: 'string', coerce: wholeNumber('max-clients-per-uid'), default: 32, requiresArg: true, describe: 'Connections one uid may hold at once (root: no limit); more get EAGAIN' })
    .option('max-requests-per-uid', { type: 'string', coerce: wholeNumber('max-requests-per-uid'), default: 8, requiresArg: true, describe: 'Requests one uid may have in flight at once (root: no limit); more get EAGAIN' })
    .option('max-response-size', { type: 'string', default: '64M', requiresArg: true, describe: 'Largest response handed out (K, M, G suffixes); larger ones are EMSGSIZE' })
    .option('response-budget', { type: 'string', default: '256M', requiresArg: true, describe: 'Response bytes one uid is handed per --response-window (root: no limit); beyond it ENOBUFS' })
    .option('response-window', { type: 'string', coerce: wholeNumber('response-window'), default: 60, requiresArg: true, describe: 'Seconds over which --response-budget refills' })
    .option('max-streams', { type: 'string', coerce: wholeNumber('max-streams'), default: 512, requiresArg: true, describe: 'Streams (events, statistics) running at once; more get EAGAIN' })
    .option('max-streams-per-uid', { type: 'string', coerce: wholeNumber('max-streams-per-uid'), default: 16, requiresArg: true, describe: 'Streams one uid may have running (root: no limit); more get EAGAIN' })
    .option('idle-timeout', { type: 'string', coerce: wholeNumber('idle-timeout'), default: 60, requiresArg: true, describe: 'Seconds an idle connection is kept' })
    .option('log-level', { choices: ['error', 'warn', 'info', 'debug'] as const, default: 'info' as const, describe: 'What to log on stderr' })
    .example('$0 broker --socket /run/ikc.sock --mode 666', 'every local user may ask (and sees only their own processes)')
    .example('$0 broker --socket /run/ikc.sock --group ikc', 'members of group ikc may ask') as unknown as Argv<BrokerArgs>;
}

async function run(argv: BrokerArgs): Promise<number> {
  if (!/^[0-7]{3,4}$/.test(argv.mode)) throw new UsageError(`--mode '${argv.mode}' is not an octal file mode`);
  const broker = startBroker({
    socketPath: argv.socket,
    mode: parseInt(argv.mode, 8),
    gid: argv.group === undefined ? undefined : groupId(argv.group),
    maxClients: count('max-clients', argv['max-clients']),
    maxClientsPerUid: count('max-clients-per-uid', argv['max-clients-per-uid']),
    maxRequestsPerUid: count('max-requests-per-uid', argv['max-requests-per-uid']),
    maxResponseBytes: bytes('max-response-size', argv['max-response-size']),
    responseBudgetBytes: bytes('response-budget', argv['response-budget']),
    responseWindowMs: count('response-window', argv['response-window']) * 1000,
    maxStreams: count('max-streams', argv['max-streams']),
    maxStreamsPerUid: count('max-streams-per-uid', argv['max-streams-per-uid']),
    idleTimeoutMs: argv['idle-timeout'] * 1000,
    logLevel: argv['log-level'],
  });
  printNotice(`ikc broker: listening${argv.socket ? ` on ${argv.socket}` : ''} (pid ${process.pid})`);
  const stop = () => broker.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await broker.closed;
  return 0;
}

export const brokerCommand = defineCommand({
  command: 'broker',
  describe: 'Run the broker daemon: answers requests from unprivileged or sandboxed clients over a unix socket',
  builder,
  run,
});
