// The columns of `ikc ps`: procps's specifiers, headers, widths and alignment
// (from procps-ng's output.c), the -o parser, and procps's row layout. Pure:
// used by commands/ps.ts to pick columns and by output.ts to print them.
import { stateLetter, type BaseField, type ShowName, type Task } from '@ikc/sdk';
import { UsageError } from './command.js';
import { groupName, userName } from './names.js';
import * as f from './psfmt.js';

/** procps's justification codes: CF_RIGHT, CF_LEFT, CF_USER, CF_UNLIMITED. */
export type Just = 'right' | 'left' | 'user' | 'unlimited';

/** One task to print, with the thread count of its process. */
export interface Row {
  task: Task;
  nlwp: number;
}

type Cred = 'uid' | 'euid' | 'suid' | 'fsuid' | 'gid' | 'egid' | 'sgid' | 'fsgid';

interface Def {
  header: string;
  width: number;
  just: Just;
  /** Width follows /proc/sys/kernel/pid_max, as procps's CF_PIDMAX. */
  pidmax?: boolean;
  /** Reads the creds attribute (asked from the kernel only when needed). */
  cred?: Cred;
  /** Printed as a user or group name. */
  names?: 'user' | 'group';
  /** Needs the thread count of each process. */
  nlwp?: boolean;
  /** A text column cut to this many cells, as procps's fname. */
  maxCells?: number;
  /** The attribute groups beyond BASE (and CRED, see `cred`) its value reads. */
  needs?: readonly ShowName[];
  /** The one BASE number it prints, as `taskDiagColumns` reads it (no Task needed). */
  field?: BaseField;
  get: (r: Row) => number | string;
}

const base = (r: Row) => {
  if (!r.task.base) throw new Error('task_diag returned a task without its base attribute');
  return r.task.base;
};
const pidCol = (header: string, field: BaseField, get: (r: Row) => number): Def => ({ header, width: 5, just: 'right', pidmax: true, field, get });
const num = (header: string, cred: Cred): Def => ({ header, width: 5, just: 'right', cred, get: (r) => r.task.creds![cred] });
const name = (header: string, cred: Cred, names: 'user' | 'group'): Def => ({
  header, width: 8, just: 'user', cred, names, get: (r) => r.task.creds![cred],
});
/** The command name: the whole one (NAME: a kernel thread's or worker's may pass comm's 15 bytes). */
const comm = (header: string, width = 15, just: Just = 'unlimited', maxCells?: number): Def => ({
  header, width, just, maxCells, needs: ['name'], get: (r) => r.task.name ?? base(r).comm,
});

const stat = (header: string, width: number, just: Just, get: (t: Task) => number | string): Def => ({
  header, width, just, needs: ['stat', 'ps'], get: (r) => get(r.task),
});
const ps = (header: string, width: number, get: (t: Task) => number | string): Def => ({
  header, width, just: 'right', needs: ['ps'], get: (r) => get(r.task),
});
/** The name ps prints in brackets for a task without arguments: the whole one (NAME), else comm. */
const wholeName = (t: Task) => t.name ?? base({ task: t, nlwp: 1 }).comm;
/** procps's args: the arguments joined by spaces; `[name]` without any, `[name] <defunct>` for a zombie. */
function argsText(t: Task): string {
  const c = t.cmdline;
  if (base({ task: t, nlwp: 1 }).state === 6) return `[${wholeName(t)}] <defunct>`;
  if (!c || c.length === 0) return `[${wholeName(t)}]`;
  let end = c.length;
  while (end > 0 && c[end - 1] === 0) end--;
  // procps's read_unvectored: NULs and newlines become spaces (other control bytes '?' on output).
  return c.toString('utf8', 0, end).replace(/[\0\n]/g, ' ');
}
const args = (header: string): Def => ({ header, width: 27, just: 'unlimited', needs: ['cmdline', 'name'], get: (r) => argsText(r.task) });
const tty = (header: string): Def => ps(header, 8, (t) => f.ttyName(t.ps!.ttyNr));
const REALTIME = (policy: number) => policy === 1 || policy === 2;

