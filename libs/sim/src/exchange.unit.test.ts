import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import {
  canonicalJson,
  FEE_ACCOUNT_ID,
  INSURANCE_ACCOUNT_ID,
  isUserEvent,
  type LiquidationEvent,
  type PlaceOrderRequest,
  type SimEvent,
  SimExchange,
  venuePreset,
} from './index.js';
import { BTC, d, ETH, fills, ok, venue } from './test-helpers.js';

/** Maker with plenty of collateral that posts asks/bids; a taker with `takerCollateral`. */
function market(preset = 'paper', takerCollateral = '1000000') {
  const ex = venue(preset);
  ex.deposit('maker', '10000000');
  ex.deposit('taker', takerCollateral);
  const auth = preset === 'paper-lighter' ? { apiKey: 'k', nonce: 0 } : undefined;
  let nonce = 0;
  const sign = () => (auth === undefined ? {} : { apiKey: 'k', nonce: ++nonce });
  return { ex, sign };
}

describe('order validation', () => {
  test('a price off the tick is rejected naming the field, the value and the tick', () => {
    const { ex } = market();
    const r = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      price: '50000.05',
      size: '0.01',
    });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.reject.code, 'invalid_tick');
    assert.equal(r.reject.field, 'price');
    assert.equal(r.reject.message, 'price: 50000.05 is not a multiple of the tick size 0.1');
    assert.equal(r.order?.status, 'rejected');
  });

  test('a size off the lot, below min notional, or above max size is rejected naming size', () => {
    const { ex } = market();
    const lot = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      price: '50000',
      size: '0.0015',
    });
    assert.ok(!lot.ok);
    assert.equal(lot.reject.code, 'invalid_lot');
    assert.equal(lot.reject.message, 'size: 0.0015 is not a multiple of the lot size 0.001');

    const small = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      price: '50000',
      size: '0.001',
    });
    assert.ok(!small.ok);
    assert.equal(small.reject.code, 'below_min_notional');
    assert.equal(small.reject.field, 'size');
    assert.match(
      small.reject.message,
      /^size: notional 50 \(size 0\.001 x price 50000\) is below the minimum 100$/,
    );

    const big = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      price: '50000',
      size: '1000.001',
    });
    assert.ok(!big.ok);
    assert.equal(big.reject.code, 'above_max_size');
  });

  test('bad shapes are rejected with the field: missing price, market with price, unknown instrument', () => {
    const { ex } = market();
    const noPrice = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      size: '0.01',
    });
    assert.ok(!noPrice.ok);
    assert.equal(noPrice.reject.field, 'price');
    const marketPrice = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'market',
      price: '1',
      size: '0.01',
    });
    assert.ok(!marketPrice.ok);
    assert.equal(marketPrice.reject.field, 'price');
    const unknown = ex.placeOrder({
      accountId: 'taker',
      instrumentId: 'DOGE-USDC-PERP',
      side: 'buy',
      type: 'market',
      size: '1',
    });
    assert.ok(!unknown.ok);
    assert.equal(unknown.reject.code, 'unknown_instrument');
    const notDecimal = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      price: 'abc',
      size: '1',
    });
    assert.ok(!notDecimal.ok);
    assert.match(notDecimal.reject.message, /^price: not a decimal number .*got "abc"$/);
    // Issue 15 #1: a hostile exponent is refused at parse time, not printed for 42 s.
    for (const size of ['1e9000000000000000', '1e-9000000000000000', ' 1 ', '1e40']) {
      const hostile = ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '100',
        size,
      });
      assert.ok(!hostile.ok, size);
      assert.equal(hostile.reject.code, 'invalid_argument', size);
    }
    const noAccount = ex.placeOrder({
      accountId: 'nobody',
      instrumentId: BTC,
      side: 'buy',
      type: 'market',
      size: '1',
    });
    assert.ok(!noAccount.ok);
    assert.equal(noAccount.reject.code, 'unknown_account');
  });

  test('insufficient margin is rejected with a named reason', () => {
    const { ex } = market('paper', '100');
    // 1 BTC at 50,000 with the default 20x needs 2,500 of initial margin.
    const r = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      price: '49000',
      size: '1',
    });
    assert.ok(!r.ok);
    assert.equal(r.reject.code, 'insufficient_margin');
    assert.equal(r.reject.field, 'size');
    // A small order that fits is accepted.
    ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '49000',
        size: '0.03',
      }),
    );
    // Orders resting count against margin: the next one no longer fits.
    const second = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      price: '49000',
      size: '0.02',
    });
    assert.ok(!second.ok);
    assert.equal(second.reject.code, 'insufficient_margin');
  });

  test('resting orders use the margin to the last unit: the order that fits exactly is taken, one more is not', () => {
    const { ex } = market('paper', '980');
    assert.ok(ex.setLeverage({ accountId: 'taker', instrumentId: BTC, leverage: 10 }).ok);
    const limit = (side: 'buy' | 'sell', price: string) =>
      ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side, type: 'limit', price, size: '0.01' });
    // Each buy needs 0.01 x 49,000 / 10 = 49: twenty fit 980 exactly (available ends at 0).
    for (let i = 0; i < 20; i++) ok(limit('buy', '49000'));
    assert.equal(ex.balance('taker').available.toFixed(), '0');
    const over = limit('buy', '49000');
    assert.ok(!over.ok);
    assert.equal(over.reject.code, 'insufficient_margin');
    // Sells only count beyond the larger side: 19 x 510 stays under the buys' 9,800, the 20th does not.
    for (let i = 0; i < 19; i++) ok(limit('sell', '51000'));
    const beyond = limit('sell', '51000');
    assert.ok(!beyond.ok);
    assert.equal(beyond.reject.code, 'insufficient_margin');
    assert.equal(ex.openOrderCount('taker'), 39);
  });

  test('leverage is settable up to the instrument max and raises what fits', () => {
    const { ex } = market('paper', '100');
    const tooHigh = ex.setLeverage({ accountId: 'taker', instrumentId: BTC, leverage: 126 });
    assert.ok(!tooHigh.ok);
    assert.equal(tooHigh.reject.code, 'invalid_leverage');
    assert.equal(tooHigh.reject.field, 'leverage');
    assert.ok(ex.setLeverage({ accountId: 'taker', instrumentId: BTC, leverage: 100 }).ok);
    ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '49000',
        size: '0.1',
      }),
    );
    // Going back to 20x would need 245 of margin against equity 100.
    const lower = ex.setLeverage({ accountId: 'taker', instrumentId: BTC, leverage: 20 });
    assert.ok(!lower.ok);
    assert.equal(lower.reject.code, 'insufficient_margin');
    assert.equal(ex.position('taker', BTC).leverage, 100);
  });
});

