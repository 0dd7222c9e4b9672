import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, ValidationError } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import {
  balance,
  book,
  fullyFilled,
  funding,
  market,
  marketsInput,
  placed,
  start,
  T0,
  tick,
} from '../../fixtures.test-helper.js';
import type { StrategyInput } from '../../model.js';
import { A, arbConfig, B, byVenue } from './arb-fixtures.test-helper.js';
import { marketLegConversion } from './exposures.js';
import { arbAttribution, arbExposures, fundingArbDecider, legSize, settleConversion } from './index.js';

const USDT_PERP = 'BTC-USDT-PERP';
const USDC_PERP = 'BTC-USDC-PERP';

/** A (first venue) trades the USDT perp, B the USDC one: the same BTC exposure, two settle assets. */
function exposureConfig(
  settleConversion: unknown = { USDT: { USDC: '1' } },
  extra: Record<string, unknown> = {},
) {
  return arbConfig({
    instruments: undefined,
    exposures: { 'BTC-USD': { legs: { [A]: USDT_PERP, [B]: USDC_PERP }, settleConversion } },
    ...extra,
  });
}

/** A pays 0.1% every 8 h on its USDT perp, B -0.01% every hour on its USDC perp; both around 50000. */
function usdtVsUsdc(bMid = '50000'): StrategyInput[] {
  const t = T0;
  return [
    marketsInput(t, [market(A, { instrument: USDT_PERP }), market(B, { instrument: USDC_PERP })]),
    balance(A, 'main', t, '5000', '20000'),
    balance(B, 'main', t, '5000', '20000'),
    book(A, t, '50000', { instrument: USDT_PERP }),
    book(B, t, bMid, { instrument: USDC_PERP }),
    funding(A, t, '0.001', 8, { instrument: USDT_PERP }),
    funding(B, t, '-0.0001', 1, { instrument: USDC_PERP, mark: bMid }),
    start(t),
  ];
}

function rejects(build: () => unknown, field: string, message?: RegExp): void {
  assert.throws(
    build,
    (e: unknown) =>
      e instanceof ValidationError && e.field === field && (!message || message.test(e.message)),
    `expected an error naming ${field}`,
  );
}

describe('funding arb: exposures config', () => {
  test('instruments become one exposure per instrument, the same instrument on every venue', () => {
    assert.deepEqual(arbExposures(arbConfig()), [
      { id: USDC_PERP, legs: { [A]: USDC_PERP, [B]: USDC_PERP }, settleConversion: {} },
    ]);
  });

  test('an exposure names each venue its instrument and the conversion', () => {
    const [exposure] = arbExposures(exposureConfig());
    assert.equal(exposure?.id, 'BTC-USD');
    assert.deepEqual(exposure?.legs, { [A]: USDT_PERP, [B]: USDC_PERP });
    assert.equal(exposure?.settleConversion.USDT?.USDC?.toFixed(), '1');
  });

  test('legs settled in two assets without a stated rate are refused, naming the field', () => {
    rejects(() => exposureConfig({}), 'fundingArb.exposures.BTC-USD.settleConversion', /USDT and USDC/);
  });

  test('a leg on a venue the instance does not trade, or a venue without a leg, is refused', () => {
    rejects(
      () =>
        arbConfig({
          instruments: undefined,
          exposures: { 'BTC-USD': { legs: { [A]: USDT_PERP, okx: USDT_PERP } } },
        }),
      'fundingArb.exposures.BTC-USD.legs.okx',
    );
    rejects(
      () => arbConfig({ instruments: undefined, exposures: { 'BTC-USD': { legs: { [A]: USDT_PERP } } } }),
      `fundingArb.exposures.BTC-USD.legs.${B}`,
    );
  });

  test('legs of different base assets are not one exposure', () => {
    rejects(
      () =>
        arbConfig({
          instruments: undefined,
          exposures: { 'BTC-USD': { legs: { [A]: USDT_PERP, [B]: 'ETH-USDC-PERP' }, settleConversion: {} } },
        }),
      `fundingArb.exposures.BTC-USD.legs.${B}`,
      /base ETH differs/,
    );
  });

  test('instruments and exposures together, or neither, is refused', () => {
    rejects(
      () => exposureConfig(undefined, { instruments: [USDC_PERP] }),
      'fundingArb.exposures',
      /not both/,
    );
    rejects(() => arbConfig({ instruments: undefined }), 'fundingArb.instruments');
  });

  test('a bad rate names its field', () => {
    rejects(
      () => exposureConfig({ USDT: { USDC: '0' } }),
      'fundingArb.exposures.BTC-USD.settleConversion.USDT.USDC',
    );
  });

  test('a conversion reads either way; the same asset needs none', () => {
    const [exposure] = arbExposures(exposureConfig({ USDC: { USDT: '0.99' } }));
    const direct = settleConversion(exposure!, 'USDC', 'USDT');
    assert.equal(direct?.rate.toFixed(), '0.99');
    assert.equal(direct?.statement, '1 USDC = 0.99 USDT (configured)');
    const reverse = settleConversion(exposure!, 'USDT', 'USDC');
    assert.equal(reverse?.rate.toFixed(), dec(1).div('0.99').toFixed());
    assert.equal(settleConversion(exposure!, 'USDT', 'USDT')?.rate.toFixed(), '1');
    assert.equal(settleConversion(exposure!, 'USDT', 'DAI'), undefined);
  });
});

