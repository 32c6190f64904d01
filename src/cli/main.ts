#!/usr/bin/env node
/**
 * pokecheck's command line. Exit codes: 0 every property holds (complete
 * search), 1 a property is violated, 2 bad input, 3 the search was cut short
 * by a limit (nothing claimed).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../version.js';
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
                [--no-symmetry] [--max-states N] [--max-memory MB] [--stop-at-first] [--quiet]
                [--workers N | --pipeline] [--store wasm|js] [model options]
                         CPUs are reduced by symmetry where the model allows it;
                         --no-symmetry explores the full product; --workers N searches
                         on N threads (same states and verdicts; default 1); --pipeline
                         on 2: one expands while the other stores (the same search as
                         one thread); --store js keeps visited states in JS arrays
                         (slower; no 4 GiB cap)
  check --all [--workers N] [--junit FILE] [--sarif FILE]
                         every model and protocol in its reference configuration
  sample <model> [--protocol P] [--cpus N] [--runs R] [--steps S] [--seed X] [--replay PATH]
                [--scheduler uniform|biased] [--shrink-seconds S] [--ok-if-none] [--json FILE]
                [model options]
                         R random schedules of at most S steps (fast-check; default 1000
                         of 200, biased), every property checked at every step; a
                         violation is shrunk and printed like check's, with the seed and
                         path that replay it; finding nothing proves nothing: exit 3
                         (0 with --ok-if-none)
  list                   models, protocols, expected verdicts
  report [--out DIR] [--no-symmetry] [--workers N]
                         run check --all and write the report (default report/):
                         index.html, summary.md, results.json, junit.xml, results.sarif
  graph <model> [--protocol P] [--cpus N] [--kind protocol|lanes|ACTOR] [--property P]
                [--format svg|dot] [model options]
                         print one graph: the A-D picture (default), a counterexample's
                         lanes, or an actor's machine (cpu, site, updater)
  jit verify <fixture.json | dir>...   re-JIT each fixture and compare with the kernel's bytes
  jit emit --fixture FILE              our image for a fixture, disassembled, poke sites marked

exit codes: 0 holds, 1 violated, 2 bad input, 3 incomplete (a limit stopped the search, or a sample found nothing)`;

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'check':
        return checkCommand(rest, io);
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
        io.out(`pokecheck ${VERSION}`);
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
    if (e instanceof UsageError) {
      io.err(`pokecheck: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
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
      process.stderr.write(`pokecheck: internal error: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(70);
    },
  );
}