describe('matching', () => {
  test('price-time priority: better price first, then earlier order at the same price', () => {
    const { ex } = market();
    ex.deposit('maker2', '1000000');
    const first = ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50010',
        size: '0.01',
      }),
    );
    const second = ok(
      ex.placeOrder({
        accountId: 'maker2',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50010',
        size: '0.01',
      }),
    );
    const better = ok(
      ex.placeOrder({
        accountId: 'maker2',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50005',
        size: '0.01',
      }),
    );
    ex.drainEvents();
    ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '50010',
        size: '0.015',
      }),
    );
    const makerFills = fills(ex.drainEvents()).filter((f) => f.liquidity === 'maker');
    assert.deepEqual(
      makerFills.map((f) => [f.venueOrderId, f.price.toFixed(), f.size.toFixed()]),
      [
        [better.venueOrderId, '50005', '0.01'],
        [first.venueOrderId, '50010', '0.005'],
      ],
    );
    assert.equal(ex.getOrder('maker2', { venueOrderId: second.venueOrderId })?.filledSize.toFixed(), '0');
  });

  test('a market order larger than the book fills what is there and reports the rest as canceled', () => {
    const { ex } = market();
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50010',
        size: '0.01',
      }),
    );
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50020',
        size: '0.02',
      }),
    );
    ex.drainEvents();
    const order = ok(
      ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'buy', type: 'market', size: '0.1' }),
    );
    assert.equal(order.status, 'canceled');
    assert.equal(order.endReason, 'no_liquidity');
    assert.equal(order.filledSize.toFixed(), '0.03');
    assert.equal(order.unfilledSize.toFixed(), '0.07');
    assert.equal(
      order.avgFillPrice?.toFixed(),
      new Decimal('50010').mul('0.01').plus(new Decimal('50020').mul('0.02')).div('0.03').toFixed(),
    );
    const takerFills = fills(ex.drainEvents(), 'taker');
    assert.deepEqual(
      takerFills.map((f) => [f.price.toFixed(), f.size.toFixed()]),
      [
        ['50010', '0.01'],
        ['50020', '0.02'],
      ],
    );
    assert.equal(ex.position('taker', BTC).size.toFixed(), '0.03');
  });

  test('a market order stops at the protection band around mark', () => {
    const { ex } = market();
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50100',
        size: '0.01',
      }),
    );
    // 6% above mark 50,000: outside the 5% band.
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '53000',
        size: '1',
      }),
    );
    const order = ok(
      ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'buy', type: 'market', size: '0.5' }),
    );
    assert.equal(order.filledSize.toFixed(), '0.01');
    assert.equal(order.status, 'canceled');
    assert.equal(order.endReason, 'protection_band');
  });

  test('post-only that would cross is rejected with a reason; one that does not rests', () => {
    const { ex } = market();
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50010',
        size: '0.01',
      }),
    );
    const crossing = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      timeInForce: 'post_only',
      price: '50010',
      size: '0.01',
    });
    assert.ok(!crossing.ok);
    assert.equal(crossing.reject.code, 'post_only_would_cross');
    assert.equal(crossing.reject.message, 'price: post-only buy at 50010 would cross the best ask 50010');
    assert.equal(fills(ex.drainEvents()).length, 0);
    const resting = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'post_only',
        price: '50009.9',
        size: '0.01',
      }),
    );
    assert.equal(resting.status, 'accepted');
    assert.equal(ex.bestBidAsk(BTC).bid?.price.toFixed(), '50009.9');
  });

  test('ioc remainder expires; fok fills all or nothing', () => {
    const { ex } = market();
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50010',
        size: '0.01',
      }),
    );
    const fok = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'fok',
        price: '50010',
        size: '0.02',
      }),
    );
    assert.equal(fok.status, 'expired');
    assert.equal(fok.endReason, 'fok_not_fillable');
    assert.equal(fok.filledSize.toFixed(), '0');
    const ioc = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'ioc',
        price: '50010',
        size: '0.02',
      }),
    );
    assert.equal(ioc.status, 'expired');
    assert.equal(ioc.filledSize.toFixed(), '0.01');
    assert.equal(ex.openOrders('taker').length, 0);
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50010',
        size: '0.03',
      }),
    );
    const fok2 = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'fok',
        price: '50010',
        size: '0.03',
      }),
    );
    assert.equal(fok2.status, 'filled');
  });

  test('a gtc order fills what crosses and rests the rest; self-trade cancels the resting order', () => {
    const { ex } = market();
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50010',
        size: '0.01',
      }),
    );
    const gtc = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '50020',
        size: '0.03',
      }),
    );
    assert.equal(gtc.status, 'partially_filled');
    assert.equal(ex.bestBidAsk(BTC).bid?.size.toFixed(), '0.02');
    // The taker's own resting bid meets its sell: the resting bid is canceled, not traded.
    const sell = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50000',
        size: '0.01',
      }),
    );
    assert.equal(sell.filledSize.toFixed(), '0');
    assert.equal(ex.getOrder('taker', { venueOrderId: gtc.venueOrderId })?.endReason, 'self_trade');
  });

  test('fees: maker and taker rates on notional go to the fee account', () => {
    const { ex } = market();
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50000',
        size: '0.1',
      }),
    );
    ex.drainEvents();
    ok(ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'buy', type: 'market', size: '0.1' }));
    const events = ex.drainEvents();
    // notional 5,000: maker 0.02% = 1, taker 0.05% = 2.5
    assert.equal(fills(events, 'maker')[0]?.fee.toFixed(), '1');
    assert.equal(fills(events, 'taker')[0]?.fee.toFixed(), '2.5');
    assert.equal(fills(events, 'taker')[0]?.liquidity, 'taker');
    assert.equal(ex.balance(FEE_ACCOUNT_ID).walletBalance.toFixed(), '3.5');
    assert.equal(ex.balance('taker').walletBalance.toFixed(), '999997.5');
  });
});

