#!/usr/bin/env node
// Entry point of the `ikc` command: the CLI bundled into one file (see ../bundle.mjs),
// imported here so that an SDK or native addon that cannot load (no package for this
// platform, say) is an `ikc: ENOENT: ...` line and exit status 1, not a stack trace.
let main;
try {
  ({ main } = await import('../dist/ikc.js'));
} catch (err) {
  process.stderr.write(`ikc: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
