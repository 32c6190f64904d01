/**
 * The sequential prog array, the updater alone: after every map operation the
 * text must encode ptrs[key] (C when empty, B(f) otherwise) and no poke may
 * return -EBUSY. Checked against the real kernel's bytes for the oracle's
 * step sequence, and for random scripts on random programs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BpfProgArray, type BpfProgAux } from '../src/arraymap/prog_array.js';
import { PROTOCOLS } from '../src/arraymap/poke_desc_update.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { jit_tail_caller } from '../src/jit/x86/caller.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';
import { EBUSY } from '../src/poke/errno.js';
import { loadOracle, ORACLE_STEPS, unhex } from './helpers/oracle.js';

const NOP5 = [0x0f, 0x1f, 0x44, 0x00, 0x00];
/** jmp rel32 as the facts doc defines it: e9, rel32 = target - (ip + 5), little endian. */
function jmp(ip: bigint, target: bigint): number[] {
  const rel = Number(BigInt.asIntN(32, target - (ip + 5n)));
  return [0xe9, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff];
}

function setup(address: bigint, protocol: string) {
  const caller = jit_tail_caller({ stack_depth: 0, callee_regs: [], sites: 1 }, address);
  const text = new TextMemory();
  text.map('caller', caller.address, caller.bytes);
  const kallsyms = new BpfKallsyms();
  kallsyms.bpf_prog_kallsyms_add('caller', caller.address, caller.bytes.length);
  const rets: number[] = [];
  const map = new BpfProgArray('jmp_table', 4, { text, kallsyms, onPoke: (_s, r) => rets.push(r) }, PROTOCOLS[protocol]);
  const poke = caller.pokes[0];
  poke.tailcall_target_stable = true;
  const aux: BpfProgAux = { name: 'caller', poke_tab: caller.pokes };
  map.map_poke_track(aux);
  return { caller, text, map, poke, rets };
}

describe('prog array against the real kernel (caller_d0, every oracle step)', () => {
  for (const protocol of ['v5.10', 'v6.7']) {
    it(`${protocol}: both sites equal the kernel's bytes after each map operation`, () => {
      const first = loadOracle('caller_d0', 'a_initial');
      const { text, map, poke } = setup(BigInt(first.image_address), protocol);
      const site = first.tail_call_sites[0];
      expect(poke.tailcall_bypass).toBe(BigInt(site.bypass!.address));
      expect(poke.tailcall_target).toBe(BigInt(site.poke!.address));
      const progs = new Map<string, BpfProg>(
        Object.entries(first.targets).map(([name, t]) => [name, { name, bpf_func: BigInt(t.image_address), len: 0x40 }]),
      );
      const ops: Record<string, () => void> = {
        a_initial: () => {},
        b_install_t1: () => map.bpf_fd_array_map_update_elem(0, progs.get('target1')!),
        c_replace_t2: () => map.bpf_fd_array_map_update_elem(0, progs.get('target2')!),
        d_delete: () => map.fd_array_map_delete_elem(0),
        e_reinstall_t1: () => map.bpf_fd_array_map_update_elem(0, progs.get('target1')!),
        f_replace_t3: () => map.bpf_fd_array_map_update_elem(0, progs.get('target3')!),
        g_delete: () => map.fd_array_map_delete_elem(0),
        h_install_key1_t2: () => map.bpf_fd_array_map_update_elem(1, progs.get('target2')!),
      };
      for (const step of ORACLE_STEPS) {
        ops[step]();
        const want = loadOracle('caller_d0', step).tail_call_sites[0];
        expect(Array.from(text.read(poke.tailcall_bypass, 5)), `${step} bypass`).toEqual(unhex(want.bypass!.bytes));
        expect(Array.from(text.read(poke.tailcall_target, 5)), `${step} target`).toEqual(unhex(want.poke!.bytes));
      }
    });
  }
});

type Op = { kind: 'update'; prog: number } | { kind: 'delete' };

describe('random scripts, updater alone', () => {
  const progsArb = fc.uniqueArray(fc.integer({ min: 0, max: 0x7ff_ffff }), { minLength: 1, maxLength: 6 }).map((offs) =>
    offs.map((o, k): BpfProg => ({ name: `p${k}`, bpf_func: 0xffffffffc0000000n + BigInt(o * 16), len: 0x40 })),
  );
  const scriptArb = (n: number) =>
    fc.array(fc.oneof(fc.record({ kind: fc.constant('update' as const), prog: fc.nat({ max: n - 1 }) }), fc.constant({ kind: 'delete' as const })), {
      minLength: 1,
      maxLength: 30,
    });

  it('v5.10: the text always encodes ptrs[0] and no poke returns -EBUSY', () => {
    fc.assert(
      fc.property(
        progsArb.chain((progs) => fc.tuple(fc.constant(progs), scriptArb(progs.length))),
        fc.integer({ min: 0, max: 0x7ff_ffff }),
        ([progs, script], callerOff) => {
          const { text, map, poke, rets } = setup(0xffffffffc0000000n + BigInt(callerOff * 16), 'v5.10');
          for (const op of script as Op[]) {
            if (op.kind === 'update') map.bpf_fd_array_map_update_elem(0, progs[op.prog]);
            else {
              try {
                map.fd_array_map_delete_elem(0);
              } catch (e) {
                if (map.ptrs[0] !== null) throw e; // -ENOENT on an empty slot is expected
              }
            }
            const cur = map.ptrs[0];
            const bypass = Array.from(text.read(poke.tailcall_bypass, 5));
            const target = Array.from(text.read(poke.tailcall_target, 5));
            if (cur === null) {
              expect(bypass).toEqual(jmp(poke.tailcall_bypass, poke.bypass_addr)); // C
              expect(target).toEqual(NOP5);
            } else {
              expect(bypass).toEqual(NOP5); // B(cur)
              expect(target).toEqual(jmp(poke.tailcall_target, cur.bpf_func + 11n));
            }
          }
          expect(rets).not.toContain(-EBUSY);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rfc: a removal leaves the stale jmp (state D), never C', () => {
    const { text, map, poke } = setup(0xffffffffc000075cn, 'rfc');
    const f: BpfProg = { name: 'f', bpf_func: 0xffffffffc0000654n, len: 0x40 };
    map.bpf_fd_array_map_update_elem(0, f);
    map.fd_array_map_delete_elem(0);
    expect(Array.from(text.read(poke.tailcall_bypass, 5))).toEqual(jmp(poke.tailcall_bypass, poke.bypass_addr));
    expect(Array.from(text.read(poke.tailcall_target, 5))).toEqual(jmp(poke.tailcall_target, f.bpf_func + 11n));
  });
});
