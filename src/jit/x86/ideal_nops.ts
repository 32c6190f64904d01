/**
 * `arch_init_ideal_nops()` (arch/x86/kernel/alternative.c, kernels before v5.15): at
 * boot the kernel picks one table of nops for the CPU, and the BPF JIT copies
 * `ideal_nops[NOP_ATOMIC5]` into the prologue and the tail-call target site (and
 * bpf_arch_text_poke compares against it). v5.15 dropped the choice
 * (a89dfde3dc3c "x86: Remove dynamic NOP selection"): `x86_nops`, the P6 forms, always.
 *
 * For x86-64 the choice is, by vendor:
 *   Intel:  family 6 models 0x0f-0x2f except 0x1c, 0x26, 0x27 (Core 2 to Westmere, not the
 *           Atoms) take k8_nops (a decoder quirk); otherwise p6_nops when the CPU has NOPL,
 *           else k8_nops;
 *   Hygon:  p6_nops;
 *   AMD:    p6_nops for family > 0xf, k8_nops for family 0xf and older;
 *   others: k8_nops.
 * Decided from what a kernel reports about its CPU (a fixture's `guest_cpu`), never
 * from the image under check.
 */
import type { Nop5Kind } from './config.js';

export interface NopCpu {
  vendor?: string;
  /** `cpu family` (decimal) */
  family?: number;
  /** `model` number, when recorded */
  model_number?: number;
  /** `model name`: QEMU's CPU models name the microarchitecture */
  model_name?: string;
}

/** Intel family 6 models QEMU offers, by the microarchitecture their model name carries. */
const INTEL_P6_NAMES = /Sandy ?Bridge|Ivy ?Bridge|Haswell|Broadwell|Skylake|Cascadelake|Cooperlake|Icelake|Sapphire ?Rapids|Granite ?Rapids|Sierra ?Forest|Snowridge|Denverton/i;
const INTEL_K8_NAMES = /Conroe|Penryn|Nehalem|Westmere|Core 2|Core2/i;

/** The nop5 `arch_init_ideal_nops()` gives that CPU, and why; a string when the report cannot tell. */
export function arch_init_ideal_nops(cpu: NopCpu): { nop5: Nop5Kind; reason: string } | string {
  const v = cpu.vendor;
  if (v === undefined) return 'no CPU vendor recorded';
  if (v === 'GenuineIntel') {
    if (cpu.family === undefined) return 'Intel without a CPU family';
    if (cpu.family !== 6) return `Intel family ${cpu.family} (not family 6: NOPL decides, which the report does not record)`;
    const m = cpu.model_number;
    if (m !== undefined) {
      const k8 = m >= 0x0f && m !== 0x1c && m !== 0x26 && m !== 0x27 && m < 0x30;
      return k8 ? { nop5: 'k8', reason: `Intel family 6 model 0x${m.toString(16)}: k8_nops` } : { nop5: 'p6', reason: `Intel family 6 model 0x${m.toString(16)}: p6_nops (NOPL)` };
    }
    const name = cpu.model_name ?? '';
    if (INTEL_P6_NAMES.test(name)) return { nop5: 'p6', reason: `Intel family 6 "${name}" (a model >= 0x2a): p6_nops (NOPL)` };
    if (INTEL_K8_NAMES.test(name)) return { nop5: 'k8', reason: `Intel family 6 "${name}" (a model in 0x0f-0x2f): k8_nops` };
    return `Intel family 6 "${name}": the model number is not recorded and the name does not tell it`;
  }
  if (v === 'HygonGenuine') return { nop5: 'p6', reason: 'Hygon: p6_nops' };
  if (v === 'AuthenticAMD') {
    if (cpu.family === undefined) return 'AMD without a CPU family';
    return cpu.family > 0xf
      ? { nop5: 'p6', reason: `AMD family 0x${cpu.family.toString(16)} (> 0xf): p6_nops` }
      : { nop5: 'k8', reason: `AMD family 0x${cpu.family.toString(16)} (<= 0xf): k8_nops` };
  }
  return { nop5: 'k8', reason: `vendor ${v}: k8_nops (the x86-64 default)` };
}
