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
