// The `ns` argument in its friendly forms: 'current', 'global', a path to a
// namespace file (e.g. /proc/PID/ns/pid), or an fd the caller already holds;
// and the CURRENT_* / GLOBAL sentinels they stand for.
import { closeSync, openSync } from 'node:fs';
import { native } from './binding.js';
import { IkcError } from './errors.js';

/** `ns` sentinel: the caller's own pid namespace. */
export const CURRENT_PIDNS: number = native.CURRENT_PIDNS;
/** `ns` sentinel: the caller's own network namespace. */
export const CURRENT_NETNS: number = native.CURRENT_NETNS;
/** `ns` sentinel: the initial namespace of the command's type. */
export const GLOBAL: number = native.GLOBAL;

export type NsArg = 'current' | 'global' | number | string;
export type NsKind = 'pid' | 'net';

/** The raw ns number for `ns`, and how to release it (paths are opened, then closed). */
function openNs(ns: NsArg | undefined, kind: NsKind): { raw: number; release: () => void } {
  const keep = (raw: number) => ({ raw, release: () => {} });
  if (ns === undefined || ns === 'current') return keep(kind === 'pid' ? CURRENT_PIDNS : CURRENT_NETNS);
  if (ns === 'global') return keep(GLOBAL);
  if (typeof ns === 'number') return keep(ns);
  try {
    const fd = openSync(ns, 'r');
    return { raw: fd, release: () => closeSync(fd) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new IkcError(e.code ?? 'EIO', `${e.code ?? 'EIO'}: cannot open namespace ${ns}: ${e.message}`);
  }
}

/** Calls `fn` with the raw ns number; a path's fd stays open until `fn` (sync or async) is done. */
export function withNs<T>(ns: NsArg | undefined, kind: NsKind, fn: (raw: number) => T): T {
  const { raw, release } = openNs(ns, kind);
  let result: T;
  try {
    result = fn(raw);
  } catch (err) {
    release();
    throw err;
  }
  if (result instanceof Promise) return result.finally(release) as T;
  release();
  return result;
}
