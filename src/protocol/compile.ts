/**
 * From a parsed protocol file to the updater's steps: each function is run
 * symbolically once for every combination of "is there an old program" and
 * "is there a new one" (the only facts the kernel's code branches on before
 * it touches shared state), and every call that touches shared state
 * becomes one atomic step, with the file, line, column and text of the call:
 *
 *   __bpf_arch_text_poke / bpf_arch_text_poke  -> a poke step
 *   synchronize_rcu()                          -> a grace period (two states of the updater)
 *   mutex_lock / mutex_unlock(poke_mutex)      -> lock / unlock steps
 *   xchg / WRITE_ONCE on ptrs[] or the cache   -> the map's xchg / the cache write
 *   bpf_prog_put(old)                          -> the put of the old program
 *
 * The C between two such calls (assignments, conditions on `old`/`new`,
 * pointer arithmetic) is evaluated as part of the step that follows it.
 * A poke's return value is the only thing not known here: it may feed
 * `BUG_ON(...)` (attached to that poke's step) and `if (!ret)
 * synchronize_rcu()` (the grace period only if the poke wrote), which is
 * exactly what the updater machines (src/arraymap/updater.ts,
 * cached_target.ts) can branch on. Anything else is a ProtocolError at the
 * place it occurs, never a guess.
 */
import type { DescUpdateStep, PokeSite, PokeStep, StepSource, SymAddr, SyncStep } from '../arraymap/poke_desc_update.js';
import { ProtocolError, type SourcePos } from './error.js';
import type { CFile, CFunction, Expr, Stmt } from './c-parser.js';

/** Every value a poke can return in the models (0 wrote, 1 nothing to do, -EBUSY, -EINVAL, -ERANGE). */
const RETURNS: readonly number[] = [0, 1, -16, -22, -34];
const CONSTANTS: Record<string, number> = { EINVAL: 22, EBUSY: 16, ERANGE: 34, ENOENT: 2, E2BIG: 7, ENOMEM: 12, X86_PATCH_SIZE: 5, true: 1, false: 0 };
const ENUMS = new Set(['BPF_MOD_JUMP', 'BPF_MOD_CALL', 'BPF_MOD_NOP', 'BPF_POKE_REASON_TAIL_CALL']);
const INLINE_DEPTH = 16;

type Which = 'old' | 'new';
/** What an expression evaluates to. */
type V =
  | { t: 'undef' }
  | { t: 'void' }
  | { t: 'null' }
  | { t: 'int'; v: number }
  | { t: 'enum'; name: string }
  /** a poke's return, or something computed from it: f maps the return to the value */
  | { t: 'dyn'; step: number; f: (ret: number) => number; text: string }
  | { t: 'prog'; which: Which }
  | { t: 'func'; which: Which }
  | { t: 'adj_off' }
  /** a non-NULL code address: the out label, a program's tail-call entry, or a patch site */
  | { t: 'addr'; a: 'bypass_addr' | Which }
  | { t: 'site'; site: PokeSite }
  /** the RFC's reverse-computed "what the site holds now" */
  | { t: 'current'; site: PokeSite }
  | { t: 'poke' }
  | { t: 'map' }
  | { t: 'array' }
  | { t: 'aux' }
  | { t: 'mutex' }
  | { t: 'mutexref' }
  | { t: 'ptrs' }
  /** an index into ptrs[]: key (0 or 1 times) + max_entries (0 or 1 times) */
  | { t: 'index'; key: number; max: number }
  | { t: 'slotp'; slot: 'ptrs' | 'cache' }
  | { t: 'cacheold' };

const INT = (v: number): V => ({ t: 'int', v });
const NULLV: V = { t: 'null' };

export type ProtocolEvent =
  | { kind: 'poke'; step: PokeStep; pos: SourcePos }
  | { kind: 'sync'; step: SyncStep; pos: SourcePos }
  | { kind: 'lock' | 'unlock' | 'xchg' | 'cache' | 'put'; source: StepSource; pos: SourcePos };

