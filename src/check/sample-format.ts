/** The plain-text rendering of a sample (what `pokecheck sample` prints); counterexamples as `check` prints them. */
import { counterexampleText } from './format.js';
import type { SampleResult } from './sample.js';

/** `no violation found in R runs of at most S steps`: what a sample that finds nothing can say, and no more. */
export function noViolationText(r: SampleResult): string {
  return `no violation found in ${r.runs} runs of at most ${r.maxSteps} steps`;
}

export function sampleSummaryLine(r: SampleResult): string {
  const props = r.properties.map((p) => `${p.id} ${p.status}`).join(', ');
  const config = Object.entries(r.config).map(([k, v]) => `${k}=${/\s/.test(v) ? JSON.stringify(v) : v}`);
  const cfg = config.length ? ` [${config.join(' ')}]` : '';
  const head = `${r.model} --protocol ${r.protocol} --cpus ${r.cpus}${cfg}`;
  const how = `${r.scheduler} scheduler, seed ${r.seed}, ${r.seconds.toFixed(2)} s`;
  if (r.verdict === 'violated') {
    const found = r.replay
      ? 'replayed one schedule'
      : `found in run ${r.runs} of at most ${r.maxRuns} (${r.steps} steps sampled; ${r.firstLength} steps before shrinking, shrunk ${r.shrinks} times${r.shrinkCut ? ', shrinking stopped by its time budget' : ''})`;
    return `${head}: VIOLATED (${props}); ${found}, ${how}`;
  }
  const what = r.replay ? 'the replayed schedule violates nothing' : noViolationText(r);
  const cut = r.interrupted ? `; stopped by the time limit after ${r.runs} of ${r.maxRuns} runs` : '';
  return `${head}: NO VIOLATION FOUND (${props}); ${what} (${r.steps} steps), ${how}${cut}; a sample, not a complete search: nothing is claimed to hold`;
}

/** Every line: the summary, each counterexample, and (given the command that ran) how to replay it. */
export function sampleText(r: SampleResult, command?: string): string[] {
  const out = [sampleSummaryLine(r)];
  for (const c of r.counterexamples) {
    out.push('');
    out.push(...counterexampleText(c));
  }
  if (r.verdict === 'violated' && r.path !== null) {
    out.push('');
    out.push(`seed ${r.seed}, path ${r.path}`);
    if (command) out.push(`replay: ${command} --seed ${r.seed} --replay ${r.path}`);
  }
  return out;
}
