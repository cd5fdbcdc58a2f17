// The netlink reader of the SDK: turns task_diag response bytes into typed Task
// objects. The wire layout is documented in docs/wire-format.md; the TypeScript
// types of the attribute structs are generated from the Rust definitions.
import { endianness } from 'node:os';
import type { TaskBase } from './generated/TaskBase.js';
import type { TaskCreds } from './generated/TaskCreds.js';

export type { TaskBase, TaskCreds };

export const NLMSG_HEADER_LEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const TASK_DIAG_CMD_GET = 0xd101;
export const TASK_DIAG_MSG_LEN = 12;
export const TASK_DIAG_BASE = 0;
export const TASK_DIAG_CRED = 1;
const BASE_FIELDS_LEN = 41;
const CREDS_LEN = 64;

/** One task of a task_diag dump. `base`/`creds` are present when asked for. */
export interface Task {
  pid: number;
  tgid: number;
  flags: number;
  base?: TaskBase;
  creds?: TaskCreds;
  /** Attributes this SDK version does not know, by nla_type. */
  other?: Array<{ type: number; data: Buffer }>;
}

/** Thrown when response bytes are not a well-formed task_diag stream. */
export class DecodeError extends Error {
  readonly code = 'EBADMSG';
}

// Netlink is native-endian.
const LE = endianness() === 'LE';
const u16 = (b: Buffer, o: number) => (LE ? b.readUInt16LE(o) : b.readUInt16BE(o));
const u32 = (b: Buffer, o: number) => (LE ? b.readUInt32LE(o) : b.readUInt32BE(o));
const caps = (b: Buffer, o: number) => BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n);
const align4 = (n: number) => (n + 3) & ~3;

function parseBase(b: Buffer, o: number): TaskBase {
  let end = o + 25;
  const limit = o + 41;
  while (end < limit && b[end] !== 0) end++;
  return {
    tgid: u32(b, o),
    pid: u32(b, o + 4),
    ppid: u32(b, o + 8),
    tpid: u32(b, o + 12),
    sid: u32(b, o + 16),
    pgid: u32(b, o + 20),
    state: b[o + 24],
    comm: b.toString('utf8', o + 25, end),
  };
}

function parseCreds(b: Buffer, o: number): TaskCreds {
  return {
    capInheritable: caps(b, o),
    capPermitted: caps(b, o + 8),
    capEffective: caps(b, o + 16),
    capBset: caps(b, o + 24),
    uid: u32(b, o + 32),
    euid: u32(b, o + 36),
    suid: u32(b, o + 40),
    fsuid: u32(b, o + 44),
    gid: u32(b, o + 48),
    egid: u32(b, o + 52),
    sgid: u32(b, o + 56),
    fsgid: u32(b, o + 60),
  };
}

/** Parses one TASK_DIAG_CMD_GET message whose payload spans [start, end). */
function parseTask(b: Buffer, start: number, end: number): Task {
  if (end - start < TASK_DIAG_MSG_LEN) throw new DecodeError('task_diag_msg truncated');
  const task: Task = { pid: u32(b, start), tgid: u32(b, start + 4), flags: u32(b, start + 8) };
  let o = start + TASK_DIAG_MSG_LEN;
  while (o < end) {
    if (end - o < 4) throw new DecodeError('attribute header truncated');
    const len = u16(b, o);
    const type = u16(b, o + 2);
    if (len < 4 || o + len > end) throw new DecodeError(`nla_len ${len} out of range`);
    const payload = len - 4;
    if (type === TASK_DIAG_BASE) {
      if (payload < BASE_FIELDS_LEN) throw new DecodeError('task_diag_base truncated');
      task.base = parseBase(b, o + 4);
    } else if (type === TASK_DIAG_CRED) {
      if (payload < CREDS_LEN) throw new DecodeError('task_diag_creds truncated');
      task.creds = parseCreds(b, o + 4);
    } else {
      (task.other ??= []).push({ type, data: Buffer.from(b.subarray(o + 4, o + len)) });
    }
    o += align4(len);
  }
  return task;
}

/**
 * Incremental reader: feed it chunks, it yields every complete task. `done`
 * becomes true at NLMSG_DONE; bytes after it are ignored.
 */
export class TaskDiagReader {
  private pending: Buffer = Buffer.alloc(0);
  done = false;

  *push(chunk: Buffer): Generator<Task> {
    let b = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let o = 0;
    while (!this.done && b.length - o >= NLMSG_HEADER_LEN) {
      const len = u32(b, o);
      const type = u16(b, o + 4);
      if (len < NLMSG_HEADER_LEN) throw new DecodeError(`nlmsg_len ${len} shorter than its header`);
      if (b.length - o < len) break;
      if (type === NLMSG_DONE) {
        this.done = true;
      } else if (type === NLMSG_ERROR) {
        const errno = len >= 20 ? -(LE ? b.readInt32LE(o + 16) : b.readInt32BE(o + 16)) : 0;
        throw new DecodeError(`response carries NLMSG_ERROR (errno ${errno})`);
      } else if (type === TASK_DIAG_CMD_GET) {
        yield parseTask(b, o + NLMSG_HEADER_LEN, o + len);
      } else {
        throw new DecodeError(`unexpected nlmsg_type 0x${type.toString(16)}`);
      }
      o += Math.min(align4(len), b.length - o);
    }
    this.pending = Buffer.from(b.subarray(o));
  }

  /** Call after the last chunk: a stream must end with NLMSG_DONE. */
  finish(): void {
    if (!this.done) throw new DecodeError('response ends without NLMSG_DONE');
  }
}

/** Parses a whole response. */
export function parseTaskDiag(bytes: Buffer): Task[] {
  const reader = new TaskDiagReader();
  const tasks = [...reader.push(bytes)];
  reader.finish();
  return tasks;
}
