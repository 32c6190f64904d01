/**
 * Runs the SPIN twin of the `tailcall-poke` model (bench/spin/tailcall-poke.pml)
 * for the benchmark: `spin -a` with the protocol/CPU macros, `gcc -O2 -DSAFETY`,
 * then `./pan`, all in a scratch directory, and parses pan's report.
 *
 * This module never installs anything: callers check `spinAvailable()` and skip
 * (Debian: `apt-get install spin`; gcc is needed too).
 *
 * Counting (see the model's header): pan's "states, stored" is the number of
 * reachable states of the model; pan's "transitions" is the number of edges
 * + 1. On a violation pan stops at the first error (depth-first), so the counts
 * are those seen up to then.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type SpinProtocol = 'v5.10' | 'rfc' | 'no-sync' | 'bypass-first';
export type SpinProperty = 'P1' | 'P2' | 'P3' | 'P4';

/** The values of the model's PROTO macro. */
export const SPIN_PROTOCOLS: Readonly<Record<SpinProtocol, number>> = {
  'v5.10': 1,
  rfc: 2,
  'no-sync': 3,
  'bypass-first': 4,
};
const PROPERTY_BITS: Readonly<Record<SpinProperty, number>> = { P1: 1, P2: 2, P3: 4, P4: 8 };
const ALL_PROPERTIES: readonly SpinProperty[] = ['P1', 'P2', 'P3', 'P4'];
/** The model unrolls the CPUs' steps up to this many CPUs (masks are bytes). */
export const SPIN_MAX_CPUS = 8;

export interface SpinResult {
  tool: 'spin';
  protocol: string;
  cpus: number;
  verdict: 'holds' | 'violated' | 'incomplete';
  /** 'P1'..'P4' for an assertion of the model; pan's own message for any other error. */
  violated?: string;
  /** pan's "states, stored". */
  states: number;
  /** pan's "transitions (= stored+matched)". */
  transitions: number;
  /** Wall time of the whole verification: spin -a, gcc, and pan (the final pan run if the depth had to be raised). */
  seconds: number;
  /** Peak memory: pan's max RSS from /usr/bin/time -v when available, else pan's "total actual memory usage". */
  peakMemoryMB: number;
  /** pan's stdout (and stderr) of the final run. */
  raw: string;
  /** pan's own "elapsed time" (search only). */
  panSeconds?: number;
  /** Wall time of spin -a plus gcc. */
  compileSeconds?: number;
  /** Wall time of the final ./pan run (including its start-up and allocation). */
  panWallSeconds?: number;
  /** pan's "total actual memory usage" (MB). */
  panMemoryMB?: number;
  /** Max RSS of pan in MB (GNU time -v), when /usr/bin/time is available. */
  maxRssMB?: number;
  /** CPU time (user + system) of the final pan run (GNU time -v): less sensitive than wall time to other load on the box. */
  panCpuSeconds?: number;
  stateVectorBytes?: number;
  /** pan's "depth reached". */
  depth?: number;
  /** The -m that the final run used, and how many pan runs it took to find one large enough. */
  maxDepth?: number;
  panRuns?: number;
  hashBits?: number;
  properties?: SpinProperty[];
  /** Why the verdict is 'incomplete' (memory bound, timeout, ...). */
  incompleteReason?: string;
}

export interface SpinOptions {
  /** 'v5.10' | 'rfc' | 'no-sync' | 'bypass-first'. */
  protocol: string;
  /** 1..8 CPUs. */
  cpus: number;
  /** Scratch directory (kept). Default: a fresh directory under the OS temp dir, removed afterwards. */
  workDir?: string;
  /** Compiled into pan as -DMEMLIM (MB; pan counts its hash table, stack and states). Default 16000. */
  memLimitMB?: number;
  /** Kills pan after this many seconds (verdict 'incomplete'). Default: none. */
  timeoutSeconds?: number;
  /** Properties asserted. Default all four. */
  properties?: SpinProperty[];
  /** Initial pan -m; raised tenfold while pan says "max search depth too small". Default 1,000,000. */
  maxDepth?: number;
  /** pan -w (log2 of the hash-table slots). Default from the CPU count (about log2 of the state count). */
  hashBits?: number;
  /** gcc optimisation level for pan. Default '-O2' (what the benchmark uses); tests use '-O0' to compile faster. */
  optLevel?: '-O0' | '-O1' | '-O2' | '-O3';
  /** Extra gcc flags (e.g. -DCOLLAPSE). */
  extraCFlags?: string[];
  /** The Promela model. Default bench/spin/tailcall-poke.pml. */
  modelPath?: string;
}

