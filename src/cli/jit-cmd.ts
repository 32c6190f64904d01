/** `pokecheck jit verify ...` and `pokecheck jit emit ...` (the logic lives in src/jit/verify.ts). */
import { jitEmitCommand, jitVerifyCommand } from '../jit/oracle/verify.js';
import { UsageError, type Io } from './io.js';

export function jitCommand(args: string[], io: Io): number {
  const [sub, ...rest] = args;
  // The jit commands print their own one-line errors; give them pokecheck's prefix.
  const err = (line: string): void => io.err(`pokecheck: ${line.replace(/^error: /, '')}`);
  switch (sub) {
    case 'verify':
      return jitVerifyCommand(rest, io.out, err);
    case 'emit':
      return jitEmitCommand(rest, io.out, err);
    default:
      throw new UsageError(sub ? `unknown jit command '${sub}' (jit verify, jit emit)` : 'jit needs a command: verify or emit');
  }
}
