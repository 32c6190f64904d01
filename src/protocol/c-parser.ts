/**
 * A recursive-descent parser for the subset of kernel C that protocol files
 * are written in (docs/protocol-files.md): function definitions whose bodies
 * hold declarations with initialisers, assignments, `if`/`else`, blocks,
 * `return`, and expressions with calls, `->`/`.`, `[]`, unary `! - & *`,
 * casts to a few kernel types, `+ -`, comparisons, `&& ||` and `?:`.
 *
 * Anything else (loops, `goto`, strings, the preprocessor, ...) is a
 * ProtocolError at its first character; so is C that does not parse. Why
 * hand-written and not an npm C parser: see the commit that added it and
 * docs/protocol-files.md ("Why our own parser").
 */
import { ProtocolError, type SourcePos } from './error.js';

// ---- tokens -----------------------------------------------------------------------------------

export type TokKind = 'id' | 'num' | 'punct' | 'eof';
export interface Token {
  kind: TokKind;
  text: string;
  pos: SourcePos;
  /** offset just past the token */
  end: number;
}

const PUNCT = ['->', '&&', '||', '==', '!=', '<=', '>=', '++', '--', '+=', '-=', '<<', '>>', '(', ')', '{', '}', '[', ']', ';', ',', '.', '=', '<', '>', '!', '&', '*', '+', '-', '?', ':', '|', '^', '~', '/', '%'];
/** Punctuators C has that the subset leaves out: a clear error rather than a parse error further on. */
const OUTSIDE = new Set(['++', '--', '+=', '-=', '<<', '>>', '|', '^', '~', '/', '%']);

export function tokenize(text: string, file: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (at: number): SourcePos => ({ line, column: at - lineStart + 1, offset: at });
  const err = (at: number, msg: string): never => {
    throw ProtocolError.at(file, pos(at), msg);
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) err(i, 'unterminated comment');
      for (let k = i; k < close; k++) {
        if (text[k] === '\n') {
          line++;
          lineStart = k + 1;
        }
      }
      i = close + 2;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_]/.test(text[j])) j++;
      toks.push({ kind: 'id', text: text.slice(i, j), pos: pos(i), end: j });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*(?![A-Za-z0-9_.])/.exec(text.slice(i, i + 40));
      if (!m) err(i, `malformed number '${text.slice(i, i + 12).split(/\s/)[0]}'`);
      toks.push({ kind: 'num', text: m![0], pos: pos(i), end: i + m![0].length });
      i += m![0].length;
      continue;
    }
    if (c === '#') err(i, 'preprocessor lines (#include, #define, ...) are outside the subset pokecheck reads');
    if (c === '"' || c === "'") err(i, 'string and character literals are outside the subset pokecheck reads');
    const p = PUNCT.find((q) => text.startsWith(q, i));
    if (!p) err(i, `unexpected character '${c.codePointAt(0)! < 32 || c.codePointAt(0)! > 126 ? `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}` : c}'`);
    if (OUTSIDE.has(p!)) err(i, `operator '${p}' is outside the subset pokecheck reads`);
    toks.push({ kind: 'punct', text: p!, pos: pos(i), end: i + p!.length });
    i += p!.length;
  }
  toks.push({ kind: 'eof', text: '', pos: pos(i), end: i });
  return toks;
}

// ---- syntax tree ------------------------------------------------------------------------------

export type Expr =
  | { k: 'id'; name: string; pos: SourcePos; end: number }
  | { k: 'num'; value: number; pos: SourcePos; end: number }
  | { k: 'member'; obj: Expr; name: string; arrow: boolean; pos: SourcePos; end: number }
  | { k: 'index'; obj: Expr; index: Expr; pos: SourcePos; end: number }
  | { k: 'call'; callee: string; calleePos: SourcePos; args: Expr[]; pos: SourcePos; end: number }
  | { k: 'type'; type: string; pos: SourcePos; end: number }
  | { k: 'unary'; op: '!' | '-' | '&' | '*'; arg: Expr; pos: SourcePos; end: number }
  | { k: 'cast'; type: string; arg: Expr; pos: SourcePos; end: number }
  | { k: 'binary'; op: string; left: Expr; right: Expr; pos: SourcePos; end: number }
  | { k: 'cond'; test: Expr; then: Expr; else: Expr; pos: SourcePos; end: number }
  | { k: 'assign'; target: Expr; value: Expr; pos: SourcePos; end: number };

