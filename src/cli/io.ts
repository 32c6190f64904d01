/** Where the CLI writes, so that tests can run commands in-process. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Whether progress may be drawn in place (stderr is a terminal). */
  interactive: boolean;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  interactive: !!process.stderr.isTTY,
};

/** Bad input: printed as one line on stderr, exit code 2. */
export class UsageError extends Error {}

export const EXIT = { holds: 0, violated: 1, usage: 2, incomplete: 3 } as const;
