// `ikc addrs`: the addresses of a network namespace as `ip addr` prints them
// (multi-line per link; -o one line per address, -br brief, `dev NAME`), from
// an ADDR_DUMP and a LINK_DUMP issued in it.
import { addrs, links } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { client } from '../client.js';
import { defineCommand, UsageError } from '../command.js';
import { deviceFilter, type DeviceArgs } from '../ipdev.js';
import { addrsJson } from '../json.js';
import { addrBlocks, addrBriefs, addrLine } from '../netfmt.js';
import { netnsArg, netnsOption } from '../options.js';
import { printJson, printLines } from '../output.js';

interface AddrsArgs extends DeviceArgs {
  '4'?: boolean;
  '6'?: boolean;
  o?: boolean;
  br?: boolean;
  netns: string;
  json?: boolean;
}

async function runAddrs(argv: AddrsArgs): Promise<number> {
  if (argv['4'] && argv['6']) throw new UsageError('give -4 or -6, not both');
  if (argv.br && argv.o) throw new UsageError('give -br or -o, not both');
  const ns = netnsArg(argv.netns);
  const issuer = client();
  const family = argv['4'] ? 4 : argv['6'] ? 6 : undefined;
  const all = await links({ ns, client: issuer });
  const names = new Map(all.map((l) => [l.index, l.name]));
  const shown = all.filter(deviceFilter(argv, all));
  const wanted = new Set(shown.map((l) => l.index));
  const found = (await addrs({ ns, family, client: issuer })).filter((a) => wanted.has(a.index));
  // ip groups addresses by link; within a link the kernel's order (IPv4 first) stays.
  found.sort((a, b) => a.index - b.index);
  if (argv.json) printJson(addrsJson(found, shown, names, family));
  else if (argv.br) printLines(addrBriefs(found, shown, names, family));
  else if (argv.o) printLines(found.map((a) => addrLine(a, names)));
  else printLines(addrBlocks(found, shown, names, family));
  return 0;
}

function builder(y: Argv): Argv<AddrsArgs> {
  return y
    .usage('$0 addrs [options] [[dev] NAME]\n\nList the addresses of a network namespace like ip addr, from an ADDR_DUMP issued in it.')
    .positional('device', { type: 'string', array: true, describe: "'dev NAME' or NAME: only that link's addresses, as ip addr show dev NAME" })
    .option('4', { type: 'boolean', describe: 'IPv4 addresses only' })
    .option('6', { type: 'boolean', describe: 'IPv6 addresses only' })
    .option('o', { alias: 'oneline', type: 'boolean', describe: "One line per address, as ip -o addr ('\\' for line breaks)" })
    .option('br', { alias: 'brief', type: 'boolean', describe: 'One line per link: name, state and its addresses, as ip -br addr' })
    .options(netnsOption())
    .option('json', { type: 'boolean', describe: 'Print a JSON array of links with their addresses in addr_info, as ip -j addr prints them (family, local, address, prefixlen, broadcast, scope, flag keys, label, valid_life_time, preferred_life_time; docs/json.md)' })
    .example('$0 addrs', 'every link and its addresses, as ip addr')
    .example('$0 addrs -o -4 --netns /run/netns/blue', 'the IPv4 addresses of the namespace blue, one line each')
    .example('$0 addrs -br dev eth0', 'eth0 and its addresses on one line')
    .epilogue('As ip addr prints them, byte for byte: each link (ip link\'s line without mode; under -4/-6 only links with such an address and no link/ line), then per address: inet|inet6 ADDRESS/PREFIX [peer P] [brd B] scope S [flags] [LABEL] and valid_lft V preferred_lft P. With -o: INDEX: LINK    inet ... on one line per address. Options are whole words, as ip reads them.') as unknown as Argv<AddrsArgs>;
}

export const addrsCommand = defineCommand({
  command: 'addrs [device..]',
  words: { cluster: 'words' },
  describe: 'List the addresses of a network namespace like ip addr (-4, -6, -o, -br, dev NAME, --netns, --json)',
  builder,
  run: runAddrs,
});
