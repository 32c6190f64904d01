/**
 * `pokecheck/testing`: assertions for a test suite (vitest, node:test, any
 * runner that fails a test on a thrown Error). Nothing here imports a test
 * runner.
 *
 *   import { expectHolds, expectViolated } from 'pokecheck/testing';
 *   expectHolds('tailcall-poke', { protocol: 'v5.10', cpus: 2 });
 *   expectViolated('tailcall-poke', ['P1'], { protocol: 'no-sync', cpus: 2 });
 *
 * On a mismatch they throw a CheckExpectationError whose message is the
 * check's summary line and every counterexample, step by step, as
 * `pokecheck check` prints them. A search cut short by a limit never
 * passes `expectHolds` (nothing is claimed to hold after it).
 *
 * For vitest's `expect`, `useMatchers(expect)` adds `toHold(options?)` and
 * `toBeViolated(properties, options?)` (see docs/adding-a-model.md for the
 * type declaration).
 */
import { check, type CheckApiOptions, type CheckInput } from './check/check.js';
import { resultText } from './check/format.js';
import type { CheckResult } from './check/result.js';

/** A verdict other than the one a test expected; `result` is the whole check. */
export class CheckExpectationError extends Error {
  override readonly name = 'CheckExpectationError';
  constructor(
    message: string,
    readonly result: CheckResult,
  ) {
    super(message);
  }
}

function isResult(x: unknown): x is CheckResult {
  const r = x as Partial<CheckResult> | null;
  return typeof r === 'object' && r !== null && typeof r.verdict === 'string' && Array.isArray(r.properties) && Array.isArray(r.counterexamples);
}

/** The result of `input`: checked now, or a result already at hand. */
function resultOf(input: CheckInput | CheckResult, options?: CheckApiOptions): CheckResult {
  if (isResult(input)) {
    if (options !== undefined) throw new TypeError('options go with a model to check, not with a CheckResult');
    return input;
  }
  return check(input, options);
}

function title(r: CheckResult): string {
  return `${r.model} --protocol ${r.protocol} --cpus ${r.cutoff ? 'every' : r.cpus}`;
}

function violatedIds(r: CheckResult): string[] {
  return r.properties.filter((p) => p.status === 'violated').map((p) => p.id);
}

/** Why `r` does not hold, or null when it does (a complete search, nothing violated). */
function holdsMismatch(r: CheckResult): string | null {
  if (r.verdict === 'holds') return null;
  const why = r.verdict === 'violated' ? `it is violated (${violatedIds(r).join(', ')})` : `the search was cut short (${r.limit ?? 'incomplete'}): nothing is claimed to hold`;
  return `expected ${title(r)} to hold, but ${why}\n${resultText(r).join('\n')}`;
}

/** Why `r` is not violated at exactly `expected`, or null when it is. */
function violatedMismatch(r: CheckResult, expected: readonly string[]): string | null {
  const unknown = expected.filter((id) => !r.properties.some((p) => p.id === id));
  if (unknown.length) {
    return `${title(r)} has no property ${unknown.join(', ')} (properties: ${r.properties.map((p) => p.id).join(', ')})`;
  }
  const got = violatedIds(r);
  const want = [...new Set(expected)].sort();
  if (want.length === 0) return 'expectViolated needs at least one property (use expectHolds for none)';
  if (got.length === want.length && [...got].sort().every((id, i) => id === want[i])) return null;
  const found = got.length ? `${got.join(', ')} violated` : r.verdict === 'holds' ? 'every property holds' : `nothing violated, search ${r.verdict}`;
  return `expected ${title(r)} to violate exactly ${want.join(', ')}, but ${found}\n${resultText(r).join('\n')}`;
}

/**
 * Checks `model` (a name, a ModelDefinition or a CheckableModel; or takes a
 * CheckResult already made) and throws unless every checked property holds
 * after a complete search. Returns the result.
 */
export function expectHolds(model: CheckInput | CheckResult, options?: CheckApiOptions): CheckResult {
  const r = resultOf(model, options);
  const m = holdsMismatch(r);
  if (m) throw new CheckExpectationError(m, r);
  return r;
}

/**
 * Checks `model` and throws unless the properties violated are exactly
 * `properties` (the message then has the summary line and every
 * counterexample found). Returns the result.
 */
export function expectViolated(model: CheckInput | CheckResult, properties: readonly string[], options?: CheckApiOptions): CheckResult {
  const r = resultOf(model, options);
  const m = violatedMismatch(r, properties);
  if (m) throw new CheckExpectationError(m, r);
  return r;
}

/** The matcher result vitest (and jest) expect from a custom matcher. */
export interface MatcherResult {
  pass: boolean;
  message: () => string;
}

/** Custom matchers in vitest's shape, for `expect.extend(pokecheckMatchers)`. */
export const pokecheckMatchers = {
  toHold(received: CheckInput | CheckResult, options?: CheckApiOptions): MatcherResult {
    const r = resultOf(received, options);
    const m = holdsMismatch(r);
    return { pass: m === null, message: () => m ?? `expected ${title(r)} not to hold, but every property holds (${r.states} states, complete search)` };
  },
  toBeViolated(received: CheckInput | CheckResult, properties: readonly string[], options?: CheckApiOptions): MatcherResult {
    const r = resultOf(received, options);
    const m = violatedMismatch(r, properties);
    return { pass: m === null, message: () => m ?? `expected ${title(r)} not to violate exactly ${properties.join(', ')}, but it does` };
  },
};

/** Adds `toHold` and `toBeViolated` to a test runner's `expect` (vitest: `useMatchers(expect)` in a setup file or test). */
export function useMatchers(expect: { extend(matchers: Record<string, unknown>): void }): void {
  expect.extend(pokecheckMatchers);
}

/** The type to merge into vitest's `Assertion` (see docs/adding-a-model.md). */
export interface PokecheckMatchers<R = unknown> {
  toHold(options?: CheckApiOptions): R;
  toBeViolated(properties: readonly string[], options?: CheckApiOptions): R;
}