let availableCache: boolean | undefined;

/** True when both `spin` and `gcc` can be run. */
export function spinAvailable(): boolean {
  if (availableCache === undefined) {
    const ok = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
      return r.error === undefined && r.status === 0;
    };
    availableCache = ok('spin', ['-V']) && ok('gcc', ['--version']);
  }
  return availableCache;
}

/** The model file, whether this module runs from bench/ (vitest, tsx) or from dist/bench/. */
export function spinModelPath(): string {
  const candidates = [
    new URL('./spin/tailcall-poke.pml', import.meta.url),
    new URL('../../bench/spin/tailcall-poke.pml', import.meta.url),
  ];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(p)) return p;
  }
  throw new Error(`tailcall-poke.pml not found (looked at ${candidates.map((c) => fileURLToPath(c)).join(', ')})`);
}

/** Default pan -w: the v5.10 state count grows about 9x per CPU from 936 at N=2. */
function defaultHashBits(cpus: number): number {
  return Math.min(28, Math.max(20, Math.ceil(10 + 3.25 * (cpus - 2))));
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
}

function run(cmd: string, args: string[], cwd: string, timeoutSeconds?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    // Own process group, so that a timeout reaches pan even through /usr/bin/time.
    const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer =
      timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            // SIGINT lets pan print its statistics; SIGKILL if it does not stop.
            signalGroup(child.pid, 'SIGINT');
            killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 10_000);
          }, timeoutSeconds * 1000);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        seconds: Number(process.hrtime.bigint() - start) / 1e9,
        timedOut,
      });
    });
  });
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

