/**
 * `npm run bench:sample`: what sampling (src/check/sample.ts) finds and how fast.
 *
 *  1. Every violated reference configuration: runs and seconds to the first
 *     violation (median over 20 seeds), uniform against biased scheduler, and
 *     the shrunk counterexample's length against the exhaustive shortest.
 *  2. Throughput: steps per second sampling tailcall-poke v5.10 (a holding
 *     protocol, so every run goes to its full length) at growing N, up to
 *     the largest N the model accepts.
 *  3. Coverage beyond exhaustive reach: tailcall-poke at the byte level
 *     (text_poke_bp) at 8 CPUs sampled for 60 s with each scheduler: steps, runs and distinct
 *     states seen (raw, and up to CPU symmetry).
 *
 *   npm run bench:sample -- [--seeds 20] [--max-runs 20000] [--throughput-seconds 5]
 *                           [--coverage-seconds 60] [--cpus 2,4,8,16] [--out FILE]
 *                           [--sections findings,throughput,coverage]
 *
 * Prints Markdown tables and writes everything to bench/results/sample-*.json.
 * One process, one thread: run it on a quiet machine, once.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { findModel, MODELS } from '../models/index.js';
import { runCheck } from '../src/check/result.js';
import { sample, SCHEDULERS, type SchedulerKind } from '../src/check/sample.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : undefined;
}

const SEEDS = Number(arg('--seeds') ?? 20);
const MAX_RUNS = Number(arg('--max-runs') ?? 20000);
const THROUGHPUT_S = Number(arg('--throughput-seconds') ?? 5);
const COVERAGE_S = Number(arg('--coverage-seconds') ?? 60);
const CPUS = (arg('--cpus') ?? '2,4,8,16').split(',').map(Number);
const SECTIONS = new Set((arg('--sections') ?? 'findings,throughput,coverage').split(','));
/** The default shrink budget (src/check/sample.ts): in these configurations shrinking ends before it. */
const SHRINK_S = 10;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

interface SchedulerFigures {
  scheduler: SchedulerKind;
  found: number;
  seeds: number;
  /** Median runs to the first violation; Infinity when fewer than half the seeds found one within maxRuns. */
  medianRuns: number;
  medianSecondsToFirst: number;
  medianShrunk: number;
  maxRatio: number;
  medianRatio: number;
}

interface ConfigFigures {
  label: string;
  shortest: Record<string, number>;
  schedulers: SchedulerFigures[];
}

function label(model: string, protocol: string, cpus: number, options: Record<string, string>): string {
  return `${model} ${protocol} N=${cpus}${Object.entries(options).map(([k, v]) => ` --${k} ${v}`).join('')}`;
}

function findings(): ConfigFigures[] {
  const out: ConfigFigures[] = [];
  for (const def of MODELS) {
    for (const ref of def.reference) {
      if (ref.expected !== 'violated') continue;
      const options = ref.options ?? {};
      const m = def.build({ protocol: ref.protocol, cpus: ref.cpus, options });
      const ex = runCheck(m);
      const shortest = Object.fromEntries(ex.counterexamples.map((c) => [c.property, c.steps.length]));
      const schedulers = SCHEDULERS.map((scheduler): SchedulerFigures => {
        const runs: number[] = [];
        const secs: number[] = [];
        const lens: number[] = [];
        const ratios: number[] = [];
        for (let seed = 1; seed <= SEEDS; seed++) {
          const s = sample(m, { seed, runs: MAX_RUNS, scheduler, shrinkSeconds: SHRINK_S });
          if (s.verdict !== 'violated') {
            runs.push(Infinity);
            secs.push(Infinity);
            continue;
          }
          runs.push(s.runs);
          secs.push(s.secondsToFirst!);
          const c = s.counterexample!;
          lens.push(c.steps.length);
          ratios.push(c.steps.length / shortest[c.property]);
        }
        const found = lens.length;
        return {
          scheduler,
          found,
          seeds: SEEDS,
          medianRuns: median(runs),
          medianSecondsToFirst: median(secs),
          medianShrunk: found ? median(lens) : NaN,
          maxRatio: found ? Math.max(...ratios) : NaN,
          medianRatio: found ? median(ratios) : NaN,
        };
      });
      const f = { label: label(def.name, ref.protocol, ref.cpus, options), shortest, schedulers };
      out.push(f);
      process.stderr.write(`${f.label}: ${schedulers.map((x) => `${x.scheduler} ${x.medianRuns} runs`).join(', ')}\n`);
    }
  }
  return out;
}

interface Throughput {
  cpus: number;
  scheduler: SchedulerKind;
  steps: number;
  runs: number;
  seconds: number;
  stepsPerSecond: number;
}

function throughput(): Throughput[] {
  const out: Throughput[] = [];
  for (const cpus of CPUS) {
    const m = findModel('tailcall-poke')!.build({ protocol: 'v5.10', cpus, options: {} });
    for (const scheduler of SCHEDULERS) {
      const s = sample(m, { seed: 1, runs: 1e9, steps: 1000, scheduler, timeLimitMs: THROUGHPUT_S * 1000 });
      if (s.verdict !== 'sampled') throw new Error(`tailcall-poke v5.10 N=${cpus}: sampling found a violation`);
      out.push({ cpus, scheduler, steps: s.steps, runs: s.runs, seconds: s.seconds, stepsPerSecond: s.steps / s.seconds });
      process.stderr.write(`throughput N=${cpus} ${scheduler}: ${Math.round(s.steps / s.seconds)} steps/s\n`);
    }
  }
  return out;
}

