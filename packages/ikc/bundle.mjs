// Bundles the SDK's compiled modules (dist/*.js from tsc) into one ES module,
// dist/sdk.js, the package's entry point. Node 20 has no module compile cache:
// resolving, reading and linking the SDK's ~17 files took 35-70 ms of every
// process that imports it (the CLI, a service), against ~5 ms for one file.
// The native addon stays outside ("@ikc/sdk/native", loaded at run time), and
// the types stay tsc's (dist/index.d.ts).
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('./dist/index.js', import.meta.url).pathname],
  outfile: new URL('./dist/sdk.js', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['@ikc/sdk/native'],
  logLevel: 'warning',
});
