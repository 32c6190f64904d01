/**
 * The HTML report as a person sees it: index.html opened in headless
 * Chromium (Debian's package, driven by playwright-core), its table and
 * graphs rendered, a counterexample stepped through with next/prev and the
 * arrow keys, and screenshots saved for the README (docs/img/).
 *
 * Where Chromium is missing the test is skipped with a printed reason (it
 * never passes without a browser, and never installs one itself: .ci/run
 * installs Debian's chromium, or `apt-get install chromium` by hand; the
 * README lists the tests' prerequisites).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceOutcome } from '../src/check/reference.js';
import { writeReport } from '../src/report/write.js';
import { tailcallOutcomes } from './report-outcomes.js';

const CHROMIUM = '/usr/bin/chromium';

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`;
if (missing) console.warn(`report-browser: SKIPPED, no browser: ${missing}`);

// The README's screenshots are refreshed on request (POKECHECK_SCREENSHOTS=1); an ordinary run
// writes its screenshots to a temporary folder, so tests never rewrite tracked files.
const IMG = process.env.POKECHECK_SCREENSHOTS
  ? fileURLToPath(new URL('../docs/img/', import.meta.url))
  : mkdtempSync(join(tmpdir(), 'pokecheck-screens-'));

describe.skipIf(missing !== null)('index.html in Chromium', () => {
  let outcomes: ReferenceOutcome[];
  let dir: string;
  let profile: string;
  let ctx: BrowserContext;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    outcomes = tailcallOutcomes();
    dir = mkdtempSync(join(tmpdir(), 'pokecheck-report-'));
    await writeReport(dir, outcomes);
    profile = mkdtempSync(join(tmpdir(), 'pokecheck-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1280, height: 1250 },
    });
    page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    // Offline: any request that leaves the file is an error.
    await page.route(/^(?!file:)/, (route) => {
      errors.push(`request to ${route.request().url()}`);
      return route.abort();
    });
    await page.goto(`file://${join(dir, 'index.html')}`);
  });

  afterAll(async () => {
    await ctx?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('shows the results table: one row per check, the expected and found verdicts, each property', async () => {
    await expect(page.locator('header .status').textContent()).resolves.toBe('4 of 4 verdicts as expected');
    const rows = page.locator('table.results tbody tr');
    expect(await rows.count()).toBe(4);
    const text = await rows.allInnerTexts();
    expect(text.map((t) => t.split('\t')[0])).toEqual(['rfc', 'v5.10', 'no-sync', 'bypass-first']);
    // bypass-first: expected violated (P1, P3); P1 and P3 cells show violated, P2 and P4 hold.
    const cells = rows.nth(3).locator('td.prop');
    expect(await cells.evaluateAll((tds) => tds.map((td) => td.className))).toEqual(['prop violated', 'prop holds', 'prop violated', 'prop holds']);
    expect(await page.locator('td.prop.mismatch').count()).toBe(0);
    const box = await page.locator('table.results').boundingBox();
    expect(box!.width).toBeGreaterThan(400);
  });

  it('draws every graph as an inline SVG, the v5.10 picture with B, C, D and no A', async () => {
    const figures = page.locator('figure.graph');
    const n = await figures.count();
    // 4 protocol pictures, the CPU and the site machine once, 4 updaters, 3 counterexamples' lanes.
    expect(n).toBe(13);
    expect(await page.locator('figure.graph svg').count()).toBe(n);
    expect(await page.locator('.graph-error').count()).toBe(0);
    for (const fig of await page.locator('figure.graph.protocol svg, figure.graph.lanes svg').all()) {
      const b = await fig.boundingBox();
      expect(b!.width).toBeGreaterThan(100);
      expect(b!.height).toBeGreaterThan(40);
    }
    const v510 = page.locator('#tailcall-poke_v5\\.10_3cpu figure.protocol svg g.node title');
    expect((await v510.allTextContents()).sort()).toEqual(['B', 'C', 'D', '__start']);
    const bf = page.locator('#tailcall-poke_bypass-first_3cpu figure.protocol svg');
    expect(await bf.locator('g.node title').allTextContents()).toContain('A');
    await expect(bf.textContent()).resolves.toContain('FORBIDDEN');
    expect(errors).toEqual([]);
  });

  it('steps through a counterexample with next / prev and the arrow keys', async () => {
    const o = outcomes[2]; // no-sync
    const c = o.result.counterexamples[0];
    const n = c.steps.length;
    const t = page.locator('#tailcall-poke_no-sync_3cpu-cx0');
    const visible = async (): Promise<string[]> => t.locator('section.step:visible').evaluateAll((s) => s.map((x) => x.getAttribute('data-step')!));
    await t.scrollIntoViewIfNeeded();
    expect(await t.locator('.pos').textContent()).toBe(`step 0 / ${n}`);
    expect(await visible()).toEqual(['0']);
    expect(await t.locator('button.prev').isDisabled()).toBe(true);
    const prefix = (await t.getAttribute('data-svg'))!;
    for (let i = 1; i <= n; i++) {
      await t.locator('button.next').click();
      expect(await t.locator('.pos').textContent()).toBe(`step ${i} / ${n}`);
      expect(await visible()).toEqual([String(i)]);
      const panel = t.locator(`section.step[data-step="${i}"]`);
      const s = c.steps[i - 1];
      expect(await panel.locator('.actor').textContent()).toBe(s.actor);
      expect(await panel.locator('.action').textContent()).toBe(s.action);
      // Both sites' bytes and disassembly; the bytes this step changed highlighted.
      const rows = await panel.locator('table.sites tbody tr').allInnerTexts();
      expect(rows.map((r) => r.split('\t')[0])).toEqual(['tailcall_bypass', 'tailcall_target']);
      const before = i === 1 ? c.initial.sites : c.steps[i - 2].sites;
      const changed = s.sites.flatMap((x, k) => x.bytes.split(' ').filter((b, j) => b !== before[k].bytes.split(' ')[j]));
      expect(await panel.locator('.chg').allTextContents()).toEqual(changed);
      // The lanes graph outlines the current step.
      await expect(page.locator(`[id="${prefix}-step${i}"]`).getAttribute('class')).resolves.toBe('node current');
      if (i === 4) {
        mkdirSync(IMG, { recursive: true });
        await t.screenshot({ path: join(IMG, 'report-counterexample.png') });
      }
    }
    expect(await t.locator('button.next').isDisabled()).toBe(true);
    expect(await t.locator(`section.step[data-step="${n}"] .violation`).textContent()).toBe(`${c.property} violated`);
    await t.locator('button.prev').click();
    expect(await visible()).toEqual([String(n - 1)]);
    await t.focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect(await t.locator('.pos').textContent()).toBe(`step ${n - 3} / ${n}`);
    await page.keyboard.press('ArrowRight');
    expect(await visible()).toEqual([String(n - 2)]);
    await t.locator('details.steplist-wrap summary').click();
    await t.locator('.steplist li[data-step="0"]').click();
    expect(await visible()).toEqual(['0']);
    expect(errors).toEqual([]);
  });

  it('saves a screenshot of the page for the README', async () => {
    mkdirSync(IMG, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    const file = join(IMG, 'report.png');
    await page.screenshot({ path: file, clip: { x: 0, y: 0, width: 1280, height: 1250 } });
    expect(existsSync(file)).toBe(true);
  });
});
