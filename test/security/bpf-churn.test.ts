// Security rows: BPF dumps raced by fork/exec/exit churn. Storm processes
// (ikc-fixture churn) create and reap threads and children, some exec'ing
// `true`, as fast as they can, while ALL and ALL_THREAD dumps run through the
// BPF backend. Every dump must succeed, hold only well-formed records, and hold
// every task of the long-lived processes started before it and alive after.
// The light row runs under `npm test`; the heavy one (thousands of dumps) under
// `npm run security`. crates/ikc-core/tests/bpf_churn.rs also runs the storm
// inside a fresh pid namespace, where new pids always land above the walk's end.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, it } from 'vitest';
import { TaskState, taskDiagSync, type Task } from '@ikc/sdk';
import { FIXTURE, killFixtures, startFixture, startProcess, threadIds } from '../helpers/fixture.js';
import { figure, FULL, row } from '../helpers/security.js';

const canBpf = process.getuid?.() === 0 && existsSync('/sys/kernel/btf/vmlinux');
const STORMS = 3;

afterAll(killFixtures);

const forks = (): number => Number(/^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);

/** Why a dump is not well formed (ids, order, a task twice), or undefined. */
function malformed(tasks: Task[], threads: boolean): string | undefined {
  const seen = new Set<number>();
  let prev: Task | undefined;
  for (const t of tasks) {
    const b = t.base;
    if (!b || t.pid <= 0 || t.tgid <= 0 || b.pid !== t.pid || b.tgid !== t.tgid || (!threads && t.pid !== t.tgid) || b.state >= TaskState.length) {
      return `record ${JSON.stringify(t)}`;
    }
    if (seen.has(t.pid)) return `pid ${t.pid} twice`;
    seen.add(t.pid);
    if (prev && (prev.tgid > t.tgid || (prev.tgid === t.tgid && prev.pid > t.pid))) return `out of order at ${t.pid}`;
    prev = t;
  }
  return undefined;
}

async function storm(dumps: number, id: string): Promise<void> {
  // Long-lived: a threaded process and a small tree, started before the storm.
  const threaded = await startFixture(['threads', '3', 'churnlive']);
  const tree = await startFixture(['tree', '2']);
  const leaders = [threaded.pid, tree.pid, ...tree.children!];
  const threadsLived = [...threadIds(threaded), tree.pid, ...tree.children!];
  const forksBefore = forks();
  for (let i = 0; i < STORMS; i++) await startProcess(FIXTURE, ['churn']);

  let failed = 0;
  let bad = 0;
  let missing = 0;
  const firsts: string[] = [];
  const note = (s: string) => firsts.length < 5 && firsts.push(s);
  const start = performance.now();
  for (let i = 0; i < dumps; i++) {
    const threads = i % 2 === 1;
    let tasks: Task[];
    try {
      tasks = taskDiagSync({ strategy: threads ? 'all-thread' : 'all', backend: 'bpf' });
    } catch (e) {
      failed++;
      note(`dump ${i}: ${(e as Error).message}`);
      continue;
    }
    const why = malformed(tasks, threads);
    if (why) {
      bad++;
      note(`dump ${i}: malformed: ${why}`);
    }
    const pids = new Set(tasks.map((t) => t.pid));
    const gone = (threads ? threadsLived : leaders).filter((p) => !pids.has(p));
    if (gone.length) {
      missing++;
      note(`dump ${i}: long-lived ${gone.join(',')} missing`);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const churned = forks() - forksBefore;
  const died = threadsLived.filter((p) => !existsSync(`/proc/${p}`));
  killFixtures();
  figure(`${id} BPF dumps under churn`, `${dumps} dumps in ${seconds.toFixed(1)} s, ${churned} forks meanwhile, ${STORMS} storms${firsts.length ? '; ' + firsts.join('; ') : ''}`);
  row({
    id,
    scenario: `${dumps} ALL/ALL_THREAD BPF dumps during fork/exec/exit churn (${STORMS} storms)`,
    expected: '0 failed, 0 malformed, 0 missing',
    observed: `${failed} failed, ${bad} malformed, ${missing} missing${churned > dumps ? '' : ` (only ${churned} forks)`}${died.length ? ` (${died.join(',')} died)` : ''}`,
  });
}

describe.skipIf(!canBpf)('BPF dumps under fork/exec/exit churn (needs root and kernel BTF)', () => {
  it('a few hundred dumps: none fails, none is malformed, none misses a long-lived task', async () => {
    await storm(200, 'S27');
  });

  it.skipIf(!FULL)('thousands of dumps, every one checked', async () => {
    await storm(5000, 'S27');
  }, 600_000);
});
