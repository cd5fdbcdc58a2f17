// Bad input gets its documented errno, through the raw call and the SDK alike,
// sync, async and through a broker, and leaves nothing behind: the caller's
// count of open fds is unchanged. `.code` and `.errno` come from the binding's
// error itself, never from its message text.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrokerClient,
  CURRENT_NETNS,
  CURRENT_PIDNS,
  encodeTaskDiagRequest,
  GLOBAL,
  IkcError,
  issueKernelCommand,
  issueKernelCommandAsync,
  READ_ONLY,
  TASK_DIAG,
  taskDiag,
  taskDiagSync,
  type IkcClient,
  type TaskDiagOptions,
} from '@ikc/sdk';
import { startBroker, type TestBroker } from './helpers/broker.js';
import { closedFd, codeOf, ERRNO, outcomeOf } from './helpers/errno.js';
import { killFixtures, openFds, ROOT, startFixture } from './helpers/fixture.js';

const good = () => encodeTaskDiagRequest({ strategy: 'one', pid: process.pid });

/** A request with fields set by hand: [nlmsg_len, type, flags, show, strategy, pid]. */
function request(o: { len?: number; type?: number; flags?: number; show?: bigint; strategy?: bigint; pid?: number; extra?: number } = {}): Buffer {
  const b = Buffer.alloc(40 + (o.extra ?? 0));
  b.writeUInt32LE(o.len ?? b.length, 0);
  b.writeUInt16LE(o.type ?? 0xd101, 4);
  b.writeUInt16LE(o.flags ?? 0x301, 6);
  b.writeBigUInt64LE(o.show ?? 1n, 16);
  b.writeBigUInt64LE(o.strategy ?? 1n, 24);
  b.writeUInt32LE(o.pid ?? process.pid, 32);
  return b;
}

/** `b` with byte `at` set to 1. */
const dirty = (b: Buffer, at: number) => {
  b[at] = 1;
  return b;
};

/** One bad (or good) input: a raw call (`ns` a function when it must be made right before the call), or SDK options. */
type Input = { ns: number | (() => number); command: number; iov: Buffer[]; flags?: number } | { sdk: TaskDiagOptions };
type Case = [name: string, input: Input, code: string];

const raw = (ns: number | (() => number), command: number, iov: Buffer[], flags = 0): Input => ({ ns, command, iov, flags });

