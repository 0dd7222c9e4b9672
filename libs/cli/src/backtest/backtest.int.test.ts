/**
 * The backtest engine over a few minutes of synthetic tape (seconds of wall time): the
 * funding arb of config/perpmesh.yaml on the three paper venues, a low entry bar so it
 * trades. Same seed twice → the same numbers; the PnL parts add up to the equity change.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { loadConfig } from '@perpmesh/runtime';
import { parseStrategyInstances } from '@perpmesh/strategy/runtime';
import { paperHubOptionsFromConfig } from '@perpmesh/venues';
import { embeddedConfigSchema } from '../embedded.js';
import { equityChartHtml } from './chart.js';
import { summaryJson, summaryLines } from './command.js';
import { type BacktestOptions, runBacktest } from './engine.js';

const ROOT = new URL('../../../../', import.meta.url).pathname;

function options(seed: number, durationMs: number, overrides: Record<string, unknown> = {}): BacktestOptions {
  const { config } = loadConfig(embeddedConfigSchema, { path: `${ROOT}config/perpmesh.yaml`, env: {} });
  const [instance] = config.strategy.instances;
  const [spec] = parseStrategyInstances([{ ...instance, ...overrides }]);
  const hub = paperHubOptionsFromConfig({
    venues: config.venues,
    paper: config.paper,
    clock: { kind: 'manual' },
  });
  return {
    strategy: spec!,
    hub: { ...(hub.venues ? { venues: hub.venues } : {}), accounts: hub.accounts ?? [] },
    seed,
    durationMs,
  };
}

describe('runBacktest (synthetic tape)', () => {
  test('trades, charges fees, adds up, and is deterministic per seed', async () => {
    const trading = { entryThresholdBps: '0', persistenceMs: '2s' };
    const first = await runBacktest(options(7, 3 * 60_000, trading));
    const second = await runBacktest(options(7, 3 * 60_000, trading));
    assert.deepEqual(summaryJson(second), summaryJson(first));
    assert.deepEqual(summaryLines(second), summaryLines(first));
    assert.deepEqual(
      second.equity.map((p) => [p.tMs, p.equity.toFixed()]),
      first.equity.map((p) => [p.tMs, p.equity.toFixed()]),
    );

    const s = first.summary;
    assert.equal(first.steps, 180);
    assert.equal(s.startEquity.toFixed(), '300000');
    assert.ok(s.orders > 0 && s.fills > 0, `expected trades: ${summaryLines(first).join('\n')}`);
    assert.ok(s.fees.lt(0), 'fills on the fee-charging venues pay fees');
    assert.equal(
      s.funding.plus(s.priceAndBasis).plus(s.fees).plus(s.slippage).toFixed(),
      s.endEquity.minus(s.startEquity).toFixed(),
    );

    const html = equityChartHtml(first, summaryLines(first));
    // Inlined as is (a mangled library is a syntax error in the page).
    const uplot = readFileSync(
      createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'),
      'utf8',
    );
    assert.ok(html.includes(uplot.trim()), 'uPlot inlined unchanged');
    assert.doesNotMatch(html, /<script src=/);
  });

  test('another seed is another market', async () => {
    const a = await runBacktest(options(1, 30_000));
    const b = await runBacktest(options(2, 30_000));
    assert.notDeepEqual(
      a.equity.map((p) => p.equity.toFixed()),
      b.equity.map((p) => p.equity.toFixed()),
    );
  });
});
