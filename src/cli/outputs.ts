/**
 * Output files and folders, checked before a search starts: a file is
 * created (or truncated) at once, a folder made, so that a path that cannot
 * be written fails in a second with one line and exit code 2, not after an
 * hour of search. Missing parent folders are created, as `mkdir -p` would.
 */
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from './io.js';

/** A path that cannot be written: bad input, exit code 2. */
export class OutputError extends UsageError {}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such folder';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EISDIR':
      return 'it is a folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return code ?? (e as Error).message.split('\n')[0];
  }
}

/** Creates or truncates `path` for `flag` (e.g. `--json`); undefined when the flag was not given. */
export function prepareOutputFile(flag: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  if (path === '') throw new OutputError(`${flag} needs a file name`);
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'w'));
  } catch (e) {
    throw new OutputError(`${flag} ${path}: cannot write: ${reason(e)}`);
  }
  return path;
}

/** Creates folder `dir` (and `subdirs` in it) for `flag`, and checks that a file can be written there. */
export function prepareOutputDir(flag: string, dir: string, subdirs: readonly string[] = []): string {
  if (dir === '') throw new OutputError(`${flag} needs a folder name`);
  try {
    if (statSync(dir, { throwIfNoEntry: false })?.isFile()) throw Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
    mkdirSync(dir, { recursive: true });
    for (const s of subdirs) mkdirSync(`${dir}/${s}`, { recursive: true });
    const probe = `${dir}/.pokecheck-write-test`;
    closeSync(openSync(probe, 'w'));
    rmSync(probe, { force: true });
    return dir;
  } catch (e) {
    const r = (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'it is a file, not a folder' : reason(e);
    throw new OutputError(`${flag} ${dir}: cannot write there: ${r}`);
  }
}

/** Writes a prepared output; a failure now (the disk filled up) is still one line. */
export function writeOutput(flag: string, path: string | undefined, text: string): void {
  if (path === undefined) return;
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new OutputError(`${flag} ${path}: cannot write: ${reason(e)}`);
  }
}
