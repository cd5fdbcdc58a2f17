// The root of the ikc CLI: registers the commands, reads each command's words
// by its tool's rules (argv.ts), and turns errors into `ikc: CODE: <message>`
// (or `{"error": {...}}` with --json) on stderr: exit status 2 for a command
// line ikc refuses, 1 for anything else. bin/ikc.js calls main().
import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { normalizeArgs, optionTable } from './argv.js';
import { setBrokerPath } from './client.js';
import { UsageError, wordRules, type RunContext } from './command.js';
import { COMMANDS } from './commands/index.js';
import { printError, printErrorJson, printText } from './output.js';

const EPILOGUE = [
  "ikc issues Lutomirski's issue_kernel_command from userspace. task_diag is Vagin's binary netlink process dump, filtered by hidepid=2 rules: you see the tasks whose /proc entries you could see.",
  'Exit status: 0 on success; 2 when the command line is refused (the message starts with EINVAL, or the errno name that says why); 1 on any other error. The message on stderr starts with the errno name, e.g. "ikc: ESRCH: ..."; with --json it is {"error": {"code": "ESRCH", "message": "..."}}.',
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

/**
 * The words of the command line as yargs is to read them: those after the
 * command name split and joined by that command's rules (argv.ts).
 */
function readWords(argv: readonly string[]): string[] {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--broker') i++;
    if (word === '--') return [...argv];
    if (word.startsWith('-')) continue;
    const command = COMMANDS.find((c) => String(c.command).split(' ')[0] === word);
    if (!command) return [...argv];
    const table = optionTable(command.builder as (y: Argv) => Argv<unknown>, () => yargs(), wordRules(command).repeatable);
    return [...argv.slice(0, i + 1), ...normalizeArgs(argv.slice(i + 1), table, wordRules(command).cluster)];
  }
  return [...argv];
}

/** What a failure is: its errno name, its message without that name, and the exit status. */
function failure(err: unknown, started: boolean): { code: string; message: string; status: number; hint?: boolean } {
  const e = err instanceof Error ? err : new Error(String(err));
  const strip = (code: string, m: string) => (m.startsWith(`${code}: `) ? m.slice(code.length + 2) : m);
  if (e instanceof UsageError) return { code: e.code, message: strip(e.code, e.message), status: 2 };
  // Before the command runs, every error is yargs refusing the command line (unknown options,
  // missing values, bad choices, a coerce that threw).
  if (!started) return { code: 'EINVAL', message: e.message, status: 2, hint: true };
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return { code, message: strip(code, e.message), status: 1 };
  return { code: 'EIO', message: e.message, status: 1 };
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const dashdash = argv.indexOf('--');
  const json = (dashdash < 0 ? argv : argv.slice(0, dashdash)).includes('--json');
  const context: RunContext = { status: { code: 0 } };
  try {
    return await run(readWords(argv), context);
  } catch (err) {
    const f = failure(err, context.status.started === true);
    if (json) printErrorJson(f.code, f.message);
    else {
      printError(`${f.code}: ${f.message}`);
      if (f.hint) printError("try 'ikc --help' or 'ikc <command> --help'");
    }
    return f.status;
  }
}

/**
 * yargs renders a command's whole help text each time it runs one, to show it
 * should the handler fail later (20-40 ms of `ikc ps`, its epilogue and options
 * laid out by cliui). ikc prints its own errors and never that text (`--help`
 * still renders it, on demand), so the cache is not filled.
 */
function skipHelpCache(parser: Argv): void {
  const internal = parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

async function run(argv: string[], context: RunContext): Promise<number> {
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
  skipHelpCache(parser);
  await parser.parseAsync(argv, context, (_err, _args, out) => {
    output = out;
  });
  if (output) printText(output);
  return context.status.code;
}
