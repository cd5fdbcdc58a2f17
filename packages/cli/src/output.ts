// The only writer to stdout of the ikc CLI: ps tables, task_diag lines, the
// command table, --json and --raw bytes. Errors go to stderr as `ikc: ...`.
import { stateLetter, type BaseField, type CommandInfo, type Socket, type Task, type TaskColumns } from '@ikc/sdk';
import { activeColumns, headerLine, layoutLine, OUTBUF_SIZE, rowLine, type Column, type Row } from './columns.js';
import { psJson } from './json.js';
import { socketLines, type IfNames } from './netfmt.js';

// `ikc ps | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

function write(text: string | Buffer): void {
  process.stdout.write(text);
}

/** An error line on stderr; IkcError messages already start with their code. */
export function printError(message: string): void {
  process.stderr.write(`ikc: ${message}\n`);
}

/** An error as JSON on stderr, for --json: `{"error": {"code": "EINVAL", "message": "..."}}`. */
export function printErrorJson(code: string, message: string): void {
  process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
}

/** A status line for people (stderr, so stdout stays data). */
export function printNotice(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Text yargs produced (help, version). */
export function printText(text: string): void {
  write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * The screen width as procps computes it: unlimited when stdout is not a
 * terminal, COLUMNS when set, at least 132 with one -w, unlimited with two.
 */
function screenColumns(wide: number): number {
  let cols = process.stdout.isTTY ? process.stdout.columns || 80 : OUTBUF_SIZE;
  const env = process.env.COLUMNS;
  if (env && /^[0-9]+$/.test(env) && Number(env) > 0 && Number(env) < OUTBUF_SIZE) cols = Number(env);
  if (wide >= 1 && cols < 132) cols = 132;
  if (wide >= 2) cols = OUTBUF_SIZE;
  return cols;
}

export interface TableOptions {
  headers: boolean;
  /** How many -w were given. */
  wide: number;
}

/** A ps table, laid out exactly as procps lays it out. */
export function printPsTable(cols: readonly Column[], rows: readonly Row[], opts: TableOptions): void {
  const active = activeColumns(cols, screenColumns(opts.wide));
  const lines: string[] = [];
  const header = opts.headers ? headerLine(cols, active) : undefined;
  if (header !== undefined) lines.push(header);
  for (const row of rows) lines.push(rowLine(cols, row, active));
  if (lines.length) write(`${lines.join('\n')}\n`);
}

/**
 * A ps table of BASE numbers straight from a columnar dump (`baseFields`):
 * the rows `keep` accepts, laid out as printPsTable would (right-justified
 * numbers joined by one space while each fits its column; procps's layout for
 * a line where one does not), written at once.
 */
export function printPsColumns(cols: readonly Column[], fields: readonly BaseField[], data: TaskColumns, keep: (i: number) => boolean, opts: TableOptions): number {
  const active = activeColumns(cols, screenColumns(opts.wide));
  const values = fields.map((f) => data.fields[f]!);
  const widths = cols.map((c) => c.width);
  const pad = ' '.repeat(Math.max(...widths));
  const header = opts.headers ? headerLine(cols, active) : undefined;
  const lines: string[] = header === undefined ? [] : [header];
  let printed = 0;
  for (let i = 0; i < data.count; i++) {
    if (!keep(i)) continue;
    printed++;
    let line = '';
    for (let c = 0; c < values.length; c++) {
      const s = String(values[c][i]);
      if (s.length > widths[c]) {
        line = layoutLine(cols, (col) => String(values[cols.indexOf(col)][i]), active);
        break;
      }
      line += (c === 0 ? '' : ' ') + pad.slice(0, widths[c] - s.length) + s;
    }
    lines.push(line);
  }
  if (lines.length) write(`${lines.join('\n')}\n`);
  return printed;
}

/** ps rows as JSON objects keyed by canonical column name (json.ts). */
export function printPsJson(cols: readonly Column[], rows: readonly Row[]): void {
  printJson(psJson(cols, rows));
}

/** JSON with bigints as "0x..." strings and byte buffers as hex. */
export function printJson(value: unknown): void {
  const plain = (v: unknown): unknown => {
    if (typeof v === 'bigint') return `0x${v.toString(16)}`;
    if (Buffer.isBuffer(v)) return v.toString('hex');
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
  };
  write(`${JSON.stringify(plain(value), null, 2)}\n`);
}

/** Bytes as they are (task-diag --raw). */
export function printRaw(bytes: Buffer): void {
  write(bytes);
}

const hex = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;
/** A comm is printed bare unless it has blanks, quotes or control characters. */
const commText = (comm: string) => (/^[\x21-\x7e]+$/.test(comm) && !comm.includes('"') ? comm : JSON.stringify(comm));

/** One line per task: `pid=.. tgid=.. ppid=.. ... comm=..` and the creds when asked. */
export function printTasks(tasks: readonly Task[]): void {
  const lines = tasks.map((t) => {
    const f: string[] = [];
    const b = t.base;
    if (b) {
      f.push(`pid=${b.pid}`, `tgid=${b.tgid}`, `ppid=${b.ppid}`, `pgid=${b.pgid}`, `sid=${b.sid}`, `tpid=${b.tpid}`);
      f.push(`state=${stateLetter(b.state)}`, `comm=${commText(b.comm)}`);
    } else {
      f.push(`pid=${t.pid}`, `tgid=${t.tgid}`);
    }
    const c = t.creds;
    if (c) {
      f.push(`uid=${c.uid}`, `euid=${c.euid}`, `suid=${c.suid}`, `fsuid=${c.fsuid}`);
      f.push(`gid=${c.gid}`, `egid=${c.egid}`, `sgid=${c.sgid}`, `fsgid=${c.fsgid}`);
      f.push(`capinh=${hex(c.capInheritable)}`, `capprm=${hex(c.capPermitted)}`);
      f.push(`capeff=${hex(c.capEffective)}`, `capbnd=${hex(c.capBset)}`);
    }
    for (const o of t.other ?? []) f.push(`attr${o.type}=${o.data.toString('hex')}`);
    return f.join(' ');
  });
  if (lines.length) write(`${lines.join('\n')}\n`);
}

/** The command table: NAME, ID (hex), NS, READ-ONLY. */
export function printCommandTable(cmds: readonly CommandInfo[], headers: boolean): void {
  const rows = cmds.map((c) => [c.name, `0x${c.id.toString(16).padStart(8, '0')}`, c.nsType, c.readOnly ? 'yes' : 'no']);
  if (headers) rows.unshift(['NAME', 'ID', 'NS', 'READ-ONLY']);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell)).join('  '));
  if (lines.length) write(`${lines.join('\n')}\n`);
}

/** `ikc sockets`: ss's table (netfmt.ts lays it out). */
export function printSockets(sockets: readonly Socket[], names: IfNames, opts: { headers: boolean; netid: boolean; state: boolean }): void {
  printLines(socketLines(sockets, names, opts));
}

/** Lines as they are. */
export function printLines(lines: readonly string[]): void {
  if (lines.length) write(`${lines.join('\n')}\n`);
}
