/**
 * Runs checks on a thread of their own while this thread stays free: free to
 * print progress, to see SIGINT/SIGTERM and to keep a wall-clock budget. A
 * search is synchronous (explore() never yields), so a signal handler on the
 * searching thread would only run after the search; here the handler sets
 * the stop cell the search reads once a batch (search-stop.ts), and the
 * search ends like a limit: the result is kept, marked incomplete.
 *
 * The worker builds each model from its origin (name and configuration), as
 * check-worker.ts does for a parallel search, and posts back plain results.
 */
import { Worker } from 'node:worker_threads';
import type { ExploreProgress } from '../concurrency/explorer.js';
import { ModelConfigError } from '../concurrency/model.js';
import { workerEntry, type CheckOptions, type CheckResult, type ModelOrigin } from './result.js';

/** The options a worker can receive (no functions): those of runCheck, less progress and origin. */
export type PlainCheckOptions = Omit<CheckOptions, 'onProgress' | 'origin' | 'stop'>;

/** One check for the worker: a model's origin, searched as is or (everyN) by the every-N cutoff (cutoff.ts). */
export type SearchJob = ModelOrigin & { everyN?: boolean };

export interface SearchWorkerData {
  jobs: SearchJob[];
  options: PlainCheckOptions;
  /** The stop cell (SharedArrayBuffer): set by the supervising thread. */
  stop: Int32Array;
  progress: boolean;
}

export type SearchWorkerMessage =
  | { kind: 'progress'; index: number; progress: ExploreProgress }
  | { kind: 'result'; index: number; result: CheckResult }
  | { kind: 'error'; message: string; stack?: string; config: boolean };

/** An error the searching thread raised (its stack kept, for a bug report). */
export class SearchThreadError extends Error {
  constructor(message: string, readonly threadStack?: string) {
    super(message);
  }
}

export interface SuperviseHooks {
  stop: Int32Array;
  onProgress?: (index: number, p: ExploreProgress) => void;
  onResult?: (index: number, r: CheckResult) => void;
}

/** A stop cell another thread can read. */
export function createStopCell(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/** Runs `jobs` in order on one worker thread; resolves with their results. */
export function runSupervised(jobs: SearchJob[], options: PlainCheckOptions, hooks: SuperviseHooks): Promise<CheckResult[]> {
  const data: SearchWorkerData = { jobs, options, stop: hooks.stop, progress: !!hooks.onProgress };
  const worker = new Worker(workerEntry('search-worker'), { workerData: data });
  const results: CheckResult[] = [];
  return new Promise<CheckResult[]>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      f();
    };
    worker.on('message', (m: SearchWorkerMessage) => {
      if (m.kind === 'progress') hooks.onProgress?.(m.index, m.progress);
      else if (m.kind === 'result') {
        results[m.index] = m.result;
        hooks.onResult?.(m.index, m.result);
        if (results.filter(Boolean).length === jobs.length) settle(() => resolve(results));
      } else settle(() => reject(m.config ? new ModelConfigError(m.message) : new SearchThreadError(m.message, m.stack)));
    });
    worker.on('error', (e) => settle(() => reject(new SearchThreadError(e.message, e.stack))));
    worker.on('exit', (code) => settle(() => (results.filter(Boolean).length === jobs.length ? resolve(results) : reject(new SearchThreadError(`the searching thread exited (code ${code}) before it had finished`)))));
  });
}
