// The root of the ikc CLI: registers the commands, turns errors into
// `ikc: <message>` on stderr and exit code 1. bin/ikc.js calls main().
import { readFileSync } from 'node:fs';
import { IkcError } from '@ikc/sdk';
import yargs from 'yargs';
import { setBrokerPath } from './client.js';
import { UsageError, type RunContext } from './command.js';
import { COMMANDS } from './commands/index.js';
import { printError, printText } from './output.js';

const EPILOGUE = [
  "ikc issues Lutomirski's issue_kernel_command from userspace. task_diag is Vagin's binary netlink process dump, filtered by hidepid=2 rules: you see the tasks whose /proc entries you could see.",
  'Exit status: 0 on success, 1 on any error; the message on stderr starts with the errno name, e.g. "ikc: ESRCH: ...".',
  "See 'ikc <command> --help' for the options and examples of each command.",
].join('\n\n');

/** "ps, task-diag, ... or addrs": the command names, as --help lists them. */
function commandList(): string {
  const names = COMMANDS.map((c) => String(c.command).split(' ')[0]);
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const context: RunContext = { status: { code: 0 } };
  let output = '';
  const parser = yargs()
    .scriptName('ikc')
    .usage('$0 <command> [options]')
    .parserConfiguration({ 'boolean-negation': false })
    .command([...COMMANDS])
    .option('broker', {
      type: 'string',
      global: true,
      requiresArg: true,
      describe: 'Ask the ikc broker at this socket instead of this process (also: IKC_BROKER=PATH)',
    })
    .middleware((argv) => setBrokerPath(argv.broker as string | undefined))
    .demandCommand(1, `give a command: ${commandList()}`)
    .strict()
    .help()
    .version(version())
    .epilogue(EPILOGUE)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail(false);
  try {
    await parser.parseAsync(argv, context, (_err, _args, out) => {
      output = out;
    });
  } catch (err) {
    const e = err as Error;
    printError(e.message);
    if (!(e instanceof IkcError || e instanceof UsageError)) printError("try 'ikc --help' or 'ikc <command> --help'");
    return 1;
  }
  if (output) printText(output);
  return context.status.code;
}
