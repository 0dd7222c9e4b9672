/**
 * The dashboard in Debian's Chromium (playwright-core) against `perpmesh start` with
 * config/emulated.yaml: each emulated venue carries the EMULATED badge, and every
 * component of its venue ports is a row with its state and reason (here the account's
 * request budget, informational, and its markets).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, type PerpmeshProcess, startPerpmeshProcess } from '@perpmesh/testing';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { writeEmulatedConfig } from './emulated-config.test-helper.js';

const CHROMIUM = process.env.PERPMESH_CHROMIUM ?? '/usr/bin/chromium';

describe('dashboard in Chromium: emulated venues', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-emulated-dashboard-'));
  let running: PerpmeshProcess | undefined;
  let context: BrowserContext | undefined;
  let page: Page;

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `Chromium is needed at ${CHROMIUM} (make setup, or set PERPMESH_CHROMIUM)`,
    );
    const { path: config } = await writeEmulatedConfig(dir);
    running = await startPerpmeshProcess({ dataDir: join(dir, 'data'), env: { PERPMESH_CONFIG: config } });
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`http://127.0.0.1:${running.httpPort}/`);
  });

  after(async () => {
    await context?.close();
    if (running && running.child.exitCode === null) assert.equal(await running.stop(), 0, running.stderr());
    rmSync(dir, { recursive: true, force: true });
  });

  test('an EMULATED badge on each emulated venue; every port component a row with its reason', async () => {
    // Locators only (this lib compiles without DOM types); `eventually` waits for the live page.
    const badges = page.locator('.venue[data-emulated="true"] [data-badge="emulated"]');
    await eventually('two EMULATED badges', async () => ((await badges.count()) === 2 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    const badged = [];
    for (const venue of await page.locator('.venue:has([data-badge="emulated"])').all()) {
      badged.push(await venue.getAttribute('data-venue'));
    }
    assert.deepEqual(badged, ['binanceusdm', 'hyperliquid']);
    assert.match((await page.locator('.venue[data-venue="hyperliquid"] h3').textContent()) ?? '', /EMULATED/);

    const budget = page.locator('.venue[data-venue="binanceusdm"] li[data-component="main: request budget"]');
    await budget.waitFor({ timeout: 15_000 });
    assert.match(
      (await budget.textContent()) ?? '',
      /account port, informational.*binanceusdm\/main: \d+ of \d+ requests left/s,
    );
    const markets = page.locator('.venue[data-venue="hyperliquid"] li[data-component="main: markets"]');
    await eventually(
      'the hyperliquid account port markets row ready',
      async () => ((await markets.getAttribute('data-state')) === 'ready' ? true : undefined),
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.match((await markets.textContent()) ?? '', /BTC-USDC-PERP loaded/);
  });
});