const DEFS: Record<string, Def> = {
  pid: pidCol('PID', 'tgid', (r) => r.task.tgid),
  tgid: pidCol('TGID', 'tgid', (r) => r.task.tgid),
  ppid: pidCol('PPID', 'ppid', (r) => base(r).ppid),
  pgid: pidCol('PGID', 'pgid', (r) => base(r).pgid),
  pgrp: pidCol('PGRP', 'pgid', (r) => base(r).pgid),
  sid: pidCol('SID', 'sid', (r) => base(r).sid),
  sess: pidCol('SESS', 'sid', (r) => base(r).sid),
  session: pidCol('SESS', 'sid', (r) => base(r).sid),
  lwp: pidCol('LWP', 'pid', (r) => r.task.pid),
  tid: pidCol('TID', 'pid', (r) => r.task.pid),
  spid: pidCol('SPID', 'pid', (r) => r.task.pid),
  tpid: pidCol('TPID', 'tpid', (r) => base(r).tpid),
  nlwp: { header: 'NLWP', width: 4, just: 'right', nlwp: true, get: (r) => r.nlwp },
  thcount: { header: 'THCNT', width: 5, just: 'right', nlwp: true, get: (r) => r.nlwp },
  state: { header: 'S', width: 1, just: 'left', get: (r) => stateLetter(base(r).state) },
  s: { header: 'S', width: 1, just: 'left', get: (r) => stateLetter(base(r).state) },
  comm: comm('COMMAND'),
  ucomm: comm('COMMAND'),
  ucmd: comm('CMD'),
  fname: comm('COMMAND', 8, 'left', 8),
  uid: num('UID', 'euid'),
  euid: num('EUID', 'euid'),
  ruid: num('RUID', 'uid'),
  suid: num('SUID', 'suid'),
  svuid: num('SVUID', 'suid'),
  fsuid: num('FSUID', 'fsuid'),
  fuid: num('FUID', 'fsuid'),
  gid: num('GID', 'egid'),
  egid: num('EGID', 'egid'),
  rgid: num('RGID', 'gid'),
  sgid: num('SGID', 'sgid'),
  svgid: num('SVGID', 'sgid'),
  fsgid: num('FSGID', 'fsgid'),
  fgid: num('FGID', 'fsgid'),
  user: name('USER', 'euid', 'user'),
  euser: name('EUSER', 'euid', 'user'),
  uname: name('USER', 'euid', 'user'),
  ruser: name('RUSER', 'uid', 'user'),
  suser: name('SUSER', 'suid', 'user'),
  svuser: name('SVUSER', 'suid', 'user'),
  fuser: name('FUSER', 'fsuid', 'user'),
  fsuser: name('FSUSER', 'fsuid', 'user'),
  group: name('GROUP', 'egid', 'group'),
  egroup: name('EGROUP', 'egid', 'group'),
  rgroup: name('RGROUP', 'gid', 'group'),
  sgroup: name('SGROUP', 'sgid', 'group'),
  svgroup: name('SVGROUP', 'sgid', 'group'),
  fgroup: name('FGROUP', 'fsgid', 'group'),
  fsgroup: name('FSGROUP', 'fsgid', 'group'),
  args: args('COMMAND'),
  command: args('COMMAND'),
  cmd: args('CMD'),
  tty: { ...tty('TT'), just: 'left' },
  tt: { ...tty('TT'), just: 'left' },
  tname: { ...tty('TTY'), just: 'left' },
  tpgid: ps('TPGID', 5, (t) => (t.ps!.tpgid === 0 ? -1 : t.ps!.tpgid)),
  vsz: ps('VSZ', 6, (t) => Math.floor(t.ps!.vsize / 1024)),
  vsize: ps('VSZ', 6, (t) => Math.floor(t.ps!.vsize / 1024)),
  sz: ps('SZ', 5, (t) => Math.floor(t.ps!.vsize / 4096)),
  rss: ps('RSS', 5, (t) => Math.floor(t.ps!.rss / 1024)),
  rssize: ps('RSS', 5, (t) => Math.floor(t.ps!.rss / 1024)),
  rsz: ps('RSZ', 5, (t) => Math.floor(t.ps!.rss / 1024)),
  '%mem': ps('%MEM', 4, (t) => f.pmem(t)),
  pmem: ps('%MEM', 4, (t) => f.pmem(t)),
  '%cpu': stat('%CPU', 4, 'right', (t) => f.pcpu(t)),
  pcpu: stat('%CPU', 4, 'right', (t) => f.pcpu(t)),
  c: stat('C', 2, 'right', (t) => f.cpuC(t)),
  time: stat('TIME', 8, 'right', (t) => f.cpuTime(f.cpuTicks(t))),
  cputime: stat('TIME', 8, 'right', (t) => f.cpuTime(f.cpuTicks(t))),
  bsdtime: stat('TIME', 6, 'right', (t) => f.bsdTime(f.cpuTicks(t))),
  cputimes: stat('TIME', 6, 'right', (t) => Math.floor(f.cpuTicks(t) / f.HZ)),
  times: stat('TIME', 6, 'right', (t) => Math.floor(f.cpuTicks(t) / f.HZ)),
  etime: ps('ELAPSED', 11, (t) => f.elapsedTime(f.elapsed(t))),
  etimes: ps('ELAPSED', 7, (t) => Math.floor(f.elapsed(t))),
  start: ps('STARTED', 8, (t) => f.startText(f.startEpoch(t))),
  start_time: ps('START', 5, (t) => f.stimeText(f.startEpoch(t))),
  stime: ps('STIME', 5, (t) => f.stimeText(f.startEpoch(t))),
  lstart: ps('STARTED', 24, (t) => f.lstartText(f.startEpoch(t))),
  stat: stat('STAT', 4, 'left', (t) => f.statText(t, stateLetter(t.base!.state))),
  ni: ps('NI', 3, (t) => (t.ps!.policy === 0 || t.ps!.policy === 3 ? t.ps!.nice : '-')),
  nice: ps('NI', 3, (t) => (t.ps!.policy === 0 || t.ps!.policy === 3 ? t.ps!.nice : '-')),
  pri: ps('PRI', 3, (t) => 39 - t.ps!.priority),
  psr: ps('PSR', 3, (t) => t.ps!.processor),
  cls: ps('CLS', 3, (t) => f.schedClass(t.ps!.policy)),
  class: ps('CLS', 3, (t) => f.schedClass(t.ps!.policy)),
  policy: ps('POL', 3, (t) => f.schedClass(t.ps!.policy)),
  rtprio: ps('RTPRIO', 6, (t) => (REALTIME(t.ps!.policy) ? t.ps!.rtPriority : '-')),
  f: ps('F', 1, (t) => ((t.ps!.flags >>> 6) & 0x7).toString(16)),
  flags: ps('F', 1, (t) => ((t.ps!.flags >>> 6) & 0x7).toString(16)),
  minflt: stat('MINFLT', 6, 'right', (t) => t.stat!.minflt),
  min_flt: stat('MINFL', 6, 'right', (t) => t.stat!.minflt),
  majflt: stat('MAJFLT', 6, 'right', (t) => t.stat!.majflt),
  maj_flt: stat('MAJFL', 6, 'right', (t) => t.stat!.majflt),
};

