/**
 * Our own model (src/rcu-free.ts), checked with pokecheck's test helpers.
 * The verdicts are the ones argued at the top of src/rcu-free.ts.
 */
import { describe, expect, it } from 'vitest';
import { check, CheckInputError } from 'pokecheck';
import { CheckExpectationError, expectHolds, expectViolated, useMatchers } from 'pokecheck/testing';
import { buildRcuFree, rcuFree } from '../src/rcu-free.js';

useMatchers(expect);

describe('rcu-free', () => {
  it.each([1, 2, 3, 4])('sync holds at %i CPUs', (cpus) => {
    expectHolds(rcuFree, { protocol: 'sync', cpus });
  });

  it("sync holds for every number of CPUs (the cutoff's conditions checked on every transition)", () => {
    const r = expectHolds(rcuFree, { protocol: 'sync', cpus: 'every' });
    expect(r.scope).toMatch(/^every number of CPUs \(cutoff k=1: /);
  });

  it('no-sync violates P1 only, in the three steps argued: load A, publish B, free A', () => {
    const r = expectViolated(rcuFree, ['P1'], { protocol: 'no-sync', cpus: 1 });
    expect(r.counterexample!.steps.map((s) => `${s.actor}: ${s.action}`)).toEqual([
      'cpu0: rcu_read_lock(); p = rcu_dereference(gp) -> A',
      'writer: rcu_assign_pointer(gp, B)',
      'writer: kfree(A)',
    ]);
  });

  it('no-sync violates P1 for every number of CPUs from one', () => {
    const r = expectViolated(rcuFree, ['P1'], { protocol: 'no-sync', cpus: 'every' });
    expect(r.cutoff).toMatchObject({ failure: null, fromCpus: 1 });
  });

  it('free-first violates P1 and P2', () => {
    expectViolated(rcuFree, ['P1', 'P2'], { protocol: 'free-first', cpus: 2 });
  });

  it('works with a model already built, and with vitest matchers', () => {
    expect(buildRcuFree({ protocol: 'sync', cpus: 3, options: {} })).toHold();
    expect(rcuFree).toBeViolated(['P1'], { protocol: 'no-sync', cpus: 2 });
    expect(rcuFree).not.toHold({ protocol: 'no-sync', cpus: 2 });
  });

  it('a wrong expectation fails with the counterexample in the message', () => {
    expect(() => expectHolds(rcuFree, { protocol: 'no-sync', cpus: 1 })).toThrow(CheckExpectationError);
    expect(() => expectHolds(rcuFree, { protocol: 'no-sync', cpus: 1 })).toThrow(/Counterexample for P1[^]*writer: kfree\(A\)/);
    expect(() => expectViolated(rcuFree, ['P1'], { protocol: 'free-first', cpus: 1 })).toThrow(/to violate exactly P1, but P1, P2 violated/);
  });

  it('a search cut short never passes expectHolds', () => {
    expect(() => expectHolds(rcuFree, { protocol: 'sync', cpus: 3, maxStates: 2 })).toThrow(/cut short/);
  });

  it('rejects a protocol it does not have', () => {
    expect(() => check(rcuFree, { protocol: 'rcu' })).toThrow(CheckInputError);
  });
});
