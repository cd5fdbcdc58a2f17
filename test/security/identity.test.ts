// Who a client is: attacks on the identity the broker (and ikc in-process)
// answers as. User-namespace root, rights raised after connecting (setuid
// exec, seteuid back to root, a thread that dropped alone), CAP_NET_ADMIN-only
// socket details, non-dumpable zombies and ancestor pid namespaces. The kernel
// is the oracle: a hidepid=2 procfs read by the very same identity, and the
// kernel's own sock_diag answer to an unprivileged caller.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { IKC, startBroker, type TestBroker } from '../helpers/broker.js';
import { killFixtures, ROOT, startProcess, track } from '../helpers/fixture.js';
import { row } from '../helpers/security.js';

const isRoot = process.getuid?.() === 0;
const UID = 4712;
let broker: TestBroker;
/** A directory every uid can reach and write, for programs and results. */
let work: string;

beforeAll(async () => {
  if (!isRoot) return;
  broker = await startBroker();
  work = mkdtempSync(join(tmpdir(), 'ikc-identity-'));
  chmodSync(work, 0o777);
  for (const prog of ['broker_identity', 'md5_listener']) {
    execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-pthread', `-I${ROOT}include`, '-o', join(work, prog), join(ROOT, `test/c/${prog}.c`)]);
  }
});
afterAll(async () => {
  killFixtures();
  await broker?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A root-owned process: visible to root only. */
function rootSleeper(): number {
  return track(spawn('sleep', ['1000'], { stdio: 'ignore' })).pid!;
}

interface View {
  /** What the hidepid=2 procfs showed this identity before and after ikc ran. */
  before: number[];
  after: number[];
  /** What ikc showed it, and ikc's own pid. */
  ikc: number[];
  ikcPid: number;
  error: string;
}

/**
 * Lists processes as `uid`, optionally inside a new user namespace (`userns`:
 * 'root' maps it to root there, as `unshare -Ur`; 'unmapped' maps nothing, so
 * every id reads as the overflow id), twice from a private hidepid=2 procfs and
 * once with `ikc ps -e` between (through the broker if given).
 */
function viewAs(uid: number, userns: 'none' | 'root' | 'unmapped', ikcArgs: string[]): View {
  const out = mkdtempSync(join(work, 'view-'));
  chmodSync(out, 0o777);
  const mnt = join(out, 'proc');
  execFileSync('mkdir', ['-m', '755', mnt]);
  const script = join(out, 'view.sh');
  execFileSync('sh', ['-c', `cat > ${script} <<'EOF'
m=$1; o=$2; shift 2
ls "$m" > "$o/before"
"$@" > "$o/ikc" 2> "$o/err" &
echo $! > "$o/ikcpid"
wait $!
ls "$m" > "$o/after"
EOF`]);
  const ns = userns === 'root' ? ['unshare', '-Ur'] : userns === 'unmapped' ? ['unshare', '-U'] : [];
  const inner = [...ns, 'sh', script, mnt, out, process.execPath, IKC, ...ikcArgs, 'ps', '-e', '-o', 'pid', '--no-headers'];
  execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t proc -o hidepid=2 proc "$0" && exec "$@"', mnt,
    'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...inner]);
  const nums = (f: string) => readFileSync(join(out, f), 'utf8').split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number);
  const view = { before: nums('before'), after: nums('after'), ikc: nums('ikc'), ikcPid: nums('ikcpid')[0], error: readFileSync(join(out, 'err'), 'utf8').trim() };
  rmSync(out, { recursive: true, force: true });
  return view;
}

/** "same as the kernel", or what ikc showed that the kernel hid and missed that it showed. */
function compare(v: View): string {
  if (v.error) return `error: ${v.error.split('\n')[0]}`;
  const kernel = new Set([...v.before, ...v.after, v.ikcPid]);
  const extra = v.ikc.filter((p) => !kernel.has(p));
  const missing = v.before.filter((p) => v.after.includes(p) && !v.ikc.includes(p));
  if (!extra.length && !missing.length) return 'same as the kernel';
  return `${extra.length} hidden shown (${extra.slice(0, 3).join(',')}), ${missing.length} shown missed`;
}

describe.skipIf(!isRoot)('identity (needs root: it runs a broker, users and namespaces)', () => {
  it('B1: root of a user namespace is nobody outside it, in-process and through the broker', () => {
    for (const [where, args] of [
      ['in-process', []],
      ['broker, procfs backend', ['--broker', broker.socket, '--backend', 'procfs']],
      ['broker, bpf backend', ['--broker', broker.socket, '--backend', 'bpf']],
    ] as const) {
      const v = viewAs(65534, 'root', [...args]);
      row({ id: 'B1', scenario: `uid 65534 as root of unshare -Ur lists processes (${where})`, expected: 'same as the kernel', observed: compare(v) });
    }
    // The host's processes stay out of sight even with an id match: 65534 here is 65534 outside.
    const sleeper = track(spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '1000'], { stdio: 'ignore' })).pid!;
    const v = viewAs(65534, 'root', ['--broker', broker.socket]);
    row({ id: 'B1', scenario: 'a uid-65534 process outside, asked for by uid 65534 as user-namespace root', expected: 'hidden', observed: v.ikc.includes(sleeper) ? 'shown' : 'hidden' });
  });

  it('B1: ids that do not map into the caller\'s namespace never match each other', () => {
    // uid 4712 in a user namespace with no mapping reads itself, and a uid-65534 process outside, as 65534.
    const nobody = track(spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '1000'], { stdio: 'ignore' })).pid!;
    const v = viewAs(UID, 'unmapped', []);
    row({ id: 'B1', scenario: 'uid 4712 in an unmapped user namespace (ids read as 65534) lists in-process', expected: 'same as the kernel', observed: compare(v) });
    row({ id: 'B1', scenario: 'a real uid-65534 process, to that overflow-65534 caller', expected: 'hidden', observed: v.ikc.includes(nobody) ? 'shown' : 'hidden' });
  });

  it('B2: rights on a connection may drop but never rise', async () => {
    const target = rootSleeper();
    const prog = join(work, 'broker_identity');
    const run = (args: string[], asUid?: number) => {
      const cmd = asUid === undefined ? [prog, ...args] : ['setpriv', `--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups', prog, ...args];
      const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 60_000 });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { replies: number[] }).replies : [];
    };
    const verdict = (replies: number[]) => {
      if (!replies.length) return 'no replies';
      const shown = replies.filter((r) => r === 1).length;
      const refused = replies.filter((r) => r < 0).length;
      return shown ? `root's process shown in ${shown}/${replies.length}` : refused ? `hidden (${refused} refused)` : 'hidden';
    };
    const exec = run(['rise-exec', broker.socket, String(target), '40'], 65534); // passwd needs a user it knows
    row({ id: 'B2', scenario: 'uid 65534 queues 40 dumps, then execs setuid-root passwd; a child reads the replies', expected: 'hidden', observed: verdict(exec) });
    const back = run(['seteuid-back', broker.socket, String(target), String(UID)]);
    row({ id: 'B2', scenario: 'root seteuid(4712), connects, seteuid(0) back, then asks', expected: 'hidden', observed: verdict(back) });
    const thread = run(['thread-drop', broker.socket, String(target), String(UID)]);
    row({ id: 'B2', scenario: 'one thread of a root process drops to 4712 alone, connects and asks', expected: 'hidden', observed: verdict(thread) });
    const control = run(['thread-drop', broker.socket, String(target), '0']);
    row({ id: 'B2', scenario: 'control: the same thread staying root connects and asks', expected: "root's process shown in 1/1", observed: verdict(control) });
  });

  it('B3: TCP-MD5 keys and socket marks stay with CAP_NET_ADMIN', async () => {
    const l = await startProcess(join(work, 'md5_listener'), []);
    const port = (l as unknown as { port: number }).port;
    // A raw dump asking for INET_DIAG_INFO, as `ss -i` does: TCP-MD5 keys come with it.
    const script = (asUid: number | null, viaBroker: boolean) => `
      import { inProcess, BrokerClient, CURRENT_NETNS, SOCK_DIAG, parseSockDiag, readResponseSync } from '@ikc/sdk';
      ${asUid === null ? '' : `process.setgroups([]); process.setgid(${asUid}); process.setuid(${asUid});`}
      const client = ${viaBroker ? `BrokerClient.connect(${JSON.stringify(broker.socket)})` : 'inProcess'};
      const req = Buffer.alloc(72);
      req.writeUInt32LE(72, 0); req.writeUInt16LE(20, 4); req.writeUInt16LE(0x301, 6); req.writeUInt32LE(1, 8);
      req[16] = 2; req[17] = 6; req[18] = 0x02; // AF_INET, TCP, ext: INET_DIAG_INFO
      req.writeUInt32LE(1 << 10, 20); // TCP_LISTEN
      req.writeUInt32LE(0xffffffff, 64); req.writeUInt32LE(0xffffffff, 68); // no cookie
      const fd = client.issueKernelCommand(CURRENT_NETNS, SOCK_DIAG, [req]);
      const bytes = readResponseSync(fd);
      const s = parseSockDiag(bytes, 2, 6).find((s) => s.sport === ${port});
      const types = (s?.other ?? []).map((a) => a.type);
      console.log(JSON.stringify({ found: !!s, md5: types.includes(18), mark: types.includes(15) }));`;
    const ask = (asUid: number | null, viaBroker: boolean) => {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script(asUid, viaBroker)], { encoding: 'utf8', cwd: ROOT });
      const r = JSON.parse(out) as { found: boolean; md5: boolean; mark: boolean };
      return !r.found ? 'socket not found' : r.md5 || r.mark ? `shown (${[r.md5 && 'MD5 key', r.mark && 'mark'].filter(Boolean).join(', ')})` : 'hidden';
    };
    row({ id: 'B3', scenario: 'control: root asks in-process for the listener with an MD5 key and a mark', expected: 'shown (MD5 key, mark)', observed: ask(null, false) });
    row({ id: 'B3', scenario: 'oracle: uid 4712 asks the kernel directly (in-process sock_diag)', expected: 'hidden', observed: ask(UID, false) });
    row({ id: 'B3', scenario: 'uid 4712 asks through the root broker', expected: 'hidden', observed: ask(UID, true) });
    row({ id: 'B3', scenario: 'root asks through the broker', expected: 'shown (MD5 key, mark)', observed: ask(null, true) });
  });

  it('B9: a non-dumpable zombie is hidden as hidepid=2 hides it; a dumpable one follows the kernel', async () => {
    // A zombie that dropped from root to UID before exiting (non-dumpable), and one that
    // ran as UID throughout (dumpable); their parents never reap them.
    const nodump = track(spawn('sh', ['-c', `${JSON.stringify(process.execPath)} -e "process.setgid(${UID}); process.setuid(${UID})" & exec sleep 1000`], { stdio: 'ignore' }));
    const dump = track(spawn('setpriv', [`--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', 'sh', '-c', 'true & exec sleep 1000'], { stdio: 'ignore' }));
    const zombieOf = async (parent: number) => {
      for (let i = 0; i < 500; i++) {
        const kids = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        const z = kids.find((k) => readFileSync(`/proc/${k}/stat`, 'utf8').includes(') Z '));
        if (z) return z;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('no zombie appeared');
    };
    const hiddenZombie = await zombieOf(nodump.pid!);
    const openZombie = await zombieOf(dump.pid!);
    for (const [where, args] of [
      ['in-process', []],
      ['broker, procfs backend', ['--broker', broker.socket, '--backend', 'procfs']],
      ['broker, bpf backend', ['--broker', broker.socket, '--backend', 'bpf']],
    ] as const) {
      const v = viewAs(UID, 'none', [...args]);
      const kernelShows = (p: number) => v.before.includes(p) && v.after.includes(p);
      const says = (p: number) => (v.ikc.includes(p) ? 'shown' : 'hidden');
      row({ id: 'B9', scenario: `non-dumpable zombie of uid 4712, to uid 4712 (${where})`, expected: kernelShows(hiddenZombie) ? 'shown' : 'hidden', observed: v.error ? `error: ${v.error}` : says(hiddenZombie) });
      // procfs cannot read an exited task's dumpability: the broker's procfs backend hides it (shows less, never more).
      const expected = where === 'broker, procfs backend' ? 'hidden' : kernelShows(openZombie) ? 'shown' : 'hidden';
      row({ id: 'B9', scenario: `dumpable zombie of uid 4712, to uid 4712 (${where})`, expected, observed: v.error ? `error: ${v.error}` : says(openZombie) });
    }
  });

  it('B10: an ancestor pid namespace is EPERM in-process and through the broker alike', () => {
    for (const [where, args] of [
      ['in-process', []],
      ['broker', ['--broker', broker.socket]],
    ] as const) {
      // A client in a child pid namespace names the initial one, through this test's own
      // process (/proc is still the host's: no --mount-proc).
      const r = spawnSync('unshare', ['--pid', '--fork', process.execPath, IKC, ...args, 'ps', '-e', '--ns', `/proc/${process.pid}/ns/pid`], { encoding: 'utf8' });
      const observed = r.status === 0 ? `answered (${r.stdout.split('\n').length - 2} processes)` : /EPERM/.test(r.stderr) ? 'EPERM' : `exit ${r.status}: ${r.stderr.trim().split('\n')[0]}`;
      row({ id: 'B10', scenario: `a client in a child pid namespace passes the initial one (${where})`, expected: 'EPERM', observed });
    }
  });
});