export type Stmt =
  | { k: 'decl'; type: string; vars: { name: string; pointer: boolean; init?: Expr; pos: SourcePos }[]; pos: SourcePos }
  | { k: 'expr'; expr: Expr; pos: SourcePos }
  | { k: 'if'; test: Expr; then: Stmt; else?: Stmt; pos: SourcePos }
  | { k: 'block'; body: Stmt[]; pos: SourcePos }
  | { k: 'return'; value?: Expr; pos: SourcePos }
  | { k: 'empty'; pos: SourcePos };

export interface CParam {
  type: string;
  name: string;
  pos: SourcePos;
}

export interface CFunction {
  name: string;
  returnType: string;
  params: CParam[];
  body: Stmt[];
  pos: SourcePos;
}

export interface CFile {
  file: string;
  text: string;
  functions: CFunction[];
}

/** Scalar type names the subset knows (kernel typedefs included). */
const SCALARS = new Set(['void', 'int', 'long', 'short', 'char', 'unsigned', 'signed', 'bool', 'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64', 'size_t']);
const QUALIFIERS = new Set(['const', 'volatile']);
const FUNC_SPECIFIERS = new Set(['static', 'inline', 'noinline', '__always_inline', 'notrace']);
const KEYWORDS_OUTSIDE = new Set(['for', 'while', 'do', 'goto', 'switch', 'case', 'default', 'break', 'continue', 'typedef', 'enum', 'union', 'sizeof', 'extern', 'register', 'auto', 'asm', '__asm__']);
const MAX_DEPTH = 100;

