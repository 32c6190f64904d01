/**
 * SIGINT, SIGTERM and --time-limit on the command line: the first signal (or
 * the budget running out) sets the stop cell, so the search ends the way a
 * limit ends it (verdict incomplete, violations found so far reported) and
 * every requested output is still written; exit code 3, or 1 if something was
 * already violated. A second signal ends the process at once (128 + signal).
 */
import { STOP_INTERRUPTED, STOP_TIME_LIMIT } from '../concurrency/search-stop.js';
import { createStopCell } from '../check/supervise.js';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export interface StopControl {
  readonly stop: Int32Array;
  /** Date.now() milliseconds at which --time-limit runs out. */
  readonly deadline?: number;
  /** The signal that stopped the search, if one did. */
  signal: string | null;
  dispose(): void;
}

export function stopControl(timeLimitSeconds: number | undefined, say: (line: string) => void): StopControl {
  const stop = createStopCell();
  const deadline = timeLimitSeconds !== undefined ? Date.now() + timeLimitSeconds * 1000 : undefined;
  const ctl: StopControl = {
    stop,
    deadline,
    signal: null,
    dispose() {
      for (const [s, h] of handlers) process.off(s, h);
      if (timer) clearTimeout(timer);
    },
  };
  const handlers: [NodeJS.Signals, () => void][] = (['SIGINT', 'SIGTERM'] as const).map((s) => [
    s,
    () => {
      if (ctl.signal) process.exit(SIGNAL_EXIT[s]);
      ctl.signal = s;
      Atomics.store(stop, 0, STOP_INTERRUPTED);
      say(`pokecheck: ${s}: stopping the search and writing what it found (${s === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit at once)`);
    },
  ]);
  for (const [s, h] of handlers) process.on(s, h);
  // The worker reads the deadline itself; the timer also ends a search between checks.
  const timer = timeLimitSeconds !== undefined ? setTimeout(() => Atomics.compareExchange(stop, 0, 0, STOP_TIME_LIMIT), timeLimitSeconds * 1000) : null;
  timer?.unref();
  return ctl;
}