/** Every bad input and its code; `netns` and `file` are fds of a network namespace and of a regular file. */
function badInput(netns: number, file: number): Case[] {
  return [
    ['valid request', raw(CURRENT_PIDNS, TASK_DIAG, [good()]), 'OK'],
    ['valid request split across three buffers', raw(CURRENT_PIDNS, TASK_DIAG, [good().subarray(0, 3), good().subarray(3, 30), good().subarray(30)]), 'OK'],
    ['unknown command', raw(CURRENT_PIDNS, READ_ONLY | 0x7777, [good()]), 'EINVAL'],
    ['task_diag without the read-only bit', raw(CURRENT_PIDNS, TASK_DIAG & ~READ_ONLY, [good()]), 'EINVAL'],
    ['unknown flag', raw(CURRENT_PIDNS, TASK_DIAG, [good()], 4), 'EINVAL'],
    ['both backend flags', raw(CURRENT_PIDNS, TASK_DIAG, [good()], 3), 'EINVAL'],
    ['procfs backend flag', raw(CURRENT_PIDNS, TASK_DIAG, [good()], 1), 'OK'],
    ['high flag bit', raw(CURRENT_PIDNS, TASK_DIAG, [good()], 0x80000000), 'EINVAL'],
    ['network namespace fd', raw(netns, TASK_DIAG, [good()]), 'EINVAL'],
    ['CURRENT_NETNS for a pid command', raw(CURRENT_NETNS, TASK_DIAG, [good()]), 'EINVAL'],
    ['regular file as namespace', raw(file, TASK_DIAG, [good()]), 'EINVAL'],
    ['closed fd', raw(closedFd, TASK_DIAG, [good()]), 'EBADF'],
    ['negative fd that is no sentinel', raw(-1, TASK_DIAG, [good()]), 'EBADF'],
    ['no request at all', raw(CURRENT_PIDNS, TASK_DIAG, []), 'EINVAL'],
    ['truncated request', raw(CURRENT_PIDNS, TASK_DIAG, [good().subarray(0, 39)]), 'EINVAL'],
    ['header only', raw(CURRENT_PIDNS, TASK_DIAG, [good().subarray(0, 16)]), 'EINVAL'],
    ['nlmsg_len larger than the bytes', raw(CURRENT_PIDNS, TASK_DIAG, [request({ len: 400 })]), 'EINVAL'],
    ['trailing bytes after nlmsg_len', raw(CURRENT_PIDNS, TASK_DIAG, [request({ len: 40, extra: 8 })]), 'EINVAL'],
    ['task_diag_pid padded as the reference selftest pads it (28 bytes, zero tail)', raw(CURRENT_PIDNS, TASK_DIAG, [request({ extra: 4 })]), 'OK'],
    ['longer task_diag_pid, zero tail', raw(CURRENT_PIDNS, TASK_DIAG, [request({ extra: 8 })]), 'OK'],
    ['longer task_diag_pid, a non-zero byte in the tail', raw(CURRENT_PIDNS, TASK_DIAG, [dirty(request({ extra: 8 }), 45)]), 'E2BIG'],
    ['task_diag_pid whose own padding is not zero (ignored, as C leaves it)', raw(CURRENT_PIDNS, TASK_DIAG, [dirty(request(), 37)]), 'OK'],
    ['wrong nlmsg_type', raw(CURRENT_PIDNS, TASK_DIAG, [request({ type: 0x10 })]), 'EINVAL'],
    ['unknown nlmsg_flags', raw(CURRENT_PIDNS, TASK_DIAG, [request({ flags: 0x305 })]), 'EINVAL'],
    ['unknown show bit', raw(CURRENT_PIDNS, TASK_DIAG, [request({ show: 1n << 40n })]), 'EINVAL'],
    ['VMA group (defined, not implemented)', raw(CURRENT_PIDNS, TASK_DIAG, [request({ show: 4n })]), 'EOPNOTSUPP'],
    ['unknown strategy', raw(CURRENT_PIDNS, TASK_DIAG, [request({ strategy: 9n })]), 'EINVAL'],
    ['huge strategy', raw(CURRENT_PIDNS, TASK_DIAG, [request({ strategy: 1n << 63n })]), 'EINVAL'],
    ['ONE without a pid', raw(CURRENT_PIDNS, TASK_DIAG, [request({ pid: 0 })]), 'EINVAL'],
    ['pid that does not exist', raw(CURRENT_PIDNS, TASK_DIAG, [request({ pid: 4_000_000 })]), 'ESRCH'],
    ['huge request', raw(CURRENT_PIDNS, TASK_DIAG, [Buffer.alloc(1 << 20)]), 'EINVAL'],
    ['SDK: unknown strategy name', { sdk: { strategy: 'sideways' as never } }, 'EINVAL'],
    ['SDK: unknown group name', { sdk: { show: ['vma' as never] } }, 'EINVAL'],
    ['SDK: namespace path that does not exist', { sdk: { ns: '/nonexistent/ns/pid' } }, 'ENOENT'],
    ['SDK: net namespace path', { sdk: { ns: '/proc/self/ns/net' } }, 'EINVAL'],
  ];
}

type Calls = Pick<IkcClient, 'issueKernelCommand' | 'issueKernelCommandAsync' | 'taskDiagSync' | 'taskDiag'>;
/** This process, through the SDK's exported functions. */
const inProcessCalls: Calls = { issueKernelCommand, issueKernelCommandAsync, taskDiagSync, taskDiag };

const nsOf = (ns: number | (() => number)) => (typeof ns === 'function' ? ns() : ns);
/** The sync call for an input. */
const syncCall = (c: Calls, input: Input) => () =>
  'sdk' in input ? c.taskDiagSync(input.sdk) : c.issueKernelCommand(nsOf(input.ns), input.command, input.iov, input.flags);
