// Row S39 (SECURITY.md promise 39): argv is where secrets live, and CMDLINE shows
// it only with the task, under the hidepid=2 rule: another uid's argument
// vector never appears, in-process or through the broker. The oracle for the
// control is /proc itself: the viewer's own process shows its own secret.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { taskDiagSync } from '@ikc/sdk';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { killFixtures, ROOT, track } from '../helpers/fixture.js';
import { row } from '../helpers/security.js';

const isRoot = process.getuid?.() === 0;
const UID = 4718; // not 4715 (nor 4716): promises.test.ts compares uid 4715's view with a hidepid procfs while this file spawns processes that are mid-setuid
let broker: TestBroker;

beforeAll(async () => {
  if (isRoot) broker = await startBroker();
});
afterAll(async () => {
  killFixtures();
  await broker?.stop();
});

/** Runs an ES module snippet as root from ROOT (it drops itself); its last stdout line, as JSON. */
function node<T>(script: string): T {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

describe.skipIf(!isRoot)('S39: another uid\'s argv is never shown', () => {
  it('a root process\'s secret argument, dumped by an unprivileged uid in-process and through the broker', async () => {
    const secret = `ikc-secret-${randomBytes(8).toString('hex')}`;
    const victim = track(spawn('bash', ['-c', 'sleep 1000; :', 'victim', `--password=${secret}`], { stdio: 'ignore' })).pid!;
    for (let i = 0; i < 500 && !readFileSync(`/proc/${victim}/cmdline`, 'utf8').includes(secret); i++) await new Promise((r) => setTimeout(r, 10));
    const mine = `ikc-own-${randomBytes(8).toString('hex')}`;
    const out = node<Record<string, string>>(`
      import { inProcess, BrokerClient } from '@ikc/sdk';
      process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
      process.title = 'node ${mine}';
      const c = BrokerClient.connect(${JSON.stringify(broker.socket)});
      const show = ['base', 'cmdline', 'name', 'stat', 'ps'];
      const leaks = (tasks) => {
        const bytes = Buffer.concat(tasks.map((t) => t.cmdline ?? Buffer.alloc(0)));
        const victim = tasks.some((t) => t.pid === ${victim});
        return (bytes.includes(${JSON.stringify(secret)}) ? 'secret shown' : 'secret absent') + (victim ? ', victim listed' : ', victim hidden');
      };
      const own = (tasks) => tasks.find((t) => t.pid === process.pid)?.cmdline?.includes(${JSON.stringify(mine)}) ? 'own argv shown' : 'own argv missing';
      const one = (client) => { try { client.taskDiagSync({ strategy: 'one', pid: ${victim}, show }); return 'answered'; } catch (e) { return e.code; } };
      const r = {};
      for (const [where, client] of [['in-process', inProcess], ['broker', c]]) {
        r[where + ' all'] = leaks(client.taskDiagSync({ strategy: 'all', show }));
        r[where + ' all-thread'] = leaks(client.taskDiagSync({ strategy: 'all-thread', show }));
        r[where + ' one'] = one(client);
        r[where + ' own'] = own(client.taskDiagSync({ strategy: 'all', show }));
      }
      c.close();
      console.log(JSON.stringify(r));`);
    const asRoot = taskDiagSync({ strategy: 'one', pid: victim, show: ['cmdline'] })[0].cmdline?.includes(secret);
    row({ id: 'S39', scenario: 'control: root (CAP_SYS_PTRACE) asks ONE on that process with CMDLINE', expected: 'secret shown', observed: asRoot ? 'secret shown' : 'secret absent' });
    for (const where of ['in-process', 'broker']) {
      for (const s of ['all', 'all-thread']) {
        row({ id: 'S39', scenario: `uid ${UID} dumps ${s.toUpperCase()} with CMDLINE; root's process has a secret in argv (${where})`, expected: 'secret absent, victim hidden', observed: out[`${where} ${s}`] });
      }
      row({ id: 'S39', scenario: `uid ${UID} asks ONE on root's process with CMDLINE (${where})`, expected: 'ESRCH', observed: out[`${where} one`] });
      row({ id: 'S39', scenario: `control: uid ${UID}'s own argv in its ALL dump (${where})`, expected: 'own argv shown', observed: out[`${where} own`] });
    }
  });
});
