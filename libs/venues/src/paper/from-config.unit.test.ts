/** perpmesh.yaml's `venues` and `paper` sections → PaperVenueHub options. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { paperSectionSchema, venuesSectionSchema } from '../config.js';
import '../kinds.js';
import { paperHubOptionsFromConfig } from './from-config.js';
import { PaperVenueHub } from './hub.js';

const START_MS = Date.UTC(2026, 0, 1);
const paper = paperSectionSchema.parse({ seed: 3, stepInterval: '100ms' });

describe('paperHubOptionsFromConfig', () => {
  test('paper venues, overrides, rules and funded accounts become a hub', async () => {
    const venues = venuesSectionSchema.parse({
      'paper-fast': {
        kind: 'paper',
        preset: 'paper',
        instruments: ['BTC-USDC-PERP'],
        takerFeeRate: '0.0007',
        fundingInterval: '4h',
        accounts: { main: { apiKeyId: '9', paperDeposit: '12345' } },
      },
      'paper-lighter': { kind: 'paper', instruments: ['ETH-USDC-PERP'] },
    });
    const options = paperHubOptionsFromConfig({
      venues,
      paper,
      rules: {
        'paper-fast': {
          requireIncreasingNonce: true,
          funding: { capPerInterval: '0.002' },
          instruments: { 'BTC-USDC-PERP': { maxLeverage: 30 } },
        },
      },
      clock: { kind: 'manual' },
      startMs: START_MS,
    });
    assert.equal(options.seed, 3);
    const hub = new PaperVenueHub(options);
    assert.deepEqual(hub.venueIds(), ['paper-fast', 'paper-lighter']);
    const config = hub.venueConfig('paper-fast');
    assert.equal(config.takerFeeRate.toFixed(), '0.0007');
    assert.equal(config.makerFeeRate.toFixed(), '0.0002');
    assert.equal(config.funding.intervalMs, 4 * 3_600_000);
    assert.equal(config.funding.capPerInterval.toFixed(), '0.002');
    assert.equal(config.funding.divisor.toFixed(), '1', "the preset's formula otherwise");
    assert.equal(config.requireIncreasingNonce, true);
    assert.deepEqual(
      config.instruments.map((i) => [i.instrumentId, i.maxLeverage]),
      [
        ['BTC-USDC-PERP', 30],
        ['ETH-USDC-PERP', 100],
      ],
    );
    assert.deepEqual(hub.accounts(), [{ venueId: 'paper-fast', accountId: 'main' }]);
    const port = hub.venue('paper-fast', 'main', '9');
    const [balance] = await port.fetchBalances();
    assert.equal(balance?.total.toFixed(), '12345');
    hub.close();
  });

  test("paper.closedOrderRetention bounds every venue's closed orders; a venue's rule wins", () => {
    const venues = venuesSectionSchema.parse({
      paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'] },
      'paper-lighter': { kind: 'paper', instruments: ['BTC-USDC-PERP'] },
    });
    const hubOf = (section: unknown, rules = {}) =>
      new PaperVenueHub(
        paperHubOptionsFromConfig({
          venues,
          paper: paperSectionSchema.parse(section),
          rules,
          clock: { kind: 'manual' },
          startMs: START_MS,
        }),
      );
    const preset = hubOf({});
    assert.equal(preset.venueConfig('paper').closedOrderRetention, 10_000, "the preset's without the key");
    preset.close();
    const bounded = hubOf(
      { closedOrderRetention: 3_000 },
      { 'paper-lighter': { closedOrderRetention: 500 } },
    );
    assert.equal(bounded.venueConfig('paper').closedOrderRetention, 3_000);
    assert.equal(bounded.venueConfig('paper-lighter').closedOrderRetention, 500);
    bounded.close();
    assert.throws(() => paperSectionSchema.parse({ closedOrderRetention: -1 }), /closedOrderRetention/);
  });

  test("paper.fillHistoryLimit bounds every account's fill history; the caller's limit wins", () => {
    const venues = venuesSectionSchema.parse({ paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'] } });
    const limitOf = (section: unknown, fillHistoryLimit?: number) =>
      paperHubOptionsFromConfig({
        venues,
        paper: paperSectionSchema.parse(section),
        ...(fillHistoryLimit === undefined ? {} : { fillHistoryLimit }),
      }).fillHistoryLimit;
    assert.equal(limitOf({}), undefined, "the hub's default without the key");
    assert.equal(limitOf({ fillHistoryLimit: 1_000 }), 1_000);
    assert.equal(limitOf({ fillHistoryLimit: 1_000 }, 50), 50);
    assert.throws(() => paperSectionSchema.parse({ fillHistoryLimit: 1.5 }), /fillHistoryLimit/);
  });

  test('defaults to a realtime clock at paper.stepInterval, and to the presets when no paper venue is configured', () => {
    const options = paperHubOptionsFromConfig({ venues: venuesSectionSchema.parse({}), paper });
    assert.deepEqual(options.clock, { kind: 'realtime', tickIntervalMs: 100 });
    assert.equal(options.venues, undefined);
    assert.deepEqual(options.accounts, []);
  });

  test("instruments beyond the preset's come from the sim catalog, quoted from the first step", () => {
    const venues = venuesSectionSchema.parse({
      paper: { kind: 'paper', instruments: ['BTC-USDC-PERP', 'SOL-USDC-PERP', 'DOGE-USDC-PERP'] },
      'paper-lighter': { kind: 'paper', instruments: ['ETH-USDC-PERP'] },
    });
    const hub = new PaperVenueHub(
      paperHubOptionsFromConfig({
        venues,
        paper,
        rules: { paper: { instruments: { 'SOL-USDC-PERP': { maxLeverage: 10 } } } },
        clock: { kind: 'manual' },
        startMs: START_MS,
      }),
    );
    assert.deepEqual(
      hub.venueConfig('paper').instruments.map((i) => [i.instrumentId, i.maxLeverage]),
      [
        ['BTC-USDC-PERP', 125],
        ['ETH-USDC-PERP', 100],
        ['SOL-USDC-PERP', 10],
        ['DOGE-USDC-PERP', 20],
      ],
    );
    assert.deepEqual(
      hub.venueConfig('paper-lighter').instruments.map((i) => i.instrumentId),
      ['BTC-USDC-PERP', 'ETH-USDC-PERP'],
      'a venue that follows none lists none',
    );
    const { bid, ask } = hub.exchange('paper').bestBidAsk('DOGE-USDC-PERP');
    assert.ok(bid && ask && bid.price.lt(ask.price));
    hub.close();
  });

  test('errors name the config path', () => {
    const make = (venue: Record<string, unknown>) => () =>
      paperHubOptionsFromConfig({
        venues: venuesSectionSchema.parse({
          paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], ...venue },
        }),
        paper,
      });
    assert.throws(make({ accounts: { main: {} } }), { field: 'venues.paper.accounts.main.paperDeposit' });
    assert.throws(make({ accounts: { main: { paperDeposit: '0' } } }), {
      field: 'venues.paper.accounts.main.paperDeposit',
    });
    assert.throws(make({ instruments: ['BTC-USDC-PERP', 'NOPE-USDC-PERP'] }), {
      field: 'venues.paper.instruments[1]',
    });
    assert.throws(make({ fundingInterval: '500ms' }), /venues\.paper\.funding\.intervalMs/);
  });
});
