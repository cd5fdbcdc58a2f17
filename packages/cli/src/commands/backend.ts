// `ikc backend`: which backend full task_diag dumps use here, and whether the
// BPF task iterator can be had (and if not, why).
import { backendInUse, IkcError } from '@ikc/sdk';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { printJson, printText } from '../output.js';

interface BackendArgs {
  json?: boolean;
}

function bpfStatus(): { available: boolean; reason?: string } {
  try {
    backendInUse('bpf');
    return { available: true };
  } catch (e) {
    return { available: false, reason: e instanceof IkcError ? e.message : String(e) };
  }
}

export const backendCommand = defineCommand({
  command: 'backend',
  describe: "Show the backend of full dumps here ('auto' resolves to procfs or bpf) and whether BPF is available",
  builder: (y: Argv) =>
    y
      .usage('$0 backend [--json]\n\nikc reads ALL/ALL_THREAD dumps from procfs, or from a BPF task iterator (one read for every task)\nwhen the process may load BPF programs and the kernel has BTF. auto uses BPF on systems with many\ntasks (the program load costs tens of milliseconds once per process) or once it is loaded.')
      .option('json', { type: 'boolean', describe: 'Print {auto, bpf: {available, reason}} as JSON' }) as unknown as Argv<BackendArgs>,
  run: (argv) => {
    const status = { auto: backendInUse('auto'), bpf: bpfStatus() };
    if (argv.json) printJson(status);
    else printText(`auto: ${status.auto}\nbpf: ${status.bpf.available ? 'available' : `unavailable (${status.bpf.reason})`}\n`);
    return 0;
  },
});