/** Mutable while the path is run. */
type MutablePoke = { -readonly [K in keyof PokeStep]: PokeStep[K] } & { bugRets?: Set<number>; bug_rets_final?: number[] };

interface Frame {
  fn: CFunction;
  vars: Map<string, V>;
}

class Return {
  constructor(readonly value: V) {}
}

export interface PathFacts {
  has_old: boolean;
  has_new: boolean;
}

/** Runs one function of `file` along one path, collecting the shared-state events in order. */
export class PathRunner {
  readonly events: ProtocolEvent[] = [];
  private mutexHeld = false;
  private inlineDepth = 0;
  private xchgDone = false;

  constructor(
    private readonly functions: ReadonlyMap<string, { fn: CFunction; file: CFile }>,
    private readonly facts: PathFacts,
    private file: CFile,
    /** Whether the caller already holds poke_mutex (bpf_arch_poke_desc_update's caller does). */
    held = false,
  ) {
    this.mutexHeld = held;
  }

  private err(pos: SourcePos, msg: string): never {
    throw ProtocolError.at(this.file.file, pos, msg);
  }

  private when(): string {
    const { has_old, has_new } = this.facts;
    return has_new ? (has_old ? 'on an update (old and new set)' : 'on an install (old is NULL)') : has_old ? 'on a delete (new is NULL)' : 'on a delete of an empty slot (old and new NULL)';
  }

