/**
 * The flags every searching command shares (check, check --all, report), and
 * how a search is run from the command line: on a thread of its own
 * (src/check/supervise.ts) so that progress, signals and --time-limit are
 * handled while it runs.
 */
import type { ExploreProgress } from '../concurrency/explorer.js';
import { runSupervised, type PlainCheckOptions, type SearchJob } from '../check/supervise.js';
import type { CheckResult } from '../check/result.js';
import { processIo, UsageError, type Io } from './io.js';
import { intFlag, type Flags } from './options.js';
import { heartbeatPrinter, progressPrinter } from './progress.js';
import { stopControl } from './interrupt.js';

export const SEARCH_FLAGS = {
  symmetry: { type: 'boolean' },
  'no-symmetry': { type: 'boolean' },
  'max-states': { type: 'string' },
  'max-memory': { type: 'string' },
  'time-limit': { type: 'string' },
  'stop-at-first': { type: 'boolean' },
  workers: { type: 'string' },
  store: { type: 'string' },
  pipeline: { type: 'boolean' },
  quiet: { type: 'boolean' },
  progress: { type: 'boolean' },
  'progress-every': { type: 'string' },
} as const;

export interface SearchSetup {
  options: PlainCheckOptions;
  timeLimit?: number;
  /** How progress is shown: redrawn on a terminal, a heartbeat line for logs, or not at all. */
  progress: 'terminal' | 'heartbeat' | null;
  progressEvery: number;
}

/**
 * The search's options from the flags. Symmetry reduction is on by default
 * for every model that has it (`--no-symmetry` explores the full product; see
 * docs/performance.md). Progress: redrawn on stderr when stderr is a
 * terminal; with `--progress`, or when the CI environment variable is set, a
 * plain line every `--progress-every` seconds (default 10) instead; none with
 * --quiet. `--workers N` searches on N threads (src/concurrency/parallel/);
 * `--store js` keeps the visited set in TypeScript arrays (slower, no 4 GiB
 * cap); `--pipeline` searches on two threads, one expanding while the other
 * stores (src/concurrency/pipeline/). `--time-limit SECONDS` ends the search
 * like a limit once that much wall-clock time has passed.
 */
export function searchSetup(flags: Flags, io: Io): SearchSetup {
  if (flags.symmetry && flags['no-symmetry']) throw new UsageError('--symmetry and --no-symmetry exclude each other');
  const store = flags.store ?? 'wasm';
  if (store !== 'wasm' && store !== 'js') throw new UsageError(`--store must be wasm or js, got '${String(store)}'`);
  const workers = intFlag(flags, 'workers', 1, 64);
  if (flags.pipeline && (workers ?? 1) > 1) throw new UsageError('--pipeline and --workers exclude each other');
  if (flags.pipeline && store === 'js') throw new UsageError('--pipeline keeps its states in WebAssembly memory: not with --store js');
  if (flags.quiet && flags.progress) throw new UsageError('--quiet and --progress exclude each other');
  const progressEvery = intFlag(flags, 'progress-every', 1, 86400) ?? 10;
  const heartbeat = !!flags.progress || (!!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0');
  const progress = flags.quiet ? null : io.interactive && !flags.progress ? 'terminal' : heartbeat ? 'heartbeat' : null;
  return {
    options: {
      symmetry: flags['no-symmetry'] ? false : flags.symmetry ? true : 'auto',
      maxStates: intFlag(flags, 'max-states', 1),
      maxMemoryMB: intFlag(flags, 'max-memory', 1),
      stopAtFirstViolation: !!flags['stop-at-first'],
      workers,
      pipeline: !!flags.pipeline,
      store,
    },
    timeLimit: intFlag(flags, 'time-limit', 1, 1e7),
    progress,
    progressEvery,
  };
}

export interface SupervisedSearch {
  results: CheckResult[];
  /** The signal that stopped it, if one did. */
  signal: string | null;
}

/** Runs `jobs` off this thread with progress, signals and the time limit handled here. */
export async function runSearch(jobs: SearchJob[], s: SearchSetup, io: Io, names: (i: number) => string, onResult?: (i: number, r: CheckResult) => void): Promise<SupervisedSearch> {
  const write = (t: string): void => {
    if (io === processIo) process.stderr.write(t);
    else io.err(t.replace(/\r?\x1b\[K/g, ''));
  };
  const terminal = s.progress === 'terminal' ? progressPrinter(write) : null;
  const beat = s.progress === 'heartbeat' ? heartbeatPrinter(io.err, s.progressEvery) : null;
  const ctl = stopControl(s.timeLimit, (line) => {
    terminal?.done();
    io.err(line);
  });
  const onProgress = terminal || beat ? (i: number, p: ExploreProgress): void => (terminal ? terminal.update(p) : beat!.update(p, jobs.length > 1 ? names(i) : undefined)) : undefined;
  try {
    const results = await runSupervised(jobs, { ...s.options, deadline: ctl.deadline }, {
      stop: ctl.stop,
      onProgress,
      onResult: (i, r) => {
        terminal?.done();
        onResult?.(i, r);
      },
    });
    return { results, signal: ctl.signal };
  } finally {
    terminal?.done();
    ctl.dispose();
  }
}
