// The SDK's task_diag reader joins a task split over several messages with
// TASK_DIAG_FLAG_CONT, as the reference header defines and the core's
// parse_response does, and refuses a continuation that never comes or that
// names another task. Byte-level: the bytes are built here field by field.
import { describe, expect, it } from 'vitest';
import { DecodeError, parseTaskDiag, TaskDiagReader } from '@ikc/sdk';

const CMD_GET = 0xd101;
const NLM_F_MULTI = 0x2;

/** One TASK_DIAG_CMD_GET message: nlmsghdr, task_diag_msg, then the attributes. */
function message(pid: number, flags: number, attrs: Array<[type: number, payload: Buffer]>): Buffer {
  const body = Buffer.alloc(12);
  body.writeUInt32LE(pid, 0); // pid
  body.writeUInt32LE(pid, 4); // tgid
  body.writeUInt32LE(flags, 8); // flags
  const parts = [body];
  for (const [type, payload] of attrs) {
    const nla = Buffer.alloc(4 + payload.length + ((4 - (payload.length % 4)) % 4));
    nla.writeUInt16LE(4 + payload.length, 0); // nla_len
    nla.writeUInt16LE(type, 2); // nla_type
    payload.copy(nla, 4);
    parts.push(nla);
  }
  const payload = Buffer.concat(parts);
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + payload.length, 0); // nlmsg_len
  hdr.writeUInt16LE(CMD_GET, 4); // nlmsg_type
  hdr.writeUInt16LE(NLM_F_MULTI, 6); // nlmsg_flags
  hdr.writeUInt32LE(7, 8); // nlmsg_seq
  return Buffer.concat([hdr, payload]);
}

const done = () => {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0);
  b.writeUInt16LE(3, 4); // NLMSG_DONE
  b.writeUInt16LE(NLM_F_MULTI, 6);
  return b;
};

/** task_diag_base: tgid pid ppid tpid sid pgid, state, comm[16]. */
function base(pid: number, comm: string): Buffer {
  const b = Buffer.alloc(41);
  [pid, pid, 1, 0, pid, pid].forEach((v, i) => b.writeUInt32LE(v, i * 4));
  b[24] = 1; // S
  b.write(comm, 25);
  return b;
}

/** task_diag_creds: four capability sets, then uid euid suid fsuid gid egid sgid fsgid. */
function creds(uid: number): Buffer {
  const b = Buffer.alloc(64);
  for (let i = 0; i < 8; i++) b.writeUInt32LE(uid, 32 + i * 4);
  return b;
}

describe('TASK_DIAG_FLAG_CONT', () => {
  it('a task continued in a second message reads as one task', () => {
    const bytes = Buffer.concat([message(42, 1, [[0, base(42, 'long')]]), message(42, 0, [[1, creds(1000)], [40, Buffer.from([9, 9, 9, 9])]]), message(43, 0, [[0, base(43, 'next')]]), done()]);
    const tasks = parseTaskDiag(bytes);
    expect(tasks.map((t) => t.pid)).toEqual([42, 43]);
    expect(tasks[0].base?.comm).toBe('long');
    expect(tasks[0].creds?.uid).toBe(1000);
    expect(tasks[0].flags).toBe(0);
    expect(tasks[0].other).toEqual([{ type: 40, data: Buffer.from([9, 9, 9, 9]) }]);
    expect(tasks[1].creds).toBeUndefined();
  });

  it('the join works whatever the chunks the bytes arrive in', () => {
    const bytes = Buffer.concat([message(42, 1, [[0, base(42, 'long')]]), message(42, 0, [[1, creds(1000)]]), done()]);
    const reader = new TaskDiagReader();
    const got = [];
    for (let i = 0; i < bytes.length; i += 7) got.push(...reader.push(bytes.subarray(i, i + 7)));
    reader.finish();
    expect(got).toHaveLength(1);
    expect(got[0].creds?.uid).toBe(1000);
  });

  it('a continuation that never comes, or that names another task, is refused', () => {
    expect(() => parseTaskDiag(Buffer.concat([message(42, 1, [[0, base(42, 'x')]]), done()]))).toThrow(DecodeError);
    expect(() => parseTaskDiag(Buffer.concat([message(42, 1, [[0, base(42, 'x')]]), message(43, 0, []), done()]))).toThrow(DecodeError);
  });
});
