/**
 * `check()`: one check, as a library call. It takes a model by name (the
 * registry in models/index.ts), a ModelDefinition (a registered one or a
 * user's own) or a model already built (a CheckableModel), resolves the
 * configuration as `pokecheck check` does (default protocol and CPUs, the
 * model's own options validated against their declared values), runs the
 * search and returns the CheckResult that `--json` writes.
 *
 * Bad input is a CheckInputError whose message is one line naming what is
 * wrong (the CLI prints the same text and exits 2); nothing is silently
 * defaulted: an unknown key in the options is an error too.
 */
import { findModel, MODELS } from '../../models/index.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition } from '../concurrency/model.js';
import { cutoffIneligible, cutoffResult } from './cutoff.js';
import { runCheck, type CheckOptions, type CheckResult } from './result.js';

/** Bad input to `check()`: an unknown model or protocol, an option out of range, a configuration the model rejects. */
export class CheckInputError extends Error {
  override readonly name = 'CheckInputError';
}

/** What `check()` takes beyond the model: its configuration (for a model given by name or definition) and the search's options. */
export interface CheckApiOptions extends Omit<CheckOptions, 'origin'> {
  /** The protocol version (default: the model's default protocol). */
  protocol?: string;
  /**
   * Number of CPUs, 1..64 (default: the model's default), or 'every': the
   * every-N cutoff (src/check/cutoff.ts), for a model on the typed layer
   * whose properties say how many CPUs they name.
   */
  cpus?: number | 'every';
  /** The model's own options (`script`, `level`, ...), as on the command line without the `--`. */
  options?: Readonly<Record<string, string>>;
  /** Symmetry reduction: 'auto' (the default, as on the command line) uses it when the model has it; false explores the full product. */
  symmetry?: boolean | 'auto';
}

/** A model by name, its definition, or a model already built. */
export type CheckInput = string | ModelDefinition | CheckableModel;

const CONFIG_KEYS = ['protocol', 'cpus', 'options'] as const;
const SEARCH_KEYS = ['symmetry', 'maxStates', 'maxMemoryMB', 'store', 'storeCapacityBytes', 'stopAtFirstViolation', 'onProgress', 'progressEveryMs', 'workers', 'pipeline'] as const;
const KNOWN_KEYS: ReadonlySet<string> = new Set([...CONFIG_KEYS, ...SEARCH_KEYS]);

function isCheckable(x: object): x is CheckableModel {
  const m = x as Partial<CheckableModel>;
  return typeof m.model === 'string' && typeof m.system === 'object' && m.system !== null && typeof m.describe === 'function';
}

function isDefinition(x: object): x is ModelDefinition {
  const d = x as Partial<ModelDefinition>;
  return typeof d.name === 'string' && typeof d.build === 'function' && Array.isArray(d.protocols);
}

function wholeNumber(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new CheckInputError(`${name} must be a whole number between ${min} and ${max}, got ${typeof v === 'string' ? `'${v}'` : String(v)}`);
  }
  return v;
}

/** The model a check runs, and the origin a parallel search rebuilds it from (only for registered models). */
export interface ResolvedModel {
  model: CheckableModel;
  definition: ModelDefinition | null;
  config: ModelConfig | null;
}

/** The model definition named, or a CheckInputError listing the models there are. */
export function modelNamed(name: string): ModelDefinition {
  const def = findModel(name);
  if (!def) throw new CheckInputError(`unknown model '${name}' (models: ${MODELS.map((m) => m.name).join(', ')})`);
  return def;
}

/**
 * The configuration of `def` from `opts`, resolved as the command line does:
 * defaults for what is not given, every value checked.
 */
export function resolveConfig(def: ModelDefinition, opts: Pick<CheckApiOptions, 'protocol' | 'cpus' | 'options'> = {}): ModelConfig {
  const protocol = opts.protocol ?? def.defaultProtocol;
  if (typeof protocol !== 'string' || !def.protocols.some((p) => p.name === protocol)) {
    throw new CheckInputError(`unknown protocol '${String(protocol)}' for ${def.name} (protocols: ${def.protocols.map((p) => p.name).join(', ')})`);
  }
  // 'every' builds the model at its default count first (the probe the cutoff's eligibility is read from)
  const cpus = (opts.cpus === 'every' ? undefined : wholeNumber('cpus', opts.cpus, 1, 64)) ?? def.defaultCpus;
  const options: Record<string, string> = {};
  for (const [name, v] of Object.entries(opts.options ?? {})) {
    const o = def.options.find((x) => x.name === name);
    if (!o) throw new CheckInputError(`'${name}' is not an option of ${def.name} (options: ${def.options.map((x) => x.name).join(', ') || 'none'})`);
    if (typeof v !== 'string') throw new CheckInputError(`option ${name} of ${def.name} takes a string, got ${typeof v}`);
    if (o.values && !o.values.includes(v)) throw new CheckInputError(`option ${name} of ${def.name} must be one of ${o.values.join(', ')}, got '${v}'`);
    options[name] = v;
  }
  return { protocol, cpus, options };
}

