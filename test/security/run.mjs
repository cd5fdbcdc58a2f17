#!/usr/bin/env node
// `npm run security`: runs every security suite (test/security/*.test.ts), the
// slow rows too (IKC_SECURITY_FULL=1), then prints one row per attack and the
// figures the rows measured. Exits non-zero if any row failed or any test did
// not finish. Run as root: the suites start brokers, users and namespaces.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ikc-security-'));
const logPath = join(dir, 'rows.jsonl');
const vitest = spawnSync('npx', ['vitest', 'run', 'test/security', ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, IKC_SECURITY_FULL: '1', IKC_SECURITY_LOG: logPath },
});

// --- fuzzing (fuzz/run.sh): each target for IKC_FUZZ_SECONDS (default 30) adds
// a row and a figure to the same log; a crash fails the suite. Skipped without cargo.
const hasCargo = spawnSync('sh', ['-c', 'command -v cargo'], { stdio: 'ignore' }).status === 0;
const fuzz = hasCargo
  ? spawnSync('bash', ['fuzz/run.sh', process.env.IKC_FUZZ_SECONDS || '30'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, IKC_SECURITY_LOG: logPath },
    })
  : null;
if (!hasCargo) console.log('fuzz: skipped, cargo is not on PATH');
// --- end of fuzzing

const entries = existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
rmSync(dir, { recursive: true, force: true });
const rows = entries.filter((e) => e.kind === 'row');
const figures = entries.filter((e) => e.kind === 'figure');

const cut = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
const cols = [
  ['id', 5],
  ['scenario', 64],
  ['expected', 30],
  ['observed', 30],
];
const line = (cells) => cells.map((c, i) => cut(String(c), cols[i][1]).padEnd(cols[i][1])).join('  ');
console.log('\n' + line(cols.map((c) => c[0])) + '  result');
console.log('-'.repeat(cols.reduce((n, c) => n + c[1] + 2, 0) + 6));
for (const r of rows) console.log(line([r.id, r.scenario, r.expected, r.observed]) + '  ' + (r.pass ? 'PASS' : 'FAIL'));
if (figures.length) {
  console.log('\nfigures:');
  for (const f of figures) console.log(`  ${f.name}: ${f.value}`);
}
const failed = rows.filter((r) => !r.pass).length;
console.log(`\nsecurity: ${rows.length - failed} passed, ${failed} failed`);
if (vitest.status !== 0) console.log(`vitest exited with ${vitest.status}: some test did not pass or did not finish`);
const fuzzFailed = fuzz !== null && fuzz.status !== 0;
if (fuzzFailed) console.log(`fuzz/run.sh exited with ${fuzz.status}: a target crashed or did not build`);
process.exit(failed > 0 || vitest.status !== 0 || fuzzFailed ? 1 : 0);
