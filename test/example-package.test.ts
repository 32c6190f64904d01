/**
 * What CI does for pokecheck as a library (issue 13): pack it as npm would
 * publish it, install the tarball into a copy of examples/ the way a user's
 * project would, type-check the example against the shipped .d.ts files and
 * run its tests (a shipped model checked through the API, and a model of the
 * example's own written against the public layer: docs/adding-a-model.md).
 *
 * Needs a built dist/ (`npm test` builds first; this test says so when dist
 * is missing or older than the sources) and npm with registry access or a
 * warm cache for the example's devDependencies (typescript, vitest,
 * @types/node, the versions this project uses, so that `npm ci` here has
 * already cached them).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STEP_TIMEOUT = 240_000;

/** The environment of the commands: this run's vitest variables removed, so the example's vitest is a run of its own. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: process.env.CI ?? '1' };
  for (const k of Object.keys(env)) if (k.startsWith('VITEST') || k === 'TEST') delete env[k];
  return env;
}

/** Runs a command to success and returns its stdout (its stdout and stderr in the error when it fails). */
function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, env: childEnv(), encoding: 'utf8', timeout: STEP_TIMEOUT, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    throw new Error(`\`${cmd} ${args.join(' ')}\` in ${cwd} exited ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}:\n${out.slice(-6000)}`);
  }
  return r.stdout;
}

/** Every .ts file under `dir` (relative to ROOT). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Why dist/ cannot be packed as it is (missing, or older than a source), or null. */
function distProblem(): string | null {
  for (const src of [...sources('src'), ...sources('models')]) {
    const js = join(ROOT, 'dist', src.replace(/\.ts$/, '.js'));
    if (!existsSync(js)) return `dist has no ${relative(ROOT, js)}: run npm run build`;
    if (statSync(js).mtimeMs < statSync(join(ROOT, src)).mtimeMs) return `dist is older than ${src}: run npm run build`;
  }
  return null;
}

interface PackEntry {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

describe('the example project against the packed package (npm pack, install, tsc, vitest)', () => {
  let tmp = '';
  let pack: PackEntry;
  let tarball = '';
  let example = '';

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'pokecheck-example-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'npm pack ships the library, the CLI and the docs, nothing from test/, in a small tarball',
    () => {
      expect(distProblem()).toBeNull();
      // --ignore-scripts: `prepare` would rebuild dist/ under the feet of the other test files' workers
      const out = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT);
      pack = (JSON.parse(out) as PackEntry[])[0];
      tarball = join(tmp, pack.filename);
      const paths = pack.files.map((f) => f.path);
      for (const p of ['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/testing.js', 'dist/src/testing.d.ts', 'dist/src/cli/main.js', 'dist/src/check/check-worker.js', 'dist/models/index.js', 'docs/adding-a-model.md', 'docs/reference-verdicts.md']) {
        expect(paths).toContain(p);
      }
      expect(paths.filter((p) => p.startsWith('test/') || p.includes('fixtures/') || p.startsWith('src/') || p.startsWith('examples/') || p.endsWith('.map'))).toEqual([]);
      expect(pack.size).toBeLessThan(1 << 20);
    },
    STEP_TIMEOUT,
  );

  it(
    'installs from the tarball into a copy of examples/, with a working pokecheck command',
    () => {
      example = join(tmp, 'example');
      cpSync(join(ROOT, 'examples'), example, { recursive: true, filter: (src) => !/[/\\](node_modules|package-lock\.json)$/.test(src) });
      const pkgFile = join(example, 'package.json');
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { dependencies: Record<string, string> };
      pkg.dependencies.pokecheck = `file:${tarball}`;
      writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
      run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], example);
      // a copy, not a link to this checkout
      expect(statSync(join(example, 'node_modules/pokecheck')).isSymbolicLink()).toBe(false);
      expect(existsSync(join(example, 'node_modules/pokecheck/dist/src/index.js'))).toBe(true);
      expect(run('npx', ['--no-install', 'pokecheck', '--version'], example).trim()).toMatch(/^pokecheck \d+\.\d+\.\d+/);
      expect(run('npx', ['--no-install', 'pokecheck', 'list'], example)).toMatch(/tailcall-poke/);
    },
    STEP_TIMEOUT,
  );

  it(
    'type-checks against the shipped declarations (tsc --noEmit)',
    () => {
      run('npm', ['run', '--silent', 'typecheck'], example);
    },
    STEP_TIMEOUT,
  );

  it(
    "passes its own tests (vitest run): the kernel's verdicts through the API, and its own model",
    () => {
      const out = run('npm', ['test', '--silent'], example);
      expect(out).toMatch(/Test Files\s+4 passed \(4\)/);
      expect(out).toMatch(/Tests\s+\d+ passed \(\d+\)/);
      expect(out).not.toMatch(/failed|skipped/);
    },
    STEP_TIMEOUT,
  );
});
