// vitest globalSetup: builds the test fixture binary (cargo, debug) and the
// TypeScript packages, so `npx vitest` works on its own as well as via `npm test`.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('cargo', ['build', '--quiet', '--example', 'ikc-fixture', '-p', 'ikc-core'], { stdio: 'inherit' });
}
