import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StateSource } from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import fc from 'fast-check';
import { BTC, balance, book, market, marketsInput, T0 } from './fixtures.test-helper.js';
import type { StrategyInput } from './model.js';
import { checkOrder, type OrderRequest, type RiskConfig, refillTokens, riskConfigSchema } from './risk.js';
import { balanceInput } from './runtime/inputs.js';
import { applyFact, initialWorld, type WorldState } from './world.js';

const risk: RiskConfig = riskConfigSchema.parse({
  leverage: '5',
  maxLeverage: '3',
  maxNotionalPerInstrument: '20000',
  maxNotionalPerVenue: '30000',
  orderRateCapacity: 2,
  orderRatePerSecond: 1,
  maxBalanceAgeMs: 60_000,
});

function world(extra: StrategyInput[] = [], available = '5000', total = '20000'): WorldState {
  const w = initialWorld('s1', risk.orderRateCapacity);
  for (const i of [
    marketsInput(T0, [market('paper')]),
    balance('paper', 'main', T0, available, total),
    book('paper', T0, '50000'),
    ...extra,
  ]) {
    applyFact(w, i);
  }
  return w;
}

function order(side: 'buy' | 'sell', size: string, extra: Partial<OrderRequest> = {}): OrderRequest {
  return {
    venue: 'paper',
    account: 'main',
    instrument: BTC,
    side,
    type: 'market',
    timeInForce: 'ioc',
    price: undefined,
    size: dec(size),
    reduceOnly: false,
    ...extra,
  };
}

function position(size: string, instrument = BTC): StrategyInput {
  return {
    kind: 'position',
    nowMs: T0,
    venue: 'paper',
    account: 'main',
    instrument,
    size: dec(size),
    asOfMs: T0,
  };
}

