/**
 * The contract between a model and the explorer.
 *
 * A model is a finite transition system over packed states: every state is a
 * fixed-width vector of 32-bit integers (`width` words). The explorer never
 * looks inside a state; it hashes, stores and compares the words, and asks the
 * model for successors and for the properties a state violates.
 */

/** A safety property, checked in every reachable state. */
export interface PropertySpec {
  /** Short id, e.g. `P1`. */
  readonly id: string;
  readonly description: string;
  /**
   * False when the protocol under check does not promise this property (e.g.
   * P4 for the RFC protocol, whose cover letter fakes the expected bytes).
   * Such a property is reported as `not-checked`, never as holding.
   */
  readonly checked: boolean;
}

/**
 * Called once per successor. The successor has already been written into the
 * `next` buffer that was passed to `expand`; the callee must copy it before
 * returning. `action` is a model-defined small integer naming the step.
 */
export type SuccessorSink = (action: number) => void;

export interface TransitionSystem {
  /** Int32 words per packed state. */
  readonly width: number;
  readonly properties: readonly PropertySpec[];
  /**
   * True when a state's words do not depend on the order in which states were
   * discovered (nothing in them is numbered on first sight, as interned byte
   * strings are unless numbered up front). Only then can a parallel search's
   * workers, each with its own copy of the system, agree on every state; other
   * systems are searched on one thread.
   */
  readonly parallel?: boolean;
  /** Writes the initial state into `out`. */
  initial(out: Int32Array): void;
  /**
   * Enumerates the enabled steps of `state`: for each, writes the successor
   * into `next` and calls `sink(action)`. Must be deterministic (same order
   * every time) so that state counts and counterexamples are reproducible.
   */
  expand(state: Int32Array, next: Int32Array, sink: SuccessorSink): void;
  /** Bit i set iff `state` violates properties[i]. */
  violations(state: Int32Array): number;
  /**
   * Optional symmetry reduction: rewrite `state` in place into the
   * representative of its orbit. Must preserve `violations`.
   */
  canonicalize?(state: Int32Array): void;
}