/** The async call for an input: issueKernelCommandAsync, or taskDiag. */
const asyncCall = (c: Calls, input: Input) => () =>
  'sdk' in input ? c.taskDiag(input.sdk) : c.issueKernelCommandAsync(nsOf(input.ns), input.command, input.iov, input.flags);

/** Runs every case one after another; [name, 'CODE ERRNO'] for each. */
async function outcomes(cases: Case[], call: (input: Input) => () => unknown): Promise<string[][]> {
  const got: string[][] = [];
  for (const [name, input] of cases) got.push([name, await outcomeOf(call(input))]);
  return got;
}
const expected = (cases: Case[]) => cases.map(([name, , code]) => [name, `${code} ${ERRNO[code]}`]);

let dir: string;
let broker: TestBroker;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ikc-errors-'));
  broker = await startBroker();
});
afterAll(async () => {
  killFixtures();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('bad input', () => {
  it('each case gives its errno and no fd is left open', () => {
    const netns = openSync('/proc/self/ns/net', 'r');
    const file = openSync('/proc/self/stat', 'r');
    const fdsBefore = openFds().length;

    const cases = badInput(netns, file);
    const got = cases.map(([name, input]) => [name, codeOf(syncCall(inProcessCalls, input))]);
    expect(got).toEqual(cases.map(([name, , code]) => [name, code]));
    expect(openFds().length).toBe(fdsBefore);
    closeSync(netns);
    closeSync(file);
  });

  it('each case gives the same IkcError, code and errno exactly, sync and async, in-process and through a broker; no fd is left open', async () => {
    const netns = openSync('/proc/self/ns/net', 'r');
    const file = openSync('/proc/self/stat', 'r');
    const client = BrokerClient.connect(broker.socket);
    const cases = badInput(netns, file);
    await outcomes(cases.slice(0, 1), (input) => syncCall(client, input)); // the broker's first answer may open what it keeps
    const fdsBefore = openFds().length;
    // The broker drops that answer's response fd just after sending it (sooner or later
    // than this line, now that a pinned iterator makes the answer quick): count once it settles.
    let brokerFdsBefore = broker.fds();
    for (let same = 0, i = 0; same < 3 && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const n = broker.fds();
      same = n === brokerFdsBefore ? same + 1 : 0;
      brokerFdsBefore = n;
    }

    expect(await outcomes(cases, (input) => syncCall(inProcessCalls, input))).toEqual(expected(cases));
    expect(await outcomes(cases, (input) => asyncCall(inProcessCalls, input))).toEqual(expected(cases));
    expect(await outcomes(cases, (input) => syncCall(client, input))).toEqual(expected(cases));
    expect(await outcomes(cases, (input) => asyncCall(client, input))).toEqual(expected(cases));
    expect(openFds().length).toBe(fdsBefore);
    // The broker drops a response fd just after sending it: let its thread finish.
    for (let i = 0; i < 200 && broker.fds() !== brokerFdsBefore; i++) await new Promise((r) => setTimeout(r, 10));
    expect(broker.fds()).toBe(brokerFdsBefore);
    client.close();
    closeSync(netns);
    closeSync(file);
  });

  it('a closed broker connection is EBADF, sync and async', async () => {
    const client = BrokerClient.connect(broker.socket);
    client.close();
    expect(client.fd).toBe(-1);
    expect(await outcomeOf(syncCall(client, raw(CURRENT_PIDNS, TASK_DIAG, [good()])))).toBe('EBADF 9');
    expect(await outcomeOf(asyncCall(client, raw(CURRENT_PIDNS, TASK_DIAG, [good()])))).toBe('EBADF 9');
  });

  it('async calls reject with the same codes', async () => {
    await expect(issueKernelCommandAsync(CURRENT_NETNS, TASK_DIAG, [good()])).rejects.toMatchObject({ code: 'EINVAL', errno: 22 });
    await expect(taskDiag({ strategy: 'one', pid: 4_000_000 })).rejects.toMatchObject({ code: 'ESRCH', errno: 3 });
    await expect(taskDiag({ ns: 99999 })).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('GLOBAL works in the initial pid namespace and is EPERM from a child one', () => {
    expect(codeOf(syncCall(inProcessCalls, raw(GLOBAL, TASK_DIAG, [good()])))).toBe('OK');
    if (process.getuid?.() !== 0) return;
    const script = `
      import { GLOBAL, CURRENT_PIDNS, TASK_DIAG, issueKernelCommand, encodeTaskDiagRequest } from '@ikc/sdk';
      const req = encodeTaskDiagRequest({ strategy: 'all' });
      const out = {};
      for (const [name, ns] of [['global', GLOBAL], ['current', CURRENT_PIDNS]]) {
        try { issueKernelCommand(ns, TASK_DIAG, [req]); out[name] = 'OK'; } catch (e) { out[name] = e.code; }
      }
      console.log(JSON.stringify(out));`;
    const out = execFileSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    expect(JSON.parse(out)).toEqual({ global: 'EPERM', current: 'OK' });
  });
});

describe('codes come from the error, not its text', () => {
  it('namespace paths named "EPERM: ..." get their own codes, sync, async and through a broker', async () => {
    writeFileSync(join(dir, 'EPERM: not a namespace'), 'EPERM: not a namespace either\n');
    const cases: Case[] = [
      ['a path named "EPERM: ..." that does not exist', { sdk: { ns: join(dir, 'EPERM: no such namespace') } }, 'ENOENT'],
      ['a regular file named "EPERM: ..."', { sdk: { ns: join(dir, 'EPERM: not a namespace') } }, 'EINVAL'],
    ];
    const client = BrokerClient.connect(broker.socket);
    for (const calls of [inProcessCalls, client]) {
      expect(await outcomes(cases, (input) => syncCall(calls, input))).toEqual(expected(cases));
      expect(await outcomes(cases, (input) => asyncCall(calls, input))).toEqual(expected(cases));
    }
    client.close();
  });

  it('a broker whose message says EPERM but whose errno is EINVAL gives EINVAL 22, sync and async', async () => {
    const cases: Array<[errno: string, message: string, code: string, number: number]> = [
      ['22', 'EPERM: the text says EPERM, the errno says EINVAL', 'EINVAL', 22],
      // No errno name for 4000: the code is EUNKNOWN and the number still travels.
      ['4000', 'ESRCH: no such thing', 'EUNKNOWN', 4000],
    ];
    for (const [errno, message, code, number] of cases) {
      const socket = join(dir, `liar-${errno}.sock`);
      await startFixture(['broker-liar', socket, errno, message]);
      const client = BrokerClient.connect(socket);
      const calls: Array<() => unknown> = [
        syncCall(client, raw(CURRENT_PIDNS, TASK_DIAG, [good()])),
        asyncCall(client, raw(CURRENT_PIDNS, TASK_DIAG, [good()])),
        syncCall(client, { sdk: { strategy: 'one', pid: process.pid } }),
        asyncCall(client, { sdk: { strategy: 'one', pid: process.pid } }),
      ];
      for (const call of calls) {
        const err = await Promise.resolve().then(call).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(IkcError);
        expect(err).toMatchObject({ code, errno: number, message });
      }
      client.close();
    }
  });

  it("the binding's own errors carry code and errno as properties, thrown and rejected alike", async () => {
    const native = createRequire(import.meta.url)('@ikc/sdk/native') as typeof import('@ikc/sdk/native');
    let thrown: unknown;
    try {
      native.issueKernelCommand(CURRENT_NETNS, TASK_DIAG, [good()]);
    } catch (e) {
      thrown = e;
    }
    const rejected = await native.issueKernelCommandAsync(CURRENT_NETNS, TASK_DIAG, [good()]).catch((e: unknown) => e);
    for (const err of [thrown, rejected]) {
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(IkcError);
      expect(Object.hasOwn(err as object, 'code') && Object.hasOwn(err as object, 'errno')).toBe(true);
      expect(err).toMatchObject({ code: 'EINVAL', errno: 22 });
    }
  });
});