  private source(e: Expr): StepSource {
    const raw = this.file.text.slice(e.pos.offset, e.end);
    const text = raw.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')');
    return { file: this.file.file, line: e.pos.line, column: e.pos.column, text };
  }

  /** Runs `name` with `args`; returns its value. */
  run(name: string, args: V[], at?: Expr): V {
    const entry = this.functions.get(name);
    if (!entry) throw new Error(`no function ${name}`);
    const saved = this.file;
    this.file = entry.file;
    const fn = entry.fn;
    if (++this.inlineDepth > INLINE_DEPTH) this.err(at?.pos ?? fn.pos, `calls nest deeper than ${INLINE_DEPTH} (recursion?)`);
    const frame: Frame = { fn, vars: new Map() };
    fn.params.forEach((p, i) => frame.vars.set(p.name, args[i]));
    let value: V = { t: 'void' };
    try {
      this.block(fn.body, frame);
    } catch (e) {
      if (!(e instanceof Return)) throw e;
      value = e.value;
    }
    this.inlineDepth--;
    this.file = saved;
    return value;
  }

  get holdsMutex(): boolean {
    return this.mutexHeld;
  }

  // ---- statements ---------------------------------------------------------------------------

  private block(body: readonly Stmt[], f: Frame): void {
    for (const s of body) this.stmt(s, f);
  }

  private stmt(s: Stmt, f: Frame): void {
    switch (s.k) {
      case 'empty':
        return;
      case 'block':
        return this.block(s.body, f);
      case 'expr':
        this.expr(s.expr, f);
        return;
      case 'return':
        throw new Return(s.value ? this.expr(s.value, f) : { t: 'void' });
      case 'decl':
        for (const v of s.vars) {
          if (f.vars.has(v.name)) this.err(v.pos, `'${v.name}' is declared twice in ${f.fn.name}`);
          f.vars.set(v.name, v.init ? this.expr(v.init, f) : { t: 'undef' });
        }
        return;
      case 'if': {
        const test = this.expr(s.test, f);
        if (test.t === 'dyn') return this.dynamicIf(s, test);
        if (this.truthy(test, s.test)) this.stmt(s.then, f);
        else if (s.else) this.stmt(s.else, f);
        return;
      }
    }
  }

  /** `if (!ret) synchronize_rcu();` right after the poke that returned ret: the grace period only if it wrote. */
  private dynamicIf(s: Extract<Stmt, { k: 'if' }>, test: Extract<V, { t: 'dyn' }>): void {
    let then = s.then;
    while (then.k === 'block' && then.body.length === 1) then = then.body[0];
    const isSync = then.k === 'expr' && then.expr.k === 'call' && then.expr.callee === 'synchronize_rcu' && then.expr.args.length === 0;
    const onlyIfWrote = RETURNS.every((r) => (test.f(r) !== 0) === (r === 0));
    const last = this.events[this.events.length - 1];
    if (!isSync || s.else || !onlyIfWrote || test.step !== this.events.length - 1 || last?.kind !== 'poke')
      this.err(s.pos, `pokecheck's updater branches on a poke's return only as 'if (!ret) synchronize_rcu();' right after that poke (and through BUG_ON); this 'if' tests ${test.text}`);
    const call = (then as Extract<Stmt, { k: 'expr' }>).expr;
    this.events.push({ kind: 'sync', step: { kind: 'synchronize_rcu', only_if_previous_wrote: true, source: this.source(call) }, pos: call.pos });
  }

  // ---- expressions --------------------------------------------------------------------------

  private describe(v: V): string {
    switch (v.t) {
      case 'prog':
        return `program '${v.which}'`;
      case 'dyn':
        return v.text;
      case 'int':
        return String(v.v);
      case 'addr':
        return v.a === 'bypass_addr' ? 'poke->bypass_addr' : `a tail-call entry of ${v.a}`;
      default:
        return v.t;
    }
  }

  private truthy(v: V, e: Expr): boolean {
    switch (v.t) {
      case 'int':
        return v.v !== 0;
      case 'null':
        return false;
      case 'prog':
      case 'func':
      case 'addr':
      case 'site':
      case 'poke':
      case 'array':
      case 'map':
        return true;
      case 'undef':
        return this.err(e.pos, 'a variable is used before it is given a value');
      default:
        return this.err(e.pos, `pokecheck cannot tell whether ${this.describe(v)} is true or false here`);
    }
  }

  private expr(e: Expr, f: Frame): V {
    switch (e.k) {
      case 'num':
        return INT(e.value);
      case 'type':
        return this.err(e.pos, 'a type is not a value');
      case 'id':
        return this.ident(e, f);
      case 'member':
        return this.member(e, f);
      case 'index':
        return this.err(e.pos, "ptrs[] is read and written only through xchg(&array->ptrs[...], ...) or WRITE_ONCE: pokecheck's map steps");
      case 'call':
        return this.call(e, f);
      case 'cast':
        return this.expr(e.arg, f);
      case 'unary':
        return this.unary(e, f);
      case 'binary':
        return this.binary(e, f);
      case 'cond': {
        const test = this.expr(e.test, f);
        if (test.t === 'dyn') this.err(e.pos, `a ?: on a poke's return (${test.text}) is outside what pokecheck's updater can branch on`);
        return this.truthy(test, e.test) ? this.expr(e.then, f) : this.expr(e.else, f);
      }
      case 'assign': {
        if (e.target.k !== 'id') this.err(e.pos, 'pokecheck models assignments to local variables only');
        const value = this.expr(e.value, f);
        if (!f.vars.has(e.target.name)) this.err(e.target.pos, `'${e.target.name}' is not declared in ${f.fn.name}`);
        f.vars.set(e.target.name, value);
        return value;
      }
    }
  }

  private ident(e: Extract<Expr, { k: 'id' }>, f: Frame): V {
    const v = f.vars.get(e.name);
    if (v) {
      if (v.t === 'undef') this.err(e.pos, `'${e.name}' is used before it is given a value`);
      return v;
    }
    if (e.name === 'NULL') return NULLV;
    if (e.name in CONSTANTS) return INT(CONSTANTS[e.name]);
    if (ENUMS.has(e.name)) return { t: 'enum', name: e.name };
    if (e.name === 'poke' && f.fn.name === 'prog_array_map_poke_run') return { t: 'poke' };
    return this.err(e.pos, `unknown identifier '${e.name}'`);
  }

  private member(e: Extract<Expr, { k: 'member' }>, f: Frame): V {
    const obj = this.expr(e.obj, f);
    const field = e.name;
    const bad = (): never => this.err(e.pos, `pokecheck does not model '${field}' of ${this.describe(obj)}`);
    switch (obj.t) {
      case 'null':
        return this.err(e.pos, `NULL dereference ${this.when()}: '${this.file.text.slice(e.obj.pos.offset, e.obj.end)}' is NULL here`);
      case 'poke':
        if (field === 'tailcall_target' || field === 'tailcall_bypass') return { t: 'site', site: field };
        if (field === 'bypass_addr') return { t: 'addr', a: 'bypass_addr' };
        if (field === 'adj_off') return { t: 'adj_off' };
        if (field === 'tailcall_target_stable') return INT(1);
        if (field === 'reason') return { t: 'enum', name: 'BPF_POKE_REASON_TAIL_CALL' };
        return bad();
      case 'prog':
        if (field === 'bpf_func') return { t: 'func', which: obj.which };
        return bad();
      case 'array':
        if (field === 'aux') return { t: 'aux' };
        if (field === 'ptrs') return { t: 'ptrs' };
        if (field === 'map') return { t: 'map' };
        return bad();
      case 'map':
        if (field === 'max_entries') return { t: 'index', key: 0, max: 1 };
        return bad();
      case 'aux':
        if (field === 'poke_mutex') return { t: 'mutex' };
        return bad();
      default:
        return bad();
    }
  }

  private unary(e: Extract<Expr, { k: 'unary' }>, f: Frame): V {
    if (e.op === '&') {
      if (e.arg.k === 'index') return this.slot(e.arg, f);
      const v = this.expr(e.arg, f);
      if (v.t === 'mutex') return { t: 'mutexref' };
      return this.err(e.pos, `pokecheck takes the address of ptrs[...] and of poke_mutex only`);
    }
    if (e.op === '*') return this.err(e.pos, 'dereferencing with * is outside the subset pokecheck reads');
    const v = this.expr(e.arg, f);
    if (e.op === '!') {
      if (v.t === 'dyn') return { t: 'dyn', step: v.step, f: (r) => (v.f(r) ? 0 : 1), text: `!(${v.text})` };
      return INT(this.truthy(v, e.arg) ? 0 : 1);
    }
    // unary minus
    if (v.t === 'int') return INT(-v.v);
    if (v.t === 'dyn') return { t: 'dyn', step: v.step, f: (r) => -v.f(r), text: `-(${v.text})` };
    return this.err(e.pos, `cannot negate ${this.describe(v)}`);
  }

  /** `array->ptrs[i]` as a place (under & or as WRITE_ONCE's first argument). */
  private slot(e: Extract<Expr, { k: 'index' }>, f: Frame): V {
    const base = this.expr(e.obj, f);
    const idx = this.expr(e.index, f);
    if (base.t !== 'ptrs') return this.err(e.pos, 'pokecheck models indexing into array->ptrs[] only');
    return this.slotOf({ t: 'index', key: 0, max: 0 }, idx, e.pos);
  }

  private slotOf(a: V, b: V, pos: SourcePos): V {
    if (a.t !== 'index' || b.t !== 'index') return this.err(pos, 'an index into ptrs[] is key or max_entries + key');
    const key = a.key + b.key;
    const max = a.max + b.max;
    if (key !== 1 || max > 1) return this.err(pos, 'an index into ptrs[] is key (the program) or max_entries + key (the 2026 RFC\'s cached target)');
    return { t: 'slotp', slot: max ? 'cache' : 'ptrs' };
  }

  private binary(e: Extract<Expr, { k: 'binary' }>, f: Frame): V {
    const op = e.op;
    if (op === '&&' || op === '||') {
      const l = this.expr(e.left, f);
      if (l.t !== 'dyn') {
        const lt = this.truthy(l, e.left);
        if (op === '&&' ? !lt : lt) return INT(lt ? 1 : 0);
        const r = this.expr(e.right, f);
        if (r.t === 'dyn') return { t: 'dyn', step: r.step, f: (x) => (r.f(x) ? 1 : 0), text: r.text };
        return INT(this.truthy(r, e.right) ? 1 : 0);
      }
      const r = this.expr(e.right, f);
      if (r.t === 'dyn' && r.step !== l.step) this.err(e.pos, 'this condition mixes the returns of two different pokes');
      const rf = r.t === 'dyn' ? r.f : ((c: number) => () => c)(this.truthy(r, e.right) ? 1 : 0);
      const text = `${l.text} ${op} ${r.t === 'dyn' ? r.text : this.describe(r)}`;
      return { t: 'dyn', step: l.step, f: op === '&&' ? (x) => (l.f(x) && rf(x) ? 1 : 0) : (x) => (l.f(x) || rf(x) ? 1 : 0), text };
    }
    const l = this.expr(e.left, f);
    const r = this.expr(e.right, f);
    if (l.t === 'dyn' || r.t === 'dyn') {
      if (l.t === 'dyn' && r.t === 'dyn' && l.step !== r.step) this.err(e.pos, 'this expression mixes the returns of two different pokes');
      const num = (v: V, side: Expr): ((x: number) => number) => {
        if (v.t === 'dyn') return v.f;
        if (v.t === 'int') return () => v.v;
        return this.err(side.pos, `a poke's return is compared with numbers only, not with ${this.describe(v)}`);
      };
      const lf = num(l, e.left);
      const rf = num(r, e.right);
      const step = l.t === 'dyn' ? l.step : (r as Extract<V, { t: 'dyn' }>).step;
      const text = this.file.text.slice(e.pos.offset, e.end).replace(/\s+/g, ' ');
      return { t: 'dyn', step, f: (x) => arith(op, lf(x), rf(x)), text };
    }
    if (l.t === 'int' && r.t === 'int') return INT(arith(op, l.v, r.v));
    if (op === '+') {
      const [a, b] = l.t === 'adj_off' || r.t === 'func' ? [r, l] : [l, r];
      if (a.t === 'func' && b.t === 'adj_off') return { t: 'addr', a: a.which };
      if (a.t === 'site' && a.site === 'tailcall_target' && b.t === 'int' && b.v === 5) return { t: 'addr', a: 'bypass_addr' };
      if (a.t === 'ptrs') return this.slotOf({ t: 'index', key: 0, max: 0 }, b, e.pos);
      if (a.t === 'slotp') return this.err(e.pos, 'an index into ptrs[] is key or max_entries + key');
      if (a.t === 'index' && b.t === 'index') return { t: 'index', key: a.key + b.key, max: a.max + b.max };
      if (a.t === 'func') return this.err(e.pos, "pokecheck's pokes jump to a program's tail-call entry: bpf_func + poke->adj_off (or + bpf_arch_tail_call_prologue_offset())");
      return this.err(e.pos, `pokecheck cannot add ${this.describe(l)} and ${this.describe(r)}`);
    }
    if (op === '==' || op === '!=') {
      const nullish = (v: V): boolean | undefined => (v.t === 'null' || (v.t === 'int' && v.v === 0) ? true : v.t === 'prog' || v.t === 'addr' || v.t === 'func' || v.t === 'site' ? false : undefined);
      const ln = nullish(l);
      const rn = nullish(r);
      if (ln !== undefined && rn !== undefined && (ln || rn)) return INT((ln === rn) === (op === '==') ? 1 : 0);
      if (l.t === 'enum' && r.t === 'enum') return INT((l.name === r.name) === (op === '==') ? 1 : 0);
      if (l.t === 'prog' && r.t === 'prog') return INT((l.which === r.which) === (op === '==') ? 1 : 0);
    }
    return this.err(e.pos, `pokecheck cannot evaluate ${this.describe(l)} ${op} ${this.describe(r)}`);
  }

  // ---- calls --------------------------------------------------------------------------------

  private arity(e: Extract<Expr, { k: 'call' }>, n: number, shape: string): void {
    if (e.args.length !== n) this.err(e.pos, `${e.callee} takes ${n} argument${n === 1 ? '' : 's'} (${shape}), got ${e.args.length}`);
  }

  private call(e: Extract<Expr, { k: 'call' }>, f: Frame): V {
    const user = this.functions.get(e.callee);
    if (user) {
      if (e.args.length !== user.fn.params.length) this.err(e.pos, `${e.callee} takes ${user.fn.params.length} arguments (line ${user.fn.pos.line}), got ${e.args.length}`);
      const args = e.args.map((a) => this.expr(a, f));
      return this.run(e.callee, args, e);
    }
    switch (e.callee) {
      case '__bpf_arch_text_poke':
      case 'bpf_arch_text_poke':
        return this.poke(e, f);
      case 'synchronize_rcu':
        this.arity(e, 0, 'no arguments');
        this.events.push({ kind: 'sync', step: { kind: 'synchronize_rcu', only_if_previous_wrote: false, source: this.source(e) }, pos: e.pos });
        return { t: 'void' };
      case 'BUG_ON':
        this.arity(e, 1, 'a condition');
        return this.bugOn(e, this.expr(e.args[0], f));
      case 'WARN_ON_ONCE': {
        this.arity(e, 1, 'a condition');
        const v = this.expr(e.args[0], f);
        return v.t === 'dyn' ? v : INT(this.truthy(v, e.args[0]) ? 1 : 0);
      }
      case 'mutex_lock':
      case 'mutex_unlock': {
        this.arity(e, 1, '&array->aux->poke_mutex');
        const m = this.expr(e.args[0], f);
        if (m.t !== 'mutexref') this.err(e.args[0].pos, `pokecheck models one lock: ${e.callee}(&array->aux->poke_mutex)`);
        const lock = e.callee === 'mutex_lock';
        if (lock && this.mutexHeld) this.err(e.pos, `poke_mutex is already held here ${this.when()}: this would deadlock`);
        if (!lock && !this.mutexHeld) this.err(e.pos, `poke_mutex is not held here ${this.when()}`);
        this.mutexHeld = lock;
        this.events.push({ kind: lock ? 'lock' : 'unlock', source: this.source(e), pos: e.pos });
        return { t: 'void' };
      }
      case 'mutex_is_locked': {
        this.arity(e, 1, '&array->aux->poke_mutex');
        if (this.expr(e.args[0], f).t !== 'mutexref') this.err(e.args[0].pos, 'pokecheck models one lock: &array->aux->poke_mutex');
        return INT(this.mutexHeld ? 1 : 0);
      }
      case 'container_of': {
        this.arity(e, 3, 'pointer, type, member');
        const p = this.expr(e.args[0], f);
        const type = e.args[1];
        if (p.t !== 'map' || type.k !== 'type' || type.type !== 'struct bpf_array' || e.args[2].k !== 'id' || e.args[2].name !== 'map')
          this.err(e.pos, 'pokecheck models container_of(map, struct bpf_array, map) only');
        return { t: 'array' };
      }
      case 'bpf_arch_tail_call_prologue_offset':
        this.arity(e, 0, 'no arguments');
        return { t: 'adj_off' };
      case 'pokecheck_current_target': {
        this.arity(e, 1, 'a patch site');
        const s = this.expr(e.args[0], f);
        if (s.t !== 'site') this.err(e.args[0].pos, 'pokecheck_current_target takes poke->tailcall_target or poke->tailcall_bypass');
        return { t: 'current', site: s.site };
      }
      case 'likely':
      case 'unlikely': {
        this.arity(e, 1, 'a condition');
        return this.expr(e.args[0], f);
      }
      case 'READ_ONCE':
        this.arity(e, 1, 'a field');
        if (e.args[0].k === 'index') this.err(e.args[0].pos, "ptrs[] is read only through xchg: pokecheck's map step");
        return this.expr(e.args[0], f);
      case 'xchg':
      case 'WRITE_ONCE':
        return this.write(e, f);
      case 'bpf_prog_put': {
        this.arity(e, 1, 'a program');
        const p = this.expr(e.args[0], f);
        if (p.t === 'null') this.err(e.pos, `bpf_prog_put(NULL) ${this.when()}`);
        if (p.t !== 'prog' || p.which !== 'old') this.err(e.pos, "pokecheck's map update puts the old program (the one its xchg returned) only");
        this.events.push({ kind: 'put', source: this.source(e), pos: e.pos });
        return { t: 'void' };
      }
      default:
        return this.err(
          e.calleePos,
          `unknown function '${e.callee}': not defined in the file and not one pokecheck models (${KNOWN_CALLS.join(', ')})`,
        );
    }
  }

  private poke(e: Extract<Expr, { k: 'call' }>, f: Frame): V {
    this.arity(e, 4, 'ip, BPF_MOD_JUMP, old_addr, new_addr');
    const [ip, t, oa, na] = e.args.map((a) => this.expr(a, f));
    if (ip.t !== 'site') this.err(e.args[0].pos, `${e.callee} pokes poke->tailcall_target or poke->tailcall_bypass in pokecheck's models, not ${this.describe(ip)}`);
    if (t.t !== 'enum' || t.name !== 'BPF_MOD_JUMP') this.err(e.args[1].pos, 'tail-call sites are poked with BPF_MOD_JUMP');
    const sym = (v: V, arg: Expr, old: boolean): SymAddr | 'current' => {
      if (v.t === 'null' || (v.t === 'int' && v.v === 0)) return 'NULL';
      if (v.t === 'addr') return v.a;
      if (v.t === 'current' && old) {
        if (v.site !== ip.site) this.err(arg.pos, `pokecheck_current_target(${v.site}) must name the site this poke writes (${ip.site})`);
        return 'current';
      }
      return this.err(arg.pos, `a poke's ${old ? 'old' : 'new'} address is NULL, poke->bypass_addr or a program's tail-call entry ((u8 *)prog->bpf_func + poke->adj_off)${old ? ', or pokecheck_current_target(site)' : ''}; got ${this.describe(v)}`);
    };
    const step: MutablePoke = {
      kind: 'poke',
      site: ip.site,
      old_addr: sym(oa, e.args[2], true),
      new_addr: sym(na, e.args[3], false) as SymAddr,
      via: e.callee as PokeStep['via'],
      bug_on: 'never',
      source: this.source(e),
    };
    this.events.push({ kind: 'poke', step, pos: e.pos });
    return { t: 'dyn', step: this.events.length - 1, f: (r) => r, text: `the return of ${e.callee} at line ${e.pos.line}` };
  }

  private bugOn(e: Extract<Expr, { k: 'call' }>, v: V): V {
    if (v.t !== 'dyn') {
      if (this.truthy(v, e.args[0])) this.err(e.pos, `BUG_ON(...) always fires here ${this.when()}`);
      return INT(0);
    }
    const ev = this.events[v.step];
    if (v.step !== this.events.length - 1 || ev.kind !== 'poke')
      this.err(e.pos, "BUG_ON on a poke's return must come right after that poke (before the next step), as the updater checks it when the poke returns");
    const step = ev.step as MutablePoke;
    const fires = new Set(RETURNS.filter((r) => v.f(r) !== 0));
    for (const r of step.bugRets ?? []) fires.add(r);
    step.bugRets = fires;
    const is = (pred: (r: number) => boolean): boolean => RETURNS.every((r) => fires.has(r) === pred(r));
    delete step.bug_rets_final;
    if (is((r) => r < 0)) step.bug_on = 'ret < 0';
    else if (is((r) => r < 0 && r !== -22)) step.bug_on = 'ret < 0 && ret != -EINVAL';
    else if (fires.size === 0) step.bug_on = 'never';
    else {
      // Any other condition: the updater oopses on exactly the returns it holds for.
      const cond = this.file.text.slice(e.args[0].pos.offset, e.args[0].end).replace(/\s+/g, ' ');
      step.bug_on = step.bug_on === 'never' ? cond : `${step.bug_on} || ${cond}`;
      step.bug_rets_final = [...fires].sort((a, b) => a - b);
    }
    return INT(0);
  }

  /** xchg(&ptrs[...], v) / WRITE_ONCE(ptrs[...], v): the map's xchg or the 2026 RFC's cache write. */
  private write(e: Extract<Expr, { k: 'call' }>, f: Frame): V {
    this.arity(e, 2, e.callee === 'xchg' ? '&array->ptrs[...], value' : 'array->ptrs[...], value');
    const place = e.callee === 'WRITE_ONCE' ? (e.args[0].k === 'index' ? this.slot(e.args[0], f) : NULLV) : this.expr(e.args[0], f);
    if (place.t !== 'slotp') return this.err(e.args[0].pos, `pokecheck models ${e.callee} on ${e.callee === 'xchg' ? '&array->ptrs[key] (or array->ptrs + key)' : 'array->ptrs[max_entries + key]'} only`);
    const v = this.expr(e.args[1], f);
    const { has_old, has_new } = this.facts;
    if (place.slot === 'ptrs') {
      if (e.callee !== 'xchg') this.err(e.pos, 'ptrs[key] is written with xchg: its old value is the program to put');
      if (this.xchgDone) this.err(e.pos, 'a second xchg of ptrs[key] in one update');
      const ok = has_new ? v.t === 'prog' && v.which === 'new' : v.t === 'null' || (v.t === 'int' && v.v === 0);
      if (!ok) this.err(e.args[1].pos, `xchg(&ptrs[key], ...) stores the new program (NULL on a delete); got ${this.describe(v)} ${this.when()}`);
      this.xchgDone = true;
      this.events.push({ kind: 'xchg', source: this.source(e), pos: e.pos });
      return has_old ? { t: 'prog', which: 'old' } : NULLV;
    }
    const ok = has_new ? v.t === 'addr' && v.a === 'new' : v.t === 'null' || (v.t === 'int' && v.v === 0);
    if (!ok) this.err(e.args[1].pos, `the cached target is the new program's tail-call entry (bpf_func + bpf_arch_tail_call_prologue_offset()), or 0 on a delete; got ${this.describe(v)} ${this.when()}`);
    this.events.push({ kind: 'cache', source: this.source(e), pos: e.pos });
    return { t: 'cacheold' };
  }
}