describe('reduce-only', () => {
  test('rejected when flat or when it would increase; capped to the position otherwise', () => {
    const { ex } = market();
    const flat = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'sell',
      type: 'market',
      size: '0.01',
      reduceOnly: true,
    });
    assert.ok(!flat.ok);
    assert.equal(flat.reject.code, 'reduce_only_would_increase');
    assert.equal(flat.reject.field, 'reduceOnly');

    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50000',
        size: '0.05',
      }),
    );
    ok(ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'buy', type: 'market', size: '0.05' }));
    const increase = ex.placeOrder({
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'market',
      size: '0.01',
      reduceOnly: true,
    });
    assert.ok(!increase.ok);
    assert.equal(increase.reject.code, 'reduce_only_would_increase');

    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '49990',
        size: '1',
      }),
    );
    const capped = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'sell',
        type: 'market',
        size: '0.5',
        reduceOnly: true,
      }),
    );
    assert.equal(capped.size.toFixed(), '0.05');
    assert.equal(capped.status, 'filled');
    assert.equal(ex.position('taker', BTC).size.toFixed(), '0');
  });

  test('a resting reduce-only order is canceled once the position is closed, and never flips it', () => {
    const { ex } = market();
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50000',
        size: '0.05',
      }),
    );
    ok(ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'buy', type: 'market', size: '0.05' }));
    const ro1 = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50100',
        size: '0.05',
        reduceOnly: true,
      }),
    );
    const ro2 = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50200',
        size: '0.05',
        reduceOnly: true,
      }),
    );
    ex.drainEvents();
    // A buyer sweeps both levels: only 0.05 may fill, the position ends flat, not short.
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '50200',
        size: '0.1',
      }),
    );
    assert.equal(ex.position('taker', BTC).size.toFixed(), '0');
    assert.equal(ex.getOrder('taker', { venueOrderId: ro1.venueOrderId })?.status, 'filled');
    const second = ex.getOrder('taker', { venueOrderId: ro2.venueOrderId });
    assert.equal(second?.status, 'canceled');
    assert.equal(second?.endReason, 'reduce_only_position_closed');
    for (const f of fills(ex.drainEvents(), 'taker')) {
      assert.ok(f.positionAfter.abs().lte(f.positionBefore.abs()));
      assert.ok(!f.positionAfter.isNeg());
    }
  });
});

describe('reduce-only (resting, after the position shrank)', () => {
  test('a resting reduce-only order fills at most the position left, then is canceled', () => {
    const { ex } = market();
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50000',
        size: '0.05',
      }),
    );
    ok(ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'buy', type: 'market', size: '0.05' }));
    const ro = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50100',
        size: '0.05',
        reduceOnly: true,
      }),
    );
    // The position shrinks to 0.02 by another order; the reduce-only order still rests with 0.05.
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '49990',
        size: '0.03',
      }),
    );
    ok(ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'sell', type: 'market', size: '0.03' }));
    assert.equal(ex.getOrder('taker', { venueOrderId: ro.venueOrderId })?.status, 'accepted');
    ex.drainEvents();
    const sweep = ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '50100',
        size: '0.05',
      }),
    );
    assert.equal(sweep.filledSize.toFixed(), '0.02');
    assert.equal(ex.position('taker', BTC).size.toFixed(), '0');
    const after = ex.getOrder('taker', { venueOrderId: ro.venueOrderId });
    assert.equal(after?.filledSize.toFixed(), '0.02');
    assert.equal(after?.status, 'canceled');
    assert.equal(after?.endReason, 'reduce_only_position_closed');
  });
});

