// `ikc addrs`: the addresses of a network namespace, one `ip -o addr` line each,
// from an ADDR_DUMP (and a LINK_DUMP for the link names) issued in it.
import { addrs, links } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand, UsageError } from '../command.js';
import { addrsJson } from '../json.js';
import { netnsArg, netnsOption } from '../options.js';
import { printAddrs, printJson } from '../output.js';

interface AddrsArgs {
  '4'?: boolean;
  '6'?: boolean;
  netns: string;
  json?: boolean;
}

async function runAddrs(argv: AddrsArgs): Promise<number> {
  if (argv['4'] && argv['6']) throw new UsageError('give -4 or -6, not both');
  const ns = netnsArg(argv.netns);
  const issuer = client();
  const found = await addrs({ ns, family: argv['4'] ? 4 : argv['6'] ? 6 : undefined, client: issuer });
  // ip groups addresses by link; within a link the kernel's order (IPv4 first) stays.
  found.sort((a, b) => a.index - b.index);
  const all = await links({ ns, client: issuer });
  const names = new Map(all.map((l) => [l.index, l.name]));
  if (argv.json) printJson(addrsJson(found, all, names, argv['4'] ? 4 : argv['6'] ? 6 : undefined));
  else printAddrs(found, names);
  return 0;
}

function builder(y: Argv): Argv<AddrsArgs> {
  return y
    .usage('$0 addrs [options]\n\nList the addresses of a network namespace like ip -o addr, from an ADDR_DUMP issued in it.')
    .option('4', { type: 'boolean', describe: 'IPv4 addresses only' })
    .option('6', { type: 'boolean', describe: 'IPv6 addresses only' })
    .options(netnsOption())
    .option('json', { type: 'boolean', describe: 'Print a JSON array of links with their addresses in addr_info, as ip -j addr prints them (family, local, address, prefixlen, broadcast, scope, flag keys, label, valid_life_time, preferred_life_time; docs/json.md)' })
    .example('$0 addrs', 'every address of this namespace')
    .example('$0 addrs -4 --netns /run/netns/blue', 'the IPv4 addresses of the namespace blue')
    .epilogue('One line per address: INDEX: LINK    inet|inet6 ADDRESS/PREFIX [peer P] [brd B] scope S [flags] [LABEL]\\       valid_lft V preferred_lft P, as ip -o addr prints it.') as unknown as Argv<AddrsArgs>;
}

export const addrsCommand = defineCommand({
  command: 'addrs',
  words: { cluster: 'words' },
  describe: 'List the addresses of a network namespace like ip -o addr (-4, -6, --netns, --json)',
  builder,
  run: runAddrs,
});
