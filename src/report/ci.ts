/** `check --junit FILE --sarif FILE`: the CI files for checks already run (no graphs, so `check` stays light). */
import { writeFileSync } from 'node:fs';
import type { ReferenceOutcome } from '../cli/check-cmd.js';
import { junitXml } from './junit.js';
import { sarifJson } from './sarif.js';

export function writeCiFiles(outcomes: ReferenceOutcome[], files: { junit?: string; sarif?: string }): void {
  if (files.junit) writeFileSync(files.junit, junitXml(outcomes));
  if (files.sarif) writeFileSync(files.sarif, sarifJson(outcomes));
}