describe('orders: cancel, cancel-all, queries, venue rules', () => {
  test('cancel by venue or client id, cancel-all per instrument, open orders and get order', () => {
    const { ex } = market();
    const a = ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '49000',
        size: '0.01',
        clientOrderId: 'a',
      }),
    );
    ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '48000',
        size: '0.01',
      }),
    );
    ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: ETH,
        side: 'sell',
        type: 'limit',
        price: '3100',
        size: '0.1',
      }),
    );
    assert.equal(ex.openOrders('taker').length, 3);
    // The count without views agrees with the views, per instrument and in all.
    assert.equal(ex.openOrderCount('taker'), 3);
    assert.equal(ex.openOrderCount('taker', BTC), ex.openOrders('taker', BTC).length);
    assert.equal(ex.openOrderCount('taker', ETH), 1);
    const canceled = ex.cancelOrder({ accountId: 'taker', clientOrderId: 'a' });
    assert.ok(canceled.ok);
    assert.equal(canceled.order.venueOrderId, a.venueOrderId);
    assert.equal(ex.getOrder('taker', { clientOrderId: 'a' })?.status, 'canceled');
    const again = ex.cancelOrder({ accountId: 'taker', venueOrderId: a.venueOrderId });
    assert.ok(!again.ok);
    assert.equal(again.reject.code, 'order_not_found');
    // Another account cannot see or cancel it.
    assert.equal(ex.getOrder('maker', { venueOrderId: a.venueOrderId }), undefined);
    const all = ex.cancelAllOrders({ accountId: 'taker', instrumentId: BTC });
    assert.ok(all.ok);
    assert.equal(all.canceled.length, 1);
    assert.deepEqual(
      ex.openOrders('taker').map((o) => o.instrumentId),
      [ETH],
    );
    assert.equal(ex.openOrderCount('taker', BTC), 0);
    assert.equal(ex.openOrderCount('taker'), 1);
    assert.equal(ex.bookSnapshot(BTC).bids.length, 0);
  });

  test('venue order ids are deterministic and client ids are carried', () => {
    const a = market().ex;
    const b = market().ex;
    const ra = ok(
      a.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '49000',
        size: '0.01',
        clientOrderId: 'x',
      }),
    );
    const rb = ok(
      b.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '49000',
        size: '0.01',
        clientOrderId: 'x',
      }),
    );
    assert.equal(ra.venueOrderId, rb.venueOrderId);
    assert.equal(ra.clientOrderId, 'x');
  });

  test('duplicate client order ids are rejected where configured (paper-lighter), allowed on paper', () => {
    const lighter = market('paper-lighter');
    const req = {
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      price: '49000',
      size: '0.01',
      clientOrderId: 'dup',
    } as const;
    ok(lighter.ex.placeOrder({ ...req, ...lighter.sign() }));
    const dup = lighter.ex.placeOrder({ ...req, ...lighter.sign() });
    assert.ok(!dup.ok);
    assert.equal(dup.reject.code, 'duplicate_client_order_id');
    assert.equal(dup.reject.field, 'clientOrderId');
    const paper = market('paper');
    ok(paper.ex.placeOrder(req));
    ok(paper.ex.placeOrder(req));
  });

  test('strict nonces per API key (paper-lighter): required, and must increase', () => {
    const { ex } = market('paper-lighter');
    const req = {
      accountId: 'taker',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      price: '49000',
      size: '0.01',
    } as const;
    const missing = ex.placeOrder(req);
    assert.ok(!missing.ok);
    assert.equal(missing.reject.code, 'invalid_nonce');
    ok(ex.placeOrder({ ...req, apiKey: 'k1', nonce: 5 }));
    const replay = ex.placeOrder({ ...req, apiKey: 'k1', nonce: 5 });
    assert.ok(!replay.ok);
    assert.equal(replay.reject.code, 'invalid_nonce');
    assert.equal(replay.reject.message, 'nonce: 5 is not above the last nonce 5 of this API key');
    // Each API key has its own sequence.
    ok(ex.placeOrder({ ...req, apiKey: 'k2', nonce: 1 }));
    ok(ex.placeOrder({ ...req, apiKey: 'k1', nonce: 6 }));
    const cancel = ex.cancelAllOrders({ accountId: 'taker', apiKey: 'k1', nonce: 6 });
    assert.ok(!cancel.ok);
  });
});

describe('book data', () => {
  test('deltas carry contiguous sequences and rebuild the snapshot', () => {
    const { ex } = market();
    const start = ex.bookSnapshot(BTC);
    const local = { bids: new Map<string, string>(), asks: new Map<string, string>() };
    let seq = start.seq;
    const apply = () => {
      for (const e of ex.drainEvents()) {
        if (e.type !== 'book_delta' || e.instrumentId !== BTC) continue;
        assert.equal(e.prevSeq, seq);
        assert.equal(e.seq, seq + 1);
        seq = e.seq;
        for (const [side, levels] of [
          ['bids', e.bids],
          ['asks', e.asks],
        ] as const) {
          for (const l of levels) {
            if (l.size.isZero()) local[side].delete(l.price.toFixed());
            else local[side].set(l.price.toFixed(), l.size.toFixed());
          }
        }
      }
    };
    ex.batch(() => {
      for (let i = 0; i < 5; i++) {
        ok(
          ex.placeOrder({
            accountId: 'maker',
            instrumentId: BTC,
            side: 'sell',
            type: 'limit',
            price: d(50010).plus(i).toFixed(),
            size: '0.01',
          }),
        );
        ok(
          ex.placeOrder({
            accountId: 'maker',
            instrumentId: BTC,
            side: 'buy',
            type: 'limit',
            price: d(49990).minus(i).toFixed(),
            size: '0.01',
          }),
        );
      }
    });
    apply();
    assert.equal(seq, start.seq + 1, 'one batch, one delta');
    ok(ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'buy', type: 'market', size: '0.025' }));
    ex.cancelAllOrders({ accountId: 'maker', instrumentId: BTC });
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '49000',
        size: '0.02',
      }),
    );
    apply();
    const snap = ex.bookSnapshot(BTC);
    assert.equal(snap.seq, seq);
    assert.deepEqual(
      snap.bids.map((l) => [l.price.toFixed(), l.size.toFixed()]),
      [...local.bids.entries()],
    );
    assert.deepEqual(
      snap.asks.map((l) => [l.price.toFixed(), l.size.toFixed()]),
      [...local.asks.entries()],
    );
  });
});

