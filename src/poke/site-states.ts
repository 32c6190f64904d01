/**
 * The A-D states of the direct tail-call poke site (site-machine.ts) looked
 * up by what the two sites hold, for a model that knows the sites' bytes but
 * does not run the site machine (the byte level groups its states with it).
 */
import { pokeSiteMachine } from './site-machine.js';

export type BypassInsn = 'nop' | 'jmp out';
export type TargetInsn = 'nop' | 'jmp';

export interface SiteState {
  /** A, B, C or D. */
  readonly name: string;
  readonly bypass: BypassInsn;
  readonly target: TargetInsn;
  /** `bypass jmp out, target nop: empty slot`, as the instruction level's picture says it. */
  readonly doc: string;
  readonly forbidden: boolean;
}

const states = pokeSiteMachine.config.states as Record<string, { meta: { bypass: BypassInsn; target: TargetInsn; doc: string }; tags?: string[] }>;

export const SITE_STATES: readonly SiteState[] = Object.entries(states).map(([name, s]) => ({
  name,
  bypass: s.meta.bypass,
  target: s.meta.target,
  doc: `bypass ${s.meta.bypass}, target ${s.meta.target}: ${s.meta.doc}`,
  forbidden: (s.tags ?? []).includes('forbidden'),
}));

/** The A-D state of (bypass, target). */
export function siteStateOf(bypass: BypassInsn, target: TargetInsn): SiteState {
  const s = SITE_STATES.find((x) => x.bypass === bypass && x.target === target);
  if (!s) throw new Error(`no poke site state for bypass ${bypass}, target ${target}`);
  return s;
}