/** 52 bits of two FNV-1a hashes of a state's words: a distinct-state count with a negligible chance of collision at these sizes. */
function hash52(s: Int32Array): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    a = Math.imul(a ^ s[i], 0x01000193);
    b = Math.imul(b ^ (s[i] + 0x9e3779b9), 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

interface Coverage {
  config: string;
  scheduler: SchedulerKind;
  seconds: number;
  runs: number;
  steps: number;
  distinct: number;
  distinctCanonical: number | null;
  verdict: string;
}

function coverage(): Coverage[] {
  const out: Coverage[] = [];
  const options = { level: 'byte', poke: 'text_poke_bp' };
  const m = findModel('tailcall-poke')!.build({ protocol: 'v5.10', cpus: 8, options });
  const scratch = new Int32Array(m.system.width);
  for (const scheduler of SCHEDULERS) {
    const raw = new Set<number>();
    const canon = new Set<number>();
    const s = sample(m, {
      seed: 1,
      runs: 1e9,
      steps: 1000,
      scheduler,
      timeLimitMs: COVERAGE_S * 1000,
      observe: (st) => {
        raw.add(hash52(st));
        if (m.system.canonicalize) {
          scratch.set(st);
          m.system.canonicalize(scratch);
          canon.add(hash52(scratch));
        }
      },
    });
    out.push({ config: label('tailcall-poke', 'v5.10', 8, options), scheduler, seconds: s.seconds, runs: s.runs, steps: s.steps, distinct: raw.size, distinctCanonical: m.system.canonicalize ? canon.size : null, verdict: s.verdict });
    process.stderr.write(`coverage ${scheduler}: ${s.steps} steps, ${raw.size} distinct states\n`);
  }
  return out;
}

const fmtRuns = (x: number): string => (Number.isFinite(x) ? String(x) : `> ${MAX_RUNS}`);
const fmtS = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');

function main(): void {
  const started = new Date();
  const load = loadavg()[0];
  const f = SECTIONS.has('findings') ? findings() : [];
  const t = SECTIONS.has('throughput') ? throughput() : [];
  const c = SECTIONS.has('coverage') && COVERAGE_S > 0 ? coverage() : [];
  const lines: string[] = [];
  lines.push(`seeds 1..${SEEDS}, at most ${MAX_RUNS} runs of 200 steps each, shrinking bounded to ${SHRINK_S} s; load average at start ${load.toFixed(2)}`);
  lines.push('');
  lines.push('| configuration | shortest (exhaustive) | uniform: found, median runs, median s to first | biased: found, median runs, median s to first | shrunk length (median, uniform / biased) | shrunk / shortest (max, uniform / biased) |');
  lines.push('|---|---|---|---|---|---|');
  for (const x of f) {
    const [u, b] = x.schedulers;
    const short = Object.entries(x.shortest).map(([p, n]) => `${p} ${n}`).join(', ');
    lines.push(`| ${x.label} | ${short} | ${u.found}/${u.seeds}, ${fmtRuns(u.medianRuns)}, ${fmtS(u.medianSecondsToFirst)} | ${b.found}/${b.seeds}, ${fmtRuns(b.medianRuns)}, ${fmtS(b.medianSecondsToFirst)} | ${u.medianShrunk} / ${b.medianShrunk} | ${u.maxRatio.toFixed(2)} / ${b.maxRatio.toFixed(2)} |`);
  }
  lines.push('');
  lines.push('| tailcall-poke v5.10 | scheduler | runs | steps | seconds | steps/s |');
  lines.push('|---|---|---|---|---|---|');
  for (const x of t) lines.push(`| N=${x.cpus} | ${x.scheduler} | ${x.runs} | ${x.steps} | ${x.seconds.toFixed(1)} | ${Math.round(x.stepsPerSecond)} |`);
  if (c.length) {
    lines.push('');
    lines.push('| beyond exhaustive reach | scheduler | seconds | runs | steps | distinct states | distinct up to symmetry | verdict |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const x of c) lines.push(`| ${x.config} | ${x.scheduler} | ${x.seconds.toFixed(1)} | ${x.runs} | ${x.steps} | ${x.distinct} | ${x.distinctCanonical ?? '-'} | ${x.verdict} |`);
  }
  console.log(lines.join('\n'));
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const out = resolve(arg('--out') ?? `bench/results/sample-${stamp}.json`);
  mkdirSync(dirname(out), { recursive: true });
  const clean = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)));
  writeFileSync(out, JSON.stringify(clean({ started: started.toISOString(), loadAverageAtStart: load, seeds: SEEDS, maxRuns: MAX_RUNS, findings: f, throughput: t, coverage: c }), null, 2) + '\n');
  console.error(`results: ${out}`);
}

main();
