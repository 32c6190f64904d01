/**
 * What a protocol model (models/*.ts) gives the checker: a transition system
 * plus the means to print a schedule in kernel terms.
 */
import type { AnyStateMachine, EventObject } from 'xstate';
import type { TransitionSystem } from './system.js';

/** An actor's xstate machine as the model compiles it, for `pokecheck graph` and the report. */
export interface ActorMachine {
  /** The actor's name in schedules (`cpu`, `updater`, `site`) and `--kind`. */
  name: string;
  title: string;
  machine: AnyStateMachine;
  /** The finite event alphabet the checker steps the machine with. */
  events: readonly EventObject[];
  /** States (by value) whose shortest event paths are listed under the graph. */
  targets?: readonly string[];
  /** Tags that mark a state as a violation (drawn red). */
  violationTags?: ReadonlySet<string>;
  /** How to print one event's parameters, e.g. `ret=-EBUSY`; default `k=v`. */
  formatEvent?(e: EventObject): string;
}


/** One poke site (or other watched text) as it stands in a state. */
export interface SiteView {
  name: string;
  /** 0x-prefixed 64-bit address. */
  address: string;
  /** Hex pairs separated by spaces: `0f 1f 44 00 00`. */
  bytes: string;
  /** What the bytes decode to (objdump syntax), or why they do not decode. */
  disasm: string;
}

export interface StepView {
  /** `cpu0`, `updater`, `rcu`, ... */
  actor: string;
  /** What that actor did, in kernel terms. */
  action: string;
  /**
   * Optional: the line of a protocol file (src/protocol/) this step executed.
   * It is carried into the counterexample (CounterexampleStep.source), and
   * SARIF locates a result there.
   */
  source?: { file: string; line: number; column: number };
}

export interface CheckableModel {
  readonly model: string;
  readonly protocol: string;
  readonly cpus: number;
  /** Extra configuration that shaped the model (script, level, ...), for reports. */
  readonly config: Record<string, string>;
  readonly system: TransitionSystem;
  describe(before: Int32Array, after: Int32Array, action: number): StepView;
  sites(state: Int32Array): SiteView[];
  /** A short description of the rest of the state (map slot, CPUs, programs). */
  summary(state: Int32Array): string;
  /**
   * Optional: the group `state` belongs to in the protocol picture
   * (`pokecheck graph --kind protocol`), e.g. the poke site's state A-D.
   */
  group?(state: Int32Array): StateGroup;
  /**
   * Optional: what the model says about what it proves (src/check/about.ts
   * fills in what a model leaves out from its own table).
   */
  readonly provenance?: ModelProvenance;
  /** Optional: the xstate machines this model's actors run, as it compiled them (for graphs). */
  actorMachines?(): ActorMachine[];
}

/** A model's own account of its steps, its bytes and the scope of its claim (all optional). */
export interface ModelProvenance {
  /** The protocol's steps, one line each. */
  steps?: string[];
  /** The kernel and CPU the executed bytes come from, e.g. `linux 6.1 x86-64 (oracle linux-6.1.0-56-amd64)`. */
  bytes?: string;
  /** What a holding verdict covers, in one sentence. */
  scope?: string;
  /** Where the protocol is written (a protocol file), for SARIF locations. */
  source?: { file: string; line?: number; column?: number };
}

/** A group of product states that the protocol picture draws as one node. */
export interface StateGroup {
  /** Short name, e.g. `B`. */
  name: string;
  /** What the group means, e.g. `bypass nop, target jmp: installed`. */
  doc: string;
  /** Whether being in this group is itself forbidden (the poke site's state A). */
  forbidden: boolean;
}

export type Verdict = 'holds' | 'violated' | 'incomplete';

/** A configuration that `check --all` runs, with the verdict the kernel's history says it must give. */
export interface ReferenceCheck {
  protocol: string;
  /** CPUs searched; with `every`, the every-N cutoff decides (src/check/cutoff.ts) and this is only the model's build size for pictures. */
  cpus: number;
  /** The claim is for every number of CPUs, by the checked cutoff (docs/proofs.md). */
  every?: boolean;
  options?: Record<string, string>;
  expected: Verdict;
  /** For `violated`: the properties that must be among those violated. */
  expectedViolated?: string[];
}

export interface ModelOption {
  name: string;
  values?: readonly string[];
  default: string;
  description: string;
  /** The protocols the option means something for (all when absent): its default is not listed for the others. */
  protocols?: readonly string[];
}

export interface ModelConfig {
  protocol: string;
  cpus: number;
  options: Record<string, string>;
}

export interface ModelDefinition {
  name: string;
  summary: string;
  /** `file`: where the protocol's C file is (a shipped protocols/*.c), for a user to copy and pass to --protocol-file. */
  protocols: readonly { name: string; summary: string; file?: string }[];
  defaultProtocol: string;
  defaultCpus: number;
  /** Flags the model takes beyond --protocol and --cpus (e.g. --script). */
  options: readonly ModelOption[];
  reference: readonly ReferenceCheck[];
  build(cfg: ModelConfig): CheckableModel;
}

/** Thrown for a configuration the model rejects (exit code 2 on the command line). */
export class ModelConfigError extends Error {}
