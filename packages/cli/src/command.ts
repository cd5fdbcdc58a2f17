// What a command of the ikc CLI is: defineCommand turns a builder and a run
// function that returns the exit code into a typed yargs CommandModule; the
// RunContext main.ts passes carries that code back; UsageError is a command
// line that makes no sense. Used by main.ts and every commands/<verb>.ts.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

/** Handed to every handler through yargs' context: the handler sets `status.code`. */
export interface RunContext {
  status: { code: number };
}

/** A command line ikc cannot run: `ikc: <message>`, exit 1, and no "try --help" hint. */
export class UsageError extends Error {}

/** One command: its yargs name, summary and options, and what it does. */
export interface CommandSpec<A> {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<A>;
  /** Runs the command and returns its exit code; never calls process.exit. Output goes through output.ts. */
  run: (argv: ArgumentsCamelCase<A>) => number | Promise<number>;
}

/** The CommandModule main.ts registers: its handler hands `run`'s exit code to main. */
export function defineCommand<A>(spec: CommandSpec<A>): CommandModule<object, A & RunContext> {
  const { run, ...module } = spec;
  return {
    ...module,
    builder: spec.builder as (y: Argv) => Argv<A & RunContext>,
    handler: async (argv) => {
      argv.status.code = await run(argv);
    },
  };
}
