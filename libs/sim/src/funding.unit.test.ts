import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal, ZERO } from '@perpmesh/core';
import fc from 'fast-check';
import {
  type FundingPaymentEvent,
  type FundingSettledEvent,
  fundingRate,
  splitFunding,
  venuePreset,
} from './index.js';
import { BTC, d, ok, venue } from './test-helpers.js';

const HOUR_MS = 3_600_000;

describe('funding rate formula', () => {
  const paper = venuePreset('paper').funding;
  const lighter = venuePreset('paper-lighter').funding;
  const extended = venuePreset('paper-extended').funding;

  test('Binance-like 8 h: interest dominates inside the clamp, premium beyond it, capped', () => {
    assert.equal(fundingRate(d('0.0002'), paper).toFixed(), '0.0001');
    assert.equal(fundingRate(d('0'), paper).toFixed(), '0.0001');
    assert.equal(fundingRate(d('0.002'), paper).toFixed(), '0.0015');
    assert.equal(fundingRate(d('0.01'), paper).toFixed(), '0.003');
    assert.equal(fundingRate(d('-0.01'), paper).toFixed(), '-0.003');
  });

  test('hourly venues pay 1/8 of the 8 h rate; Extended is clamp(P/8, ±cap)', () => {
    assert.equal(fundingRate(d('0'), lighter).toFixed(), '0.0000125');
    assert.equal(fundingRate(d('0.001'), lighter).toFixed(), '0.0000625');
    assert.equal(fundingRate(d('0.0008'), extended).toFixed(), '0.0001');
    assert.equal(fundingRate(d('-0.0008'), extended).toFixed(), '-0.0001');
    assert.equal(fundingRate(d('0.5'), extended).toFixed(), '0.01');
  });
});

