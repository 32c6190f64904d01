#!/usr/bin/env node
/**
 * pokecheck's command line. Exit codes: 0 every property holds (complete
 * search; for check --all and report: every verdict as expected, and for
 * check --expect: the outcome expected), 1 a property is violated (a
 * mismatch), 2 bad input, 3 the search was cut short by a limit, a signal or
 * --time-limit (nothing claimed), 70 a bug in pokecheck (please report it).
 * A second SIGINT/SIGTERM quits at once (130/143).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ModelConfigError } from '../concurrency/model.js';
import { SearchThreadError } from '../check/supervise.js';
import { VERSION, versionText } from '../version.js';
import { checkCommand } from './check-cmd.js';
import { EXIT, processIo, UsageError, type Io } from './io.js';
import { listCommand } from './list-cmd.js';
import { reportCommand } from './report-cmd.js';
import { graphCommand } from './graph-cmd.js';
import { jitCommand } from './jit-cmd.js';
import { sampleCommand } from './sample-cmd.js';

const USAGE = `usage: pokecheck <command> [options]

commands:
  check <model> [--protocol P] [--cpus N] [--json FILE] [--md FILE] [--junit FILE] [--sarif FILE]
                [--sarif-root FILE] [--expect holds|violated[:P1,P2]|incomplete]
                [--no-symmetry] [--max-states N] [--max-memory MB] [--time-limit SECONDS]
                [--stop-at-first] [--quiet | --progress [--progress-every SECONDS]]
                [--workers N | --pipeline] [--store wasm|js] [model options]
                         CPUs are reduced by symmetry where the model allows it;
                         --no-symmetry explores the full product; --workers N searches
                         on N threads (same states and verdicts; default 1); --pipeline
                         on 2: one expands while the other stores (the same search as
                         one thread); --store js keeps visited states in JS arrays
                         (slower; no 4 GiB cap)
  check --all [--workers N] [--junit FILE] [--sarif FILE] [--time-limit SECONDS]
                         every model and protocol in its reference configuration
  sample <model> [--protocol P] [--cpus N] [--runs R] [--steps S] [--seed X] [--replay PATH]
                [--scheduler uniform|biased] [--shrink-seconds S] [--ok-if-none] [--json FILE]
                [model options]
                         R random schedules of at most S steps (fast-check; default 1000
                         of 200, biased), every property checked at every step; a
                         violation is shrunk and printed like check's, with the seed and
                         path that replay it; finding nothing proves nothing: exit 3
                         (0 with --ok-if-none)
                         (exit 0: every verdict as expected)
  list                   models, protocols, expected verdicts
  report [--out DIR] [--no-symmetry] [--workers N] [--time-limit SECONDS] [--sarif-root FILE]
                         run check --all and write the report (default report/):
                         index.html, summary.md, results.json, junit.xml, results.sarif
  graph <model> [--protocol P] [--cpus N] [--kind protocol|lanes|ACTOR] [--property P]
                [--format svg|dot] [model options]
                         print one graph: the A-D picture (default), a counterexample's
                         lanes, or an actor's machine (cpu, site, updater)
  jit verify <fixture.json | dir>...   re-JIT each fixture and compare with the kernel's bytes
  jit emit --fixture FILE              our image for a fixture, disassembled, poke sites marked

exit codes: 0 holds (check --all, report, --expect: as expected), 1 violated (not as
expected), 2 bad input, 3 incomplete (a limit, --time-limit or SIGINT/SIGTERM stopped the
search; outputs are still written; or a sample found nothing), 70 a bug in pokecheck: please report it`;

/** Control characters of the user's input, made visible in an error line. */
export function visible(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** The lines for a bug of ours: what happened, the version, and where to report it (the stack with POKECHECK_DEBUG=1). */
export function internalErrorLines(e: unknown): string[] {
  const err = e instanceof Error ? e : new Error(String(e));
  const stack = err instanceof SearchThreadError ? err.threadStack : err.stack;
  const lines = [
    `pokecheck: internal error: ${visible(err.message.split('\n')[0])}`,
    `pokecheck: this is a bug in pokecheck ${versionText()}; please report it with the command line that caused it${process.env.POKECHECK_DEBUG ? '' : ' (POKECHECK_DEBUG=1 prints the stack)'}`,
  ];
  if (process.env.POKECHECK_DEBUG && stack) lines.push(...stack.split('\n'));
  return lines;
}

export const EXIT_INTERNAL = 70;

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'check':
        return await checkCommand(rest, io);
      case 'sample':
        return sampleCommand(rest, io);
      case 'list':
        return listCommand(rest, io);
      case 'report':
        return await reportCommand(rest, io);
      case 'graph':
        return await graphCommand(rest, io);
      case 'jit':
        return jitCommand(rest, io);
      case '--version':
      case 'version':
        io.out(`pokecheck ${versionText()}`);
        return 0;
      case '--help':
      case '-h':
      case 'help':
        io.out(USAGE);
        return 0;
      case undefined:
        io.err(USAGE);
        return EXIT.usage;
      default:
        throw new UsageError(`unknown command '${cmd}' (see pokecheck --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof ModelConfigError) {
      io.err(`pokecheck: ${visible(e.message)}`);
      return EXIT.usage;
    }
    for (const line of internalErrorLines(e)) io.err(line);
    return EXIT_INTERNAL;
  }
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      for (const line of internalErrorLines(e)) process.stderr.write(line + '\n');
      process.exit(EXIT_INTERNAL);
    },
  );
}