/** Builds `def` in `config`; a configuration the model rejects becomes a CheckInputError. */
export function buildDefinition(def: ModelDefinition, config: ModelConfig): CheckableModel {
  try {
    return def.build(config);
  } catch (e) {
    if (e instanceof ModelConfigError) throw new CheckInputError(e.message.split('\n')[0], { cause: e });
    throw e;
  }
}

/** The model `input` names, built in the configuration `opts` gives. */
export function resolveModel(input: CheckInput, opts: CheckApiOptions = {}): ResolvedModel {
  if (typeof input === 'string') input = modelNamed(input);
  if (typeof input !== 'object' || input === null) throw new CheckInputError(`check() takes a model name, a ModelDefinition or a CheckableModel, got ${input === null ? 'null' : typeof input}`);
  if (isCheckable(input)) {
    const given = CONFIG_KEYS.filter((k) => opts[k] !== undefined);
    if (given.length) throw new CheckInputError(`${input.model} is already built (protocol ${input.protocol}, ${input.cpus} CPUs): ${given.join(', ')} can only be given with a model name or definition`);
    return { model: input, definition: null, config: null };
  }
  if (!isDefinition(input)) throw new CheckInputError('check() takes a model name, a ModelDefinition or a CheckableModel; this object is none of them');
  const config = resolveConfig(input, opts);
  return { model: buildDefinition(input, config), definition: input, config };
}

/** The search's options, checked; `origin` is set for a registered model so that threads can rebuild it. */
function searchOptions(r: ResolvedModel, opts: CheckApiOptions): CheckOptions {
  if (opts.symmetry !== undefined && opts.symmetry !== true && opts.symmetry !== false && opts.symmetry !== 'auto') {
    throw new CheckInputError(`symmetry must be true, false or 'auto', got ${JSON.stringify(opts.symmetry)}`);
  }
  if (opts.symmetry === true && !r.model.system.canonicalize) throw new CheckInputError(`${r.model.model} has no symmetry reduction (symmetry: true)`);
  wholeNumber('maxStates', opts.maxStates, 1);
  wholeNumber('maxMemoryMB', opts.maxMemoryMB, 1);
  wholeNumber('storeCapacityBytes', opts.storeCapacityBytes, 1);
  wholeNumber('progressEveryMs', opts.progressEveryMs, 1);
  const workers = wholeNumber('workers', opts.workers, 1, 64) ?? 1;
  if (opts.store !== undefined && opts.store !== 'wasm' && opts.store !== 'js') throw new CheckInputError(`store must be 'wasm' or 'js', got ${JSON.stringify(opts.store)}`);
  if (opts.pipeline && workers > 1) throw new CheckInputError('pipeline and workers > 1 exclude each other');
  if (opts.pipeline && opts.store === 'js') throw new CheckInputError("pipeline keeps its states in WebAssembly memory: not with store 'js'");
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new CheckInputError('onProgress must be a function');
  const registered = r.definition !== null && r.config !== null && findModel(r.definition.name) === r.definition;
  if ((workers > 1 || opts.pipeline) && r.model.system.parallel && !registered) {
    throw new CheckInputError(`${r.model.model}: a search on several threads rebuilds the model in each thread, which only a model shipped with pokecheck (given by name) can do`);
  }
  const { protocol: _p, cpus: _c, options: _o, ...search } = opts;
  // As on the command line, symmetry reduction is on for every model that has it unless turned off.
  return { ...search, symmetry: opts.symmetry ?? 'auto', origin: registered ? { model: r.definition!.name, config: r.config! } : undefined };
}

/**
 * Checks a model: a complete breadth-first search of its states, or one cut
 * short by a limit (then `verdict` is `incomplete` and nothing is claimed to
 * hold). Returns what `pokecheck check --json` writes.
 *
 *   check('tailcall-poke', { protocol: 'no-sync', cpus: 2 }).verdict   // 'violated'
 *
 * With `cpus: 'every'` the verdict is claimed for every number of CPUs when
 * the cutoff's conditions hold (`scope` and `cutoff` in the result say what
 * it covers), as `pokecheck check --cpus every` does.
 */
export function check(input: CheckInput, opts: CheckApiOptions = {}): CheckResult {
  if (typeof opts !== 'object' || opts === null) throw new CheckInputError(`check() options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  for (const k of Object.keys(opts)) {
    if (!KNOWN_KEYS.has(k)) throw new CheckInputError(`unknown option '${k}' (options: ${[...KNOWN_KEYS].join(', ')})`);
  }
  const r = resolveModel(input, opts);
  const search = searchOptions(r, opts);
  if (opts.cpus !== 'every') return runCheck(r.model, search);
  const def = r.definition!;
  const why = cutoffIneligible(r.model);
  if (why) throw new CheckInputError(`${def.name}: cpus 'every' needs a reader model: ${why}`);
  return cutoffResult((n) => buildDefinition(def, { ...r.config!, cpus: n }), search);
}
