/**
 * The entry of the expanding thread of a pipelined check (--pipeline): it
 * builds the model from its name and configuration, as check-worker.ts does,
 * and runs the expander (src/concurrency/pipeline/expander.ts) until the
 * storing thread says stop.
 */
import { workerData } from 'node:worker_threads';
import type { ExpanderWorkerData } from '../concurrency/pipeline/explore-pipeline.js';
import { abortRing } from '../concurrency/pipeline/ring.js';
import type { ModelOrigin } from './result.js';

const data = workerData as ExpanderWorkerData;
const origin = data.source as ModelOrigin;
try {
  // Imported here, not above: a module that fails to load must raise the
  // abort flag too, or the storing thread would wait for batches forever.
  const { findModel } = await import('../../models/index.js');
  const { runExpander } = await import('../concurrency/pipeline/expander.js');
  const def = findModel(origin.model);
  if (!def) throw new Error(`unknown model '${origin.model}'`);
  runExpander(def.build(origin.config).system, data.job);
} catch (e) {
  data.port.postMessage({ error: `expanding thread: ${(e as Error).message}` });
  abortRing(data.job.ring);
}
data.port.unref();
