// hidepid=2 semantics: an unprivileged caller sees through ikc exactly what a
// fresh procfs mounted with hidepid=2 shows the same caller. The kernel is the
// oracle; the fixture makes processes on each side of every rule.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { IkcError, taskDiagSync } from '@ikc/sdk';
import { killFixtures, ROOT, startFixture } from './helpers/fixture.js';
import { expectSameAsKernel, runViewer } from './helpers/hidepid.js';

afterAll(killFixtures);

const VIEWER_UID = 4711;
const VIEWER_GID = 4711;
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('hidepid=2 visibility (needs root to mount procfs and switch uid)', () => {
  it('an unprivileged caller sees exactly what a hidepid=2 procfs shows it', async () => {
    const visible = await startFixture(['cred', String(VIEWER_UID), String(VIEWER_GID)]);
    const nodump = await startFixture(['cred', String(VIEWER_UID), String(VIEWER_GID), 'nodump']);
    const setuidLike = await startFixture(['cred', String(VIEWER_UID), String(VIEWER_GID), 'euid=0']);
    const setgidLike = await startFixture(['cred', String(VIEWER_UID), String(VIEWER_GID), 'egid=0']);
    const moreCaps = await startFixture(['cred', String(VIEWER_UID), String(VIEWER_GID), 'keepcap']);
    const otherUser = await startFixture(['cred', String(VIEWER_UID + 1), String(VIEWER_GID)]);
    const threaded = await startFixture(['threads', '2', 'hp'], { uid: VIEWER_UID, gid: VIEWER_GID });

    const r = runViewer(VIEWER_UID, VIEWER_GID);
    expectSameAsKernel(r);

    // And the rules each fixture stands for, so the comparison cannot pass vacuously.
    expect(r.ikc).toContain(r.self);
    expect(r.ikc).toContain(visible.pid);
    expect(r.ikc).toContain(threaded.pid);
    expect(r.ikcThreads).toContain(`${threaded.pid}/${threaded.tids![0]}`);
    for (const hidden of [nodump, setuidLike, setgidLike, moreCaps, otherUser]) {
      expect(r.ikc).not.toContain(hidden.pid);
      expect(r.before).not.toContain(hidden.pid);
    }
    expect(r.ikc).not.toContain(1);
  });

  it('root with CAP_SYS_PTRACE sees every process, hidden ones included', async () => {
    const nodump = await startFixture(['cred', String(VIEWER_UID), String(VIEWER_GID), 'nodump']);
    const all = taskDiagSync({ strategy: 'all' }).map((t) => t.pid);
    expect(all).toContain(1);
    expect(all).toContain(nodump.pid);
  });

  it('a hidden pid and a missing pid give the same ESRCH', async () => {
    const hidden = await startFixture(['cred', String(VIEWER_UID + 2), String(VIEWER_GID)]);
    const script = `
      import { taskDiagSync } from '@ikc/sdk';
      process.setgroups([]); process.setgid(${VIEWER_GID}); process.setuid(${VIEWER_UID});
      const codes = [${hidden.pid}, 4000000].map((pid) => {
        try { taskDiagSync({ strategy: 'one', pid }); return 'visible'; }
        catch (e) { return e.code + ' ' + e.message.replace(String(pid), 'PID'); }
      });
      console.log(JSON.stringify(codes));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT });
    const [hiddenAnswer, missingAnswer] = JSON.parse(out) as string[];
    expect(hiddenAnswer).toMatch(/^ESRCH /);
    expect(hiddenAnswer).toBe(missingAnswer);
    expect(() => taskDiagSync({ strategy: 'one', pid: hidden.pid })).not.toThrow(IkcError);
  });
});
