// The packages as a user installs them: scripts/pack.mjs packs the SDK, this
// machine's platform package (the addon) and the CLI as they would be published;
// they are installed offline, from the tarballs alone and an empty npm cache, into
// an empty project, with a PATH that has node and npm but no cargo or rustc. Then
// `npx ikc ps -e`, `ikc --version`, the README's SDK example and the systemd units
// run from there, and an install without the platform package fails clearly.
// IKC_PACK_NATIVE names the addon to pack (.ci/run: the glibc 2.17 build of
// `npm run build:dist`, whose symbol versions are then checked too).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/fixture.js';

interface Tarballs {
  sdk: string;
  platform: string;
  cli: string;
}

const work = mkdtempSync(join(tmpdir(), 'ikc-pack-test-'));
// node and npm, and the system's tools, but nothing from ~/.cargo or rustup.
const PATH = [...new Set([dirname(realpathSync(process.execPath)), '/usr/bin', '/bin'])].join(':');
const env = { ...process.env, PATH, npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' };
let tarballs: Tarballs;

/** An empty project with `tarballs` installed from the files alone (no registry). */
function installInto(name: string, files: string[]): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', ...files], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return dir;
}

function run(cwd: string, cmd: string, args: string[]) {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 16 << 20 });
}

function tarList(file: string): string[] {
  return execFileSync('tar', ['tzf', file], { encoding: 'utf8' }).trim().split('\n').sort();
}

