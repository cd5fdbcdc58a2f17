// Packs the npm packages as they would be published, into --out: the SDK, this
// machine's platform package (the native addon alone) and the CLI. What
// `napi prepublish` does at publish time is done here on staged copies, never on
// the checkout: the platform package gets the addon, and the SDK's package.json
// gets one optionalDependency per platform package (packages/ikc/npm/*) at its
// own version, so npm installs the one whose os/cpu/libc match and skips the rest.
//   node scripts/pack.mjs --out DIR [--native FILE.node]
// --native defaults to the addon `npm run build` made (packages/ikc/native/);
// `npm run build:dist` makes one against glibc 2.17 (target/napi-dist/).
// Prints the tarballs' paths as JSON: { sdk, platform, cli }.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SDK = join(ROOT, 'packages/ikc');
const CLI = join(ROOT, 'packages/cli');
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** This machine as napi-rs names its packages (linux-x64-gnu, ...). */
function platformName() {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`;
  return `linux-${process.arch}-${process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

function fail(message) {
  process.stderr.write(`pack: ${message}\n`);
  process.exit(1);
}

/** `npm pack` of a staged directory into `out`; returns the tarball's path. */
function pack(dir, out) {
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: dir, encoding: 'utf8' }));
  return join(out, info.filename);
}

const { values } = parseArgs({ options: { out: { type: 'string' }, native: { type: 'string' } } });
if (!values.out) fail('EINVAL: give --out DIR');
const out = resolve(values.out);
mkdirSync(out, { recursive: true });

const sdk = readJson(join(SDK, 'package.json'));
const cli = readJson(join(CLI, 'package.json'));
const platform = platformName();
const platformDir = join(SDK, 'npm', platform);
if (!existsSync(platformDir)) fail(`ENOENT: no platform package for ${platform} in packages/ikc/npm (napi create-npm-dirs makes one per napi.targets)`);
const native = resolve(values.native ?? join(SDK, 'native', `${sdk.napi.binaryName}.${platform}.node`));
if (!existsSync(native)) fail(`ENOENT: ${native}: build it first (npm run build, or npm run build:dist)`);
for (const dist of [join(SDK, 'dist/sdk.js'), join(CLI, 'dist/ikc.js')]) if (!existsSync(dist)) fail(`ENOENT: ${dist}: run npm run build:ts`);

// Every package of the release carries one version, and the CLI accepts the SDK's.
const platforms = readdirSync(join(SDK, 'npm')).sort().map((d) => readJson(join(SDK, 'npm', d, 'package.json')));
for (const p of platforms) if (p.version !== sdk.version) fail(`EINVAL: ${p.name} is ${p.version}, @ikc/sdk is ${sdk.version}`);
if (cli.dependencies?.['@ikc/sdk'] !== `^${sdk.version}`) fail(`EINVAL: @ikc/cli must depend on @ikc/sdk ^${sdk.version}`);

const stage = mkdtempSync(join(tmpdir(), 'ikc-pack-'));
try {
  // The platform package: its package.json (os, cpu, libc, main) and the addon.
  const plat = join(stage, 'platform');
  cpSync(platformDir, plat, { recursive: true });
  const platformPkg = readJson(join(plat, 'package.json'));
  copyFileSync(native, join(plat, platformPkg.main));

  // The SDK: its files, no addon, and the optionalDependencies napi prepublish would add.
  const sdkStage = join(stage, 'sdk');
  mkdirSync(sdkStage);
  for (const entry of ['dist', 'native', 'README.md']) {
    if (existsSync(join(SDK, entry))) cpSync(join(SDK, entry), join(sdkStage, entry), { recursive: true, filter: (src) => !src.endsWith('.node') });
  }
  const optionalDependencies = Object.fromEntries(platforms.map((p) => [p.name, p.version]));
  writeFileSync(join(sdkStage, 'package.json'), `${JSON.stringify({ ...sdk, optionalDependencies }, null, 2)}\n`);

  const cliStage = join(stage, 'cli');
  mkdirSync(cliStage);
  for (const entry of ['bin', 'dist', 'package.json', 'README.md']) {
    if (existsSync(join(CLI, entry))) cpSync(join(CLI, entry), join(cliStage, entry), { recursive: true });
  }

  const result = { sdk: pack(sdkStage, out), platform: pack(plat, out), cli: pack(cliStage, out) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