describe('liquidation', () => {
  function longAt50k(collateral: string) {
    const { ex } = market('paper', collateral);
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50000',
        size: '0.1',
      }),
    );
    ok(ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'buy', type: 'market', size: '0.1' }));
    ex.drainEvents();
    return ex;
  }

  test('not while equity >= maintenance margin; at the first mark where equity < maintenance margin', () => {
    const ex = longAt50k('1000');
    // Wallet 1000 - 2.5 fee = 997.5; equity at mark m = 997.5 + 0.1 (m - 50000); MM = 0.1 m 0.004.
    // Equity == MM at m = 40185.74...; 40186 is just above, 40185 just below.
    ex.setPrices(BTC, { markPrice: '40186', indexPrice: '40186' });
    const m1 = ex.marginSummary('taker');
    assert.ok(m1.equity.gte(m1.maintenanceMargin));
    assert.equal(ex.drainEvents().filter((e) => e.type === 'liquidation').length, 0);
    assert.equal(ex.position('taker', BTC).size.toFixed(), '0.1');

    ex.setPrices(BTC, { markPrice: '40185', indexPrice: '40185' });
    const events = ex.drainEvents();
    const liq = events.find((e): e is LiquidationEvent => e.type === 'liquidation');
    assert.ok(liq);
    assert.ok(liq.equity.lt(liq.maintenanceMargin));
    assert.equal(liq.equity.toFixed(), '16');
    assert.equal(liq.maintenanceMargin.toFixed(), '16.074');
    assert.equal(ex.position('taker', BTC).size.toFixed(), '0');
    assert.equal(ex.position(INSURANCE_ACCOUNT_ID, BTC).size.toFixed(), '0.1');
    // Fee = 0.5% of 4018.5 = 20.0925, capped at the 16 left.
    assert.equal(liq.liquidationFee.toFixed(), '16');
    assert.equal(ex.balance('taker').walletBalance.toFixed(), '0');
    assert.equal(ex.ledger().equity.toFixed(), ex.ledger().netDeposits.toFixed());
  });

  test('equity exactly at maintenance margin is not liquidated; one tick lower is', () => {
    // Wallet 1018.5 - 2.5 fee = 1016; at 40,000: equity 1016 - 1000 = 16 = MM 0.1 x 40000 x 0.004.
    const ex = longAt50k('1018.5');
    ex.setPrices(BTC, { markPrice: '40000', indexPrice: '40000' });
    const m = ex.marginSummary('taker');
    assert.equal(m.equity.toFixed(), '16');
    assert.equal(m.maintenanceMargin.toFixed(), '16');
    assert.equal(ex.drainEvents().filter((e) => e.type === 'liquidation').length, 0);
    assert.equal(ex.position('taker', BTC).liquidationPrice?.toFixed(), '40000');
    ex.setPrices(BTC, { markPrice: '39999.9', indexPrice: '39999.9' });
    assert.equal(ex.drainEvents().filter((e) => e.type === 'liquidation').length, 1);
  });

  test('bad debt is covered by the insurance account and nobody is left negative', () => {
    const ex = longAt50k('1000');
    ex.setPrices(BTC, { markPrice: '30000', indexPrice: '30000' });
    const liq = ex.drainEvents().find((e): e is LiquidationEvent => e.type === 'liquidation');
    assert.ok(liq);
    assert.equal(liq.badDebt.toFixed(), '1002.5');
    assert.equal(ex.balance('taker').walletBalance.toFixed(), '0');
    assert.equal(ex.balance(INSURANCE_ACCOUNT_ID).walletBalance.toFixed(), '-1002.5');
    assert.equal(ex.ledger().equity.toFixed(), ex.ledger().netDeposits.toFixed());
  });

  test('open orders are canceled by a liquidation', () => {
    const ex = longAt50k('1000');
    ok(
      ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '60000',
        size: '0.1',
        reduceOnly: true,
      }),
    );
    ex.setPrices(BTC, { markPrice: '40000', indexPrice: '40000' });
    assert.equal(ex.openOrders('taker').length, 0);
  });
});

describe('accounts', () => {
  test('withdraw is limited to what is available', () => {
    const { ex } = market('paper', '1000');
    const tooMuch = ex.withdraw('taker', '1000.01');
    assert.ok(!tooMuch.ok);
    assert.equal(tooMuch.reject.code, 'insufficient_balance');
    assert.ok(ex.withdraw('taker', '400').ok);
    assert.equal(ex.balance('taker').collateral.toFixed(), '600');
  });

  test('time cannot go backwards', () => {
    const { ex } = market();
    ex.advance(10);
    assert.throws(() => ex.advance(5), /nowMs: 5 is before the venue clock 10/);
  });
});

