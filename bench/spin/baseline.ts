/**
 * SPIN baseline for `tailcall-poke`: every protocol at N = 2..4 (verdicts
 * checked against docs/reference-verdicts.md), then v5.10 (and rfc) at growing N until
 * a run is incomplete (memory bound or timeout). Writes bench/results/spin-baseline.json.
 *
 *   npm run build && node dist/bench/spin/baseline.js [--max-cpus 7] [--timeout 600] [--mem 16000]
 *     [--scaling v5.10,rfc] [--no-verdicts] [--out path]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, cpus as osCpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { runSpin, spinAvailable, spinModelPath, type SpinProperty, type SpinResult } from '../spin.js';

const EXPECTED: Record<string, { verdict: 'holds' | 'violated'; violates: SpinProperty[] }> = {
  'v5.10': { verdict: 'holds', violates: [] },
  rfc: { verdict: 'holds', violates: [] },
  'no-sync': { verdict: 'violated', violates: ['P1'] },
  'bypass-first': { verdict: 'violated', violates: ['P1', 'P3'] },
};

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
}

type Row = Omit<SpinResult, 'raw'> & {
  expected?: string;
  ok?: boolean;
  perProperty?: Record<string, string>;
  /** 1-minute load average just before the run (other work on the box slows SPIN down). */
  loadBefore?: number;
};

function row(r: SpinResult, loadBefore: number): Row {
  const { raw: _raw, ...rest } = r;
  return { ...rest, loadBefore: Math.round(loadBefore * 100) / 100 };
}

function show(r: Row): void {
  const v = r.verdict + (r.violated ? ` ${r.violated}` : '');
  console.log(
    `${r.protocol.padEnd(13)} N=${r.cpus} ${v.padEnd(12)} states ${String(r.states).padStart(11)} transitions ${String(r.transitions).padStart(12)} ` +
      `${r.seconds.toFixed(2).padStart(8)} s (pan ${r.panSeconds ?? '?'} s, cpu ${r.panCpuSeconds ?? '?'} s) ${r.peakMemoryMB.toFixed(0).padStart(6)} MB` +
      ` load ${r.loadBefore ?? '?'}` +
      (r.incompleteReason ? `  [${r.incompleteReason}]` : '') +
      (r.ok === false ? '  UNEXPECTED' : ''),
  );
}

async function main(): Promise<void> {
  if (!spinAvailable()) {
    console.error('spin (or gcc) is not installed: apt-get install spin');
    process.exit(2);
  }
  const maxCpus = Number(arg('--max-cpus', '7'));
  const timeoutSeconds = Number(arg('--timeout', '600'));
  const memLimitMB = Number(arg('--mem', '16000'));
  const scaling = arg('--scaling', 'v5.10').split(',').filter((s) => s !== '');
  const out = resolve(arg('--out', resolve(dirname(spinModelPath()), '../results/spin-baseline.json')));

  const verdicts: Row[] = [];
  for (const protocol of process.argv.includes('--no-verdicts') ? [] : Object.keys(EXPECTED)) {
    for (const cpus of [2, 3, 4]) {
      const load = loadavg()[0];
      const r = row(await runSpin({ protocol, cpus, memLimitMB, timeoutSeconds }), load);
      const exp = EXPECTED[protocol];
      r.expected = exp.verdict === 'holds' ? 'holds' : `violated ${exp.violates.join('+')}`;
      // Which properties break, each checked alone (pan stops at the first error).
      r.perProperty = {};
      for (const p of ['P1', 'P2', 'P3', 'P4'] as SpinProperty[]) {
        const single = await runSpin({ protocol, cpus, memLimitMB, timeoutSeconds, properties: [p] });
        r.perProperty[p] = single.verdict;
      }
      const broken = Object.entries(r.perProperty).filter(([, v]) => v === 'violated').map(([p]) => p);
      r.ok = r.verdict === exp.verdict && broken.join('+') === exp.violates.join('+');
      show(r);
      verdicts.push(r);
    }
  }

  const scalingRows: Row[] = [];
  for (const protocol of scaling) {
    for (let cpus = 2; cpus <= maxCpus; cpus++) {
      const load = loadavg()[0];
      const r = row(await runSpin({ protocol, cpus, memLimitMB, timeoutSeconds }), load);
      show(r);
      scalingRows.push(r);
      if (r.verdict === 'incomplete') break;
    }
  }

  const cpuInfo = osCpus();
  const result = {
    generated: new Date().toISOString(),
    machine: {
      cpu: cpuInfo[0]?.model ?? 'unknown',
      logicalCpus: cpuInfo.length,
      memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      spin: firstLine('spin', ['-V']),
      gcc: firstLine('gcc', ['--version']),
    },
    model: 'bench/spin/tailcall-poke.pml',
    modelSha1: execFileSync('sha1sum', [spinModelPath()], { encoding: 'utf8' }).split(' ')[0],
    settings: {
      compile: `spin -a -DPROTO=<p> -DNCPU=<n> -DPROPS=15; gcc -O2 -DSAFETY -DMEMLIM=${memLimitMB}`,
      pan: './pan -m<depth, raised x10 while too small> -n -w<hash bits>',
      timeoutSeconds,
      seconds: 'wall time of spin -a + gcc + pan; panSeconds is pan\'s own "elapsed time"; panCpuSeconds is pan\'s user+system CPU time (GNU time), loadBefore the 1-min load average before the run',
      peakMemoryMB: 'max RSS of pan (GNU time -v)',
      counting:
        'states = pan "states, stored" = reachable states of the model (matches an independent BFS); transitions = pan "transitions" = edges + 1; on a violation pan stops at the first error (DFS)',
    },
    verdicts,
    scaling: scalingRows,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${out}`);
  if (verdicts.some((r) => r.ok === false)) process.exit(1);
}

await main();
