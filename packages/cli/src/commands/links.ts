// `ikc links`: the links of a network namespace, one `ip -o link` line each,
// from a LINK_DUMP issued in that namespace.
import { links } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand } from '../command.js';
import { linkJson } from '../json.js';
import { netnsArg, netnsOption } from '../options.js';
import { printJson, printLinks } from '../output.js';

interface LinksArgs {
  s?: boolean;
  netns: string;
  json?: boolean;
}

async function runLinks(argv: LinksArgs): Promise<number> {
  const found = await links({ ns: netnsArg(argv.netns), client: client() });
  const names = new Map(found.map((l) => [l.index, l.name]));
  if (argv.json) printJson(found.map((l) => linkJson(l, names, argv.s === true)));
  else printLinks(found, names, argv.s === true);
  return 0;
}

function builder(y: Argv): Argv<LinksArgs> {
  return y
    .usage('$0 links [options]\n\nList the links of a network namespace like ip -o link, from a LINK_DUMP issued in it.')
    .option('s', { alias: 'stats', type: 'boolean', describe: 'Append the RX and TX counters (IFLA_STATS64)' })
    .options(netnsOption())
    .option('json', { type: 'boolean', describe: 'Print a JSON array of links with the keys ip -j link prints (ifindex, ifname, flags, mtu, qdisc, operstate, linkmode, group, txqlen, link_type, address, broadcast, stats64 with -s; docs/json.md)' })
    .example('$0 links', 'every link of this namespace')
    .example('$0 links -s --netns blue', 'the links of /run/netns/blue with their counters')
    .epilogue('One line per link: INDEX: NAME[@PEER]: <FLAGS> mtu N qdisc Q state S mode M group G qlen N\\    link/TYPE ADDRESS brd BROADCAST, as ip -o link prints it.') as unknown as Argv<LinksArgs>;
}

export const linksCommand = defineCommand({
  command: 'links',
  words: { cluster: 'words' },
  describe: 'List the links of a network namespace like ip -o link (-s, --netns, --json)',
  builder,
  run: runLinks,
});
