/** A one-line progress display, redrawn in place on a terminal (stderr). */
import type { ExploreProgress } from '../concurrency/explorer.js';

export function progressPrinter(write: (s: string) => void): { update(p: ExploreProgress): void; done(): void } {
  let drawn = false;
  return {
    update(p) {
      const rate = p.seconds > 0 ? Math.round(p.states / p.seconds) : 0;
      write(
        `\r\x1b[K${p.states.toLocaleString('en')} states  ${rate.toLocaleString('en')} states/s  queue ${p.queue.toLocaleString('en')}  depth ${p.depth}  ${p.memoryMB.toFixed(0)} MB  ${p.seconds.toFixed(1)} s`,
      );
      drawn = true;
    },
    done() {
      if (drawn) write('\r\x1b[K');
    },
  };
}
