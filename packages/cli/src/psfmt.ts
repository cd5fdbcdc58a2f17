// How procps 4 prints times, sizes, terminals and scheduling classes (output.c's
// pr_time, pr_etime, pr_start, pr_stime, pr_pcpu, pr_pmem, dev_to_tty), and the
// system figures they need, read once per run as ps reads them: uptime from
// /proc/uptime, the boot time from /proc/stat, the memory size from
// /proc/meminfo. Pure functions over those figures; used by columns.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Task } from '@ikc/sdk';

/** USER_HZ: the clock ticks task_diag_stat counts CPU time in. */
export const HZ = 100;

export interface SystemFigures {
  /** Seconds since boot (/proc/uptime), when the run started. */
  uptime: number;
  /** The boot time, seconds since the epoch (/proc/stat btime). */
  btime: number;
  /** Seconds since the epoch, when the run started. */
  now: number;
  /** MemTotal, KiB. */
  memTotalKb: number;
}

const text = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

let figures: SystemFigures | undefined;
/** The figures of this run, read at first use. */
export function system(): SystemFigures {
  if (!figures) {
    const uptime = Number(text('/proc/uptime').split(' ')[0]) || 0;
    const btime = Number(/^btime (\d+)/m.exec(text('/proc/stat'))?.[1] ?? 0);
    const memTotalKb = Number(/^MemTotal:\s+(\d+)/m.exec(text('/proc/meminfo'))?.[1] ?? 0);
    figures = { uptime, btime, now: Math.floor(Date.now() / 1000), memTotalKb };
  }
  return figures;
}

/** Seconds since the task started (procps TIME_ELAPSED). */
export function elapsed(t: Task, sys = system()): number {
  const start = Number(t.ps!.startTime / 10_000_000n) / HZ;
  return Math.max(0, sys.uptime - start);
}

/** The task's start, seconds since the epoch (procps: boot_time() + TIME_START). */
export function startEpoch(t: Task, sys = system()): number {
  return Math.floor(sys.btime + Number(t.ps!.startTime / 10_000_000n) / HZ);
}

/** CPU ticks used: utime + stime. */
export const cpuTicks = (t: Task) => t.stat!.utime + t.stat!.stime;

const two = (n: number) => String(n).padStart(2, '0');

/** pr_time: [DD-]HH:MM:SS of CPU time. */
export function cpuTime(ticks: number): string {
  const t = Math.floor(ticks / HZ);
  const dd = Math.floor(t / 86400);
  const hms = `${two(Math.floor(t / 3600) % 24)}:${two(Math.floor(t / 60) % 60)}:${two(t % 60)}`;
  return dd ? `${dd}-${hms}` : hms;
}

/** pr_bsdtime: MMM:SS of CPU time. */
export function bsdTime(ticks: number): string {
  const t = Math.floor(ticks / HZ);
  return `${Math.floor(t / 60)}:${two(t % 60)}`;
}

/** pr_etime: [[DD-]hh:]mm:ss. */
export function elapsedTime(seconds: number): string {
  let t = Math.floor(seconds);
  const ss = t % 60;
  t = Math.floor(t / 60);
  const mm = t % 60;
  t = Math.floor(t / 60);
  const hh = t % 24;
  const dd = Math.floor(t / 24);
  return `${dd ? `${dd}-` : ''}${dd || hh ? `${two(hh)}:` : ''}${two(mm)}:${two(ss)}`;
}

/** pr_pcpu: CPU time over elapsed time, in tenths of a percent (99.9 shows as 99.9, 123.4 as 123). */
export function pcpu(t: Task, sys = system()): string {
  const seconds = elapsed(t, sys);
  const permille = seconds ? Math.floor(Math.floor((cpuTicks(t) * 1000) / HZ) / seconds) : 0;
  return permille > 999 ? String(Math.floor(permille / 10)) : `${Math.floor(permille / 10)}.${permille % 10}`;
}

