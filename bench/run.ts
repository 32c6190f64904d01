/**
 * `npm run bench`: tailcall-poke (v5.10, rfc) at N = 2..8, pokecheck with and
 * without symmetry reduction (the latter also on 2 worker threads), and SPIN's twin of the model
 * (bench/spin/tailcall-poke.pml) when `spin` and `gcc` are installed, run
 * side by side A B C A B C in one process (each run a fresh child process).
 *
 * Prints a Markdown table (verdict, states, transitions, seconds, peak memory,
 * SPIN's time over pokecheck's) and writes every run to bench/results/.
 * Exit code 1 if two tools disagree on a verdict.
 *
 *   npm run bench -- [--quick] [--protocols v5.10,rfc] [--cpus 2-8] [--runs 2]
 *                    [--no-spin] [--budget-mb 10000] [--budget-s 600] [--out FILE]
 *                    [--no-proofs | --proofs-only]
 *
 * Then the proofs (bench/proofs.ts): every N and every sequence of map operations, one key,
 * two keys and the byte level, each once, with the fixed script at N = 8 measured in the same run.
 *   npm run bench -- --from bench/results/FILE.json     (the table of a saved run)
 *
 * A configuration is skipped (and the table says why) when the runs before it
 * predict it would pass the memory or time budget: the state space grows by
 * about the same factor per CPU, so the previous N's figures times that factor
 * are the prediction.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus as osCpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { runPokecheck, type PokecheckRun } from './pokecheck.js';
import { proofsTable, runProofs, type ProofRun } from './proofs.js';
import { runSpin, spinAvailable, SPIN_MAX_CPUS, type SpinResult } from './spin.js';

type Tool = 'pokecheck' | 'pokecheck --no-symmetry' | 'pokecheck --no-symmetry --workers 2' | 'pokecheck --no-symmetry --pipeline' | 'spin';
const TOOLS: readonly Tool[] = ['pokecheck', 'pokecheck --no-symmetry', 'pokecheck --no-symmetry --workers 2', 'pokecheck --no-symmetry --pipeline', 'spin'];
/** Threads of a pokecheck tool. */
const workersOf = (tool: Tool): number => (tool.endsWith('--workers 2') ? 2 : 1);
const pipelined = (tool: Tool): boolean => tool.endsWith('--pipeline');

/** One run, in the fields the table shows. */
interface Measured {
  verdict: 'holds' | 'violated' | 'incomplete';
  violated: string[];
  states: number;
  transitions: number;
  seconds: number;
  peakMemoryMB: number;
  /** Search only (pokecheck's explorer; SPIN's pan). */
  searchSeconds?: number;
  cpuSeconds?: number;
  statesPerSecond?: number;
  note?: string;
  loadBefore: number;
}

interface Cell {
  tool: Tool;
  protocol: string;
  cpus: number;
  runs: Measured[];
  skipped?: string;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : undefined;
}
const flag = (name: string): boolean => process.argv.includes(name);

function cpuRange(s: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Error(`--cpus takes N or N-M, got ${s}`);
  const a = Number(m[1]);
  const b = Number(m[2] ?? m[1]);
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
}

