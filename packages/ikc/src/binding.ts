// The only import of the native addon. Everything else in the SDK goes through here.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type Native = typeof import('../native/index.js');

export const native: Native = require('../native/index.js');