function mustSucceed(what: string, r: Run): void {
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code ?? r.signal}):\n${r.stdout}${r.stderr}`);
  }
}

/** GNU time with -v and -o (Debian's /usr/bin/time). */
function gnuTime(): string | undefined {
  if (!existsSync('/usr/bin/time')) return undefined;
  const r = spawnSync('/usr/bin/time', ['-v', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
  return r.status === 0 ? '/usr/bin/time' : undefined;
}

function num(re: RegExp, text: string): number | undefined {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** What pan's report says, independent of how it was run. */
export interface PanReport {
  states?: number;
  transitions?: number;
  errors?: number;
  depth?: number;
  stateVectorBytes?: number;
  panSeconds?: number;
  panMemoryMB?: number;
  violated?: string;
  depthTooSmall: boolean;
  memLimitReached: boolean;
  notCompleted: boolean;
}

export function parsePan(text: string): PanReport {
  const r: PanReport = {
    states: num(/^\s*(\S+) states, stored/m, text),
    transitions: num(/^\s*(\S+) transitions \(= stored\+matched\)/m, text),
    errors: num(/errors: (\d+)/, text),
    depth: num(/depth reached (\d+)/, text),
    stateVectorBytes: num(/State-vector (\d+) byte/, text),
    panSeconds: num(/pan: elapsed time (\S+) seconds/, text),
    panMemoryMB: num(/^\s*(\S+)\s+total actual memory usage/m, text),
    depthTooSmall: /max search depth too small/.test(text),
    memLimitReached: /reached -DMEMLIM bound/.test(text),
    notCompleted: /Search not completed/.test(text),
  };
  const assertion = /assertion violated \((P[1-4])_/.exec(text);
  if (assertion) r.violated = assertion[1];
  else {
    const other = /^pan:\d+: (.*?)(?: \(at depth \d+\))?$/m.exec(text);
    if (other) r.violated = other[1];
  }
  return r;
}

export async function runSpin(opts: SpinOptions): Promise<SpinResult> {
  const proto = SPIN_PROTOCOLS[opts.protocol as SpinProtocol];
  if (proto === undefined) {
    throw new Error(`unknown protocol '${opts.protocol}' (expected one of ${Object.keys(SPIN_PROTOCOLS).join(', ')})`);
  }
  if (!Number.isInteger(opts.cpus) || opts.cpus < 1 || opts.cpus > SPIN_MAX_CPUS) {
    throw new Error(`cpus must be an integer in 1..${SPIN_MAX_CPUS}, got ${opts.cpus}`);
  }
  const properties = opts.properties ?? [...ALL_PROPERTIES];
  const propMask = properties.reduce((m, p) => m | PROPERTY_BITS[p], 0);
  const memLimitMB = opts.memLimitMB ?? 16000;
  const hashBits = opts.hashBits ?? defaultHashBits(opts.cpus);
  let maxDepth = opts.maxDepth ?? 1_000_000;

  const model = opts.modelPath ?? spinModelPath();
  const ownDir = opts.workDir === undefined;
  const dir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'pokecheck-spin-'));
  const started = process.hrtime.bigint();
  try {
    // Copy the model so that pan's .trail lands in the scratch directory.
    const pml = basename(model);
    copyFileSync(model, join(dir, pml));
    const spinRun = await run('spin', ['-a', `-DPROTO=${proto}`, `-DNCPU=${opts.cpus}`, `-DPROPS=${propMask}`, pml], dir);
    mustSucceed('spin -a', spinRun);
    const gccRun = await run(
      'gcc',
      [opts.optLevel ?? '-O2', '-DSAFETY', `-DMEMLIM=${memLimitMB}`, ...(opts.extraCFlags ?? []), '-o', 'pan', 'pan.c'],
      dir,
    );
    mustSucceed('gcc', gccRun);
    const compileSeconds = spinRun.seconds + gccRun.seconds;

    const time = gnuTime();
    // Without P1 the only possible deadlock (every CPU fell through while the
    // updater waits for a grace period) would be reported as an invalid end state.
    const panFlags = ['-n', `-w${hashBits}`, ...(properties.includes('P1') ? [] : ['-E'])];
    let panRuns = 0;
    for (;;) {
      panRuns++;
      const panArgs = [`-m${maxDepth}`, ...panFlags];
      const remaining =
        opts.timeoutSeconds === undefined
          ? undefined
          : Math.max(1, opts.timeoutSeconds - Number(process.hrtime.bigint() - started) / 1e9);
      const panRun = time
        ? await run(time, ['-v', '-o', 'pan.time', './pan', ...panArgs], dir, remaining)
        : await run('./pan', panArgs, dir, remaining);
      const raw = panRun.stdout + (panRun.stderr ? `\n[stderr]\n${panRun.stderr}` : '');
      const rep = parsePan(raw);
      if (rep.depthTooSmall && !panRun.timedOut && maxDepth < 1e9) {
        maxDepth *= 10;
        continue;
      }
      let maxRssMB: number | undefined;
      let panCpuSeconds: number | undefined;
      if (time && existsSync(join(dir, 'pan.time'))) {
        const tv = readFileSync(join(dir, 'pan.time'), 'utf8');
        const kb = num(/Maximum resident set size \(kbytes\): (\d+)/, tv);
        if (kb !== undefined) maxRssMB = kb / 1024;
        const user = num(/User time \(seconds\): ([\d.]+)/, tv);
        const sys = num(/System time \(seconds\): ([\d.]+)/, tv);
        if (user !== undefined && sys !== undefined) panCpuSeconds = Math.round((user + sys) * 100) / 100;
      }
      const seconds = compileSeconds + panRun.seconds;

      let verdict: SpinResult['verdict'];
      let incompleteReason: string | undefined;
      if ((rep.errors ?? 0) > 0 && rep.violated !== undefined) {
        verdict = 'violated';
      } else if (panRun.timedOut) {
        verdict = 'incomplete';
        incompleteReason = `timeout after ${opts.timeoutSeconds} s`;
      } else if (rep.memLimitReached) {
        verdict = 'incomplete';
        incompleteReason = `pan reached -DMEMLIM=${memLimitMB} MB`;
      } else if (rep.depthTooSmall) {
        verdict = 'incomplete';
        incompleteReason = `max search depth too small even at -m${maxDepth}`;
      } else if (rep.notCompleted || rep.errors === undefined || rep.states === undefined) {
        verdict = 'incomplete';
        incompleteReason = `pan did not complete (exit ${panRun.code ?? panRun.signal})`;
      } else if (rep.errors === 0) {
        verdict = 'holds';
      } else {
        verdict = 'incomplete';
        incompleteReason = 'pan reported an error it did not name';
      }

      const result: SpinResult = {
        tool: 'spin',
        protocol: opts.protocol,
        cpus: opts.cpus,
        verdict,
        states: rep.states ?? 0,
        transitions: rep.transitions ?? 0,
        seconds,
        peakMemoryMB: maxRssMB ?? rep.panMemoryMB ?? 0,
        raw,
        panSeconds: rep.panSeconds,
        compileSeconds,
        panWallSeconds: panRun.seconds,
        panMemoryMB: rep.panMemoryMB,
        maxRssMB,
        panCpuSeconds,
        stateVectorBytes: rep.stateVectorBytes,
        depth: rep.depth,
        maxDepth,
        panRuns,
        hashBits,
        properties,
      };
      if (verdict === 'violated') result.violated = rep.violated;
      if (incompleteReason !== undefined) result.incompleteReason = incompleteReason;
      return result;
    }
  } finally {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  }
}