/** pr_c: CPU time over elapsed time in whole percent, at most 99. */
export function cpuC(t: Task, sys = system()): number {
  const seconds = elapsed(t, sys);
  const pct = seconds ? Math.floor(Math.floor((cpuTicks(t) * 100) / HZ) / seconds) : 0;
  return Math.min(pct, 99);
}

/** pr_pmem: resident size over MemTotal, in tenths of a percent, at most 99.9. */
export function pmem(t: Task, sys = system()): string {
  const permille = sys.memTotalKb ? Math.min(999, Math.floor(((t.ps!.rss / 1024) * 1000) / sys.memTotalKb)) : 0;
  return `${String(Math.floor(permille / 10)).padStart(2)}.${permille % 10}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** pr_start: HH:MM:SS within the last 24 hours, else "  Mon DD". */
export function startText(epoch: number, sys = system()): string {
  const d = new Date(epoch * 1000);
  if (epoch + 24 * 3600 > sys.now) return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `  ${MONTHS[d.getMonth()]} ${two(d.getDate())}`;
}

/** pr_stime: HH:MM today, MonDD this year, else the year. */
export function stimeText(epoch: number, sys = system()): string {
  const d = new Date(epoch * 1000);
  const now = new Date(sys.now * 1000);
  if (d.getFullYear() !== now.getFullYear()) return String(d.getFullYear());
  if (d.getMonth() !== now.getMonth() || d.getDate() !== now.getDate()) return `${MONTHS[d.getMonth()]}${two(d.getDate())}`;
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** pr_lstart: ctime's "Tue Dec  1 16:40:15 2026". */
export function lstartText(epoch: number): string {
  const d = new Date(epoch * 1000);
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ${time} ${d.getFullYear()}`;
}

/** Scheduling classes as procps's pr_class prints them. */
export function schedClass(policy: number): string {
  return ['TS', 'FF', 'RR', 'B', 'ISO', 'IDL', 'DLN'][policy] ?? '?';
}

/** The device number /proc/PID/stat encodes (new_encode_dev) as major and minor. */
export function decodeDev(ttyNr: number): [major: number, minor: number] {
  return [(ttyNr >>> 8) & 0xfff, (ttyNr & 0xff) | ((ttyNr >>> 12) & 0xfff00)];
}

let devNames: Map<string, string> | undefined;
/** Character devices under /dev and /dev/pts by "major:minor", read once. */
function devices(): Map<string, string> {
  if (devNames) return devNames;
  devNames = new Map();
  for (const dir of ['/dev', '/dev/pts']) {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      try {
        const st = statSync(`${dir}/${name}`);
        if (!st.isCharacterDevice()) continue;
        const key = `${Math.floor(st.rdev / 256) & 0xfff}:${(st.rdev & 0xff) | ((st.rdev >>> 12) & 0xfff00)}`;
        if (!devNames.has(key)) devNames.set(key, dir === '/dev' ? name : `pts/${name}`);
      } catch {
        // a device that went away
      }
    }
  }
  return devNames;
}

/** dev_to_tty: the terminal's name without /dev/, or "?" for none. */
export function ttyName(ttyNr: number): string {
  if (ttyNr === 0) return '?';
  const [major, minor] = decodeDev(ttyNr);
  if (major >= 136 && major <= 143) return `pts/${minor + (major - 136) * 256}`;
  if (major === 4 && minor < 64) return `tty${minor}`;
  if (major === 4) return `ttyS${minor - 64}`;
  return devices().get(`${major}:${minor}`) ?? '?';
}

/** pr_stat: the state letter and procps's flags: < N (nice), L (locked pages), s (session leader), l (threads), + (foreground). */
export function statText(t: Task, letter: string): string {
  let s = letter;
  const ps = t.ps!;
  if (ps.nice < 0) s += '<';
  if (ps.nice > 0) s += 'N';
  if (ps.locked > 0) s += 'L';
  if (t.base!.sid === t.tgid) s += 's';
  if (t.stat!.threads > 1) s += 'l';
  if (ps.tpgid !== 0 && t.base!.pgid === ps.tpgid) s += '+';
  return s;
}
