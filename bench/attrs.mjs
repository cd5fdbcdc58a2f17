// npm run bench:attrs: what each attribute group costs a full dump at this
// machine's task count: ALL (processes) and ALL_THREAD with BASE, BASE+STAT+PS,
// and +CMDLINE+NAME, from procfs and (where it fills the groups) BPF, median of
// --reps in one run; and `ikc ps aux` against `ps aux` end to end.
// --procs N first starts N sleeping processes (each with a 200-byte argv), killed after.
//   node bench/attrs.mjs [--reps 7] [--procs 0]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { taskDiagSync } from '@ikc/sdk';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' }, procs: { type: 'string', default: '0' } } });
const reps = Number(values.reps);
const workload = [];
for (let i = 0; i < Number(values.procs); i++) workload.push(spawn('sleep', ['1000'], { stdio: 'ignore', argv0: 'sleeper-'.padEnd(200, 'x') }));
const cleanUp = () => workload.forEach((c) => c.kill('SIGKILL'));
process.on('exit', cleanUp);
if (workload.length) await new Promise((r) => setTimeout(r, 2000));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(fn) {
  fn(); // warm: the BPF program loads once per process
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ms);
}
const tasks = readFileSync('/proc/loadavg', 'utf8').split(' ')[3].split('/')[1];
console.log(`tasks on this machine: ${tasks}; median of ${reps}`);
const shows = { base: ['base'], '+stat,ps': ['base', 'stat', 'ps'], '+cmdline,name': ['base', 'stat', 'ps', 'cmdline', 'name'] };
const rows = [];
for (const strategy of ['all', 'all-thread']) {
  for (const [label, show] of Object.entries(shows)) {
    for (const backend of ['procfs', 'bpf']) {
      let ms;
      try {
        ms = time(() => taskDiagSync({ strategy, show, backend })).toFixed(1);
      } catch (e) {
        ms = e.code ?? String(e);
      }
      rows.push({ strategy, show: label, backend, ms });
    }
  }
}
for (const r of rows) console.log(`${r.strategy.padEnd(10)} ${r.show.padEnd(14)} ${r.backend.padEnd(6)} ${String(r.ms).padStart(9)} ms`);
const endToEnd = (cmd, args) => time(() => spawnSync(cmd, args, { stdio: 'ignore' })).toFixed(1);
const ikc = `${ROOT}packages/cli/bin/ikc.js`;
console.log(`ps aux ${endToEnd('ps', ['aux'])} ms; ikc ps aux ${endToEnd(process.execPath, [ikc, 'ps', 'aux'])} ms; ps -e ${endToEnd('ps', ['-e'])} ms; ikc ps -e ${endToEnd(process.execPath, [ikc, 'ps', '-e'])} ms`);
cleanUp();
process.exit(0);
