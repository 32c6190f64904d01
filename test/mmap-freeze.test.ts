/**
 * mmap-freeze: memory-mapped BPF array maps against BPF_MAP_FREEZE (issue 19,
 * part 1). Expected verdicts from the kernel's history (the commits'
 * messages; docs/reference-verdicts.md):
 * - fc9702273e2e (v5.5) is violated: 1f6cb19be2e2's message and Jann Horn's
 *   review of it (lore 20200410000425.2597887-1-andriin@fb.com): a read-only
 *   mapping keeps VM_MAYWRITE, so mprotect() makes it writable after the
 *   freeze (F1); mprotect() clears VM_WRITE of a writable mapping and close
 *   then never decrements writecnt, or decrements it for a mapping that was
 *   never counted (W1, W2);
 * - 1f6cb19be2e2 and dfeb376dd4cb are violated (R1 only): an update past its
 *   permission check completes after the freeze, and the verifier trusts the
 *   frozen map (353050be4c19's message, CVE-2021-4001);
 * - 353050be4c19 and bc27c52eea18 hold.
 */
import { describe, expect, it } from 'vitest';
import { MMAP_FREEZE_PROTOCOLS, mmapThreadEvents, mmapThreadMachine, type MmapFreezeSpec } from '../src/arraymap/map_mmap.js';
import { buildMmapFreeze, mmapFreeze, MMAP_FREEZE_VMAS } from '../models/mmap-freeze.js';
import { compileMachine } from '../src/concurrency/compile.js';
import { matchesExpectation } from '../src/check/reference.js';
import { runCheck, type CheckResult } from '../src/check/result.js';
import type { CheckableModel } from '../src/concurrency/model.js';
import { checkableModel, type CpuField, type Field, type TypedModel } from '../src/model/index.js';
import { cli } from './helpers/cli.js';

const build = (protocol: string, cpus: number, options: Record<string, string> = {}) => buildMmapFreeze({ protocol, cpus, options }) as TypedModel;
const statuses = (r: CheckResult): string => r.properties.map((p) => `${p.id} ${p.status}`).join(', ');
const PROTOCOLS = Object.keys(MMAP_FREEZE_PROTOCOLS);

/**
 * Runs a schedule written as the steps' printed descriptions: from the initial state, each entry
 * (actor, and a pattern its action must match) must be a successor of the state before it.
 * Returns the states after each step.
 */
function drive(m: CheckableModel, steps: [string, RegExp][]): Int32Array[] {
  const sys = m.system;
  let s = new Int32Array(sys.width);
  sys.initial(s);
  const next = new Int32Array(sys.width);
  const out: Int32Array[] = [];
  for (const [actor, pattern] of steps) {
    const seen: string[] = [];
    let found: Int32Array | null = null;
    sys.expand(s, next, (action) => {
      const d = m.describe(s, next, action);
      seen.push(`${d.actor}: ${d.action}`);
      if (!found && d.actor === actor && pattern.test(d.action)) found = next.slice();
    });
    expect(found, `${actor} ${pattern} among:\n${seen.join('\n')}`).not.toBeNull();
    s = found!;
    out.push(s);
  }
  return out;
}

