// The only import of the native addon. Everything else in the SDK goes through here.
import { createRequire } from 'node:module';
import { IkcError } from './errors.js';

const require = createRequire(import.meta.url);

export type Native = typeof import('../native/index.js');
/** The binding's own types, generated with it (native/index.d.ts). */
export type { CommandInfo } from '../native/index.js';

/** This machine as napi-rs names its packages: linux-x64-gnu, linux-arm64-musl, ... */
function platformName(): string {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return `linux-${process.arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

/**
 * The addon, by the package's own name (its "./native" export), so the path still
 * resolves when the SDK is bundled into one file. napi-rs's loader looks for
 * native/ikc.PLATFORM.node (a build from source), then the package
 * @ikc/sdk-PLATFORM (an optional dependency, skipped by npm on other platforms);
 * when neither loads, the error says which package this platform needs.
 */
function load(): Native {
  try {
    return require('@ikc/sdk/native') as Native;
  } catch (err) {
    const name = platformName();
    const pkg = require('@ikc/sdk/package.json') as { optionalDependencies?: Record<string, string> };
    const known = Object.keys(pkg.optionalDependencies ?? {}).map((p) => p.replace(/^@ikc\/sdk-/, ''));
    // The loader's own error ("Cannot find native binding") chains what it tried
    // through `cause`; ikc ships no WASI build.
    const why: string[] = [];
    for (let c: unknown = (err as Error).cause ?? err; c instanceof Error && why.length < 16; c = c.cause) {
      const line = c.message.split('\n')[0];
      if (!/wasi/.test(line)) why.push(line);
    }
    const e = new IkcError(
      'ENOENT',
      `ENOENT: no native module of @ikc/sdk loads on ${name}: it needs the package @ikc/sdk-${name}` +
        (known.length ? ` (published for ${known.join(', ')})` : '') +
        `, or a build from source (see the README); tried: ${why.join('; ')}`,
    );
    (e as { cause?: unknown }).cause = err;
    throw e;
  }
}

export const native: Native = load();