class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly toks: Token[],
    private readonly file: string,
  ) {}

  private get t(): Token {
    return this.toks[this.i];
  }

  private err(tok: Token, msg: string): never {
    throw ProtocolError.at(this.file, tok.pos, msg);
  }

  private show(tok: Token): string {
    return tok.kind === 'eof' ? 'the end of the file' : `'${tok.text}'`;
  }

  private is(text: string): boolean {
    return this.t.kind !== 'eof' && this.t.text === text && this.t.kind !== 'num';
  }

  private expect(text: string, what = `'${text}'`): Token {
    if (!this.is(text)) {
      // A missing ';' is reported where it belongs: just after the previous token, as compilers do.
      const prev = this.toks[this.i - 1];
      if (text === ';' && prev && prev.pos.line < this.t.pos.line) {
        const at = { line: prev.pos.line, column: prev.pos.column + (prev.end - prev.pos.offset), offset: prev.end };
        throw ProtocolError.at(this.file, at, `expected ';' after '${prev.text}', found ${this.show(this.t)}`);
      }
      this.err(this.t, `expected ${what}, found ${this.show(this.t)}`);
    }
    return this.toks[this.i++];
  }

  private ident(what: string): Token {
    if (this.t.kind !== 'id') this.err(this.t, `expected ${what}, found ${this.show(this.t)}`);
    this.checkKeyword(this.t);
    return this.toks[this.i++];
  }

  private checkKeyword(tok: Token): void {
    if (tok.kind === 'id' && KEYWORDS_OUTSIDE.has(tok.text)) this.err(tok, `'${tok.text}' is outside the subset pokecheck reads`);
  }

  private enter(tok: Token): void {
    if (++this.depth > MAX_DEPTH) this.err(tok, `nesting deeper than ${MAX_DEPTH}`);
  }

  private leave(): void {
    this.depth--;
  }

  private startsType(k = this.i): boolean {
    const t = this.toks[k];
    return t.kind === 'id' && (SCALARS.has(t.text) || QUALIFIERS.has(t.text) || t.text === 'struct' || FUNC_SPECIFIERS.has(t.text));
  }

  /** A type without its declarator's `*`s: `struct bpf_prog`, `unsigned long`, `const u8`. */
  private baseType(): string {
    const parts: string[] = [];
    for (;;) {
      const t = this.t;
      if (t.kind !== 'id') break;
      if (QUALIFIERS.has(t.text)) {
        this.i++;
        continue;
      }
      if (t.text === 'struct') {
        this.i++;
        parts.push(`struct ${this.ident('a struct name').text}`);
        continue;
      }
      if (SCALARS.has(t.text)) {
        parts.push(t.text);
        this.i++;
        continue;
      }
      break;
    }
    if (!parts.length) this.err(this.t, `expected a type, found ${this.show(this.t)}`);
    return parts.join(' ');
  }

  /** A type name as in a cast: base type and `*`s. */
  private typeName(): string {
    let type = this.baseType();
    while (this.is('*')) {
      this.i++;
      type += ' *';
      while (this.t.kind === 'id' && QUALIFIERS.has(this.t.text)) this.i++;
    }
    return type;
  }

  parseFile(): CFunction[] {
    const fns: CFunction[] = [];
    while (this.t.kind !== 'eof') fns.push(this.func());
    return fns;
  }

  private func(): CFunction {
    const start = this.t;
    this.checkKeyword(start);
    while (this.t.kind === 'id' && FUNC_SPECIFIERS.has(this.t.text)) this.i++;
    if (!this.startsType()) this.err(this.t, `expected a function definition, found ${this.show(this.t)}`);
    const returnType = this.typeName();
    const name = this.ident('a function name');
    this.expect('(');
    const params: CParam[] = [];
    if (this.is('void') && this.toks[this.i + 1].text === ')') this.i++;
    else if (!this.is(')')) {
      for (;;) {
        const ptok = this.t;
        if (!this.startsType()) this.err(ptok, `expected a parameter type, found ${this.show(ptok)}`);
        const type = this.typeName();
        const pname = this.ident('a parameter name');
        params.push({ type, name: pname.text, pos: pname.pos });
        if (this.is(',')) {
          this.i++;
          continue;
        }
        break;
      }
    }
    this.expect(')');
    if (this.is(';')) this.err(this.t, `'${name.text}' is declared without a body: a protocol file defines its functions`);
    const body = this.block();
    return { name: name.text, returnType, params, body: body.k === 'block' ? body.body : [body], pos: start.pos };
  }

  private block(): Stmt {
    const open = this.expect('{');
    this.enter(open);
    const body: Stmt[] = [];
    while (!this.is('}')) {
      if (this.t.kind === 'eof') this.err(this.t, `expected '}' to close the block opened at ${open.pos.line}:${open.pos.column}, found the end of the file`);
      body.push(this.stmt());
    }
    this.i++;
    this.leave();
    return { k: 'block', body, pos: open.pos };
  }

  private stmt(): Stmt {
    const t = this.t;
    this.checkKeyword(t);
    if (this.is('{')) return this.block();
    if (this.is(';')) {
      this.i++;
      return { k: 'empty', pos: t.pos };
    }
    if (t.kind === 'id' && t.text === 'if') {
      this.i++;
      this.expect('(');
      const test = this.expr();
      this.expect(')');
      this.enter(t);
      const then = this.stmt();
      let els: Stmt | undefined;
      if (this.t.kind === 'id' && this.t.text === 'else') {
        this.i++;
        els = this.stmt();
      }
      this.leave();
      return { k: 'if', test, then, else: els, pos: t.pos };
    }
    if (t.kind === 'id' && t.text === 'else') this.err(t, "'else' without an 'if'");
    if (t.kind === 'id' && t.text === 'return') {
      this.i++;
      const value = this.is(';') ? undefined : this.expr();
      this.expect(';');
      return { k: 'return', value, pos: t.pos };
    }
    if (this.startsType()) {
      if (FUNC_SPECIFIERS.has(t.text)) this.err(t, `'${t.text}' inside a function is outside the subset pokecheck reads`);
      const type = this.baseType();
      const vars: { name: string; pointer: boolean; init?: Expr; pos: SourcePos }[] = [];
      for (;;) {
        let pointer = false;
        while (this.is('*')) {
          this.i++;
          pointer = true;
        }
        const name = this.ident('a variable name');
        if (this.is('[')) this.err(this.t, 'arrays are outside the subset pokecheck reads');
        let init: Expr | undefined;
        if (this.is('=')) {
          this.i++;
          init = this.assign();
        }
        vars.push({ name: name.text, pointer, init, pos: name.pos });
        if (this.is(',')) {
          this.i++;
          continue;
        }
        break;
      }
      this.expect(';', "';' after the declaration");
      return { k: 'decl', type, vars, pos: t.pos };
    }
    const expr = this.expr();
    this.expect(';', "';'");
    return { k: 'expr', expr, pos: t.pos };
  }

  expr(): Expr {
    const e = this.assign();
    if (this.is(',')) this.err(this.t, 'the comma operator is outside the subset pokecheck reads');
    return e;
  }

  private assign(): Expr {
    const left = this.conditional();
    if (this.is('=')) {
      const eq = this.t;
      this.i++;
      if (left.k !== 'id' && left.k !== 'member' && left.k !== 'index' && !(left.k === 'unary' && left.op === '*')) this.err(eq, 'the left side of = is not something that can be assigned');
      this.enter(eq);
      const value = this.assign();
      this.leave();
      return { k: 'assign', target: left, value, pos: left.pos, end: value.end };
    }
    return left;
  }

  private conditional(): Expr {
    const test = this.binary(0);
    if (!this.is('?')) return test;
    const q = this.t;
    this.i++;
    this.enter(q);
    const then = this.assign();
    this.expect(':', "':' of the ?: operator");
    const els = this.conditional();
    this.leave();
    return { k: 'cond', test, then, else: els, pos: test.pos, end: els.end };
  }

  private static readonly LEVELS: readonly (readonly string[])[] = [['||'], ['&&'], ['==', '!='], ['<', '>', '<=', '>='], ['+', '-'], ['*']];

  private binary(level: number): Expr {
    if (level >= Parser.LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    while (this.t.kind === 'punct' && Parser.LEVELS[level].includes(this.t.text)) {
      const op = this.t;
      this.i++;
      if (op.text === '*') this.err(op, "multiplication is outside the subset pokecheck reads");
      this.enter(op);
      const right = this.binary(level + 1);
      this.leave();
      left = { k: 'binary', op: op.text, left, right, pos: left.pos, end: right.end };
    }
    return left;
  }

  private unary(): Expr {
    const t = this.t;
    if (t.kind === 'punct' && (t.text === '!' || t.text === '-' || t.text === '&' || t.text === '*')) {
      this.i++;
      this.enter(t);
      const arg = this.unary();
      this.leave();
      return { k: 'unary', op: t.text as '!' | '-' | '&' | '*', arg, pos: t.pos, end: arg.end };
    }
    if (this.is('(') && this.startsType(this.i + 1)) {
      this.i++;
      const type = this.typeName();
      this.expect(')', "')' closing the cast");
      this.enter(t);
      const arg = this.unary();
      this.leave();
      return { k: 'cast', type, arg, pos: t.pos, end: arg.end };
    }
    return this.postfix();
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      const t = this.t;
      if (this.is('->') || this.is('.')) {
        this.i++;
        const name = this.ident('a field name');
        e = { k: 'member', obj: e, name: name.text, arrow: t.text === '->', pos: e.pos, end: name.end };
      } else if (this.is('[')) {
        this.i++;
        this.enter(t);
        const index = this.expr();
        this.leave();
        const close = this.expect(']');
        e = { k: 'index', obj: e, index, pos: e.pos, end: close.end };
      } else if (this.is('(')) {
        if (e.k !== 'id') this.err(t, 'calls through a pointer are outside the subset pokecheck reads: call a function by its name');
        const callee = e;
        this.i++;
        this.enter(t);
        const args: Expr[] = [];
        if (!this.is(')')) {
          for (;;) {
            // container_of(ptr, type, member) takes a type as its second argument.
            if (callee.name === 'container_of' && args.length === 1 && this.startsType()) {
              const tt = this.t;
              const type = this.typeName();
              args.push({ k: 'type', type, pos: tt.pos, end: this.toks[this.i - 1].end });
            } else args.push(this.assign());
            if (this.is(',')) {
              this.i++;
              continue;
            }
            break;
          }
        }
        this.leave();
        const close = this.expect(')', "')' closing the call");
        e = { k: 'call', callee: callee.name, calleePos: callee.pos, args, pos: callee.pos, end: close.end };
      } else return e;
    }
  }

  private primary(): Expr {
    const t = this.t;
    if (t.kind === 'num') {
      this.i++;
      const value = Number.parseInt(t.text.replace(/[uUlL]+$/, ''), t.text.startsWith('0x') || t.text.startsWith('0X') ? 16 : 10);
      return { k: 'num', value, pos: t.pos, end: t.end };
    }
    if (t.kind === 'id') {
      this.checkKeyword(t);
      if (SCALARS.has(t.text) || t.text === 'struct' || QUALIFIERS.has(t.text) || t.text === 'if' || t.text === 'else' || t.text === 'return')
        this.err(t, `expected an expression, found '${t.text}'`);
      this.i++;
      return { k: 'id', name: t.text, pos: t.pos, end: t.end };
    }
    if (this.is('(')) {
      this.i++;
      this.enter(t);
      const e = this.expr();
      this.leave();
      this.expect(')');
      return e;
    }
    this.err(t, `expected an expression, found ${this.show(t)}`);
  }
}

/** Parses a whole protocol file into its functions (no checks of what they call: see compile.ts). */
export function parseC(text: string, file: string): CFile {
  const toks = tokenize(text, file);
  if (toks.length === 1) throw ProtocolError.at(file, toks[0].pos, text.trim() ? 'no function definitions in the file (only comments)' : 'the file is empty');
  const functions = new Parser(toks, file).parseFile();
  const seen = new Map<string, CFunction>();
  for (const f of functions) {
    const prev = seen.get(f.name);
    if (prev) throw ProtocolError.at(file, f.pos, `'${f.name}' is defined twice (first at line ${prev.pos.line})`);
    seen.set(f.name, f);
  }
  return { file, text, functions };
}
