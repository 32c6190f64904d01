/**
 * What stops a one-store search (explorer.ts, pipeline/explore-pipeline.ts):
 * the violations it was asked to find, or a limit.
 */
import type { SearchLimit } from './explorer.js';
import type { TransitionSystem } from './system.js';
import type { VisitedSet } from './visited-set.js';

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