describe('funding arb: same asset, different settlement', () => {
  test('enters short the USDT perp on A and long the USDC perp on B, stating the conversion it assumed', () => {
    const decider = fundingArbDecider(exposureConfig());
    // The markets the strategy reads: each venue its own leg.
    const then = spec(decider)
      .given(usdtVsUsdc())
      .when(tick(T0 + 30_000))
      .thenDecisions([{ kind: 'enter', reasonCode: 'net_carry_above_threshold' }]);
    const orders = placed(then.result.commands);
    const short = byVenue(orders, A);
    const long = byVenue(orders, B);
    assert.equal(short.instrument, USDT_PERP);
    assert.equal(short.side, 'sell');
    assert.equal(long.instrument, USDC_PERP);
    assert.equal(long.side, 'buy');
    // Equal base size on both legs.
    assert.equal(short.size.toFixed(), long.size.toFixed());
    const decision = then.result.decisions[0]!;
    assert.equal(decision.inputs.report_currency, 'USDT');
    assert.equal(decision.inputs.settle_conversion, '1 USDT = 1 USDC (configured)');
    assert.equal(decision.inputs[`${B}.settle`], 'USDC');
    assert.equal(decision.inputs[`${A}.settle`], 'USDT');
    assert.equal(decision.inputs.gross_carry, '54');
    assert.match(decision.message, /money in USDT at 1 USDT = 1 USDC \(configured\)/);
    // The arb book: one arb under the exposure id, each leg its own instrument, the conversion kept.
    const arb = then.result.state.strategy.arbs['BTC-USD'];
    assert.ok(arb, 'the arb is booked under the exposure id');
    assert.equal(arb.arbId, 'BTC-USD#1');
    assert.equal(arb.short.instrument, USDT_PERP);
    assert.equal(arb.long.instrument, USDC_PERP);
    assert.equal(arb.entry.settle_conversion, '1 USDT = 1 USDC (configured)');
  });

  test('money of the USDC leg is converted at the configured rate before it is added', () => {
    // 1 USDC = 0.99 USDT: the USDC leg's 50000 mark is 49500 USDT, its funding 0.99x.
    const decider = fundingArbDecider(exposureConfig({ USDC: { USDT: '0.99' } }));
    const then = spec(decider)
      .given(usdtVsUsdc())
      .when(tick(T0 + 30_000))
      .thenDecisions([{ kind: 'enter', reasonCode: 'net_carry_above_threshold' }]);
    const inputs = then.result.decisions[0]!.inputs;
    assert.equal(inputs[`${B}.to_report_rate`], '0.99');
    assert.equal(inputs[`${A}.to_report_rate`], '1');
    assert.equal(inputs.settle_conversion, '1 USDC = 0.99 USDT (configured)');
    // A: 3 settlements x 0.001 x 50000 x 0.2 = 30 USDT; B: 24 x 0.0001 x 49500 x 0.2 = 23.76 USDT.
    assert.equal(inputs.gross_carry, '53.76');
    // The order keeps the venue's own currency: B's limit is priced off its USDC book.
    const long = byVenue(placed(then.result.commands), B);
    assert.equal(long.price?.toFixed(), '50100.6');
  });

  test("the arb's totals add the legs in the report currency; each leg keeps its own", () => {
    const decider = fundingArbDecider(exposureConfig({ USDC: { USDT: '0.99' } }));
    const entered = spec(decider)
      .given(usdtVsUsdc())
      .when(tick(T0 + 30_000));
    const orders = placed(entered.result.commands);
    const [short, long] = [byVenue(orders, A), byVenue(orders, B)];
    const t = T0 + 31_000;
    const then = spec(decider)
      .given([], entered.result.state)
      .when([...fullyFilled(short, t, '50000', '5'), ...fullyFilled(long, t, '50000', '10')]);
    const arb = then.result.state.strategy.arbs['BTC-USD']!;
    assert.equal(arb.phase, 'open');
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(legSize(arb.long).toFixed(), '0.2');
    assert.equal(arb.long.reportRate?.toFixed(), '0.99');
    assert.equal(arb.short.position.fees.toFixed(), '5');
    assert.equal(arb.long.position.fees.toFixed(), '10');
    // 5 USDT + 10 USDC x 0.99 = 14.9 USDT.
    assert.equal(arbAttribution(arb)['attribution.fees'], '14.9');
  });
});

