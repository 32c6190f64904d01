/**
 * What stops a one-store search (explorer.ts, pipeline/explore-pipeline.ts):
 * the violations it was asked to find, or a limit (also used by the
 * partitions of a parallel search for the stop cell and the deadline).
 */
import type { TransitionSystem } from './system.js';
import type { VisitedSet } from './visited-set.js';

/**
 * Why a search stopped before it was complete: --max-states, --max-memory,
 * the visited set's own capacity, the wall-clock deadline (--time-limit), or
 * a request to stop (SIGINT/SIGTERM on the command line).
 */
export type SearchLimit = 'max-states' | 'max-memory' | 'store-full' | 'time-limit' | 'interrupted';

/** Values of a stop cell (ExploreOptions.stop): 0 go on. */
export const STOP_INTERRUPTED = 1;
export const STOP_TIME_LIMIT = 2;

/** What a stop cell or a deadline asks for, if anything (cheap enough to call once a batch). */
export function stopRequested(opts: { stop?: Int32Array; deadline?: number }): SearchLimit | null {
  if (opts.stop) {
    const v = Atomics.load(opts.stop, 0);
    if (v === STOP_INTERRUPTED) return 'interrupted';
    if (v === STOP_TIME_LIMIT) return 'time-limit';
  }
  if (opts.deadline !== undefined && Date.now() >= opts.deadline) return 'time-limit';
  return null;
}

/** The code a stop cell holds for a limit (0 for none): how partitions tell each other. */
export function stopCode(limit: SearchLimit | null): number {
  return limit === 'interrupted' ? STOP_INTERRUPTED : limit === 'time-limit' ? STOP_TIME_LIMIT : 0;
}

/** The first state (by index) violating each property, as the search meets them. */
export class FirstViolations {
  /** Per property (same order as system.properties): index of the first violating state, or -1. */
  readonly first: number[];
  private found = 0;
  private readonly checked: number;

  constructor(
    private readonly sys: TransitionSystem,
    private readonly stopAtFirst: boolean,
  ) {
    this.first = new Array<number>(sys.properties.length).fill(-1);
    let checked = 0;
    sys.properties.forEach((p, i) => {
      if (p.checked) checked |= 1 << i;
    });
    this.checked = checked;
  }

  /** Checks state `idx` (its words `st`) against every property not yet violated. */
  note(idx: number, st: Int32Array): void {
    const v = this.sys.violations(st) & ~this.found;
    if (v === 0) return;
    for (let i = 0; i < this.first.length; i++) if (v & (1 << i)) this.first[i] = idx;
    this.found |= v;
  }

  /** True once the search may stop: every checked property violated (or one, if asked to stop at the first). */
  get enough(): boolean {
    const f = this.found & this.checked;
    return f !== 0 && (this.stopAtFirst || f === this.checked);
  }
}

/**
 * The limit a search has reached, if any, checked before the store grows:
 * `extra` is the most states the next step can add.
 */
export function limitReached(store: VisitedSet, extra: number, maxStates: number, maxBytes: number): SearchLimit | null {
  if (store.size > maxStates) return 'max-states';
  const after = store.bytesFor(extra);
  if (store.bytes > maxBytes || after > maxBytes) return 'max-memory';
  if (after > store.capacityBytes) return 'store-full';
  return null;
}
