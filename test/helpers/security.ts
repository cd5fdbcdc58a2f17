// Rows of the security table that `npm run security` prints: each security test
// records one row per attack (scenario, expected, observed, PASS/FAIL) and asserts
// it. Under `npm test` the fast rows run and are asserted only; under
// `npm run security` (test/security/run.mjs) every row, the slow ones too, is
// also appended to IKC_SECURITY_LOG and printed as a table.
import { appendFileSync } from 'node:fs';
import { expect } from 'vitest';

/** The slow rows (load, storms, timing medians) run only under `npm run security`. */
export const FULL = process.env.IKC_SECURITY_FULL === '1';

export interface Row {
  /** The promise or issue item it proves: `S13` (SECURITY.md promise 13), `B4` (a broker hole), ... */
  id: string;
  scenario: string;
  expected: string;
  observed: string;
  /** Defaults to `expected === observed`. */
  pass?: boolean;
}

function log(entry: object): void {
  const path = process.env.IKC_SECURITY_LOG;
  if (path) appendFileSync(path, JSON.stringify(entry) + '\n');
}

/** Records one row and fails the test if it did not pass. */
export function row(r: Row): void {
  const pass = r.pass ?? r.expected === r.observed;
  log({ kind: 'row', ...r, pass });
  expect(pass, `${r.id} ${r.scenario}: expected ${r.expected}, observed ${r.observed}`).toBe(true);
}

/** A figure printed under the table: clients, fds, RSS, fuzz executions, timing medians. */
export function figure(name: string, value: string): void {
  log({ kind: 'figure', name, value });
}