/** The USDT/USDC conversion read from the market: the legs' index prices, guarded by the configured rate. */
describe('funding arb: settle conversion read from the market', () => {
  const readConfig = (marketConversion: unknown = { maxConversionDeviationBps: '25' }) =>
    arbConfig({
      instruments: undefined,
      exposures: {
        'BTC-USD': {
          legs: { [A]: USDT_PERP, [B]: USDC_PERP },
          settleConversion: { USDT: { USDC: '1' } },
          marketConversion,
        },
      },
    });

  /** usdtVsUsdc with each venue's index price in its funding reading (A in USDT, B in USDC). */
  function withIndex(indexA: string | undefined, indexB: string, bMid = '50000'): StrategyInput[] {
    const index: Record<string, string | undefined> = { [A]: indexA, [B]: indexB };
    return usdtVsUsdc(bMid).map((i) =>
      i.kind === 'funding' && index[i.venue] ? { ...i, indexPrice: dec(index[i.venue]!) } : i,
    );
  }

  test('config: the price defaults to the index; a bad guard names its field; same-settle legs have nothing to read', () => {
    const [exposure] = arbExposures(readConfig());
    assert.equal(exposure?.marketConversion?.price, 'index');
    assert.equal(exposure?.marketConversion?.maxConversionDeviationBps.toFixed(), '25');
    rejects(
      () => readConfig({ maxConversionDeviationBps: '0' }),
      'fundingArb.exposures.BTC-USD.marketConversion.maxConversionDeviationBps',
    );
    rejects(
      () => readConfig({ price: 'last', maxConversionDeviationBps: '25' }),
      'fundingArb.exposures.BTC-USD.marketConversion.price',
    );
    rejects(
      () =>
        arbConfig({
          instruments: undefined,
          exposures: {
            'BTC-USD': {
              legs: { [A]: USDC_PERP, [B]: USDC_PERP },
              marketConversion: { maxConversionDeviationBps: '25' },
            },
          },
        }),
      'fundingArb.exposures.BTC-USD.marketConversion',
      /same asset/,
    );
  });

  test('pure: 1 FROM = P_report / P_leg; beyond the guard or unreadable it is blocked at the configured rate', () => {
    const [exposure] = arbExposures(readConfig());
    const venues = [{ venue: A }, { venue: B }];
    const prices = (a?: string, b?: string) => (venue: string) => {
      const p = venue === A ? a : b;
      return p ? { indexPrice: dec(p), markPrice: dec('1') } : undefined;
    };
    // A (first venue) settles in USDT: the report currency. B's USDC converts into it.
    const read = marketLegConversion(exposure!, venues, B, prices('50000', '50010'));
    assert.equal(read.rate.toFixed(), dec('50000').div('50010').toFixed());
    assert.equal(read.blocked, undefined);
    assert.match(
      read.statement,
      /^1 USDC = 0\.99980003999\d* USDT \(read: index 50000 USDT on paper-a \/ 50010 USDC on paper-b; 2\.00 bps from the configured 1\)$/,
    );
    assert.equal(read.inputs?.[`${B}.conversion_deviation_bps`], '1.9996');
    // The report leg needs no conversion.
    assert.equal(
      marketLegConversion(exposure!, venues, A, prices('50000', '50010')).statement,
      'USDT (same settle asset)',
    );
    const off = marketLegConversion(exposure!, venues, B, prices('50000', '50300'));
    assert.equal(off.blocked?.reasonCode, 'conversion_rate_deviates');
    assert.match(off.blocked?.message ?? '', /59\.64 bps from the configured 1 \(max 25 bps\)/);
    assert.equal(off.rate.toFixed(), '1', 'the configured rate stays the one money uses');
    const none = marketLegConversion(exposure!, venues, B, prices('50000', undefined));
    assert.equal(none.blocked?.reasonCode, 'conversion_rate_unavailable');
    assert.match(none.blocked?.message ?? '', /none from paper-b/);
    // The mark instead of the index, when configured.
    const [byMark] = arbExposures(readConfig({ price: 'mark', maxConversionDeviationBps: '25' }));
    assert.equal(marketLegConversion(byMark!, venues, B, prices('50000', '50010')).rate.toFixed(), '1');
  });

  test('entry within the guard: money converted at the read rate, stated in the decision and kept by the arb', () => {
    const decider = fundingArbDecider(readConfig());
    const then = spec(decider)
      .given(withIndex('50000', '50010'))
      .when(tick(T0 + 30_000))
      .thenDecisions([{ kind: 'enter', reasonCode: 'net_carry_above_threshold' }]);
    const decision = then.result.decisions[0]!;
    const rate = dec('50000').div('50010');
    assert.equal(decision.inputs[`${B}.to_report_rate`], rate.toFixed());
    assert.equal(decision.inputs[`${B}.conversion_source`], 'market');
    assert.equal(decision.inputs[`${B}.conversion_configured_rate`], '1');
    assert.equal(decision.inputs.max_conversion_deviation_bps, '25');
    assert.match(decision.inputs.settle_conversion ?? '', /^1 USDC = 0\.9998\d* USDT \(read: index/);
    assert.match(
      decision.message,
      /money in USDT at 1 USDC = 0\.9998\d* USDT \(read: index 50000 USDT on paper-a/,
    );
    const arb = then.result.state.strategy.arbs['BTC-USD']!;
    assert.equal(arb.long.reportRate?.toFixed(), rate.toFixed());
    assert.equal(arb.entry.settle_conversion, decision.inputs.settle_conversion);
  });

  test('a read rate beyond maxConversionDeviationBps blocks the entry with the reason and the numbers', () => {
    const decider = fundingArbDecider(readConfig());
    const then = spec(decider)
      .given([])
      .when([...withIndex('50000', '50300', '50300'), tick(T0 + 30_000)])
      .thenNoCommands()
      .thenDecisions([{ kind: 'skip', reasonCode: 'conversion_rate_deviates' }]);
    const inputs = then.result.decisions[0]!.inputs;
    assert.equal(inputs.venue, B);
    assert.equal(inputs[`${B}.conversion_deviation_bps`], '59.6421');
    assert.equal(inputs[`${B}.conversion_read_rate`], dec('50000').div('50300').toFixed());
  });

  test('no index price to read from: the entry is blocked, not priced at a guess', () => {
    const decider = fundingArbDecider(readConfig());
    spec(decider)
      .given([])
      .when([...withIndex(undefined, '50010'), tick(T0 + 30_000)])
      .thenNoCommands()
      .thenDecisions([{ kind: 'skip', reasonCode: 'conversion_rate_unavailable' }]);
  });
});