describe('observed accounts (user events built only for the accounts someone reads)', () => {
  /** The same session on two venues: every account observed, and all but the maker; the maker's commands answer without views on the second. */
  function session(observeMaker: boolean): { ex: SimExchange; events: SimEvent[] } {
    const ex = new SimExchange(
      venuePreset('paper'),
      observeMaker ? {} : { observeAccount: (accountId) => accountId !== 'maker' },
    );
    ex.setPrices(BTC, { markPrice: '50000', indexPrice: '50000' });
    ex.deposit('maker', '10000000');
    ex.deposit('taker', '1000000');
    const place = observeMaker ? ex.placeOrder.bind(ex) : ex.submitOrder.bind(ex);
    for (const price of ['50000', '50000.5', '50001']) {
      assert.ok(
        place({ accountId: 'maker', instrumentId: BTC, side: 'sell', type: 'limit', price, size: '0.02' }).ok,
      );
    }
    // Refused: off the tick (the maker's reject reaches no stream when unobserved).
    assert.ok(
      !place({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50000.05',
        size: '0.02',
      }).ok,
    );
    ok(ex.placeOrder({ accountId: 'taker', instrumentId: BTC, side: 'buy', type: 'market', size: '0.03' }));
    const cancel = observeMaker ? ex.cancelAllOrders.bind(ex) : ex.cancelAllQuietly.bind(ex);
    assert.ok(cancel({ accountId: 'maker', instrumentId: BTC }).ok);
    ex.setPrices(BTC, { markPrice: '50100', indexPrice: '50000' });
    ex.advance(8 * 3_600_000); // funding settles: both hold positions
    return { ex, events: ex.drainEvents() };
  }

  test("an unobserved account's user events are left out; everything else, and the state, is the same", () => {
    const full = session(true);
    const quiet = session(false);
    const expected = full.events.filter((e) => !isUserEvent(e) || e.accountId !== 'maker');
    assert.ok(full.events.some((e) => isUserEvent(e) && e.accountId === 'maker' && e.type === 'fill'));
    assert.ok(
      expected.some((e) => e.type === 'funding_payment'),
      'the taker was paid or charged funding',
    );
    assert.deepEqual(quiet.events.map(canonicalJson), expected.map(canonicalJson));
    assert.deepEqual(quiet.ex.balance('maker'), full.ex.balance('maker'));
    assert.deepEqual(quiet.ex.positions('maker'), full.ex.positions('maker'));
    assert.equal(canonicalJson(quiet.ex.ledger()), canonicalJson(full.ex.ledger()));
  });

  test('submitOrder and cancelAllQuietly answer without views; a refusal still names the field', () => {
    const { ex } = market();
    const sell = (price: string) =>
      ex.submitOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price,
        size: '0.01',
      });
    assert.deepEqual(sell('50000'), { ok: true });
    const refused = sell('50000.05');
    assert.ok(!refused.ok);
    assert.equal(refused.reject.field, 'price');
    assert.equal('order' in refused, false);
    assert.deepEqual(ex.cancelAllQuietly({ accountId: 'maker' }), { ok: true });
    assert.equal(ex.openOrderCount('maker'), 0);
  });
});

describe('requoteFixed: a requote as one command', () => {
  type Quote = {
    side: 'buy' | 'sell';
    priceTicks: number;
    sizeLots: number;
    apiKey?: string;
    nonce?: number;
  };
  /** Two equal venues: one gets requoteFixed, the other the cancel-all and placements it stands for. */
  function pair(preset: string, quoterCollateral: string) {
    const make = () => {
      const ex = venue(preset);
      ex.deposit('quoter', quoterCollateral);
      ex.deposit('taker', '1000000');
      return ex;
    };
    return { bulk: make(), oneByOne: make() };
  }
  function requoteBoth(
    venues: { bulk: SimExchange; oneByOne: SimExchange },
    auth: { apiKey?: string; nonce?: number },
    quotes: Quote[],
  ): string[] {
    venues.bulk.requoteFixed({ accountId: 'quoter', instrumentId: BTC, ...auth, quotes });
    const ex = venues.oneByOne;
    ex.batch(() => {
      ex.cancelAllQuietly({ accountId: 'quoter', instrumentId: BTC, ...auth });
      for (const q of quotes)
        ex.submitFixedOrder({
          accountId: 'quoter',
          instrumentId: BTC,
          side: q.side,
          type: 'limit',
          timeInForce: 'gtc',
          priceTicks: q.priceTicks,
          sizeLots: q.sizeLots,
          apiKey: q.apiKey,
          nonce: q.nonce,
        });
    });
    const bulkEvents = venues.bulk.drainEvents().map(canonicalJson);
    assert.deepEqual(bulkEvents, venues.oneByOne.drainEvents().map(canonicalJson));
    assert.equal(venues.bulk.openOrderCount('quoter'), venues.oneByOne.openOrderCount('quoter'));
    for (const account of ['quoter', 'taker']) {
      assert.equal(
        canonicalJson(venues.bulk.marginSummary(account)),
        canonicalJson(venues.oneByOne.marginSummary(account)),
      );
      assert.equal(
        canonicalJson(venues.bulk.balance(account)),
        canonicalJson(venues.oneByOne.balance(account)),
      );
    }
    return bulkEvents;
  }
  /** `levels` bids and asks around 50,000 in ticks of 0.1 (a bid at `crossAt` when given), `lots` each. */
  function ladder(
    levels: number,
    lots: number,
    sign: () => { apiKey?: string; nonce?: number },
    crossAt?: number,
  ) {
    const quotes: Quote[] = [];
    for (let level = 0; level < levels; level++) {
      const bid = level === 0 && crossAt !== undefined ? crossAt : 500_000 - 10 * (level + 1);
      quotes.push({ side: 'buy', priceTicks: bid, sizeLots: lots, ...sign() });
      quotes.push({ side: 'sell', priceTicks: 500_000 + 10 * (level + 1), sizeLots: lots, ...sign() });
    }
    return quotes;
  }

  for (const preset of ['paper', 'paper-lighter']) {
    test(`${preset}: the same events, ids, margin and open orders as the one-by-one path`, () => {
      let nonce = 0;
      const sign = () => (preset === 'paper-lighter' ? { apiKey: 'q', nonce: ++nonce } : {});
      // Lots of 0.001 BTC on paper, 0.00001 on paper-lighter: the same sizes in BTC.
      const lots = (n: number) => (preset === 'paper-lighter' ? n * 100 : n);
      // Plenty of margin: every quote surely fits (the once-for-all answer).
      const rich = pair(preset, '10000000');
      requoteBoth(rich, sign(), ladder(5, lots(20), sign));
      requoteBoth(rich, sign(), ladder(5, lots(30), sign));
      // A quote that crosses the taker's resting ask trades; those after it are checked one by one.
      for (const ex of [rich.bulk, rich.oneByOne]) {
        ok(
          ex.placeOrder({
            accountId: 'taker',
            instrumentId: BTC,
            side: 'sell',
            type: 'limit',
            price: '50000.5',
            size: '0.005',
            ...(preset === 'paper-lighter' ? { apiKey: 't', nonce: 1 } : {}),
          }),
        );
        ex.drainEvents();
      }
      const crossed = requoteBoth(rich, sign(), ladder(5, lots(20), sign, 500_020));
      assert.ok(
        crossed.some((e) => e.includes('"type":"trade"')),
        'the crossing quote traded',
      );
      // Little margin: the quotes together do not surely fit; the first fit, later ones are refused.
      const poor = pair(preset, '1500');
      const refusedForMargin = requoteBoth(poor, sign(), ladder(6, lots(100), sign)).join('\n');
      assert.ok(refusedForMargin.includes('insufficient_margin'), 'quotes refused for margin');
      assert.ok(poor.bulk.openOrderCount('quoter') > 0, 'the first quotes rest');
      // A refused quote (below the minimum size) and, on the strict venue, a reused nonce.
      const refused = ladder(2, lots(20), sign);
      refused[1] = { ...(refused[1] as Quote), sizeLots: 0 };
      if (preset === 'paper-lighter') refused[2] = { ...(refused[2] as Quote), nonce: 1 };
      requoteBoth(rich, sign(), refused);
    });
  }
});