describe('splitFunding', () => {
  // Positions that net to zero, in lots of 0.001, with an arbitrary mark and rate.
  const lots = fc.array(fc.integer({ min: -5000, max: 5000 }), { minLength: 1, maxLength: 12 });
  const scenario = fc.record({
    lots,
    mark: fc.integer({ min: 1, max: 100_000_000 }).map((n) => new Decimal(n).div(100)),
    rate: fc.integer({ min: -300_000, max: 300_000 }).map((n) => new Decimal(n).div(100_000_000)),
    decimals: fc.integer({ min: 0, max: 8 }),
  });

  test('total paid by payers equals total received by receivers, exactly', () => {
    fc.assert(
      fc.property(scenario, ({ lots, mark, rate, decimals }) => {
        const net = lots.reduce((s, l) => s + l, 0);
        const holders = [...lots, -net].map((l, i) => ({
          accountId: `a${i}`,
          size: new Decimal(l).div(1000),
        }));
        const { shares, totalPaid } = splitFunding(holders, mark, rate, decimals);
        const sum = shares.reduce((s, x) => s.plus(x.amount), ZERO);
        assert.equal(sum.toFixed(), '0');
        const paid = shares.filter((x) => x.amount.isNeg()).reduce((s, x) => s.minus(x.amount), ZERO);
        assert.equal(paid.toFixed(), totalPaid.toFixed());
        const unit = new Decimal(1).div(new Decimal(10).pow(decimals));
        const receiverSize = holders
          .filter((h) => !h.size.isZero() && h.size.isPos() !== rate.isPos())
          .reduce((s, h) => s.plus(h.size.abs()), ZERO);
        for (const share of shares) {
          const h = holders.find((x) => x.accountId === share.accountId);
          assert.ok(h);
          assert.ok(share.amount.mod(unit).isZero(), 'amounts are whole settlement units');
          const paysSide = h.size.isPos() === rate.isPos();
          if (paysSide) {
            // Each payer pays its own exposure, rounded once.
            const exact = h.size.abs().mul(mark).mul(rate.abs());
            assert.ok(share.amount.neg().minus(exact).abs().lte(unit.div(2)));
          } else {
            // Receivers get their pro-rata share of what was paid, within one unit.
            const exact = totalPaid.mul(h.size.abs()).div(receiverSize);
            assert.ok(!share.amount.isNeg());
            assert.ok(share.amount.minus(exact).abs().lt(unit));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test('positive rate: longs pay shorts; negative: shorts pay longs; zero: nothing', () => {
    const holders = [
      { accountId: 'long', size: d('2') },
      { accountId: 'short', size: d('-2') },
    ];
    const pos = splitFunding(holders, d('100'), d('0.001'), 6);
    assert.deepEqual(
      pos.shares.map((s) => [s.accountId, s.amount.toFixed()]),
      [
        ['long', '-0.2'],
        ['short', '0.2'],
      ],
    );
    const neg = splitFunding(holders, d('100'), d('-0.001'), 6);
    assert.deepEqual(
      neg.shares.map((s) => [s.accountId, s.amount.toFixed()]),
      [
        ['short', '-0.2'],
        ['long', '0.2'],
      ],
    );
    assert.equal(splitFunding(holders, d('100'), ZERO, 6).shares.length, 0);
  });
});

describe('funding settlement on a venue', () => {
  function hourlyVenue() {
    const ex = venue('paper-lighter', { btcMark: '50000' });
    let nonce = 0;
    const auth = () => ({ apiKey: 'k', nonce: ++nonce });
    for (const a of ['maker', 'long', 'flipper']) ex.deposit(a, '1000000');
    // Premium (50050 - 50000) / 50000 = 0.001 all interval long.
    ex.setPrices(BTC, { markPrice: '50050', indexPrice: '50000' });
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'sell',
        type: 'limit',
        price: '50050',
        size: '0.2',
        ...auth(),
      }),
    );
    ok(
      ex.placeOrder({
        accountId: 'long',
        instrumentId: BTC,
        side: 'buy',
        type: 'market',
        size: '0.1',
        ...auth(),
      }),
    );
    ok(
      ex.placeOrder({
        accountId: 'flipper',
        instrumentId: BTC,
        side: 'buy',
        type: 'market',
        size: '0.1',
        ...auth(),
      }),
    );
    ex.drainEvents();
    return { ex, auth };
  }

  test('settles at the venue interval, longs pay shorts when the rate is positive, exactly', () => {
    const { ex, auth } = hourlyVenue();
    ex.advance(HOUR_MS / 2);
    // Closed before the settlement instant: pays nothing for this period.
    ok(
      ex.placeOrder({
        accountId: 'maker',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        price: '50050',
        size: '0.1',
        ...auth(),
      }),
    );
    ok(
      ex.placeOrder({
        accountId: 'flipper',
        instrumentId: BTC,
        side: 'sell',
        type: 'market',
        size: '0.1',
        reduceOnly: true,
        ...auth(),
      }),
    );
    ex.drainEvents();
    ex.advance(HOUR_MS - 1);
    assert.equal(ex.drainEvents().filter((e) => e.type === 'funding_settled').length, 0);
    ex.advance(HOUR_MS);
    const events = ex.drainEvents();
    const settled = events.filter(
      (e): e is FundingSettledEvent => e.type === 'funding_settled' && e.instrumentId === BTC,
    );
    assert.equal(settled.length, 1);
    // P = 0.001: rate = (0.001 + clamp(0.0001 - 0.001, ±0.0005)) / 8 = 0.0000625.
    assert.equal(settled[0]?.rate.toFixed(), '0.0000625');
    assert.equal(settled[0]?.nextFundingTimeMs, 2 * HOUR_MS);
    const payments = events.filter((e): e is FundingPaymentEvent => e.type === 'funding_payment');
    const byAccount = new Map(payments.map((p) => [p.accountId, p.amount.toFixed()]));
    // 0.1 x 50050 x 0.0000625 = 0.3128125 -> 0.312812 (6 decimals, half-even: a tie goes to even).
    assert.equal(byAccount.get('long'), '-0.312812');
    assert.equal(byAccount.get('maker'), '0.312812');
    assert.equal(byAccount.has('flipper'), false);
    assert.equal(settled[0]?.totalPaid.toFixed(), '0.312812');
    const ledger = ex.ledger();
    assert.equal(ledger.fundingNet.toFixed(), '0');
    assert.equal(ledger.equity.toFixed(), ledger.netDeposits.toFixed());
  });

  test('an 8 h venue does not settle on the hour; a long jump settles every boundary passed', () => {
    const ex = venue('paper');
    ex.advance(HOUR_MS);
    assert.equal(ex.drainEvents().filter((e) => e.type === 'funding_settled').length, 0);
    assert.equal(ex.nextFundingTimeMs, 8 * HOUR_MS);
    ex.advance(24 * HOUR_MS);
    const settled = ex.drainEvents().filter((e): e is FundingSettledEvent => e.type === 'funding_settled');
    assert.deepEqual(
      settled.filter((e) => e.instrumentId === BTC).map((e) => e.fundingTimeMs),
      [8, 16, 24].map((h) => h * HOUR_MS),
    );
  });

  test('the predicted rate follows the time-weighted premium of the running interval', () => {
    const ex = venue('paper-extended');
    // Premium 0 for the first half hour, then 0.0016: TWAP 0.0008 at the hour -> P/8 = 0.0001.
    ex.advance(HOUR_MS / 2);
    ex.setPrices(BTC, { markPrice: '50080', indexPrice: '50000' });
    ex.advance(HOUR_MS);
    const settled = ex
      .drainEvents()
      .find((e): e is FundingSettledEvent => e.type === 'funding_settled' && e.instrumentId === BTC);
    assert.equal(settled?.rate.toFixed(), '0.0001');
    const info = ex.funding(BTC);
    // The new interval so far: only the current premium 0.0016 -> 0.0002.
    assert.equal(info?.predictedRate.toFixed(), '0.0002');
    assert.equal(info?.lastSettledRate?.toFixed(), '0.0001');
    assert.equal(info?.nextFundingTimeMs, 2 * HOUR_MS);
  });
});