function arith(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    default:
      return 0;
  }
}

export const KNOWN_CALLS: readonly string[] = [
  '__bpf_arch_text_poke',
  'bpf_arch_text_poke',
  'synchronize_rcu',
  'BUG_ON',
  'WARN_ON_ONCE',
  'mutex_lock',
  'mutex_unlock',
  'mutex_is_locked',
  'xchg',
  'READ_ONCE',
  'WRITE_ONCE',
  'likely',
  'unlikely',
  'bpf_prog_put',
  'container_of',
  'bpf_arch_tail_call_prologue_offset',
  'pokecheck_current_target',
];

export type Steps = Record<'00' | '01' | '10' | '11', DescUpdateStep[]>;
export const pathKey = (has_old: boolean, has_new: boolean): keyof Steps => `${has_old ? 1 : 0}${has_new ? 1 : 0}` as keyof Steps;
export const PATHS: readonly PathFacts[] = [
  { has_old: false, has_new: false },
  { has_old: false, has_new: true },
  { has_old: true, has_new: false },
  { has_old: true, has_new: true },
];

/** Strips the compile-time-only fields off a step. */
export function finish(step: PokeStep | SyncStep): DescUpdateStep {
  if (step.kind === 'synchronize_rcu') return step;
  const { bugRets: _, bug_rets_final, ...rest } = step as MutablePoke;
  return (bug_rets_final ? { ...rest, bug_rets: bug_rets_final } : rest) as PokeStep;
}

export { ProtocolError };
export type { PokeStep };