/** Every column ikc ps can print. */
export const SUPPORTED_COLUMNS: readonly string[] = Object.keys(DEFS);

/** ps columns whose data task_diag does not carry, with what is missing. */
const MISSING: Record<string, string> = {
  wchan: 'wait channels', exe: 'the executable path', cgroup: 'cgroups', label: 'security labels',
  opri: 'the -l priority', addr: 'the -l address', drs: 'memory segment sizes', trs: 'memory segment sizes',
};

/** One column of a chosen format: the spec as typed, its header and width. */
export interface Column {
  spec: string;
  header: string;
  width: number;
  just: Just;
  def: Def;
}

/** The error for a spec ikc cannot print. */
function unsupported(spec: string): UsageError {
  const why = MISSING[spec];
  const head = why
    ? `column '${spec}' is not available: task_diag does not report ${why}`
    : `unknown column '${spec}'`;
  return new UsageError(`${head} (supported: ${SUPPORTED_COLUMNS.join(', ')})`);
}

/** Parses ps -o lists: comma or space separated `spec[:width][=header]`. */
export function parseFormat(lists: readonly string[], pidDigits: number): Column[] {
  const columns: Column[] = [];
  for (const item of lists.flatMap((l) => l.split(/[\s,]+/)).filter((s) => s !== '')) {
    const eq = item.indexOf('=');
    const specWidth = eq < 0 ? item : item.slice(0, eq);
    const override = eq < 0 ? undefined : item.slice(eq + 1);
    const [spec, widthText] = specWidth.split(':', 2);
    const def = Object.hasOwn(DEFS, spec) ? DEFS[spec] : undefined;
    if (!def) throw unsupported(spec);
    let width = def.pidmax ? Math.max(pidDigits, def.header.length) : def.width;
    if (widthText !== undefined) {
      if (!/^[0-9]+$/.test(widthText) || Number(widthText) === 0) {
        throw new UsageError(`column widths must be unsigned decimal numbers (in '${item}')`);
      }
      width = Number(widthText);
    }
    const header = override ?? def.header;
    columns.push({ spec, header, width: Math.max(width, override?.length ?? 0), just: def.just, def });
  }
  if (columns.length === 0) throw new UsageError('empty format list');
  return columns;
}

/** The BASE fields of the columns when every one prints a BASE number (so rows need no Task), else undefined. */
export function baseFields(cols: readonly Column[]): BaseField[] | undefined {
  const fields = cols.map((c) => c.def.field);
  return fields.every((f): f is BaseField => f !== undefined) ? fields : undefined;
}

export const needsCreds = (cols: readonly Column[]) => cols.some((c) => c.def.cred !== undefined);
export const needsNlwp = (cols: readonly Column[]) => cols.some((c) => c.def.nlwp === true);
/** The attribute groups beyond BASE and CRED the columns read. */
export const groupsNeeded = (cols: readonly Column[]): ShowName[] => [...new Set(cols.flatMap((c) => c.def.needs ?? []))];

