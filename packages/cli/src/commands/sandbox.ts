// `ikc sandbox`: runs a program under a seccomp filter that forbids opening
// files (so /proc is out of reach) with only a broker connection inherited.
import { runSandboxed } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { brokerClient } from '../client.js';
import { defineCommand, UsageError } from '../command.js';

interface SandboxArgs {
  program?: string[];
  _: Array<string | number>;
}

function builder(y: Argv): Argv<SandboxArgs> {
  return y
    .usage(
      '$0 --broker PATH sandbox -- PROGRAM [ARGS...]\n\n' +
        'Run PROGRAM under a seccomp filter: open/openat/openat2/creat, stat by path, new sockets, ptrace and\n' +
        'every other syscall outside a short allow-list fail with EPERM. It keeps one connection to the broker,\n' +
        'as fd IKC_BROKER_FD, and asks through it; every other fd but stdio is closed. It cannot signal, re-limit\n' +
        'or exec other programs. Exits with PROGRAM\'s status (128+N if killed by signal N).\n' +
        'PROGRAM must need no file opens to start (a static binary, e.g. examples/sandboxed-ps.c; no #! script).',
    )
    .positional('program', { type: 'string', array: true, describe: 'The program to run (searched in PATH) and its arguments, after --' })
    .example('$0 --broker /run/ikc.sock sandbox -- ./sandboxed-ps', 'list processes through the broker, with /proc out of reach') as unknown as Argv<SandboxArgs>;
}

export const sandboxCommand = defineCommand({
  command: 'sandbox [program..]',
  describe: 'Run a program under seccomp with only a broker connection (no file opens, no /proc)',
  builder,
  run: (argv) => {
    // Words after `--` stay in argv._ (after the command name itself).
    const command = [...(argv.program ?? []), ...argv._.slice(1)].map(String);
    if (command.length === 0) throw new UsageError('sandbox needs a program to run: ikc --broker PATH sandbox -- PROGRAM [ARGS...]');
    const broker = brokerClient();
    return runSandboxed(command, broker.fd);
  },
});