describe('closed order retention', () => {
  test("an account whose closed orders are forgotten keeps none and crowds out no other account's", () => {
    const ex = venue('paper', { overrides: { closedOrderRetention: 2 } });
    ex.deposit('taker', '1000000');
    ex.deposit('quoter', '1000000');
    ex.forgetClosedOrdersOf('quoter');
    const order = { instrumentId: BTC, side: 'buy', type: 'limit', price: '40000', size: '0.01' } as const;
    const kept = ex.placeOrder({ accountId: 'taker', ...order, clientOrderId: 'k' });
    assert.ok(kept.ok);
    assert.ok(ex.cancelOrder({ accountId: 'taker', venueOrderId: kept.order.venueOrderId }).ok);
    const quotes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const quote = ex.placeOrder({ accountId: 'quoter', ...order, clientOrderId: `q${i}` });
      assert.ok(quote.ok);
      quotes.push(quote.order.venueOrderId);
      // Open: found as ever.
      assert.equal(ex.getOrder('quoter', { venueOrderId: quote.order.venueOrderId })?.status, 'accepted');
    }
    assert.deepEqual(ex.cancelAllQuietly({ accountId: 'quoter' }), { ok: true });
    for (const venueOrderId of quotes) assert.equal(ex.getOrder('quoter', { venueOrderId }), undefined);
    assert.equal(ex.getOrder('quoter', { clientOrderId: 'q4' }), undefined);
    // With a retention of 2, five closed quotes would have evicted the taker's order.
    assert.equal(ex.getOrder('taker', { venueOrderId: kept.order.venueOrderId })?.status, 'canceled');
    assert.equal(ex.getOrder('taker', { clientOrderId: 'k' })?.status, 'canceled');
    assert.throws(() => ex.forgetClosedOrdersOf('nobody'), /nobody/);
  });

  test('an order past the retention is gone from lookups and from the history ring', () => {
    const ex = venue('paper', { overrides: { closedOrderRetention: 5 } });
    ex.deposit('taker', '1000000');
    const ids: string[] = [];
    const placeAndCancel = (i: number) => {
      const placed = ex.placeOrder({
        accountId: 'taker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '40000',
        size: '0.01',
        clientOrderId: `c${i}`,
      });
      assert.ok(placed.ok);
      ids.push(placed.order.venueOrderId);
      assert.ok(ex.cancelOrder({ accountId: 'taker', venueOrderId: placed.order.venueOrderId }).ok);
    };
    for (let i = 0; i < 200; i++) placeAndCancel(i);
    assert.equal(ex.getOrder('taker', { venueOrderId: ids[0] }), undefined);
    assert.equal(ex.getOrder('taker', { venueOrderId: ids[194] }), undefined);
    // The first lookup of a closed order by venue id builds the index; later orders keep it right.
    assert.equal(ex.getOrder('taker', { venueOrderId: ids[195] })?.status, 'canceled');
    assert.equal(ex.getOrder('taker', { clientOrderId: 'c194' }), undefined);
    assert.equal(ex.getOrder('taker', { clientOrderId: 'c195' })?.status, 'canceled');
    for (let i = 200; i < 203; i++) placeAndCancel(i);
    assert.equal(ex.getOrder('taker', { venueOrderId: ids[197] }), undefined);
    assert.equal(ex.getOrder('taker', { venueOrderId: ids[198] })?.clientOrderId, 'c198');
    assert.equal(ex.getOrder('taker', { venueOrderId: ids[202] })?.clientOrderId, 'c202');
    // Not the text of a sequence number: no order, whatever number it reads as.
    assert.equal(ex.getOrder('taker', { venueOrderId: `0${ids[202]}` }), undefined);
    // Exactly the retention is held (private state, read on purpose): dropped orders are unreachable.
    const held = ex as unknown as { closedOrderCount: number; closedOrderIndex: Map<number, number> };
    assert.equal(held.closedOrderCount, 5);
    assert.deepEqual(
      [...held.closedOrderIndex.keys()].sort((a, b) => a - b),
      ids.slice(198).map(Number),
    );
  });

  test('a closed order read back from the history has the view it closed with', () => {
    const ex = venue('paper');
    ex.deposit('maker', '1000000');
    ex.deposit('taker', '1000000');
    const order = (accountId: string, clientOrderId: string, fields: Partial<PlaceOrderRequest>) =>
      ex.placeOrder({
        accountId,
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        size: '0.01',
        clientOrderId,
        ...fields,
      });
    order('maker', 'm1', { price: '50000.5', size: '0.03' });
    order('maker', 'm2', { price: '50001', size: '0.02' });
    order('taker', 't1', { side: 'buy', type: 'market', size: '0.04' }); // m1 filled (fee after its fill), m2 partly
    order('maker', 'm3', { price: '50010' });
    ex.cancelOrder({ accountId: 'maker', clientOrderId: 'm2' }); // partly filled, then canceled
    order('taker', 't2', { side: 'buy', price: '50020', size: '0.02', timeInForce: 'ioc' }); // IOC remainder
    order('taker', 't3', { side: 'buy', price: '50020', size: '0.05', timeInForce: 'fok' }); // FOK not fillable
    order('taker', 't4', { side: 'sell', type: 'market', size: '0.5', reduceOnly: true }); // capped to the position
    for (const clientOrderId of ['m1', 'm2', 'm3', 't1', 't2', 't3', 't4']) {
      const accountId = clientOrderId.startsWith('m') ? 'maker' : 'taker';
      // By client id: the order object itself; by venue id: read back from the history's columns.
      const live = ex.getOrder(accountId, { clientOrderId });
      assert.ok(live, clientOrderId);
      assert.ok(
        live.status !== 'accepted' && live.status !== 'partially_filled',
        `${clientOrderId} is closed`,
      );
      const saved = ex.getOrder(accountId, { venueOrderId: live.venueOrderId });
      assert.equal(canonicalJson(saved), canonicalJson(live), clientOrderId);
    }
  });
});

