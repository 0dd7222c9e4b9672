import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal, ZERO } from '@perpmesh/core';
import { Position } from './account.js';
import { costDecimal, costScale, divRoundHalfEven, feeUnits, fixedRate, InstrumentScale } from './fixed.js';
import { venuePreset } from './presets.js';
import { SimRng } from './rng.js';

/** The Decimal formula a position followed before it moved to fixed point: the oracle. */
class DecimalPosition {
  size: Decimal = ZERO;
  costBasis: Decimal = ZERO;
  realizedPnl: Decimal = ZERO;

  apply(qty: Decimal, price: Decimal, roundDecimals: number): Decimal {
    if (this.size.isZero() || this.size.isNeg() === qty.isNeg()) {
      this.size = this.size.plus(qty);
      this.costBasis = this.costBasis.plus(qty.mul(price));
      return ZERO;
    }
    const closeAbs = Decimal.min(qty.abs(), this.size.abs());
    const closeQty = qty.isNeg() ? closeAbs.neg() : closeAbs;
    const removed = closeAbs.eq(this.size.abs())
      ? this.costBasis
      : this.costBasis
          .mul(closeAbs)
          .div(this.size.abs())
          .toDecimalPlaces(roundDecimals, Decimal.ROUND_HALF_EVEN);
    const realized = closeQty.neg().mul(price).minus(removed);
    this.costBasis = this.costBasis.minus(removed);
    this.size = this.size.plus(closeQty);
    this.realizedPnl = this.realizedPnl.plus(realized);
    const rest = qty.minus(closeQty);
    if (!rest.isZero()) {
      this.size = this.size.plus(rest);
      this.costBasis = this.costBasis.plus(rest.mul(price));
    }
    return realized;
  }
}

const btc = () => {
  const spec = venuePreset('paper').instruments.find((i) => i.instrumentId === 'BTC-USDC-PERP');
  assert.ok(spec);
  return spec; // tick 0.1, lot 0.001
};

describe('divRoundHalfEven', () => {
  test('rounds n / d half to even, both signs, as decimal.js does', () => {
    const rng = SimRng.fromSeed(3);
    for (let i = 0; i < 5000; i++) {
      const n = BigInt(Math.floor(rng.float() * 2_000_001) - 1_000_000);
      const d = BigInt(1 + Math.floor(rng.float() * 40));
      const expected = new Decimal(n.toString())
        .div(d.toString())
        .toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN)
        .toFixed();
      assert.equal(divRoundHalfEven(n, d).toString(), expected, `${n} / ${d}`);
    }
    assert.equal(divRoundHalfEven(5n, 2n), 2n);
    assert.equal(divRoundHalfEven(7n, 2n), 4n);
    assert.equal(divRoundHalfEven(-5n, 2n), -2n);
    assert.equal(divRoundHalfEven(-7n, 2n), -4n);
  });
});

describe('Position in fixed point', () => {
  // Settlement decimals below, at and above the tick x lot decimals (4 for BTC).
  // and a venue scale finer than both (another instrument's tick x lot).
  for (const [settlementDecimals, venueDecimals] of [
    [2, 0],
    [4, 0],
    [6, 0],
    [2, 9],
  ] as const) {
    test(`fills on and off the tick grid match the Decimal formula exactly (settlement ${settlementDecimals} dp, venue ${venueDecimals})`, () => {
      const scale = new InstrumentScale(btc());
      const cost = costScale(scale, settlementDecimals, venueDecimals);
      assert.ok(cost);
      const rng = SimRng.fromSeed(settlementDecimals);
      for (let run = 0; run < 40; run++) {
        const fixed: Position = new Position(scale, cost);
        const oracle = new DecimalPosition();
        for (let i = 0; i < 60; i++) {
          const lots = (1 + Math.floor(rng.float() * 400)) * (rng.float() < 0.5 ? -1 : 1);
          // One fill in ten at a mark off the grid (a liquidation): Decimal until flat again.
          const offGrid = rng.float() < 0.1;
          const ticks = 400_000 + Math.floor(rng.float() * 200_000);
          const price = offGrid ? new Decimal(ticks).div(10).plus('0.0137') : scale.price(ticks);
          // Sometimes close exactly, so the position comes back to fixed point.
          const qty = rng.float() < 0.1 && fixed.lots !== 0 ? -fixed.lots : lots;
          const got: Decimal = fixed.apply(qty, price, offGrid ? Number.NaN : ticks, settlementDecimals);
          const want = oracle.apply(scale.size(qty), price, settlementDecimals);
          const at = `run ${run} fill ${i}`;
          assert.equal(got.toFixed(), want.toFixed(), `realized, ${at}`);
          assert.equal(fixed.size.toFixed(), oracle.size.toFixed(), `size, ${at}`);
          assert.equal(fixed.costBasis.toFixed(), oracle.costBasis.toFixed(), `cost basis, ${at}`);
          assert.equal(fixed.realizedPnl.toFixed(), oracle.realizedPnl.toFixed(), `realized sum, ${at}`);
        }
      }
    });
  }

  test('the Decimal views keep their identity until the position changes', () => {
    const scale = new InstrumentScale(btc());
    const p = new Position(scale, costScale(scale, 6, 0));
    p.apply(10, scale.price(500_000), 500_000, 6);
    const size = p.size;
    const cost = p.costBasis;
    assert.equal(p.size, size);
    assert.equal(p.costBasis, cost);
    assert.equal(cost.toFixed(), '500');
    p.apply(-3, scale.price(500_010), 500_010, 6);
    assert.notEqual(p.size, size);
    assert.equal(p.size.toFixed(), '0.007');
  });

  test('without a fixed scale (a tick that is not a power of ten) the Decimal formula runs', () => {
    const spec = { ...btc(), tickSize: new Decimal('0.5') };
    const scale = new InstrumentScale(spec);
    assert.equal(costScale(scale, 6, 0), undefined);
    const p = new Position(scale, undefined);
    const o = new DecimalPosition();
    p.apply(7, new Decimal('100.5'), 201, 6);
    o.apply(scale.size(7), new Decimal('100.5'), 6);
    assert.equal(
      p.apply(-3, new Decimal('101'), 202, 6).toFixed(),
      o.apply(scale.size(-3), new Decimal('101'), 6).toFixed(),
    );
    assert.equal(p.costBasis.toFixed(), o.costBasis.toFixed());
  });
});

describe('feeUnits', () => {
  test('is the Decimal fee (notional x rate, half-even to the settlement decimals), rebates too', () => {
    const scale = new InstrumentScale(btc());
    const rng = SimRng.fromSeed(11);
    for (const [settlementDecimals, rate] of [
      [6, '0.0005'],
      [2, '0.0002'],
      [4, '-0.00015'],
      [8, '0.000375'],
    ] as const) {
      const cost = costScale(scale, settlementDecimals, 0);
      assert.ok(cost);
      const fixed = fixedRate(new Decimal(rate));
      for (let i = 0; i < 2000; i++) {
        const lots = 1 + Math.floor(rng.float() * 5000);
        const ticks = 1 + Math.floor(rng.float() * 900_000);
        const want = scale
          .size(lots)
          .mul(scale.price(ticks))
          .mul(rate)
          .toDecimalPlaces(settlementDecimals, Decimal.ROUND_HALF_EVEN);
        const got = costDecimal(feeUnits(lots, ticks, fixed, cost), cost);
        assert.equal(got.toFixed(), want.toFixed(), `${lots} lots x ${ticks} ticks at ${rate}`);
      }
    }
  });
});