/** The value of a column for --json: numbers stay numbers, names are strings. */
export function jsonValue(col: Column, row: Row): number | string {
  const v = col.def.get(row);
  if (col.def.names && typeof v === 'number') return (col.def.names === 'user' ? userName(v) : groupName(v)) ?? String(v);
  return v;
}

// procps escapes what it prints: non-printable characters become '?', and in a
// locale that is not UTF-8 so does every byte outside ASCII.
const UTF8 = /utf-?8/i.test(process.env.LC_ALL || process.env.LC_CTYPE || process.env.LANG || '');
function escapeText(s: string): string {
  if (!UTF8) return Buffer.from(s, 'utf8').toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  return s.replace(/[\x00-\x1f\x7f-\x9f\ufffd]/g, '?');
}
const cells = (s: string) => [...s].length;
const cut = (s: string, n: number) => [...s].slice(0, Math.max(0, n)).join('');

/** procps's do_pr_name: the name if it fits, else cut with '+', else the number. */
function nameText(label: string | undefined, id: number, maxRight: number): string {
  if (label !== undefined) {
    const escaped = escapeText(label);
    if (cells(escaped) <= maxRight) return escaped;
    const chars = [...escaped];
    if (maxRight >= 1 && chars[maxRight - 1].charCodeAt(0) < 127) return chars.slice(0, maxRight - 1).join('') + '+';
  }
  return String(id >>> 0);
}

/** The text procps prints for a cell, given the room procps allows it. */
export function cellText(col: Column, row: Row, maxRight: number): string {
  const v = col.def.get(row);
  if (col.def.names && typeof v === 'number') {
    return nameText(col.def.names === 'user' ? userName(v) : groupName(v), v, maxRight);
  }
  if (typeof v === 'number') return String(col.def.cred ? v | 0 : v);
  return cut(escapeText(v), Math.min(maxRight, col.def.maxCells ?? Infinity));
}

/** procps's OUTBUF_SIZE, the width of a line when the screen is unlimited. */
export const OUTBUF_SIZE = 2 * 64 * 1024;
const SPACE_AMOUNT = 144;

/** procps's check_header_width: the smallest multiple of the screen that fits the columns. */
export function activeColumns(cols: readonly Column[], screenCols: number): number {
  let total = 0;
  cols.forEach((c, i) => {
    total += c.just === 'unlimited' && i === cols.length - 1 ? 3 : c.width;
    if (i > 0) total += 1;
  });
  let active = screenCols;
  for (let i = 1; ; i++) {
    active = screenCols * i;
    if (active >= total || active >= OUTBUF_SIZE / 2) return active;
  }
}

/**
 * procps's show_one_proc: lays out one line. A column that overflows pushes the
 * next ones right, and they take the room back where they can; the last column
 * is not padded on the right. `text` gets the room a cell may use.
 */
export function layoutLine(cols: readonly Column[], text: (c: Column, maxRight: number) => string, activeCols: number): string {
  let correct = 0;
  let actual = 0;
  let dospace = 0;
  let line = '';
  for (let i = 0; i < cols.length; i++) {
    const col = cols[i];
    const last = i === cols.length - 1;
    let tmpspace = 0;
    let maxRight = col.width;
    if (last) {
      tmpspace = correct - actual;
      if (tmpspace < 1) {
        tmpspace = dospace;
        maxRight = activeCols - actual - tmpspace;
      } else {
        maxRight = activeCols - Math.max(correct, actual);
      }
    }
    maxRight = Math.min(Math.max(maxRight, 0), OUTBUF_SIZE - 1);
    let s = text(col, maxRight);
    const amount = cells(s);
    if (col.just === 'unlimited' && activeCols - actual - tmpspace < 1) s = cut(s, 1);
    const leftpad = col.just === 'right' ? Math.max(0, col.width - amount) : 0;
    let space = correct - actual + leftpad;
    if (space < 1) space = dospace;
    space = Math.min(space, SPACE_AMOUNT);
    line += ' '.repeat(space) + s;
    actual += space + amount;
    correct += col.width + 1;
    dospace = 1;
  }
  return line;
}

/** The header line, or undefined when every header is blank (procps prints none then). */
export function headerLine(cols: readonly Column[], activeCols: number): string | undefined {
  if (cols.every((c) => c.header === '')) return undefined;
  return layoutLine(cols, (c) => c.header, activeCols);
}

/** One data line. */
export function rowLine(cols: readonly Column[], row: Row, activeCols: number): string {
  return layoutLine(cols, (c, maxRight) => cellText(c, row, maxRight), activeCols);
}