/** The highest GLIBC_x.y symbol version a shared object needs. */
function glibcFloor(file: string): string {
  const versions = [...execFileSync('objdump', ['-T', file], { encoding: 'utf8' }).matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const [major, minor] = versions[versions.length - 1];
  return `${major}.${minor}`;
}

beforeAll(() => {
  const native = process.env.IKC_PACK_NATIVE;
  const args = [join(ROOT, 'scripts/pack.mjs'), '--out', join(work, 'tarballs'), ...(native ? ['--native', native] : [])];
  tarballs = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as Tarballs;
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('packed packages', () => {
  it('the PATH of these tests has node and npm but no Rust toolchain', () => {
    for (const tool of ['cargo', 'rustc']) expect(run(work, 'sh', ['-c', `command -v ${tool}`]).status).not.toBe(0);
    expect(run(work, 'sh', ['-c', 'command -v npm']).status).toBe(0);
  });

  it('each tarball ships only what it needs', () => {
    const sdk = tarList(tarballs.sdk);
    expect(sdk).toContain('package/dist/sdk.js');
    expect(sdk).toContain('package/dist/index.d.ts');
    expect(sdk).toContain('package/native/index.js');
    // No addon (it is the platform package's), no tsc modules (sdk.js bundles them), no source maps.
    expect(sdk.filter((f) => f.endsWith('.node') || f.endsWith('.map') || f.endsWith('.tsbuildinfo'))).toEqual([]);
    expect(sdk.filter((f) => f.startsWith('package/dist/') && f.endsWith('.js'))).toEqual(['package/dist/sdk.js']);
    expect(tarList(tarballs.cli)).toEqual(['package/bin/ikc.js', 'package/bin/package.json', 'package/dist/ikc.js', 'package/package.json']);
    expect(tarList(tarballs.platform)).toEqual(['package/README.md', 'package/ikc.linux-x64-gnu.node', 'package/package.json'].sort());
  });

  it('the SDK names a platform package per target, the CLI only the SDK with a caret range', () => {
    const manifest = (file: string) => JSON.parse(execFileSync('tar', ['xzOf', file, 'package/package.json'], { encoding: 'utf8' }));
    const sdk = manifest(tarballs.sdk);
    expect(Object.keys(sdk.optionalDependencies).sort()).toEqual(['@ikc/sdk-linux-arm64-gnu', '@ikc/sdk-linux-arm64-musl', '@ikc/sdk-linux-x64-gnu', '@ikc/sdk-linux-x64-musl']);
    for (const v of Object.values(sdk.optionalDependencies)) expect(v).toBe(sdk.version);
    const cli = manifest(tarballs.cli);
    expect(cli.dependencies).toEqual({ '@ikc/sdk': `^${sdk.version}` });
    const platform = manifest(tarballs.platform);
    expect(platform).toMatchObject({ name: '@ikc/sdk-linux-x64-gnu', version: sdk.version, os: ['linux'], cpu: ['x64'], libc: ['glibc'] });
  });

  it.runIf(!!process.env.IKC_PACK_NATIVE)('the addon needs no glibc newer than 2.17', () => {
    const dir = join(work, 'unpacked');
    mkdirSync(dir);
    execFileSync('tar', ['xzf', tarballs.platform, '-C', dir]);
    expect(glibcFloor(join(dir, 'package/ikc.linux-x64-gnu.node'))).toBe('2.17');
  });

  describe('installed offline into an empty project', () => {
    let project: string;
    beforeAll(() => {
      project = installInto('app', [tarballs.sdk, tarballs.platform, tarballs.cli]);
    }, 120_000);

    it('npm installed the three packages and nothing else', () => {
      const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
      expect(Object.keys(lock.packages).filter((p) => p).sort()).toEqual(['node_modules/@ikc/cli', 'node_modules/@ikc/sdk', 'node_modules/@ikc/sdk-linux-x64-gnu']);
      expect(existsSync(join(project, 'node_modules/@ikc/sdk-linux-x64-gnu/ikc.linux-x64-gnu.node'))).toBe(true);
    });

    it('ikc --version prints the package version', () => {
      const r = run(project, join(project, 'node_modules/.bin/ikc'), ['--version']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('0.1.0\n');
    });

    it('npx ikc ps -e lists the processes ps lists', () => {
      const psPids = () => execFileSync('ps', ['-e', '-o', 'pid='], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
      const before = psPids();
      const r = run(project, 'npx', ['--offline', 'ikc', 'ps', '-e', '-o', 'pid,comm']);
      const after = new Set(psPids());
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const pids = new Set(r.stdout.trim().split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0])));
      expect(r.stdout.split('\n')[0]).toMatch(/^\s+PID COMMAND$/);
      // Every process ps lists before and after the run is in it (the oracle: ps).
      const stable = before.filter((p) => after.has(p));
      expect(stable.filter((p) => !pids.has(p))).toEqual([]);
      expect(pids.has(1)).toBe(true);
    });

    it("the README's SDK example runs as written", () => {
      const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
      const example = /## SDK\n\n```ts\n([\s\S]*?)```/.exec(readme)![1];
      writeFileSync(join(project, 'example.ts'), example);
      // Node 20 runs no TypeScript: the example's only TS syntax is `!` and its import line is plain ESM.
      writeFileSync(join(project, 'example.mjs'), example.replace(/(\w|\))!/g, '$1'));
      const r = run(project, process.execPath, ['example.mjs']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const first = r.stdout.split('\n')[0].split(' ');
      expect(first.slice(0, 2)).toEqual(['1', '0']);
      expect(r.stdout).toContain(String(process.pid));
    });

    it('the systemd units name the installed node and CLI and pass systemd-analyze verify', () => {
      const units = join(work, 'units');
      const bin = join(project, 'node_modules/.bin');
      const r = spawnSync('bash', [join(ROOT, 'contrib/systemd/install.sh'), '--dest', units], { env: { ...env, PATH: `${bin}:${PATH}` }, encoding: 'utf8' });
      expect(r.status).toBe(0);
      const unit = readFileSync(join(units, 'ikc-broker.service'), 'utf8');
      expect(unit).toContain(`ExecStart=${realpathSync(process.execPath)} ${realpathSync(join(project, 'node_modules/@ikc/cli/bin/ikc.js'))} broker`);
    });
  });

  it('without the platform package, ikc says which package this platform needs (ENOENT, exit 1)', () => {
    // npm skips an optional dependency it cannot fetch without a word: the error must come at run time.
    const project = installInto('no-addon', [tarballs.sdk, tarballs.cli]);
    expect(existsSync(join(project, 'node_modules/@ikc/sdk-linux-x64-gnu'))).toBe(false);
    const r = run(project, join(project, 'node_modules/.bin/ikc'), ['ps']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ikc: ENOENT: no native module of @ikc\/sdk loads on linux-x64-gnu: it needs the package @ikc\/sdk-linux-x64-gnu /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 120_000);
});
