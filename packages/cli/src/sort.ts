// `ikc ps --sort`: procps's sort specifications (`pid`, `-pid`, `+pid,-ppid`)
// turned into an order of rows. Keys are ps column names (columns.ts), also
// ones not printed; ties keep the pid order rows come in. Used by commands/ps.ts.
import { jsonValue, parseFormat, type Column, type Row } from './columns.js';
import { UsageError } from './command.js';

export interface SortKey {
  column: Column;
  /** '-KEY': largest first. */
  descending: boolean;
}

/** A --sort value: `[+|-]KEY[,[+|-]KEY...]`, as procps reads it. */
export function parseSort(spec: string, pidDigits: number): SortKey[] {
  if (spec === '') throw new UsageError('long sort specification must follow --sort');
  return spec.split(',').map((item) => {
    const sign = item[0] === '-' || item[0] === '+' ? item[0] : '';
    const name = item.slice(sign.length);
    if (!/^[a-z%_]+$/.test(name)) throw new UsageError(`unknown sort specifier '${item}' in --sort ${spec}`);
    const [column] = parseFormat([name], pidDigits);
    return { column, descending: sign === '-' };
  });
}

function compare(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The rows in the order of the keys (stable: equal rows keep their order). */
export function sortRows(rows: readonly Row[], keys: readonly SortKey[]): Row[] {
  if (keys.length === 0) return [...rows];
  const values = new Map(rows.map((r) => [r, keys.map((k) => jsonValue(k.column, r))]));
  return [...rows].sort((a, b) => {
    const va = values.get(a)!;
    const vb = values.get(b)!;
    for (let i = 0; i < keys.length; i++) {
      const c = compare(va[i], vb[i]);
      if (c !== 0) return keys[i].descending ? -c : c;
    }
    return 0;
  });
}
