/**
 * A one-line progress display for long searches, redrawn in place on a
 * terminal (stderr): distinct states, states/s over the last interval, the
 * breadth-first queue still to expand, the depth, the visited set's memory and
 * the time so far. `done()` erases it so that the result starts on a clean line.
 */
import type { ExploreProgress } from '../concurrency/explorer.js';

const int = (n: number): string => Math.round(n).toLocaleString('en');

/** Compact rate: 950 / 12.3 k / 1.05 M. */
export function rateText(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)} k`;
  return int(perSecond);
}

export function progressLine(p: ExploreProgress, perSecond: number): string {
  return `${int(p.states)} states  ${rateText(perSecond)} states/s  queue ${int(p.queue)}  depth ${p.depth}  ${p.memoryMB.toFixed(0)} MB  ${p.seconds.toFixed(1)} s`;
}

export function progressPrinter(write: (s: string) => void): { update(p: ExploreProgress): void; done(): void } {
  let drawn = false;
  let lastStates = 0;
  let lastSeconds = 0;
  return {
    update(p) {
      const dt = p.seconds - lastSeconds;
      const rate = dt > 0 ? (p.states - lastStates) / dt : 0;
      lastStates = p.states;
      lastSeconds = p.seconds;
      write(`\r\x1b[K${progressLine(p, rate)}`);
      drawn = true;
    },
    done() {
      if (drawn) write('\r\x1b[K');
      drawn = false;
    },
  };
}

/**
 * A plain heartbeat for logs (`--progress`, or the CI environment variable):
 * one whole line every `everySeconds`, nothing redrawn.
 */
export function heartbeatPrinter(write: (line: string) => void, everySeconds: number): { update(p: ExploreProgress, what?: string): void; done(): void } {
  const start = Date.now();
  let last = start;
  let lastStates = 0;
  let lastSeconds = 0;
  return {
    update(p, what) {
      const now = Date.now();
      if (now - last < everySeconds * 1000) return;
      // A new search (check --all) starts its figures again from 0.
      if (p.seconds < lastSeconds) lastStates = lastSeconds = 0;
      const dt = p.seconds - lastSeconds;
      const rate = dt > 0 ? (p.states - lastStates) / dt : 0;
      last = now;
      lastStates = p.states;
      lastSeconds = p.seconds;
      write(`pokecheck: ${what ? `${what}: ` : ''}${progressLine(p, rate)}`);
    },
    done() {},
  };
}
