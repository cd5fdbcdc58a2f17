// `ikc links`: the links of a network namespace as `ip link` prints them
// (multi-line; -o one line each, -br brief, -s counters, `dev NAME`), from a
// LINK_DUMP issued in that namespace.
import { links } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand, UsageError } from '../command.js';
import { linkJson } from '../json.js';
import { deviceFilter, type DeviceArgs } from '../ipdev.js';
import { netnsArg, netnsOption } from '../options.js';
import { printJson, printLines } from '../output.js';
import { IP_LINK, linkBrief, linkParts } from '../netfmt.js';

interface LinksArgs extends DeviceArgs {
  s?: number;
  o?: boolean;
  br?: boolean;
  netns: string;
  json?: boolean;
}

async function runLinks(argv: LinksArgs): Promise<number> {
  const stats = argv.s ?? 0;
  if (stats > 1) throw new UsageError('-s -s (the error counters) is not implemented; give -s once', 'EOPNOTSUPP');
  if (argv.br && (argv.o || stats)) throw new UsageError('-br prints neither -o lines nor counters; give it alone');
  const all = await links({ ns: netnsArg(argv.netns), client: client() });
  const names = new Map(all.map((l) => [l.index, l.name]));
  const found = all.filter(deviceFilter(argv, all));
  if (argv.json) printJson(found.map((l) => linkJson(l, names, stats > 0)));
  else if (argv.br) printLines(found.map((l) => linkBrief(l, names)));
  else {
    const parts = found.map((l) => linkParts(l, names, { ...IP_LINK, stats: stats > 0 }));
    printLines(argv.o ? parts.map((p) => p.join('\\')) : parts.flat());
  }
  return 0;
}

function builder(y: Argv): Argv<LinksArgs> {
  return y
    .usage('$0 links [options] [[dev] NAME]\n\nList the links of a network namespace like ip link, from a LINK_DUMP issued in it.')
    .positional('device', { type: 'string', array: true, describe: "'dev NAME' or NAME: only that link, as ip link show dev NAME" })
    .option('s', { alias: 'stats', type: 'count', describe: 'Add the RX and TX counters (IFLA_STATS64), as ip -s (-s -s is refused: not implemented)' })
    .option('o', { alias: 'oneline', type: 'boolean', describe: "One line per link, as ip -o ('\\' for line breaks)" })
    .option('br', { alias: 'brief', type: 'boolean', describe: 'Name, state, address and flags only, as ip -br' })
    .options(netnsOption())
    .option('json', { type: 'boolean', describe: 'Print a JSON array of links with the keys ip -j link prints (ifindex, ifname, flags, mtu, qdisc, operstate, linkmode, group, txqlen, link_type, address, broadcast, stats64 with -s; docs/json.md)' })
    .example('$0 links', 'every link of this namespace, as ip link')
    .example('$0 links -o -s --netns blue', 'the links of /run/netns/blue with their counters, one line each')
    .example('$0 links -br dev lo', 'lo, as ip -br link show dev lo')
    .epilogue('Each link: INDEX: NAME[@PEER]: <FLAGS> mtu N qdisc Q state S mode M group G qlen N, then link/TYPE ADDRESS brd BROADCAST, as ip link prints it (byte for byte; with -o on one line). Options are whole words, as ip reads them: -s1 or -ss are refused.') as unknown as Argv<LinksArgs>;
}

export const linksCommand = defineCommand({
  command: 'links [device..]',
  words: { cluster: 'words' },
  describe: 'List the links of a network namespace like ip link (-o, -br, -s, dev NAME, --netns, --json)',
  builder,
  run: runLinks,
});