describe('pre-trade risk', () => {
  test('margin is checked on the AVAILABLE balance, not the total', () => {
    const w = world([], '1000', '100000');
    // 0.1 x 50000.5 = 5000 notional / 5x = 1000 margin + 2.5 fee > 1000 available.
    const v = checkOrder(w, order('buy', '0.1'), risk);
    assert.equal(v.allowed, false);
    assert.equal(!v.allowed && v.reasonCode, 'insufficient_available_balance');
    assert.equal(v.inputs.balance_available, '1000');
    assert.ok(checkOrder(w, order('buy', '0.09'), risk).allowed);
  });

  test('open orders reserve margin: two orders that each fit do not both fit', () => {
    const w = world([], '1500');
    const first = order('buy', '0.1');
    assert.ok(checkOrder(w, first, risk).allowed);
    const second = checkOrder(w, order('buy', '0.1'), risk, [first]);
    assert.equal(!second.allowed && second.reasonCode, 'insufficient_available_balance');
  });

  test('a stale or unknown balance allows no opening order', () => {
    const w = world();
    w.balances['paper|main']!.stale = true;
    const v = checkOrder(w, order('buy', '0.01'), risk);
    assert.equal(!v.allowed && v.reasonCode, 'stale_balance');
    const old = world();
    old.nowMs = T0 + 60_001;
    assert.equal(
      (checkOrder(old, order('buy', '0.01'), risk) as { reasonCode?: string }).reasonCode,
      'stale_balance',
    );
    const none = world();
    delete none.balances['paper|main'];
    assert.equal(
      (checkOrder(none, order('buy', '0.01'), risk) as { reasonCode?: string }).reasonCode,
      'unknown_balance',
    );
  });

  for (const skewMs of [-1_400, 5_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by ${Math.abs(skewMs)} ms: the balance ages on our clock (3 s bound)`, () => {
      const tight = { ...risk, maxBalanceAgeMs: 3_000 };
      const ctx = { nowMs: T0, balanceStaleAfterMs: 3_000 };
      // As the account service publishes it: the venue's time, and when it polled (our clock).
      const wire = {
        venue: 'paper',
        account: 'main',
        currency: 'USDC',
        total: '20000',
        available: '5000',
        equity: '20000',
        unrealizedPnl: '0',
        asOfMs: T0 - 200 + skewMs,
        source: StateSource.STATE_SOURCE_VENUE,
        observedAtMs: T0 - 250,
      };
      const w = world();
      delete w.balances['paper|main'];
      applyFact(w, balanceInput(wire, ctx));
      assert.equal(w.balances['paper|main']?.asOfMs, T0 - 200 + skewMs);
      assert.ok(checkOrder(w, order('buy', '0.01'), tight).allowed, 'a fresh balance allows');
      // No newer balance: allowed up to 3 s after it was observed, denied after.
      w.nowMs = T0 - 250 + 3_000;
      assert.ok(checkOrder(w, order('buy', '0.01'), tight).allowed);
      w.nowMs = T0 - 250 + 3_001;
      const late = checkOrder(w, order('buy', '0.01'), tight);
      assert.equal(!late.allowed && late.reasonCode, 'stale_balance');
      assert.equal(late.inputs.balance_age_ms, '3001');
      // The input's own staleness flag follows the same rule.
      assert.equal(balanceInput(wire, { nowMs: T0 - 250 + 3_000, balanceStaleAfterMs: 3_000 }).stale, false);
      assert.equal(balanceInput(wire, { nowMs: T0 - 250 + 3_001, balanceStaleAfterMs: 3_000 }).stale, true);
    });
  }

  test('notional per instrument, per venue and account leverage', () => {
    const w = world([], '100000', '100000');
    assert.equal(
      (checkOrder(w, order('buy', '0.5'), risk) as { reasonCode?: string }).reasonCode,
      'max_notional_instrument',
    );
    applyFact(w, marketsInput(T0, [market('paper', { instrument: 'ETH-USDC-PERP' })]));
    applyFact(w, book('paper', T0, '50000', { instrument: 'ETH-USDC-PERP' }));
    applyFact(w, position('0.3', 'ETH-USDC-PERP'));
    // 15000 of ETH + 20000 of BTC > 30000 per venue.
    assert.equal(
      (checkOrder(w, order('buy', '0.39'), risk) as { reasonCode?: string }).reasonCode,
      'max_notional_venue',
    );
    const small = world([], '100000', '5000');
    // 0.31 x 50000 = 15500 > 3 x 5000 equity.
    assert.equal(
      (checkOrder(small, order('buy', '0.31'), risk) as { reasonCode?: string }).reasonCode,
      'max_leverage',
    );
  });

  test('HALTED places nothing; REDUCING only reduce-only', () => {
    const w = world([position('0.1')]);
    w.tradingState = 'halted';
    assert.equal(
      (checkOrder(w, order('sell', '0.1', { reduceOnly: true }), risk) as { reasonCode?: string }).reasonCode,
      'halted',
    );
    w.tradingState = 'reducing';
    assert.equal(
      (checkOrder(w, order('buy', '0.01'), risk) as { reasonCode?: string }).reasonCode,
      'reducing_only',
    );
    assert.ok(checkOrder(w, order('sell', '0.1', { reduceOnly: true }), risk).allowed);
  });

  test('reduce-only: must reduce, is capped to the position, and open closes claim their part', () => {
    const w = world([position('0.1')]);
    assert.equal(
      (checkOrder(w, order('buy', '0.1', { reduceOnly: true }), risk) as { reasonCode?: string }).reasonCode,
      'no_position_to_reduce',
    );
    const capped = checkOrder(w, order('sell', '0.5', { reduceOnly: true }), risk);
    assert.ok(capped.allowed && capped.capped);
    assert.equal(capped.allowed && capped.order.size.toFixed(), '0.1');
    const first = order('sell', '0.06', { reduceOnly: true });
    const rest = checkOrder(w, order('sell', '0.1', { reduceOnly: true }), risk, [first]);
    assert.equal(rest.allowed && rest.order.size.toFixed(), '0.04');
    const nothing = checkOrder(w, order('sell', '0.1', { reduceOnly: true }), risk, [
      order('sell', '0.1', { reduceOnly: true }),
    ]);
    assert.equal(!nothing.allowed && nothing.reasonCode, 'no_position_to_reduce');
  });

  test('order rate: a token bucket over nowMs', () => {
    const w = world();
    refillTokens(w, risk, T0);
    const a = order('buy', '0.01');
    const b = order('buy', '0.01');
    assert.ok(checkOrder(w, a, risk).allowed);
    assert.ok(checkOrder(w, b, risk, [a]).allowed);
    const third = checkOrder(w, order('buy', '0.01'), risk, [a, b]);
    assert.equal(!third.allowed && third.reasonCode, 'rate_limited');
    w.rateTokens = 0;
    assert.equal((checkOrder(w, a, risk) as { reasonCode?: string }).reasonCode, 'rate_limited');
    refillTokens(w, risk, T0 + 1_000);
    assert.ok(checkOrder(w, a, risk).allowed);
  });

  test('lot, tick and minimums are enforced on opening orders', () => {
    const w = world();
    assert.equal(
      (checkOrder(w, order('buy', '0.0015'), risk) as { reasonCode?: string }).reasonCode,
      'size_not_multiple_of_lot',
    );
    assert.equal(
      (
        checkOrder(
          w,
          order('buy', '0.01', { type: 'limit', timeInForce: 'gtc', price: dec('50000.05') }),
          risk,
        ) as { reasonCode?: string }
      ).reasonCode,
      'price_not_multiple_of_tick',
    );
    applyFact(w, marketsInput(T0, [market('paper', { minNotional: '1000' })]));
    assert.equal(
      (checkOrder(w, order('buy', '0.01'), risk) as { reasonCode?: string }).reasonCode,
      'below_min_notional',
    );
    applyFact(w, marketsInput(T0, [market('paper', { minSize: '0.02' })]));
    const small = checkOrder(w, order('buy', '0.01'), risk) as { reasonCode?: string; message?: string };
    assert.equal(small.reasonCode, 'below_min_size');
    assert.match(small.message ?? '', /0\.01 is below the minimum size 0\.02/);
  });

  test('property: an allowed reduce-only order leaves the position between 0 and the old one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 1000 }),
        fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 1000 }),
        (positionLots, side, sizeLots, claimedLots) => {
          const old = dec(positionLots).div(1000);
          const w = world([position(old.toFixed())]);
          const claimSide = old.gt(0) ? 'sell' : 'buy';
          const pending =
            claimedLots > 0
              ? [order(claimSide, dec(claimedLots).div(1000).toFixed(), { reduceOnly: true })]
              : [];
          const v = checkOrder(
            w,
            order(side, dec(sizeLots).div(1000).toFixed(), { reduceOnly: true }),
            risk,
            pending,
          );
          if (!v.allowed) return;
          let after = old;
          for (const o of [...pending, v.order]) after = after.plus(o.side === 'buy' ? o.size : o.size.neg());
          assert.ok(after.abs().lte(old.abs()), `${old} -> ${after}`);
          assert.ok(after.isZero() || after.gt(0) === old.gt(0), `${old} -> ${after} flipped`);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('decision records', () => {
  test('published inputs round decimals from divisions to the report precision; other text is kept', async () => {
    const { toStrategyDecisionRecord } = await import('./model.js');
    const record = toStrategyDecisionRecord(
      {
        decisionId: 'arb-1:1',
        strategyId: 'arb-1',
        kind: 'skip',
        reasonCode: 'net_carry_below_threshold',
        message: 'net carry below threshold',
        inputs: { slippage: '0.996000000000000000000000000000001', venue: 'paper', fee: '7.5' },
        orders: [],
        nowMs: 1,
      },
      { dryRun: false },
    );
    assert.deepEqual(record.inputs, { slippage: '0.996', venue: 'paper', fee: '7.5' });
  });
});
