/**
 * The entry of a worker thread of a parallel check: it builds the model from
 * its name and configuration (what `origin` in CheckOptions carries), runs
 * its partition of the search, and hands its stored states back.
 */
import { workerData } from 'node:worker_threads';
import type { WorkerJob } from '../concurrency/parallel/explore-parallel.js';
import { abort, notePosted, SearchAborted } from '../concurrency/parallel/shared.js';
import type { ModelOrigin } from './result.js';

const job = workerData as WorkerJob;
const origin = job.source as ModelOrigin;
try {
  // Imported here, not above: a module that fails to load must raise the
  // abort flag too, or the starting thread would wait at the barrier forever.
  const { findModel } = await import('../../models/index.js');
  const { runPartition } = await import('../concurrency/parallel/partition.js');
  const def = findModel(origin.model);
  if (!def) throw new Error(`unknown model '${origin.model}'`);
  const m = def.build(origin.config);
  const r = runPartition(m.system, job.shared, job.partition, job.options);
  const p = r.store.paths();
  job.port.postMessage(p, [p.words.buffer as ArrayBuffer, p.parents.buffer as ArrayBuffer, p.actions.buffer as ArrayBuffer]);
  notePosted(job.shared);
} catch (e) {
  if (!(e instanceof SearchAborted)) {
    job.port.postMessage({ error: `worker ${job.partition}: ${(e as Error).message}` });
    abort(job.shared);
  }
}
job.port.unref();
