/** `--expect holds | violated[:P1,P3] | incomplete`: what a single check must give (a pinned regression). */
import type { ReferenceCheck } from '../concurrency/model.js';
import { UsageError } from './io.js';

export function parseExpect(text: string | undefined, propertyIds: readonly string[]): Pick<ReferenceCheck, 'expected' | 'expectedViolated'> | null {
  if (text === undefined) return null;
  const m = /^(holds|incomplete|violated)(?::(.*))?$/.exec(text.trim());
  if (!m) throw new UsageError(`--expect takes holds, violated, violated:P1,P2 or incomplete, got '${text}'`);
  const [, expected, list] = m;
  if (list !== undefined && expected !== 'violated') throw new UsageError(`--expect ${expected} takes no properties`);
  if (list === undefined) return { expected: expected as ReferenceCheck['expected'] };
  const ids = list.split(',').map((s) => s.trim());
  for (const id of ids) {
    if (!propertyIds.includes(id)) throw new UsageError(`--expect: unknown property '${id}' (properties: ${propertyIds.join(', ')})`);
  }
  return { expected: 'violated', expectedViolated: ids };
}