describe('orders in whole ticks and lots (submitFixedOrder)', () => {
  /** One order as Decimals and as ticks and lots of paper BTC (tick 0.1, lot 0.001). */
  interface Both {
    readonly accountId: string;
    readonly side: 'buy' | 'sell';
    readonly type: 'limit' | 'market';
    readonly timeInForce?: 'gtc' | 'ioc' | 'fok' | 'post_only';
    readonly ticks?: number;
    readonly lots: number;
    readonly reduceOnly?: boolean;
  }
  const flow: Both[] = [
    { accountId: 'maker', side: 'sell', type: 'limit', ticks: 500_000, lots: 20 },
    { accountId: 'maker', side: 'sell', type: 'limit', ticks: 500_005, lots: 30 },
    { accountId: 'maker', side: 'buy', type: 'limit', ticks: 499_990, lots: 50 },
    { accountId: 'maker', side: 'sell', type: 'limit', ticks: 500_010, lots: 1 }, // below min notional
    { accountId: 'taker', side: 'buy', type: 'limit', timeInForce: 'post_only', ticks: 500_000, lots: 5 }, // would cross
    { accountId: 'taker', side: 'buy', type: 'market', lots: 35 },
    { accountId: 'taker', side: 'buy', type: 'market', lots: 200_000_000 }, // above max size
    { accountId: 'taker', side: 'sell', type: 'market', timeInForce: 'fok', lots: 60 }, // not fillable
    { accountId: 'taker', side: 'sell', type: 'market', lots: 10, reduceOnly: true },
    { accountId: 'taker', side: 'buy', type: 'market', lots: 5, reduceOnly: true }, // would increase
    { accountId: 'taker', side: 'sell', type: 'limit', timeInForce: 'ioc', ticks: 499_990, lots: 10 },
  ];

  function run(fixed: boolean): { results: unknown[]; events: string[]; ex: SimExchange } {
    const ex = venue('paper');
    ex.deposit('maker', '10000000');
    ex.deposit('taker', '1000000');
    const results = flow.map((o) => {
      const common = {
        accountId: o.accountId,
        instrumentId: BTC,
        side: o.side,
        type: o.type,
        ...(o.timeInForce === undefined ? {} : { timeInForce: o.timeInForce }),
        ...(o.reduceOnly === undefined ? {} : { reduceOnly: o.reduceOnly }),
      };
      return fixed
        ? ex.submitFixedOrder({
            ...common,
            ...(o.ticks === undefined ? {} : { priceTicks: o.ticks }),
            sizeLots: o.lots,
          })
        : ex.submitOrder({
            ...common,
            ...(o.ticks === undefined ? {} : { price: d(o.ticks).mul('0.1') }),
            size: d(o.lots).mul('0.001'),
          });
    });
    return { results, events: ex.drainEvents().map(canonicalJson), ex };
  }

  test('the same results, events and state as the same orders in Decimals (fills, rests and every reject)', () => {
    const decimal = run(false);
    const fixed = run(true);
    assert.deepEqual(fixed.results, decimal.results);
    assert.deepEqual(fixed.events, decimal.events);
    const rejects = decimal.results
      .filter((r) => !(r as { ok: boolean }).ok)
      .map((r) => (r as { reject: { code: string } }).reject.code);
    assert.deepEqual(rejects, [
      'below_min_notional',
      'post_only_would_cross',
      'above_max_size',
      'reduce_only_would_increase',
    ]);
    assert.ok(fixed.events.some((e) => e.includes('"type":"fill"')));
    for (const id of ['maker', 'taker']) {
      assert.deepEqual(fixed.ex.balance(id), decimal.ex.balance(id));
      assert.deepEqual(fixed.ex.positions(id), decimal.ex.positions(id));
      assert.deepEqual(fixed.ex.openOrders(id), decimal.ex.openOrders(id));
    }
  });

  test('quantities that are not positive safe integers are refused, naming the field', () => {
    const ex = venue('paper');
    ex.deposit('a', '100000');
    const refused = ex.submitFixedOrder({
      accountId: 'a',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      sizeLots: 5,
    });
    assert.deepEqual(refused.ok ? undefined : [refused.reject.code, refused.reject.field], [
      'invalid_argument',
      'priceTicks',
    ]);
    const lots = ex.submitFixedOrder({
      accountId: 'a',
      instrumentId: BTC,
      side: 'buy',
      type: 'market',
      sizeLots: 0.5,
    });
    assert.deepEqual(lots.ok ? undefined : [lots.reject.code, lots.reject.field], [
      'invalid_argument',
      'sizeLots',
    ]);
  });
});
