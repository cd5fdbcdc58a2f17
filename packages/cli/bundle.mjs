// Bundles the compiled CLI (dist/main.js) and yargs into one ES module,
// dist/ikc.js, which bin/ikc.js runs. Node 20 has no module compile cache: each
// `ikc` run resolved, read and linked ~50 files, about 50 ms of a 160 ms run.
// The SDK stays outside: it is the package @ikc/sdk (a dependency with a caret
// range, itself one bundled file, dist/sdk.js), so the CLI's JavaScript and the
// SDK's native addon always come from the same installed SDK.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('./dist/main.js', import.meta.url).pathname],
  outfile: new URL('./dist/ikc.js', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['@ikc/sdk', '@ikc/sdk/native'],
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: 'import { createRequire as __ikcRequire } from "node:module"; const require = __ikcRequire(import.meta.url);' },
  logLevel: 'warning',
});
