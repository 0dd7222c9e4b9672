/**
 * The `marketData` section's book publish intervals: parsed from config into the feed's
 * settings, and an override for a venue or book that is not followed refused by the
 * service, naming the field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { subjects } from '@perpmesh/contracts';
import { HealthRegistry } from '@perpmesh/runtime';
import { StaticVenueDirectory } from '@perpmesh/venues';
import { z } from 'zod';
import { marketDataSectionFields, marketDataTuningOf } from './config.js';
import { type BookPublishIntervalOverride, buildMarketDataService } from './index.js';
import { INSTRUMENTS, newHub, quietLogger, VENUES } from './market-data.test-helper.js';

const section = z.strictObject(marketDataSectionFields);

describe('marketData.bookPublishInterval and its overrides', () => {
  test('parsed into the feed settings: durations in ms, instrument optional, none by default', () => {
    assert.deepEqual(marketDataTuningOf(section.parse({})).bookPublishIntervalOverrides, []);
    const tuning = marketDataTuningOf(
      section.parse({
        bookPublishInterval: '250ms',
        bookPublishIntervalOverrides: [
          { venue: 'paper-lighter', interval: '0ms' },
          { venue: 'paper', instrument: 'BTC-USDC-PERP', interval: '5ms' },
        ],
      }),
    );
    assert.equal(tuning.bookPublishIntervalMs, 250);
    assert.deepEqual(tuning.bookPublishIntervalOverrides, [
      { venue: 'paper-lighter', intervalMs: 0 },
      { venue: 'paper', instrument: 'BTC-USDC-PERP', intervalMs: 5 },
    ]);
  });

  test('an override without an interval or with an unknown key is refused by the schema', () => {
    assert.throws(() => section.parse({ bookPublishIntervalOverrides: [{ venue: 'paper' }] }));
    assert.throws(() =>
      section.parse({ bookPublishIntervalOverrides: [{ venue: 'paper', interval: '1ms', symbol: 'x' }] }),
    );
  });

  const build = (overrides: BookPublishIntervalOverride[]) => {
    const hub = newHub();
    try {
      return buildMarketDataService({
        log: { publish: async () => ({}) },
        venues: new StaticVenueDirectory(VENUES.map((v) => hub.venue(v, 'main'))),
        subjects,
        health: new HealthRegistry(),
        logger: quietLogger(),
        nowMs: () => hub.nowMs,
        source: 'market-data/test',
        config: {
          venues: Object.fromEntries(VENUES.map((v) => [v, { instruments: INSTRUMENTS }])),
          tuning: { bookPublishIntervalOverrides: overrides },
        },
      });
    } finally {
      hub.close();
    }
  };

  test('the service refuses an override for a venue or book it is not configured with, naming the field', () => {
    assert.ok(build([{ venue: 'paper-lighter', instrument: 'BTC-USDC-PERP', intervalMs: 0 }]));
    assert.throws(
      () =>
        build([
          { venue: 'paper', intervalMs: 0 },
          { venue: 'binance', intervalMs: 0 },
        ]),
      /marketData\.bookPublishIntervalOverrides\[1\]\.venue.*binance is not a configured venue/,
    );
    assert.throws(
      () => build([{ venue: 'paper', instrument: 'SOL-USDC-PERP', intervalMs: 0 }]),
      /marketData\.bookPublishIntervalOverrides\[0\]\.instrument.*SOL-USDC-PERP is not in venues\.paper\.instruments/,
    );
    assert.throws(
      () =>
        build([
          { venue: 'paper', intervalMs: 0 },
          { venue: 'paper', intervalMs: 5 },
        ]),
      /marketData\.bookPublishIntervalOverrides\[1\]: paper is given twice/,
    );
  });
});
