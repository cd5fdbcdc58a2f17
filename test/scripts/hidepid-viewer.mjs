// Run as root inside `unshare --mount`: mounts a fresh procfs with hidepid=2 at
// argv[2], drops to uid argv[3] / gid argv[4] in this very process, then lists
// what that procfs shows and what ikc's task_diag returns, as one JSON line.
// Same process, same credentials: the kernel and ikc answer the same viewer.
// With argv[5] (a broker socket), ikc's answer comes from the broker, asked
// after the drop, so the broker must find the lower rights by itself; argv[6]
// picks the backend the dumps read tasks from (auto, procfs, bpf).
// Everything it runs from the checkout (this file, @ikc/sdk and the native addon
// that binding.js requires at load) comes in through the static imports, so
// before the drop: the checkout may be closed to the new uid. Anything it would
// load after the drop must be a copy from reachable() (test/helpers/reachable.ts).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { BrokerClient, inProcess } from '@ikc/sdk';

const [mountpoint, uid, gid, broker, backend] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5] || undefined, process.argv[6] || 'auto'];
execFileSync('mount', ['-t', 'proc', '-o', 'hidepid=2', 'proc', mountpoint]);

process.setgroups([]);
process.setgid(gid);
process.setuid(uid);
const ikcClient = broker ? BrokerClient.connect(broker) : inProcess;

const numeric = (dir) => {
  try {
    return readdirSync(dir).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  } catch {
    return [];
  }
};
const procThreads = (pids) => pids.flatMap((p) => numeric(`${mountpoint}/${p}/task`).map((t) => `${p}/${t}`));

const before = numeric(mountpoint);
const threadsBefore = procThreads(before);
const ikc = ikcClient.taskDiagSync({ strategy: 'all', backend }).map((t) => t.pid);
const ikcThreads = ikcClient.taskDiagSync({ strategy: 'all-thread', backend }).map((t) => `${t.tgid}/${t.pid}`);
const after = numeric(mountpoint);
const threadsAfter = procThreads(after);
console.log(JSON.stringify({ self: process.pid, before, ikc, after, threadsBefore, ikcThreads, threadsAfter }));
