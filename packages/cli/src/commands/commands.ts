// `ikc commands`: the issue_kernel_command table of this build (name, id,
// namespace type, read-only bit), as a table or --json.
import { commands } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { printCommandTable, printJson } from '../output.js';

interface CommandsArgs {
  json?: boolean;
  'no-headers'?: boolean;
}

function builder(y: Argv): Argv<CommandsArgs> {
  return y
    .usage('$0 commands [options]\n\nList the commands issue_kernel_command knows: NAME, ID (hex), NS (the namespace type the\ncommand is issued in) and READ-ONLY.')
    .option('json', { type: 'boolean', describe: 'Print a JSON array of {name, id, idHex, nsType, readOnly}' })
    .option('no-headers', { alias: 'no-heading', type: 'boolean', describe: 'Print no header line' })
    .example('$0 commands', 'NAME  ID  NS  READ-ONLY') as unknown as Argv<CommandsArgs>;
}

export const commandsCommand = defineCommand({
  command: 'commands',
  describe: 'List the issue_kernel_command table (name, id, namespace type, read-only)',
  builder,
  run: (argv) => {
    const table = commands();
    if (argv.json) printJson(table.map((c) => ({ ...c, idHex: `0x${c.id.toString(16)}` })));
    else printCommandTable(table, argv['no-headers'] !== true);
    return 0;
  },
});
