// `ikc sockets`: the sockets of a network namespace, like `ss -tuxan`, from
// SOCK_DIAG dumps issued in that namespace.
import { sockets } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand, UsageError } from '../command.js';
import { socketJson } from '../json.js';
import { ifNames } from '../netns.js';
import { netnsArg, netnsOption } from '../options.js';
import { printJson, printSockets } from '../output.js';
import { showsState, socketSelection } from '../sockselect.js';

interface SocketsArgs {
  t?: boolean;
  u?: boolean;
  x?: boolean;
  '4'?: boolean;
  '6'?: boolean;
  f?: string;
  A?: string;
  filter?: string[];
  l?: boolean;
  a?: boolean;
  n?: boolean;
  H?: boolean;
  netns: string;
  json?: boolean;
  [unsupported: string]: unknown;
}

/** ss options ikc knows but does not implement yet, and what they would need. */
const UNSUPPORTED: Record<string, string> = {
  p: "the owning processes (users:((...))) need a walk of every visible process's fds, which ikc does not do yet",
  s: 'the summary is not implemented',
  e: 'the extended details (uid, inode, cookie, ...) are not printed; use --json',
  m: 'socket memory (INET_DIAG_SKMEMINFO) is not asked for',
  i: 'tcp_info (INET_DIAG_INFO) is not asked for',
  o: 'the timers are not printed; --json has timer, retrans and expires',
  r: 'ikc always prints numbers (-n)',
  w: 'raw sockets are not dumped',
  K: 'ikc never destroys sockets: SOCK_DESTROY is a write operation',
};

async function runSockets(argv: SocketsArgs): Promise<number> {
  for (const [key, why] of Object.entries(UNSUPPORTED)) {
    if (argv[key]) throw new UsageError(`ss option -${key} is not supported: ${why}`, 'EOPNOTSUPP');
  }
  const ns = netnsArg(argv.netns);
  const issuer = client();
  // ss lets the later of -a and -l win; ikc does not guess which came last.
  if (argv.a && argv.l) throw new UsageError('give -a or -l, not both (ss lets whichever comes last win)');
  const sel = socketSelection(argv);
  const found = (
    await sockets({ ns, tcp: sel.tcp, udp: sel.udp, unix: sel.unix, families: sel.families, states: sel.states, listening: argv.l, all: argv.a, client: issuer })
  ).filter((s) => s.kind !== 'unix' || sel.unixTypes.has(s.type));
  // Interface names only when a socket is bound to one (`addr%dev`).
  const names = found.some((s) => s.kind === 'inet' && s.interface !== 0) ? await ifNames(ns, issuer) : new Map<number, string>();
  if (argv.json) {
    printJson(found.map((s) => socketJson(s, names)));
    return 0;
  }
  // ss drops the Netid column when one table was asked for (TCP, UDP or one UNIX type), and the State column when one state.
  const tables = Number(sel.tcp) + Number(sel.udp) + sel.unixTypes.size;
  printSockets(found, names, { headers: argv.H !== true, netid: tables > 1, state: showsState(sel.states) });
  return 0;
}

function builder(y: Argv): Argv<SocketsArgs> {
  return y
    .usage('$0 sockets [options] [state NAME | exclude NAME]...\n\nList the sockets of a network namespace like ss, from SOCK_DIAG dumps issued in it.')
    .positional('filter', { type: 'string', array: true, describe: "ss's state filter: 'state NAME' adds a state, 'exclude NAME' removes one (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing, all, connected, synchronized, bucket, big); the kernel filters by it" })
    .option('t', { alias: 'tcp', type: 'boolean', describe: 'TCP sockets' })
    .option('u', { alias: 'udp', type: 'boolean', describe: 'UDP sockets' })
    .option('x', { alias: 'unix', type: 'boolean', describe: 'UNIX sockets (without -t, -u or -x: all three)' })
    .option('4', { alias: 'ipv4', type: 'boolean', describe: 'IPv4 sockets only (with -t or -u)' })
    .option('6', { alias: 'ipv6', type: 'boolean', describe: 'IPv6 sockets only (with -t or -u)' })
    .option('f', { alias: 'family', type: 'string', requiresArg: true, describe: 'Family: inet, inet6 or unix (link, netlink, vsock, ... are refused)' })
    .option('A', { alias: 'query', type: 'string', requiresArg: true, describe: 'Tables: tcp, udp, unix, unix_stream, unix_dgram, unix_seqpacket, comma separated (raw, packet, netlink, inet, all: refused, ikc cannot dump them)' })
    .option('l', { alias: 'listening', type: 'boolean', describe: 'Listening sockets only (and unconnected UDP/UNIX ones, UNCONN), as ss -l' })
    .option('a', { alias: 'all', type: 'boolean', describe: 'Sockets in every state; default: connected ones only' })
    .option('n', { alias: 'numeric', type: 'boolean', describe: 'Accepted for ss compatibility: ikc always prints numbers' })
    .option('H', { alias: 'no-header', type: 'boolean', describe: 'Print no header line' })
    .options(netnsOption())
    .options(Object.fromEntries(Object.entries(UNSUPPORTED).map(([k, why]) => [k, { type: 'boolean' as const, hidden: true, describe: why }])))
    .option('json', { type: 'boolean', describe: 'Print a JSON array of sockets: netid, state ("LISTEN"), family ("inet", "inet6", "unix"), rqueue, wqueue; inet: src, sport, dst, dport, dev, v6only, uid, inode, cookie, timer, retrans, expires; unix: name, inode, peer, cookie (docs/json.md)' })
    .example('$0 sockets -tuxan', 'every TCP, UDP and UNIX socket, like ss -tuxan')
    .example('$0 sockets -tl --netns /run/netns/blue', 'the TCP listeners of the namespace blue')
    .example('$0 sockets -ua --netns /proc/1234/ns/net --json', 'the UDP sockets of the namespace of process 1234 as JSON')
    .epilogue(
      'Columns: Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port, as ss -n prints them ([v6] addresses, * for port 0 and for a [::] socket that also takes IPv4, addr%dev when bound to a device; UNIX: path or @abstract name and inode, then the peer inode). ss\'s Process column needs /proc of other processes and is not printed. Order: UNIX, UDP, TCP; IPv4 before IPv6.',
    ) as unknown as Argv<SocketsArgs>;
}

export const socketsCommand = defineCommand({
  command: 'sockets [filter..]',
  describe: 'List the sockets of a network namespace like ss (-t, -u, -x, -4, -6, -f, -A, -l, -a, state filters, --netns, --json)',
  builder,
  run: runSockets,
});
