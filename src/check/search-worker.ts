/**
 * The entry of the thread that runs the CLI's checks (supervise.ts): builds
 * each model from its origin, runs the check with the shared stop cell, and
 * posts progress and results back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ExploreProgress } from '../concurrency/explorer.js';
import type { SearchWorkerData, SearchWorkerMessage } from './supervise.js';

const data = workerData as SearchWorkerData;
const post = (m: SearchWorkerMessage): void => parentPort!.postMessage(m);
try {
  // Imported here, not above: a module that fails to load is reported as an error message.
  const { findModel } = await import('../../models/index.js');
  const { runCheck } = await import('./result.js');
  const { cutoffResult } = await import('./cutoff.js');
  const { buildModel } = await import('./reference.js');
  data.jobs.forEach(({ everyN, ...origin }, index) => {
    const def = findModel(origin.model);
    if (!def) throw new Error(`unknown model '${origin.model}'`);
    const onProgress = data.progress ? (progress: ExploreProgress) => post({ kind: 'progress', index, progress }) : undefined;
    const opts = { ...data.options, stop: data.stop, onProgress };
    const { protocol, options } = origin.config;
    let result = everyN ? cutoffResult((n) => buildModel(def, protocol, n, options), opts) : runCheck(def.build(origin.config), { ...opts, origin });
    // An every-N verdict covers more than the configuration searched: its own scope says what.
    if (result.scope && result.about) result = { ...result, about: { ...result.about, scope: result.scope } };
    post({ kind: 'result', index, result });
  });
} catch (e) {
  const { ModelConfigError } = await import('../concurrency/model.js');
  post({ kind: 'error', message: (e as Error).message ?? String(e), stack: (e as Error).stack, config: e instanceof ModelConfigError });
}
