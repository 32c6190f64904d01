/**
 * Every check says which kernel's bytes it ran on (src/check/about.ts), and
 * the report shows it: issue 18 asks that the tail-call models run on bytes
 * emitted for the kernel they model (layouts v5.5, v5.10-6.11, v6.12+) and
 * that the report say which.
 */
import { describe, expect, it } from 'vitest';
import { MODELS } from '../models/index.js';
import { aboutRun } from '../src/check/about.js';
import { reportHtml } from '../src/report/html.js';
import { summaryMarkdown } from '../src/report/summary.js';
import { tailcallOutcomes } from './report-outcomes.js';

describe('the bytes line', () => {
  it('every reference check of every model has one', () => {
    for (const def of MODELS) {
      for (const c of def.reference) {
        const m = def.build({ protocol: c.protocol, cpus: c.cpus, options: c.options ?? {} });
        const a = aboutRun(def, m, c.options ?? {}, null, true);
        expect(a.bytes, `${def.name} ${c.protocol}`).toMatch(/\w/);
      }
    }
  });

  it('names the kernel each tail-call protocol comes from: v5.10 for v5.10 to v6.6, 6.1 for v6.7, 6.12 for v6.12+', () => {
    const bytesOf = (model: string, protocol: string, options: Record<string, string> = {}) => {
      const def = MODELS.find((d) => d.name === model)!;
      const cpus = model === 'tailcall-hierarchy' ? 1 : 2;
      return aboutRun(def, def.build({ protocol, cpus, options }), options, null, true).bytes!;
    };
    for (const p of ['rfc', 'v5.10', 'no-sync', 'bypass-first']) expect(bytesOf('tailcall-poke', p)).toMatch(/^x86-64 bytes of linux v5\.10, layout v5\.10-6\.11,.*profile 5\.10/);
    expect(bytesOf('tailcall-poke', 'v5.10', { level: 'byte' })).toMatch(/linux v5\.10, layout v5\.10-6\.11/);
    expect(bytesOf('tailcall-load-race', 'v5.10')).toMatch(/linux v5\.10, layout v5\.10-6\.11/);
    expect(bytesOf('tailcall-load-race', 'v6.7')).toMatch(/linux 6\.1, layout v5\.10-6\.11.*byte for byte that image/);
    expect(bytesOf('tailcall-hierarchy', 'v5.10')).toMatch(/linux v5\.10, layout v5\.10-6\.11.*profile 5\.10/);
    expect(bytesOf('tailcall-hierarchy', 'v6.12')).toMatch(/linux 6\.12, layout v6\.12\+.*profile 6\.12/);
    expect(bytesOf('tailcall-cached-target', 'rfc-2026')).toMatch(/layout v6\.12\+/);
    expect(bytesOf('sleepable-tailcall', '0f0c332992b8')).toMatch(/layout v6\.12\+.*profile 6\.12-ibt/);
  });

  it('is in the report: index.html per check, summary.md per distinct text', () => {
    const outcomes = tailcallOutcomes();
    const html = reportHtml(outcomes, { models: new Map(), checks: outcomes.map(() => ({ protocol: null, actors: [], lanes: new Map() })) });
    expect(html.match(/<p class="bytes"><b>bytes:<\/b> x86-64 bytes of linux v5\.10/g)).toHaveLength(outcomes.length);
    const md = summaryMarkdown(outcomes);
    expect(md).toMatch(/## Bytes each check ran on\n\n- tailcall-poke rfc \(3 CPUs\): x86-64 bytes of linux v5\.10.*add rsp,0/);
    expect(md).toMatch(/\n- tailcall-poke v5\.10 \(3 CPUs\), tailcall-poke no-sync \(3 CPUs\), tailcall-poke bypass-first \(3 CPUs\): x86-64 bytes of linux v5\.10/);
  });
});
