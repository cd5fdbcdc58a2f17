#!/usr/bin/env node
// Entry point of the `ikc` command: the CLI bundled into one file (see ../bundle.mjs).
//
// A CommonJS file (bin/package.json says so): Node starts a CommonJS entry point
// without its ES module loader, some milliseconds sooner on every run.
//
// `ikc --version` alone is answered here, from the package.json yargs reads it from,
// without loading yargs, the SDK or the native addon: their loading was ~40 ms of
// a run that otherwise costs what Node's own start-up does (`npm run bench --
// --only startup` measures both). Everything else, `ikc ps --version` included,
// goes through the CLI.
//
// The bundle is imported here so that an SDK or native addon that cannot load (no
// package for this platform, say) is an `ikc: ENOENT: ...` line and exit status 1,
// not a stack trace.
'use strict';

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${require('../package.json').version}\n`);
} else {
  import('../dist/ikc.js').then(
    async ({ main }) => {
      process.exitCode = await main(argv);
    },
    (err) => {
      process.stderr.write(`ikc: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
