// Starts `ikc broker` as a separate process on a socket in a fresh directory
// every uid can reach, and stops it; counts its open fds for leak checks.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './fixture.js';
import { copyCli, reachableDir } from './reachable.js';

/** The `ikc` command to run with node: not the checkout's packages/cli/bin/ikc.js but
 *  its copy (with the bundle and the native addon it loads) in the run's reachable
 *  dir, made by test/setup.ts, so that it runs as any uid even when the checkout is
 *  closed to other users. */
export const IKC = copyCli(reachableDir(), ROOT);

export interface TestBroker {
  socket: string;
  process: ChildProcess;
  /** The broker's open fds now. */
  fds(): number;
  /** What the broker wrote on stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** `prefix`: a command the broker runs under (e.g. `setpriv ...`, `prlimit ...`). */
export async function startBroker(args: string[] = [], opts: { prefix?: string[] } = {}): Promise<TestBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'ikc-broker-'));
  chmodSync(dir, 0o755);
  const socket = join(dir, 'ikc.sock');
  const argv = [process.execPath, IKC, 'broker', '--socket', socket, '--mode', '666', '--log-level', 'warn', ...args];
  const [cmd, ...rest] = [...(opts.prefix ?? []), ...argv];
  const proc = spawn(cmd, rest, { stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 500 && !existsSync(socket); i++) {
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!existsSync(socket)) throw new Error(`broker did not start: ${stderr}`);
  return {
    socket,
    process: proc,
    fds: () => readdirSync(`/proc/${proc.pid}/fd`).length,
    stderr: () => stderr,
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
