#!/usr/bin/env node
// Entry point of the `ikc` command: the CLI bundled into one file (see ../bundle.mjs).
import { main } from '../dist/ikc.js';

process.exitCode = await main(process.argv.slice(2));
