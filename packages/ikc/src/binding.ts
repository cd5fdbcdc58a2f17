// The only import of the native addon. Everything else in the SDK goes through here.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type Native = typeof import('../native/index.js');

// By the package's own name (its "./native" export), so the path still resolves
// when the CLI is bundled into one file elsewhere.
export const native: Native = require('@ikc/sdk/native');
