/**
 * The `ret` / indirect-jump encodings and call-depth accounting, decided from
 * what a guest kernel reports about its CPU (src/jit/x86/mitigations.ts).
 *
 * Expected values: for every capture directory, what that kernel actually
 * emitted (the capture tool's `capture.mitigations`, read from the images);
 * for the combinations QEMU's TCG cannot produce (eIBRS), the kernel's
 * its_apply_mitigation() / emit_indirect_jump() as cited in mitigations.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Fixture, loadFixture, parseFixture } from '../src/jit/oracle/fixture.js';
import { cpuReport, fixtureConfig } from '../src/jit/oracle/fixture-config.js';
import { rejitFixture } from '../src/jit/oracle/rejit.js';
import { jitVerifyCommand } from '../src/jit/oracle/verify.js';
import { selectMitigations } from '../src/jit/x86/mitigations.js';
import { defaultJitConfig } from '../src/jit/x86/config.js';
import { makeEnv } from '../src/jit/x86/env.js';
import { emit_indirect_jump } from '../src/jit/x86/tailcall.js';
import { hexBytes } from '../src/jit/x86/x86.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOTS = [join(HERE, 'fixtures/captured')];
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every directory holding fixtures, with one indirect caller's file of it. */
function captureDirs(dir: string): string[] {
  let out: string[] = [];
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(captureDirs(p));
    else if (n === 'caller_ind__b_install_t1.json') out.push(dir);
  }
  return out;
}

const dirs = ROOTS.flatMap((r) => {
  try {
    return captureDirs(r);
  } catch {
    return [];
  }
});

describe('the choice from guest_cpu agrees with what each captured kernel emitted', () => {
  it('captures of several CPU models are present', () => expect(dirs.length).toBeGreaterThanOrEqual(20));
  for (const d of dirs) {
    it(d.slice(join(HERE, 'fixtures').length + 1), () => {
      const file = join(d, 'caller_ind__b_install_t1.json');
      const raw = JSON.parse(readFileSync(file, 'utf8')) as Json;
      const fx: Fixture = parseFixture(raw, file);
      const report = cpuReport(fx);
      expect(report).toBeDefined();
      const c = selectMitigations(report!);
      const seen = raw.capture.mitigations;
      // indirect jump
      if (seen.indirect_jump.form === 'jmp rel32 to thunk') {
        expect(['retpoline', 'its-thunk']).toContain(c.indirect_jump);
        expect(c.indirect_thunk).toBe(seen.indirect_jump.target_symbol);
      } else {
        expect(seen.indirect_jump.form).toMatch(/^jmp \*%rcx(; int3)?$/);
        expect(c.indirect_jump).toBe('plain');
      }
      // return
      if (seen.return.form === 'jmp rel32 to return thunk') {
        expect(c.rethunk).toBe(true);
        const names = Array.isArray(c.return_thunk) ? c.return_thunk : [c.return_thunk];
        expect(names).toContain(seen.return.target_symbol);
        if (report!.family !== undefined) expect(names).toEqual([seen.return.target_symbol]);
      } else {
        expect(seen.return.form).toMatch(/^ret(; int3)?$/);
        expect(c.rethunk).toBe(false);
      }
    });
  }
});

describe('selectMitigations on reports QEMU cannot produce (eIBRS) and the other modes', () => {
  const k612: [number, number] = [6, 12];
  it('eIBRS with ITS aligned thunks: indirect jumps through __x86_indirect_its_thunk_rcx, returns to its_return_thunk', () => {
    // its_apply_mitigation(): ALIGNED_THUNKS forces INDIRECT_THUNK_ITS when RETPOLINE is not set
    const c = selectMitigations({
      kernel: k612,
      spectre_v2: 'Mitigation: Enhanced / Automatic IBRS; IBPB: conditional; RSB filling; PBRSB-eIBRS: SW sequence; BHI: BHI_DIS_S',
      retbleed: 'Not affected',
      spec_rstack_overflow: 'Not affected',
      indirect_target_selection: 'Mitigation: Aligned branch/return thunks',
    });
    expect([c.indirect_jump, c.indirect_thunk, c.return_thunk, c.call_depth]).toEqual(['its-thunk', '__x86_indirect_its_thunk_rcx', 'its_return_thunk', false]);
  });
  it('eIBRS without ITS: plain jmp *%rcx and ret', () => {
    const c = selectMitigations({ kernel: k612, spectre_v2: 'Mitigation: Enhanced / Automatic IBRS; IBPB: conditional', indirect_target_selection: 'Not affected' });
    expect([c.indirect_jump, c.rethunk]).toEqual(['plain', false]);
  });
  it('LFENCE modes: lfence; jmp *%rcx (ITS is off with lfence)', () => {
    expect(selectMitigations({ kernel: k612, spectre_v2: 'Mitigation: LFENCE; IBPB: conditional' }).indirect_jump).toBe('retpoline-lfence');
    expect(selectMitigations({ kernel: k612, spectre_v2: 'Mitigation: Enhanced / Automatic IBRS + LFENCE; IBPB: conditional' }).indirect_jump).toBe('retpoline-lfence');
    expect(selectMitigations({ kernel: [5, 10], spectre_v2: 'Mitigation: Full AMD retpoline, IBPB: conditional' }).indirect_jump).toBe('retpoline-lfence');
  });
  it('SRSO safe RET: the alias thunk on family 0x19 only; without the family both stay possible', () => {
    const srso = { kernel: k612, spectre_v2: 'Mitigation: Retpolines', spec_rstack_overflow: 'Mitigation: Safe RET' };
    expect(selectMitigations({ ...srso, family: 25 }).return_thunk).toBe('srso_alias_return_thunk');
    expect(selectMitigations({ ...srso, family: 23 }).return_thunk).toBe('srso_return_thunk');
    expect(selectMitigations(srso).return_thunk).toEqual(['srso_return_thunk', 'srso_alias_return_thunk']);
    expect(selectMitigations({ ...srso, spec_rstack_overflow: 'Vulnerable: Safe RET, no microcode', family: 23 }).return_thunk).toBe('srso_return_thunk');
  });
  it('a Vulnerable spectre_v2 line is no retpoline even when it names one elsewhere', () => {
    expect(selectMitigations({ kernel: k612, spectre_v2: 'Vulnerable; STIBP: disabled; RSB filling; BHI: Retpoline' }).indirect_jump).toBe('plain');
  });
});

