// The only import of the native addon. Everything else in the SDK goes through here.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type Native = typeof import('../native/index.js');
/** The binding's own types, generated with it (native/index.d.ts). */
export type { CommandInfo } from '../native/index.js';

// By the package's own name (its "./native" export), so the path still resolves
// when the CLI is bundled into one file elsewhere.
export const native: Native = require('@ikc/sdk/native');
