/** Reading the copied oracle fixtures (real Linux 6.1 JIT images) in tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ORACLE_DIR = join(import.meta.dirname, '..', 'fixtures', 'oracle', 'linux-6.1.0-56-amd64', 'default');

export interface OracleSite {
  address: string;
  bytes: string;
  state: 'jmp' | 'nop5';
  jump_target?: string;
}

export interface OracleFixture {
  image_address: string;
  bytes: string;
  map_state: Record<string, { prog: string } | null>;
  targets: Record<string, { image_address: string; tail_call_entry: string }>;
  tail_call_sites: { kind: string; bypass?: OracleSite; poke?: OracleSite; out_offset: number }[];
}

export function loadOracle(program: string, step: string): OracleFixture {
  return JSON.parse(readFileSync(join(ORACLE_DIR, `${program}__${step}.json`), 'utf8')) as OracleFixture;
}

export const ORACLE_STEPS = ['a_initial', 'b_install_t1', 'c_replace_t2', 'd_delete', 'e_reinstall_t1', 'f_replace_t3', 'g_delete', 'h_install_key1_t2'] as const;

/** "0f1f440000" -> [0x0f, ...] */
export function unhex(s: string): number[] {
  const t = s.replace(/\s+/g, '');
  return Array.from({ length: t.length / 2 }, (_, i) => parseInt(t.slice(2 * i, 2 * i + 2), 16));
}
