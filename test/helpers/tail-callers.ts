/** The tail-calling programs of the captured and oracle fixtures, for the JIT's tests. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TailCallerShape } from '../../src/jit/x86/caller.js';
import { type Fixture, loadFixture } from '../../src/jit/oracle/fixture.js';

/** Each program's shape, from its program_description in the fixtures. */
export const SHAPES: Record<string, TailCallerShape> = {
  caller_d0: { stack_depth: 0, callee_regs: [], sites: 1 },
  caller_sd8: { stack_depth: 8, callee_regs: [], sites: 1 },
  caller_sd64: { stack_depth: 64, callee_regs: [], sites: 1 },
  caller_two: { stack_depth: 0, callee_regs: ['rbx'], sites: 2, retval: 101 },
};

/** The fixtures of one program in a capture directory, by step. */
export function programFixtures(dir: string, program: string): Fixture[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${program}__`) && f.endsWith('.json'))
    .sort()
    .map((f) => loadFixture(join(dir, f)));
}

/** bpf_func of the program in slot `key` of the fixture's map state, from the fixture's target addresses. */
export function lookupIn(fx: Fixture) {
  return (_map: string, key: number): bigint | undefined => {
    const name = fx.map_state.get(key);
    return name === undefined ? undefined : fx.targets.get(name)!.image_address;
  };
}
