/**
 * `pokecheck jit verify <fixture.json | dir>...` and
 * `pokecheck jit emit --fixture FILE` (the CLI wiring lives in src/cli).
 *
 * verify: one line per fixture, `ok <file>` or `MISMATCH <file> ...` with
 * the first differing offset and both sides' disassembly; then
 * `N matched, M mismatched`. Exit 0 when all matched, 1 on a mismatch, 2 for
 * bad input (one line: `error: ...`).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DecodeError, type Insn, decodeInsn, disasm } from '../x86/decode.js';
import { describeConfig } from '../x86/config.js';
import { MissingInputError } from '../x86/env.js';
import { type Fixture, FixtureError, loadFixture } from './fixture.js';
import { ProgramError } from '../x86/program.js';
import { type RejitResult, rejitFixture } from './rejit.js';
import { hexAddr, hexBytes } from '../bytes.js';
import { JitError } from '../x86/do_jit.js';

type Out = (line: string) => void;

/** Errors that mean "this input cannot be re-JITed", as opposed to a mismatch. */
function isInputError(e: unknown): e is Error {
  return e instanceof FixtureError || e instanceof ProgramError || e instanceof MissingInputError || e instanceof JitError || e instanceof RangeError;
}

function collect(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new FixtureError(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const names = readdirSync(p).sort();
      const sub = names.map((n) => join(p, n));
      files.push(...collect(sub.filter((s) => statSync(s).isDirectory() || s.endsWith('.json'))));
    } else files.push(p);
  }
  return files;
}

/** The instruction covering byte `off` of an image at `base`, as text (or the raw byte when undecodable). */
function insnAt(bytes: Uint8Array, base: bigint, off: number): string {
  let pos = 0;
  let insn: Insn | undefined;
  while (pos <= off && pos < bytes.length) {
    try {
      insn = decodeInsn(bytes.subarray(pos), base + BigInt(pos));
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return `${hexBytes(bytes.subarray(pos, Math.min(pos + 8, bytes.length)))} (undecodable)`;
    }
    if (pos + insn.len > off) return `${hexBytes(bytes.subarray(pos, pos + insn.len))}  ${insn.text}`;
    pos += insn.len;
  }
  return '(end of image)';
}

export function firstDifference(ours: Uint8Array, theirs: Uint8Array): number {
  const n = Math.min(ours.length, theirs.length);
  for (let i = 0; i < n; i++) if (ours[i] !== theirs[i]) return i;
  return ours.length === theirs.length ? -1 : n;
}

/**
 * Before the first fixture and whenever the choice changes: which encodings the
 * JIT chose and why, e.g. `# jit: profile=6.1 indirect=retpoline:__x86_indirect_thunk_rcx
 * return=its_return_thunk … (why: …)`.
 */
function chosen(r: RejitResult, state: { last?: string }, out: Out): void {
  const why = r.notes.find((n) => n.startsWith('why: '));
  const line = `# jit: ${describeConfig(r.env.cfg)}${why ? `  (${why})` : ''}`;
  if (line !== state.last) out(line);
  state.last = line;
}

function verifyOne(file: string, out: Out, state: { last?: string } = {}): boolean {
  const fx = loadFixture(file);
  const r = rejitFixture(fx);
  chosen(r, state, out);
  const d = firstDifference(r.bytes, fx.bytes);
  const rec = r.recovered.length ? `  [from the image: ${r.recovered.map((x) => `${x.sym}=${hexAddr(x.value)}`).join(', ')}]` : '';
  if (d < 0) {
    out(`ok ${file}${rec}`);
    return true;
  }
  const a = fx.image_address + BigInt(d);
  out(
    `MISMATCH ${file} at +0x${d.toString(16)} (${hexAddr(a)}; ours ${r.bytes.length} bytes, kernel ${fx.bytes.length}): ` +
      `ours ${insnAt(r.bytes, fx.image_address, d)} | kernel ${insnAt(fx.bytes, fx.image_address, d)}  [${describeConfig(r.env.cfg)}]`,
  );
  return false;
}

export function jitVerifyCommand(args: string[], out: Out, err: Out = out): number {
  if (args.length === 0) {
    err('error: jit verify needs <fixture.json | dir>...');
    return 2;
  }
  const flag = args.find((a) => a.startsWith('-'));
  if (flag) {
    err(`error: jit verify: unknown option ${flag}`);
    return 2;
  }
  let ok = 0;
  let bad = 0;
  try {
    const files = collect(args);
    if (files.length === 0) throw new FixtureError(`${args.join(' ')}: no fixture files`);
    const state: { last?: string } = {};
    for (const f of files) {
      if (verifyOne(f, out, state)) ok++;
      else bad++;
    }
  } catch (e) {
    if (!isInputError(e)) throw e;
    err(`error: ${e.message.split('\n')[0]}`);
    return 2;
  }
  out(`${ok} matched, ${bad} mismatched`);
  return bad === 0 ? 0 : 1;
}

/** Marks for the lines of `jit emit`: poke sites by address. */
function pokeMarks(r: RejitResult): Map<bigint, string> {
  const m = new Map<bigint, string>();
  r.pokes.forEach((p, i) => {
    const what = `poke ${i} (${p.tail_call.map} key ${p.tail_call.key})`;
    if (p.tailcall_bypass !== 0n) m.set(p.tailcall_bypass, `<- tailcall_bypass of ${what}`);
    m.set(p.tailcall_target, `<- tailcall_target of ${what}`);
    m.set(p.bypass_addr, `<- out (bypass_addr) of ${what}`);
  });
  return m;
}

export function jitEmitCommand(args: string[], out: Out, err: Out = out): number {
  const i = args.indexOf('--fixture');
  const file = i >= 0 ? args[i + 1] : undefined;
  const extra = args.filter((a, k) => k !== i && k !== i + 1);
  if (file === undefined || extra.length > 0) {
    err(`error: usage: jit emit --fixture FILE${extra.length ? ` (unexpected ${extra[0]})` : ''}`);
    return 2;
  }
  let fx: Fixture;
  let r: RejitResult;
  try {
    fx = loadFixture(file);
    r = rejitFixture(fx);
  } catch (e) {
    if (!isInputError(e)) throw e;
    err(`error: ${e.message.split('\n')[0]}`);
    return 2;
  }
  out(`# ${fx.program} step=${fx.step}: ${describeConfig(r.env.cfg)}`);
  out(`# derived: ${r.notes.join('; ')}`);
  for (const x of r.recovered) out(`# ${x.sym} = ${hexAddr(x.value)} read from the fixture's image at ${x.at.map(hexAddr).join(', ')}`);
  const marks = pokeMarks(r);
  for (const f of r.functions) {
    out('');
    out(`${hexAddr(f.address)} <${f.name}>: ${f.output.image.length} bytes, ${f.output.passes} passes`);
    let pos = 0;
    for (const insn of disasm(f.output.image, f.address)) {
      const a = f.address + BigInt(pos);
      const mark = marks.get(a);
      out(`${a.toString(16)}:\t${hexBytes(f.output.image.subarray(pos, pos + insn.len)).padEnd(24)}\t${insn.text}${mark ? `    ${mark}` : ''}`);
      pos += insn.len;
    }
  }
  const d = firstDifference(r.bytes, fx.bytes);
  out('');
  out(d < 0 ? '# equals the fixture image' : `# differs from the fixture image at +0x${d.toString(16)}`);
  return 0;
}