/** Replays a printed counterexample step by step through the model (no symmetry on the way), then checks the last state violates the property. */
function replayPrinted(m: CheckableModel, r: CheckResult, property: string): void {
  const ce = r.counterexamples.find((c) => c.property === property);
  expect(ce, `a counterexample for ${property}`).toBeDefined();
  const escape = (t: string) => new RegExp(`^${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const states = drive(m, ce!.steps.map((st) => [st.actor, escape(st.action)]));
  const bit = 1 << m.system.properties.findIndex((p) => p.id === property);
  expect(m.system.violations(states[states.length - 1]) & bit).not.toBe(0);
}

const violatedProps = (m: CheckableModel, s: Int32Array): string[] => m.system.properties.filter((_, k) => m.system.violations(s) & (1 << k)).map((p) => p.id);

describe('mmap-freeze verdicts', () => {
  it('fc9702273e2e: mprotect makes a read-only mapping writable after the freeze (F1); writecnt goes stale (W1, W2); R1 (exit 1)', async () => {
    const r = await cli('check', 'mmap-freeze', '--protocol', 'fc9702273e2e', '--cpus', '2');
    expect(r.code).toBe(1);
    const text = r.out.join('\n');
    expect(text).toMatch(/F1 violated, F2 holds, W1 violated, W2 violated, R1 violated/);
    expect(text).toMatch(/Counterexample for F1[^]*WRITE_ONCE\(map->frozen, true\); mutex_unlock -> returns 0[^]*mmap\(MAP_SHARED, PROT_READ\)[^]*vma0 = VM_MAYWRITE[^]*mprotect\(vma0, PROT_READ\|PROT_WRITE\): VM_MAYWRITE is set, so VM_WRITE is granted/);
    expect(text).toMatch(/Counterexample for W2[^]*munmap\(vma0\)[^]*-EBUSY \(NO writable mapping and no write in progress: the count is stale\)/);
  });
  it('1f6cb19be2e2 and dfeb376dd4cb: the mappings are right; an update past its permission check outlives the freeze (R1 only, exit 1)', async () => {
    for (const protocol of ['1f6cb19be2e2', 'dfeb376dd4cb']) {
      const r = await cli('check', 'mmap-freeze', '--protocol', protocol, '--cpus', '2');
      expect(r.code).toBe(1);
      const text = r.out.join('\n');
      expect(text).toMatch(/F1 holds, F2 holds, W1 holds, W2 holds, R1 violated/);
      // the update's check and the freeze's check in either order (the update is not counted), then the freeze returns with the update pending
      expect(text).toMatch(/map_update_elem: not frozen, FMODE_CAN_WRITE: permission granted[^]*WRITE_ONCE\(map->frozen, true\); mutex_unlock -> returns 0\n\s*final state: map->frozen=true; map->writecnt=0; [^\n]*thread\d: next map_update_elem: copies the value from user space/);
    }
  });
  it('353050be4c19 and bc27c52eea18 hold, read-only for programs or not (exit 0)', async () => {
    for (const protocol of ['353050be4c19', 'bc27c52eea18']) {
      for (const prog of ['rdonly', 'rw']) {
        const r = await cli('check', 'mmap-freeze', '--protocol', protocol, '--cpus', '2', '--prog', prog);
        expect(r.code, `${protocol} --prog ${prog}`).toBe(0);
        expect(r.out[0]).toMatch(prog === 'rdonly' ? /HOLDS \(F1 holds, F2 holds, W1 holds, W2 holds, R1 holds\)/ : /HOLDS \(F1 holds, F2 holds, W1 holds, W2 holds, R1 not-checked\)/);
      }
    }
  });
  it('the registered reference checks give their expected verdicts', () => {
    for (const ref of mmapFreeze.reference) {
      const r = runCheck(mmapFreeze.build({ protocol: ref.protocol, cpus: ref.cpus, options: ref.options ?? {} }));
      expect(matchesExpectation(ref, r), `${ref.protocol} ${JSON.stringify(ref.options)}: ${statuses(r)}`).toBe(true);
      expect(r.limit).toBeNull();
    }
  });
  it('every counterexample of the violated configurations replays, step by step', () => {
    const cases: [string, Record<string, string>, string[]][] = [
      ['fc9702273e2e', {}, ['F1', 'W1', 'W2', 'R1']],
      ['fc9702273e2e', { prog: 'rw' }, ['F1', 'W1', 'W2']],
      ['1f6cb19be2e2', {}, ['R1']],
      ['dfeb376dd4cb', {}, ['R1']],
    ];
    for (const [protocol, options, props] of cases) {
      const r = runCheck(build(protocol, 2, options));
      expect(r.counterexamples.map((c) => c.property).sort()).toEqual([...props].sort());
      for (const p of props) replayPrinted(build(protocol, 2, options), r, p);
    }
  });
});

describe('mmap-freeze schedules from the commits', () => {
  /** Jann Horn's review of 1f6cb19be2e2: map writable, mprotect it read-only, unmap it; writecnt stays up. */
  const leak: [string, RegExp][] = [
    ['thread0', /^mmap\(MAP_SHARED, PROT_READ\|PROT_WRITE\) starts/],
    ['thread0', /^bpf_map_mmap: mutex_lock/],
    ['thread0', /^bpf_map_mmap\(PROT_READ\|PROT_WRITE\) under freeze_mutex: vma0 = VM_WRITE\|VM_MAYWRITE; map_mmap\(\) = 0 \(writecnt 0 -> 1\)/],
    ['thread0', /^mprotect\(vma0, PROT_READ\): VM_WRITE cleared, VM_MAYWRITE kept/],
    ['thread0', /^munmap\(vma0\)/],
    ['thread0', /^bpf\(BPF_MAP_FREEZE\) starts/],
    ['thread0', /^map_freeze: mutex_lock/],
  ];
  it('fc9702273e2e: close sees no VM_WRITE and leaves writecnt at 1; the freeze fails -EBUSY with no mapping left', () => {
    const m = build('fc9702273e2e', 1);
    const states = drive(m, [...leak.slice(0, 4), ['thread0', /^munmap\(vma0\): bpf_map_mmap_close: VM_WRITE clear, not counted/], ...leak.slice(5), ['thread0', /^map_freeze: writecnt = 1 -> -EBUSY \(NO writable mapping/]]);
    expect(violatedProps(m, states[4])).toEqual(['W1']);
    expect(violatedProps(m, states[states.length - 1])).toContain('W2');
  });
  it('1f6cb19be2e2: the same schedule counts VM_MAYWRITE, so close decrements and the freeze succeeds', () => {
    const m = build('1f6cb19be2e2', 1);
    const states = drive(m, [...leak.slice(0, 4), ['thread0', /^munmap\(vma0\): bpf_map_mmap_close: VM_MAYWRITE set, writecnt-- \(writecnt 1 -> 0\)/], ...leak.slice(5), ['thread0', /^map_freeze: writecnt = 0 and not frozen/], ['thread0', /returns 0$/]]);
    for (const s of states) expect(violatedProps(m, s)).toEqual([]);
  });
  it('1f6cb19be2e2: a read-only mapping has no VM_MAYWRITE, so no mprotect to PROT_WRITE is offered', () => {
    const m = build('1f6cb19be2e2', 1);
    const [, , mapped] = drive(m, [
      ['thread0', /^mmap\(MAP_SHARED, PROT_READ\) starts/],
      ['thread0', /^bpf_map_mmap: mutex_lock/],
      ['thread0', /^bpf_map_mmap\(PROT_READ\) under freeze_mutex: vma0 = read-only; map_mmap\(\) = 0; mutex_unlock/],
    ]);
    const next = new Int32Array(m.system.width);
    const moves: string[] = [];
    m.system.expand(mapped, next, (a) => moves.push(m.describe(mapped, next, a).action));
    expect(moves.some((t) => t.startsWith('mprotect'))).toBe(false);
    expect(moves.some((t) => t.startsWith('munmap(vma0)'))).toBe(true);
  });
  it('353050be4c19: the update counts itself before its permission check, so a freeze that checks after it fails -EBUSY', () => {
    const m = build('353050be4c19', 2);
    drive(m, [
      ['thread0', /^bpf\(BPF_MAP_UPDATE_ELEM\) starts/],
      ['thread0', /^map_update_elem: bpf_map_write_active_inc \(writecnt 0 -> 1\)/],
      ['thread1', /^bpf\(BPF_MAP_FREEZE\) starts/],
      ['thread1', /^map_freeze: mutex_lock/],
      ['thread1', /^map_freeze: writecnt = 1 -> -EBUSY; mutex_unlock/],
    ]);
  });
  it('353050be4c19: a freeze that checked first returns 0 while the update is still pending, but bpf_map_is_rdonly stays false until it ends', () => {
    const m = build('353050be4c19', 2);
    const states = drive(m, [
      ['thread1', /^bpf\(BPF_MAP_FREEZE\) starts/],
      ['thread1', /^map_freeze: mutex_lock/],
      ['thread1', /^map_freeze: writecnt = 0 and not frozen/],
      ['thread0', /^bpf\(BPF_MAP_UPDATE_ELEM\) starts/],
      ['thread0', /^map_update_elem: bpf_map_write_active_inc/],
      ['thread0', /^map_update_elem: not frozen, FMODE_CAN_WRITE/],
      ['thread1', /returns 0$/],
      ['thread0', /map_update_elem\(\) writes the value; bpf_map_write_active_dec \(writecnt 1 -> 0\) -> returns 0 \(after BPF_MAP_FREEZE returned 0\)/],
    ]);
    for (const s of states) expect(violatedProps(m, s)).toEqual([]);
  });
  it('finding: in every version an update past its permission check may complete after BPF_MAP_FREEZE returned 0 (353050be4c19: "pending update/delete map entries must still complete")', () => {
    for (const protocol of PROTOCOLS) {
      const m = build(protocol, 2);
      // the thread machine as the model compiles it (same machine, same alphabet: same state numbers)
      const th = compileMachine(mmapThreadMachine(MMAP_FREEZE_PROTOCOLS[protocol as keyof typeof MMAP_FREEZE_PROTOCOLS]), mmapThreadEvents(MMAP_FREEZE_VMAS));
      const L = m.layout as unknown as { shared: { frozenRet: Field }; cpu: { q: CpuField } };
      const pending = (s: Int32Array): boolean => [0, 1].some((i) => th.tags[L.cpu.q.get(s, i)].has('write_pending'));
      // the literal reading "no syscall write completes after the freeze returned": no version promises it
      const literal = checkableModel({
        ...m.parts,
        properties: [{ id: 'F2-literal', description: 'no syscall write is pending once BPF_MAP_FREEZE has returned 0', violated: (s) => L.shared.frozenRet.get(s) === 1 && pending(s) }],
      });
      expect(runCheck(literal).verdict, protocol).toBe('violated');
    }
  });
  it('F2 holds in every version because the permission check reads map->frozen; its predicate does flag a write checked after the freeze returned', () => {
    const m = build('1f6cb19be2e2', 1);
    // the schedule of F2's violation up to the write: freeze returns 0, then an update starts
    const states = drive(m, [
      ['thread0', /^bpf\(BPF_MAP_FREEZE\) starts/],
      ['thread0', /^map_freeze: mutex_lock/],
      ['thread0', /^map_freeze: writecnt = 0 and not frozen/],
      ['thread0', /returns 0$/],
      ['thread0', /^bpf\(BPF_MAP_UPDATE_ELEM\) starts/],
    ]);
    const next = new Int32Array(m.system.width);
    const moves: string[] = [];
    m.system.expand(states[4], next, (a) => moves.push(m.describe(states[4], next, a).action));
    expect(moves).toContain('map_update_elem: map->frozen, no FMODE_CAN_WRITE -> returns -EPERM');
    // a state no version reaches: thread0 writing with its check after the freeze
    const th = compileMachine(mmapThreadMachine(MMAP_FREEZE_PROTOCOLS['1f6cb19be2e2']), mmapThreadEvents(MMAP_FREEZE_VMAS));
    const L = m.layout as unknown as { cpu: { q: CpuField; late: CpuField } };
    const forged = states[4].slice();
    L.cpu.q.set(forged, 0, th.stateIndex('update_write'));
    L.cpu.late.set(forged, 0, 1);
    expect(violatedProps(m, forged)).toContain('F2');
  });
  it('freeze does not restrict BPF programs: with --prog rw a program writes after the freeze returned, and no property objects', () => {
    const m = build('353050be4c19', 2, { prog: 'rw' });
    const r = runCheck(m);
    expect(r.verdict).toBe('holds');
    const states = drive(m, [
      ['thread0', /^bpf\(BPF_MAP_FREEZE\) starts/],
      ['thread0', /^map_freeze: mutex_lock/],
      ['thread0', /^map_freeze: writecnt = 0 and not frozen/],
      ['thread0', /returns 0$/],
      ['prog', /^the BPF program writes the map value/],
    ]);
    expect(m.summary(states[4])).toMatch(/the program wrote after the freeze/);
    expect(violatedProps(m, states[4])).toEqual([]);
  });
  it("98671a0fd1f1's message: open/close must keep counting VM_MAYWRITE; counting VM_WRITE there leaks through mprotect", () => {
    const spec: MmapFreezeSpec = { ...MMAP_FREEZE_PROTOCOLS.bc27c52eea18, counts: 'VM_WRITE' };
    const table = MMAP_FREEZE_PROTOCOLS as Record<string, MmapFreezeSpec>;
    table['open-close-vm-write'] = spec;
    try {
      const r = runCheck(build('open-close-vm-write', 2, { prog: 'rw' }));
      expect(statuses(r)).toMatch(/W1 violated, W2 violated/);
    } finally {
      delete table['open-close-vm-write'];
    }
  });
});

describe('mmap-freeze input', () => {
  it('bad options and protocols are one line and exit 2', async () => {
    const bad: [string[], RegExp][] = [
      [['--protocol', 'v5.5'], /unknown protocol 'v5.5'/],
      [['--ops', '0'], /--ops .* must be 1..7, got '0'/],
      [['--ops', '8'], /--ops .* must be 1..7, got '8'/],
      [['--prog', 'wo'], /--prog must be one of rdonly, rw, got 'wo'/],
      [['--cpus', '4'], /--cpus \(the user threads\) must be 1..3, got 4/],
    ];
    for (const [args, pattern] of bad) {
      const r = await cli('check', 'mmap-freeze', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(pattern);
    }
  });
  it('has an actor machine for the report and graph: the thread, with its syscalls', () => {
    const machines = build('bc27c52eea18', 2).actorMachines!();
    expect(machines.map((a) => a.name)).toEqual(['thread']);
  });
});
