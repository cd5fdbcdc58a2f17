// `ikc sockets`: the sockets of a network namespace, like `ss -tuxan`, from
// SOCK_DIAG dumps issued in that namespace.
import { sockets } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand } from '../command.js';
import { ifNames, withoutOther } from '../netns.js';
import { netnsArg, netnsOption } from '../options.js';
import { printJson, printSockets } from '../output.js';

interface SocketsArgs {
  t?: boolean;
  u?: boolean;
  x?: boolean;
  l?: boolean;
  a?: boolean;
  n?: boolean;
  H?: boolean;
  netns: string;
  json?: boolean;
}

async function runSockets(argv: SocketsArgs): Promise<number> {
  const ns = netnsArg(argv.netns);
  const issuer = client();
  const found = await sockets({ ns, tcp: argv.t, udp: argv.u, unix: argv.x, listening: argv.l, all: argv.a, client: issuer });
  if (argv.json) {
    printJson(found.map(withoutOther));
    return 0;
  }
  // Interface names only when a socket is bound to one (`addr%dev`).
  const names = found.some((s) => s.kind === 'inet' && s.interface !== 0) ? await ifNames(ns, issuer) : new Map<number, string>();
  // ss drops the Netid column when only TCP or only UDP was asked for.
  const oneKind = [argv.t, argv.u, argv.x].filter(Boolean).length === 1 && !argv.x;
  printSockets(found, names, { headers: argv.H !== true, netid: !oneKind });
  return 0;
}

function builder(y: Argv): Argv<SocketsArgs> {
  return y
    .usage('$0 sockets [options]\n\nList the sockets of a network namespace like ss, from SOCK_DIAG dumps issued in it.')
    .option('t', { alias: 'tcp', type: 'boolean', describe: 'TCP sockets' })
    .option('u', { alias: 'udp', type: 'boolean', describe: 'UDP sockets' })
    .option('x', { alias: 'unix', type: 'boolean', describe: 'UNIX sockets (without -t, -u or -x: all three)' })
    .option('l', { alias: 'listening', type: 'boolean', describe: 'Listening sockets only (and unconnected UDP/UNIX ones, UNCONN), as ss -l' })
    .option('a', { alias: 'all', type: 'boolean', describe: 'Sockets in every state; default: connected ones only' })
    .option('n', { alias: 'numeric', type: 'boolean', describe: 'Accepted for ss compatibility: ikc always prints numbers' })
    .option('H', { alias: 'no-header', type: 'boolean', describe: 'Print no header line' })
    .options(netnsOption())
    .option('json', { type: 'boolean', describe: 'Print a JSON array of sockets (inet: netid, family, state, sport, dport, src, dst, rqueue, wqueue, uid, inode, cookie...; unix: netid, type, state, inode, name, peer, rqlen, wqlen)' })
    .example('$0 sockets -tuxan', 'every TCP, UDP and UNIX socket, like ss -tuxan')
    .example('$0 sockets -tl --netns /run/netns/blue', 'the TCP listeners of the namespace blue')
    .example('$0 sockets -ua --netns /proc/1234/ns/net --json', 'the UDP sockets of the namespace of process 1234 as JSON')
    .epilogue(
      'Columns: Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port, as ss -n prints them ([v6] addresses, * for port 0 and for a [::] socket that also takes IPv4, addr%dev when bound to a device; UNIX: path or @abstract name and inode, then the peer inode). ss\'s Process column needs /proc of other processes and is not printed. Order: UNIX, UDP, TCP; IPv4 before IPv6.',
    ) as unknown as Argv<SocketsArgs>;
}

export const socketsCommand = defineCommand({
  command: 'sockets',
  describe: 'List the sockets of a network namespace like ss (-t, -u, -x, -l, -a, --netns, --json)',
  builder,
  run: runSockets,
});
