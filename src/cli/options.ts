/** Flag parsing on top of node:util parseArgs (strict: unknown flags are errors). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';

export type Flags = Record<string, string | boolean | undefined>;

export function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, allowPositionals = true): { flags: Flags; positionals: string[] } {
  // `--cpus -1`: a value that looks like a negative number is the flag's value
  // (parseArgs would call it ambiguous); intFlag then says what is wrong with it.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    if (name && options[name]?.type === 'string' && i + 1 < args.length && /^-\d/.test(args[i + 1])) {
      joined.push(`${a}=${args[++i]}`);
    } else joined.push(a);
  }
  args = joined;
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals, strict: true });
    return { flags: values as Flags, positionals };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(msg);
  }
}

export function intFlag(flags: Flags, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} takes a whole number, got '${String(v)}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function strFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}
