/**
 * The proofs' figures for `npm run bench` (issue "Proofs of the protocol"): each every-N,
 * every-sequence proof of tailcall-poke v5.10 (`--cpus every` without `--script`: one key, two
 * keys, the byte level with text_poke_bp), measured in a fresh child process like every other run,
 * next to the scenario they generalise, the fixed script at N = 8, measured in the same run. The
 * issue's targets: two keys proved in < 10 s and < 1 GB, the byte level in < 60 s, and no proof
 * above 10x the script's time at N = 8.
 */
import { loadavg } from 'node:os';
import { runPokecheck, type PokecheckOptions, type PokecheckRun } from './pokecheck.js';

export const SCRIPT = 'install f1; update f2; remove; install f3';

export interface ProofConfig {
  name: string;
  opts: PokecheckOptions;
  /** The name of the run it is compared with (the script at N = 8), or none for a baseline. */
  against?: string;
  /** The target for it, in words and as limits. */
  target?: { text: string; seconds: number; memoryMB?: number };
}

export const PROOFS: readonly ProofConfig[] = [
  { name: 'v5.10 script, N = 8', opts: { protocol: 'v5.10', cpus: 8, symmetry: true, options: { script: SCRIPT } } },
  { name: 'v5.10 every N, every sequence, 1 key', opts: { protocol: 'v5.10', cpus: 2, symmetry: true, every: true, options: { keys: '1' } }, against: 'v5.10 script, N = 8' },
  {
    name: 'v5.10 every N, every sequence, 2 keys',
    opts: { protocol: 'v5.10', cpus: 2, symmetry: true, every: true, options: { keys: '2' } },
    against: 'v5.10 script, N = 8',
    target: { text: '< 10 s, < 1 GB', seconds: 10, memoryMB: 1024 },
  },
  // The byte level's script at N = 8 is out of reach (some 2 x 10^10 states, docs/performance.md), so
  // its proof is compared with the instruction level's script at N = 8, as the ratio asks.
  {
    name: 'v5.10 byte level (text_poke_bp) every N, every sequence, 1 key',
    opts: { protocol: 'v5.10', cpus: 2, symmetry: true, every: true, options: { level: 'byte', poke: 'text_poke_bp' } },
    against: 'v5.10 script, N = 8',
    target: { text: '< 60 s', seconds: 60 },
  },
];

export interface ProofRun extends PokecheckRun {
  name: string;
  loadBefore: number;
}

/** Runs each proof once (and its baseline), in order; `log` gets one line per run. */
export async function runProofs(timeoutSeconds: number, log: (line: string) => void): Promise<ProofRun[]> {
  const out: ProofRun[] = [];
  for (const p of PROOFS) {
    const loadBefore = loadavg()[0];
    const r = await runPokecheck({ ...p.opts, timeoutSeconds });
    out.push({ ...r, name: p.name, loadBefore });
    log(`${p.name}: ${r.verdict} ${r.states} states ${r.seconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s) ${r.peakMemoryMB.toFixed(0)} MB [load ${loadBefore.toFixed(1)}]`);
  }
  return out;
}

/** The Markdown table of a proofs run. */
export function proofsTable(runs: readonly ProofRun[]): string {
  const lines = [
    '| check | verdict, scope | states | wall s | CPU s | peak MB | wall / script N=8 | CPU / script N=8 | target (wall) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const p = PROOFS.find((x) => x.name === r.name);
    const base = p?.against ? runs.find((x) => x.name === p.against) : undefined;
    const ratio = base ? `${(r.seconds / base.seconds).toFixed(1)}x` : '';
    const cpuRatio = base && base.cpuSeconds > 0 ? `${(r.cpuSeconds / base.cpuSeconds).toFixed(1)}x` : '';
    const scope = r.scope ? (r.scope.startsWith('every number of CPUs') ? 'every N' : r.scope.split(';')[0]) : `N = ${r.cpus}`;
    const target = p?.target ? `${p.target.text}: ${r.seconds < p.target.seconds && (p.target.memoryMB === undefined || r.peakMemoryMB < p.target.memoryMB) ? 'met' : 'not met'}` : '';
    lines.push(`| ${r.name} | ${r.verdict}, ${scope} | ${r.states.toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${r.peakMemoryMB.toFixed(0)} | ${ratio} | ${cpuRatio} | ${target} |`);
  }
  return lines.join('\n');
}
