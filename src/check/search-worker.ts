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
  data.jobs.forEach((origin, index) => {
    const def = findModel(origin.model);
    if (!def) throw new Error(`unknown model '${origin.model}'`);
    const m = def.build(origin.config);
    const onProgress = data.progress ? (progress: ExploreProgress) => post({ kind: 'progress', index, progress }) : undefined;
    const result = runCheck(m, { ...data.options, stop: data.stop, origin, onProgress });
    post({ kind: 'result', index, result });
  });
} catch (e) {
  const { ModelConfigError } = await import('../concurrency/model.js');
  post({ kind: 'error', message: (e as Error).message ?? String(e), stack: (e as Error).stack, config: e instanceof ModelConfigError });
}