function machine(): Record<string, string | number> {
  return {
    cpuModel: osCpus()[0]?.model ?? 'unknown',
    nproc: Number(firstLine('nproc', [])) || osCpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeH: (() => {
      try {
        return execFileSync('free', ['-h'], { encoding: 'utf8' }).trim();
      } catch {
        return 'unknown';
      }
    })(),
    node: process.version,
    spin: spinAvailable() ? firstLine('spin', ['-V']) : 'not installed',
    gcc: spinAvailable() ? firstLine('gcc', ['--version']) : 'n/a',
    loadAverageAtStart: loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function fromPokecheck(r: PokecheckRun, load: number): Measured {
  return {
    verdict: r.verdict,
    violated: r.violated,
    states: r.states,
    transitions: r.transitions,
    seconds: r.seconds,
    peakMemoryMB: r.peakMemoryMB,
    searchSeconds: r.searchSeconds,
    cpuSeconds: r.cpuSeconds,
    statesPerSecond: r.statesPerSecond,
    note: r.incompleteReason,
    loadBefore: load,
  };
}

function fromSpin(r: SpinResult, load: number): Measured {
  return {
    verdict: r.verdict,
    violated: r.violated ? [r.violated] : [],
    states: r.states,
    transitions: r.transitions,
    seconds: r.seconds,
    peakMemoryMB: r.peakMemoryMB,
    searchSeconds: r.panSeconds,
    cpuSeconds: r.panCpuSeconds,
    statesPerSecond: r.panSeconds ? Math.round(r.states / r.panSeconds) : undefined,
    note: r.incompleteReason,
    loadBefore: load,
  };
}

/**
 * Why this configuration should not run, from the previous two N (time and
 * memory grow by the same factor as the states), or null to run it.
 */
function skipReason(cells: Cell[], tool: Tool, protocol: string, cpus: number, budgetMB: number, budgetS: number): string | null {
  const at = (n: number) => cells.find((c) => c.tool === tool && c.protocol === protocol && c.cpus === n);
  const prev = at(cpus - 1);
  if (prev?.skipped) return `N=${cpus - 1} was skipped`;
  if (prev?.runs.some((r) => r.verdict === 'incomplete')) return `N=${cpus - 1} was incomplete`;
  const p = predict(at(cpus - 2), prev);
  if (p && p.memoryMB > budgetMB) return `predicted ${(p.memoryMB / 1024).toFixed(1)} GB > ${(budgetMB / 1024).toFixed(1)} GB budget`;
  if (p && p.seconds > budgetS) return `predicted ${p.seconds.toFixed(0)} s > ${budgetS} s budget`;
  return null;
}

function predict(a: Cell | undefined, b: Cell | undefined): { seconds: number; memoryMB: number } | null {
  if (!b?.runs.length) return null;
  const growth = a?.runs.length ? b.runs[0].states / a.runs[0].states : 10;
  return { seconds: mean(b.runs.map((r) => r.seconds)) * growth, memoryMB: mean(b.runs.map((r) => r.peakMemoryMB)) * growth };
}

async function main(): Promise<void> {
  const from = arg('--from');
  if (from) {
    // Print the table of a saved run again.
    const saved = JSON.parse(readFileSync(from, 'utf8')) as { cells: Cell[]; proofs?: ProofRun[] };
    const r = report(saved.cells);
    console.log(`${r.table}\n${r.throughput}`);
    if (saved.proofs?.length) console.log(`\nproofs (every N, every sequence of map operations), one run each:\n${proofsTable(saved.proofs)}`);
    return;
  }
  const quick = flag('--quick');
  const protocols = (arg('--protocols') ?? 'v5.10,rfc').split(',');
  const cpuList = cpuRange(arg('--cpus') ?? (quick ? '2-5' : '2-8'));
  const runs = Number(arg('--runs') ?? (quick ? 1 : 2));
  const budgetMB = Number(arg('--budget-mb') ?? 10000);
  const budgetS = Number(arg('--budget-s') ?? 600);
  const withSpin = !flag('--no-spin') && spinAvailable();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const out = resolve(arg('--out') ?? `bench/results/tailcall-poke-${stamp}.json`);
  const info = machine();
  console.error(`machine: ${info.cpuModel}, ${info.nproc} CPUs, ${info.memoryGiB} GiB, node ${info.node}, spin: ${info.spin}; load ${info.loadAverageAtStart}`);
  if (!withSpin) console.error(flag('--no-spin') ? 'SPIN: skipped (--no-spin)' : 'SPIN: not installed (apt-get install spin gcc), pokecheck only');

  const cells: Cell[] = [];
  const proofsOnly = flag('--proofs-only');
  for (const protocol of proofsOnly ? [] : protocols) {
    for (const cpus of cpuList) {
      const row = TOOLS.map((tool): Cell => ({ tool, protocol, cpus, runs: [] }));
      for (const cell of row) {
        if (cell.tool === 'spin' && !withSpin) cell.skipped = 'SPIN not installed';
        else if (cell.tool === 'spin' && cpus > SPIN_MAX_CPUS) cell.skipped = `the Promela twin goes to ${SPIN_MAX_CPUS} CPUs`;
        else cell.skipped = skipReason(cells, cell.tool, protocol, cpus, budgetMB, budgetS) ?? undefined;
        cells.push(cell);
      }
      // A B C A B C: every tool once, then again, so that a change in the machine's load hits all alike.
      for (let k = 0; k < runs; k++) {
        for (const cell of row) {
          if (cell.skipped) continue;
          const load = loadavg()[0];
          const m =
            cell.tool === 'spin'
              ? fromSpin(await runSpin({ protocol, cpus, memLimitMB: budgetMB * 1.5, timeoutSeconds: budgetS * 1.5 }), load)
              : fromPokecheck(
                  await runPokecheck({ protocol, cpus, symmetry: cell.tool === 'pokecheck', workers: workersOf(cell.tool), pipeline: pipelined(cell.tool), maxMemoryMB: budgetMB, timeoutSeconds: budgetS * 1.5 }),
                  load,
                );
          cell.runs.push(m);
          console.error(
            `${protocol} N=${cpus} ${cell.tool}: ${m.verdict} ${m.states} states ${m.seconds.toFixed(2)} s ${m.peakMemoryMB.toFixed(0)} MB` +
              (m.note ? ` (${m.note})` : '') +
              ` [load ${load.toFixed(1)}]`,
          );
        }
      }
    }
  }

  const { table, disagreements, throughput } = report(cells);
  if (!proofsOnly) {
    console.log(table);
    console.log(throughput);
  }
  let proofs: ProofRun[] = [];
  if (!flag('--no-proofs')) {
    proofs = await runProofs(budgetS * 1.5, (line) => console.error(line));
    console.log(`\nproofs (every N, every sequence of map operations), one run each:\n${proofsTable(proofs)}`);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify({ benchmark: 'tailcall-poke', date: new Date().toISOString(), machine: { ...info, loadAverageAtEnd: loadavg().map((x) => x.toFixed(2)).join(' ') }, runsPerTool: runs, budgetMB, budgetS, cells, proofs }, null, 2) + '\n',
  );
  console.error(`results: ${out}`);
  if (disagreements.length) {
    console.error(`VERDICTS DISAGREE: ${disagreements.join('; ')}`);
    process.exitCode = 1;
  }
}

/** The Markdown table, the verdict check and the raw-throughput summary. */
export function report(cells: Cell[]): { table: string; disagreements: string[]; throughput: string } {
  const lines = [
    '| protocol | N | tool | verdict | states | transitions | seconds | peak MB | SPIN s / this s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const disagreements: string[] = [];
  const keys = [...new Set(cells.map((c) => `${c.protocol}|${c.cpus}`))];
  for (const key of keys) {
    const row = cells.filter((c) => `${c.protocol}|${c.cpus}` === key);
    const spin = row.find((c) => c.tool === 'spin' && c.runs.length);
    const spinS = spin ? mean(spin.runs.map((r) => r.seconds)) : undefined;
    const verdicts = new Set<string>();
    for (const c of row) {
      const head = `| ${c.protocol} | ${c.cpus} | ${c.tool} |`;
      if (!c.runs.length) {
        lines.push(`${head} skipped: ${c.skipped ?? 'not run'} | | | | | |`);
        continue;
      }
      const r0 = c.runs[0];
      const v = r0.verdict + (r0.violated.length ? ` (${r0.violated.join(',')})` : '');
      for (const r of c.runs) if (r.verdict !== 'incomplete') verdicts.add(r.verdict);
      const s = mean(c.runs.map((r) => r.seconds));
      const ratio = c.tool !== 'spin' && spinS !== undefined ? `${(spinS / s).toFixed(1)}×` : '';
      lines.push(
        `${head} ${v}${r0.note ? ` [${r0.note}]` : ''} | ${r0.states.toLocaleString('en')} | ${r0.transitions.toLocaleString('en')} | ${c.runs.map((r) => r.seconds.toFixed(2)).join(' / ')} | ${Math.max(...c.runs.map((r) => r.peakMemoryMB)).toFixed(0)} | ${ratio} |`,
      );
    }
    if (verdicts.size > 1) disagreements.push(`${key.replace('|', ' N=')}: ${[...verdicts].join(' vs ')}`);
  }
  // Raw throughput at the largest N each protocol was explored to without symmetry.
  const raw = cells.filter((c) => c.tool.startsWith('pokecheck --no-symmetry') && c.runs.length && c.runs.every((r) => r.verdict !== 'incomplete'));
  const largest = [...new Set(raw.map((c) => `${c.protocol}|${c.tool}`))].map((k) => raw.filter((c) => `${c.protocol}|${c.tool}` === k).sort((a, b) => b.cpus - a.cpus)[0]);
  const rate = (c: Cell, pick: (r: Measured) => number | undefined) => mean(c.runs.map((r) => pick(r) ?? 0));
  const throughput = largest.length
    ? 'raw exploration (--no-symmetry), distinct states per second of search: ' +
      largest
        .map((c) => {
          const spin = cells.find((s) => s.tool === 'spin' && s.protocol === c.protocol && s.cpus === c.cpus && s.runs.length);
          const spinRate = spin ? `; SPIN's pan ${(rate(spin, (r) => r.statesPerSecond) / 1e6).toFixed(2)} M/s` : '';
          const threads = workersOf(c.tool) > 1 ? ` on ${workersOf(c.tool)} workers` : pipelined(c.tool) ? ' pipelined on 2 threads' : '';
          return `${c.protocol} N=${c.cpus}${threads} ${(rate(c, (r) => r.statesPerSecond) / 1e6).toFixed(2)} M/s (${c.runs[0].states.toLocaleString('en')} states in ${rate(c, (r) => r.searchSeconds).toFixed(1)} s${spinRate})`;
        })
        .join(', ')
    : 'raw exploration: no complete run';
  return { table: lines.join('\n'), disagreements, throughput };
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(2);
});
