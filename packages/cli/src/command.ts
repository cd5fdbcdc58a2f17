// What a command of the ikc CLI is: defineCommand turns a builder and a run
// function that returns the exit code into a typed yargs CommandModule; the
// RunContext main.ts passes carries that code back; UsageError is a command
// line that makes no sense. Used by main.ts and every commands/<verb>.ts.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

/** Handed to every handler through yargs' context: the handler sets `status.code`. */
export interface RunContext {
  /** `started`: the command's run began, so an error is not one of the command line. */
  status: { code: number; started?: boolean };
}

/**
 * A command line ikc cannot run exactly as written: `ikc: EINVAL: <message>`
 * (or `{"error": ...}` with --json), exit status 2. `code` is an errno name.
 */
export class UsageError extends Error {
  readonly code: string;

  constructor(message: string, code = 'EINVAL') {
    super(message);
    this.name = 'UsageError';
    this.code = code;
  }
}

/**
 * How the original tool reads `-abc` (argv.ts splits clusters by it):
 * - 'getopt': letters of flags, until a letter that takes a value, which takes the rest (ss);
 * - 'procps': the same for ps's SysV options (procps would reread a word holding a letter it does
 *   not know as BSD options, so ikc refuses such a word instead);
 * - 'words': no clusters: each option is a word of its own (`-s -s`, `-br`), as ip reads them.
 */
export type ClusterStyle = 'getopt' | 'procps' | 'words';

/** How a command's words are read before yargs: the cluster style of the tool it imitates, and the options that may repeat. */
export interface WordRules {
  cluster: ClusterStyle;
  /** Options (any of their names) that may be given more than once; others given twice are refused. */
  repeatable?: readonly string[];
}

/** One command: its yargs name, summary and options, and what it does. */
export interface CommandSpec<A> {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<A>;
  /** How its words are read (argv.ts); getopt clusters by default. */
  words?: WordRules;
  /** Runs the command and returns its exit code; never calls process.exit. Output goes through output.ts. */
  run: (argv: ArgumentsCamelCase<A>) => number | Promise<number>;
}

/** A registered command: the yargs module and the rules main.ts reads its words by. */
export type IkcCommand<A> = CommandModule<object, A & RunContext> & { words: WordRules };

/** The word rules of a registered command (getopt clusters for a module defineCommand did not make). */
export function wordRules(module: CommandModule<object, unknown>): WordRules {
  return (module as { words?: WordRules }).words ?? { cluster: 'getopt' };
}

/** The CommandModule main.ts registers: its handler hands `run`'s exit code to main. */
export function defineCommand<A>(spec: CommandSpec<A>): IkcCommand<A> {
  const { run, words, ...module } = spec;
  return {
    ...module,
    words: words ?? { cluster: 'getopt' },
    builder: spec.builder as (y: Argv) => Argv<A & RunContext>,
    handler: async (argv) => {
      argv.status.started = true;
      argv.status.code = await run(argv);
    },
  };
}
