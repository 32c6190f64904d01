/**
 * pokecheck's version, printed by `pokecheck --version` and recorded in
 * reports, and the git commit it was built from when it runs from a git
 * checkout (read once with `git rev-parse`; null anywhere else, never an
 * error).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSION = '0.1.0';

export interface ToolIdentity {
  name: 'pokecheck';
  version: string;
  /** `git rev-parse --short=12 HEAD` of the checkout pokecheck runs from, `-dirty` if it has changes; null if none. */
  commit: string | null;
}

/** The folder holding pokecheck's package.json, found upwards from this file. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    try {
      if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'pokecheck') return dir;
    } catch {
      // an unreadable package.json is not ours
    }
    dir = dirname(dir);
  }
  return null;
}

let commit: string | null | undefined;

export function gitCommit(): string | null {
  if (commit !== undefined) return commit;
  commit = null;
  const root = packageRoot();
  if (!root || !existsSync(join(root, '.git'))) return commit;
  try {
    const opts = { cwd: root, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 3000 };
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], opts).trim();
    if (/^[0-9a-f]{7,40}$/.test(head)) {
      const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
      commit = head + (dirty ? '-dirty' : '');
    }
  } catch {
    commit = null; // no git, not a checkout, or git refused: the version alone says what ran
  }
  return commit;
}

export function toolIdentity(): ToolIdentity {
  return { name: 'pokecheck', version: VERSION, commit: gitCommit() };
}

/** `0.1.0 (abc123def456)` or `0.1.0`. */
export function versionText(): string {
  const c = gitCommit();
  return c ? `${VERSION} (${c})` : VERSION;
}
