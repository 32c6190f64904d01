/** The `--json` document: the result minus nothing (the schema is documented in docs/architecture.md). */
import type { CheckResult } from './result.js';

export function resultJson(r: CheckResult): string {
  return JSON.stringify(r, null, 2) + '\n';
}
