// vitest globalSetup: builds the test fixture binary (cargo, debug), then makes the
// run's reachable dir (see helpers/reachable.ts): a fresh /tmp directory every uid
// can enter, holding copies of the fixture and of the built CLI with its native
// addon, since the tests run both as other uids and the checkout may be closed to
// them. The TypeScript packages must be built already (`npm install` builds them).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { copyCli, copyReachable } from './helpers/reachable.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export default function setup(project: TestProject): () => void {
  execFileSync('cargo', ['build', '--quiet', '--example', 'ikc-fixture', '-p', 'ikc-core'], { stdio: 'inherit' });
  if (!existsSync(`${ROOT}packages/cli/dist/ikc.js`)) throw new Error('run `npm run build` first: packages/cli/dist/ikc.js is missing');
  // /tmp itself, not tmpdir(): TMPDIR may name a directory other uids cannot enter.
  const dir = mkdtempSync('/tmp/ikc-reachable-');
  chmodSync(dir, 0o755);
  try {
    // The same copies FIXTURE (helpers/fixture.ts) and IKC (helpers/broker.ts) name.
    copyReachable(dir, `${ROOT}target/debug/examples/ikc-fixture`);
    copyCli(dir, ROOT);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  project.provide('ikcReachableDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