describe('the encodings are decided, not read back from the image', () => {
  const SKL = join(HERE, 'fixtures/captured/linux-6.1.0-56-amd64/Skylake-Client/default/caller_ind__b_install_t1.json');
  it('Skylake-Client on 6.1 (issue 18): its_return_thunk and the retpoline thunk, both addresses from kallsyms', () => {
    const r = rejitFixture(loadFixture(SKL));
    expect(r.env.cfg.return_thunk_name).toBe('its_return_thunk');
    expect(r.env.cfg.indirect_thunk_name).toBe('__x86_indirect_thunk_rcx');
    expect(r.recovered.map((x) => x.sym)).toEqual(['map:1']);
  });
  it('with the observed forms removed from the fixture, the same bytes come out', () => {
    const raw = JSON.parse(readFileSync(SKL, 'utf8')) as Json;
    delete raw.capture.mitigations.indirect_jump;
    delete raw.capture.mitigations.return;
    const fx = parseFixture(raw, 'stripped.json');
    expect(hexBytes(rejitFixture(fx).bytes)).toBe(hexBytes(fx.bytes));
  });
  it('an image whose return jumps elsewhere does not match: the thunk address is not taken from it', () => {
    const raw = JSON.parse(readFileSync(SKL, 'utf8')) as Json;
    const n = raw.bytes.length;
    // the final `jmp rel32` to its_return_thunk: bump its rel32's low byte
    const lo = parseInt(raw.bytes.slice(n - 8, n - 6), 16);
    raw.bytes = raw.bytes.slice(0, n - 8) + ((lo + 0x10) & 0xff).toString(16).padStart(2, '0') + raw.bytes.slice(n - 6);
    raw.functions[0].bytes = raw.bytes;
    const fx = parseFixture(raw, 'moved.json');
    expect(hexBytes(rejitFixture(fx).bytes)).not.toBe(hexBytes(fx.bytes));
  });
  it('jit verify says which encodings it chose and why', () => {
    const lines: string[] = [];
    const code = jitVerifyCommand([dirname(SKL)], (l) => lines.push(l));
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^# jit: profile=6\.1 indirect=retpoline:__x86_indirect_thunk_rcx return=its_return_thunk /);
    expect(lines[0]).toContain('indirect_target_selection "Mitigation: Aligned branch/return thunks"');
    expect(lines.at(-1)).toBe('111 matched, 0 mismatched');
  });
  it('its-thunk: jmp rel32 to __x86_indirect_its_thunk_rcx', () => {
    const env = makeEnv({ cfg: defaultJitConfig('6.12', { indirect_jump: 'its-thunk' }), syms: { its_indirect_thunk: 0xffffffff81cf6be0n } });
    const ip = 0xffffffffc0000900n;
    expect(hexBytes(emit_indirect_jump(ip, env))).toBe(hexBytes(Uint8Array.from([0xe9, ...le(Number(0xffffffff81cf6be0n - ip - 5n))])));
  });
  it('fixtureConfig reports call-depth accounting from the retbleed=stuff capture', () => {
    const f = join(HERE, 'fixtures/captured/linux-6.12.118+deb12-amd64/Skylake-Client/retbleed-stuff/caller_sub__b_install_t1.json');
    const { env, notes } = fixtureConfig(loadFixture(f));
    expect(env.cfg.call_depth).toBe(true);
    expect(env.cfg.return_thunk_name).toBe('call_depth_return_thunk');
    expect(env.cfg.indirect_thunk_name).toBe('__x86_indirect_jump_thunk_rcx');
    expect(env.syms.call_depth_percpu).toBeDefined();
    expect(notes.join('; ')).toMatch(/call-depth accounting \(guest_cpu; %gs:call_depth from kallsyms\)/);
  });
});

function le(v: number): number[] {
  const u = v >>> 0;
  return [u & 0xff, (u >>> 8) & 0xff, (u >>> 16) & 0xff, (u >>> 24) & 0xff];
}
