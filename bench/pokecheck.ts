/**
 * Runs one pokecheck check in a fresh Node process, for the benchmark: the
 * process's wall time is pokecheck's time to verdict (start-up, building the
 * model, the search, replaying counterexamples), and its peak RSS is the
 * memory it needed, as for SPIN's `pan` next to it.
 *
 * Run as a script with POKECHECK_BENCH_CHILD=1, this file is that child:
 * `node dist/bench/pokecheck.js '<json PokecheckOptions>'` prints one JSON
 * line (PokecheckRun without the wall time, which the parent measures).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findModel } from '../models/index.js';
import { cutoffResult } from '../src/check/cutoff.js';
import { runCheck } from '../src/check/result.js';

export interface PokecheckOptions {
  model?: string;
  protocol: string;
  cpus: number;
  symmetry: boolean;
  /** --workers (threads searching); default 1. */
  workers?: number;
  /** --pipeline (one thread expands, the other stores). */
  pipeline?: boolean;
  /** --max-memory for the visited set (MB). */
  maxMemoryMB?: number;
  /** Node's --max-old-space-size is not needed (states live in typed arrays); this kills the child after so long. */
  timeoutSeconds?: number;
  /** The model's options instead of the scenario SPIN's twin models (e.g. `{ keys: '2' }`: every sequence over two keys). */
  options?: Record<string, string>;
  /** `--cpus every`: the checked cutoff (src/check/cutoff.ts), searches at N = k + 1 and k + 2; `cpus` is ignored. */
  every?: boolean;
}

export interface PokecheckRun {
  tool: 'pokecheck';
  protocol: string;
  cpus: number;
  symmetry: boolean;
  verdict: 'holds' | 'violated' | 'incomplete';
  violated: string[];
  states: number;
  transitions: number;
  depth: number;
  /** Wall time of the whole process (time to verdict). */
  seconds: number;
  /** The explorer's own time (search only). */
  searchSeconds: number;
  /** CPU time of the process (user + system). */
  cpuSeconds: number;
  /** Distinct states stored per second of search. */
  statesPerSecond: number;
  /** Peak RSS of the process. */
  peakMemoryMB: number;
  /** Peak bytes of the visited set. */
  storeMB: number;
  limit: string | null;
  incompleteReason?: string;
  /** With `every`: the scope the verdict covers (every number of CPUs, or why not). */
  scope?: string;
}

function child(opts: PokecheckOptions): Omit<PokecheckRun, 'seconds'> {
  const def = findModel(opts.model ?? 'tailcall-poke');
  if (!def) throw new Error(`unknown model ${opts.model}`);
  // the scenario SPIN's twin models (bench/spin/tailcall-poke.pml), not every sequence of operations
  const options = opts.options ?? ((opts.model && opts.model !== 'tailcall-poke' ? {} : { script: 'install f1; update f2; remove; install f3' }) as Record<string, string>);
  const config = { protocol: opts.protocol, cpus: opts.cpus, options };
  const r = opts.every
    ? cutoffResult((cpus) => def.build({ ...config, cpus }), { symmetry: opts.symmetry, maxMemoryMB: opts.maxMemoryMB })
    : runCheck(def.build(config), { symmetry: opts.symmetry, maxMemoryMB: opts.maxMemoryMB, workers: opts.workers, pipeline: opts.pipeline, origin: { model: def.name, config } });
  const cpu = process.cpuUsage();
  const out: Omit<PokecheckRun, 'seconds'> = {
    tool: 'pokecheck',
    protocol: opts.protocol,
    cpus: opts.cpus,
    symmetry: opts.symmetry,
    verdict: r.verdict,
    violated: r.properties.filter((p) => p.status === 'violated').map((p) => p.id),
    states: r.states,
    transitions: r.transitions,
    depth: r.depth,
    searchSeconds: r.seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    statesPerSecond: Math.round(r.states / r.seconds),
    peakMemoryMB: process.resourceUsage().maxRSS / 1024,
    storeMB: r.memoryMB,
    limit: r.limit,
    scope: r.scope,
  };
  if (r.limit) out.incompleteReason = r.limit === 'store-full' ? 'the 4 GiB WebAssembly visited set is full' : `--max-memory ${opts.maxMemoryMB} reached`;
  return out;
}

/** Runs one check in a child process and measures its wall time. */
export function runPokecheck(opts: PokecheckOptions): Promise<PokecheckRun> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, [script, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POKECHECK_BENCH_CHILD: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = opts.timeoutSeconds ? setTimeout(() => ((timedOut = true), p.kill('SIGKILL')), opts.timeoutSeconds * 1000) : null;
    p.on('error', reject);
    p.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (timedOut) {
        resolve({
          tool: 'pokecheck', protocol: opts.protocol, cpus: opts.cpus, symmetry: opts.symmetry, verdict: 'incomplete', violated: [],
          states: 0, transitions: 0, depth: 0, seconds, searchSeconds: seconds, cpuSeconds: 0, statesPerSecond: 0, peakMemoryMB: 0, storeMB: 0,
          limit: 'timeout', incompleteReason: `timeout after ${opts.timeoutSeconds} s`,
        });
        return;
      }
      if (code !== 0) {
        reject(new Error(`pokecheck child exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      resolve({ ...(JSON.parse(stdout.trim().split('\n').pop()!) as Omit<PokecheckRun, 'seconds'>), seconds });
    });
  });
}

if (process.env.POKECHECK_BENCH_CHILD === '1') {
  process.stdout.write(JSON.stringify(child(JSON.parse(process.argv[2]) as PokecheckOptions)) + '\n');
}
