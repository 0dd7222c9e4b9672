import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Decimal, dec } from './decimal.js';
import { ValidationError } from './errors.js';
import {
  applyFill,
  applyFunding,
  FLAT_POSITION,
  markTo,
  notionalAt,
  type PositionFill,
  type PositionState,
  unrealizedPnlAt,
} from './position.js';

const buy = (size: string | number, price: string | number, fee: string | number = 0): PositionFill => ({
  side: 'buy',
  size: dec(size),
  price: dec(price),
  fee: dec(fee),
});
const sell = (size: string | number, price: string | number, fee: string | number = 0): PositionFill => ({
  side: 'sell',
  size: dec(size),
  price: dec(price),
  fee: dec(fee),
});
const fills = (...list: PositionFill[]): PositionState => list.reduce(applyFill, FLAT_POSITION);

describe('position accounting', () => {
  test('opening and adding: weighted average entry', () => {
    const state = fills(buy(1, 100), buy(3, 120));
    assert.equal(state.size.toFixed(), '4');
    assert.equal(state.side, 'long');
    assert.equal(state.entryPrice?.toFixed(), '115');
    assert.equal(state.realizedPnl.toFixed(), '0');
  });

  test('reducing a long realizes (price - entry) * closed and keeps the entry', () => {
    const state = fills(buy(4, 100), sell(1, 110));
    assert.equal(state.size.toFixed(), '3');
    assert.equal(state.entryPrice?.toFixed(), '100');
    assert.equal(state.tradingPnl.toFixed(), '10');
  });

  test('reducing a short realizes (entry - price) * closed', () => {
    const state = fills(sell(2, 100), buy(1, 90));
    assert.equal(state.size.toFixed(), '-1');
    assert.equal(state.side, 'short');
    assert.equal(state.entryPrice?.toFixed(), '100');
    assert.equal(state.tradingPnl.toFixed(), '10');
  });

  test('closing to flat: size 0, no entry, unrealized 0', () => {
    const state = markTo(fills(buy(2, 100), sell(2, 105)), dec(200));
    assert.equal(state.size.toFixed(), '0');
    assert.equal(state.side, 'flat');
    assert.equal(state.entryPrice, undefined);
    assert.equal(state.unrealizedPnl.toFixed(), '0');
    assert.equal(state.tradingPnl.toFixed(), '10');
  });

  test('flip: the old position closes at the fill price, the rest opens there', () => {
    const state = fills(buy(2, 100), sell(5, 110));
    assert.equal(state.size.toFixed(), '-3');
    assert.equal(state.entryPrice?.toFixed(), '110');
    assert.equal(state.tradingPnl.toFixed(), '20');
    const back = applyFill(state, buy(4, 100));
    assert.equal(back.size.toFixed(), '1');
    assert.equal(back.entryPrice?.toFixed(), '100');
    assert.equal(back.tradingPnl.toFixed(), '50'); // + (110 - 100) * 3
  });

  test('fees reduce realized PnL and are summed separately; rebates add', () => {
    const state = fills(buy(1, 100, '0.5'), sell(1, 101, '-0.1'));
    assert.equal(state.fees.toFixed(), '0.4');
    assert.equal(state.tradingPnl.toFixed(), '1');
    assert.equal(state.realizedPnl.toFixed(), '0.6');
  });

  test('funding is tracked separately and in net realized, not in realized', () => {
    let state = fills(buy(1, 100, '0.5'));
    state = applyFunding(state, { amount: dec('-0.25'), tsEventMs: 10 });
    state = applyFunding(state, { amount: dec('0.05'), tsEventMs: 20 });
    assert.equal(state.funding.toFixed(), '-0.2');
    assert.equal(state.realizedPnl.toFixed(), '-0.5');
    assert.equal(state.netRealizedPnl.toFixed(), '-0.7');
    assert.equal(state.updatedAtMs, 20);
  });

  test('unrealized PnL and notional at mark; the mark is kept across fills', () => {
    let state = markTo(fills(sell(2, 100)), dec(90), 5);
    assert.equal(state.unrealizedPnl.toFixed(), '20');
    assert.equal(unrealizedPnlAt(state, dec(110)).toFixed(), '-20');
    assert.equal(notionalAt(state, dec(90)).toFixed(), '180');
    state = applyFill(state, sell(2, 80));
    assert.equal(state.entryPrice?.toFixed(), '90');
    assert.equal(state.unrealizedPnl.toFixed(), '0');
    assert.equal(state.markPrice?.toFixed(), '90');
    assert.equal(FLAT_POSITION.unrealizedPnl.toFixed(), '0');
  });

  test('inputs are validated, naming the field; the state is immutable', () => {
    for (const [fill, field] of [
      [{ ...buy(1, 100), size: dec(0) }, 'fill.size'],
      [{ ...buy(1, 100), price: dec(-1) }, 'fill.price'],
      [{ ...buy(1, 100), fee: dec(Number.NaN) }, 'fill.fee'],
      [{ ...buy(1, 100), side: 'long' }, 'fill.side'],
    ] as const) {
      assert.throws(
        () => applyFill(FLAT_POSITION, fill as PositionFill),
        (e: unknown) => e instanceof ValidationError && e.field === field,
      );
    }
    // A position without an entry price cannot realize a reduce: a clear error, not a crash inside the math.
    assert.throws(
      () => applyFill({ ...FLAT_POSITION, size: dec(-1), side: 'short' }, buy(1, 100)),
      (e: unknown) => e instanceof ValidationError && e.field === 'state.entryPrice',
    );
    assert.throws(
      () => markTo(FLAT_POSITION, dec(0)),
      (e: unknown) => e instanceof ValidationError && e.field === 'markPrice',
    );
    const before = fills(buy(1, 100));
    applyFill(before, sell(1, 120));
    assert.equal(before.size.toFixed(), '1');
    assert.ok(Object.isFrozen(FLAT_POSITION));
  });
});

// ---------------------------------------------------------------------------------------
// Properties against independent cash-flow accounting.

const fillArb = fc.record({
  side: fc.constantFrom('buy' as const, 'sell' as const),
  // Sizes and prices on a grid like a venue's lot and tick.
  size: fc.integer({ min: 1, max: 5_000 }).map((n) => dec(n).div(1000)),
  price: fc.integer({ min: 1, max: 2_000_000 }).map((n) => dec(n).div(100)),
  fee: fc.integer({ min: -100, max: 1_000 }).map((n) => dec(n).div(10_000)),
});
const markArb = fc.integer({ min: 1, max: 2_000_000 }).map((n) => dec(n).div(100));

// The average entry is a division rounded at 60 significant digits; PnL identities hold to that.
const EPSILON = dec('1e-30');
const close = (a: Decimal, b: Decimal, what: string) =>
  assert.ok(a.minus(b).abs().lte(EPSILON), `${what}: ${a.toFixed()} != ${b.toFixed()}`);

describe('position properties', () => {
  test('realized + unrealized = sells - buys + size * mark - fees, for any fill sequence', () => {
    fc.assert(
      fc.property(fc.array(fillArb, { maxLength: 30 }), markArb, (list, mark) => {
        let state: PositionState = FLAT_POSITION;
        let cash = dec(0);
        let size = dec(0);
        let fees = dec(0);
        for (const f of list) {
          state = applyFill(state, f);
          const notional = f.price.mul(f.size);
          cash = f.side === 'sell' ? cash.plus(notional) : cash.minus(notional);
          size = f.side === 'buy' ? size.plus(f.size) : size.minus(f.size);
          fees = fees.plus(f.fee);
        }
        state = markTo(state, mark);
        assert.ok(state.size.eq(size));
        assert.ok(state.fees.eq(fees));
        close(
          state.realizedPnl.plus(state.unrealizedPnl),
          cash.plus(size.mul(mark)).minus(fees),
          'total PnL',
        );
        assert.equal(state.side, size.isZero() ? 'flat' : size.isPos() ? 'long' : 'short');
        assert.equal(state.entryPrice === undefined, size.isZero());
      }),
      { numRuns: 200 },
    );
  });

  test('closing to flat leaves size 0, unrealized 0, and realized = cash flow - fees', () => {
    fc.assert(
      fc.property(
        fc.array(fillArb, { minLength: 1, maxLength: 20 }),
        markArb,
        markArb,
        (list, closePrice, mark) => {
          let state = list.reduce(applyFill, FLAT_POSITION);
          const open = state.size;
          if (!open.isZero()) {
            state = applyFill(state, {
              side: open.isPos() ? 'sell' : 'buy',
              size: open.abs(),
              price: closePrice,
            });
          }
          state = markTo(state, mark);
          assert.ok(state.size.isZero());
          assert.ok(state.unrealizedPnl.isZero());
          assert.equal(state.entryPrice, undefined);
          const cash = list.reduce(
            (acc, f) => (f.side === 'sell' ? acc.plus(f.price.mul(f.size)) : acc.minus(f.price.mul(f.size))),
            open.isZero() ? dec(0) : open.mul(closePrice),
          );
          close(state.tradingPnl, cash, 'trading PnL');
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a flip closes the whole old position and opens the remainder at the fill price', () => {
    fc.assert(
      fc.property(
        fillArb,
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 2_000_000 }),
        (opening, extraLots, ticks) => {
          const start = applyFill(FLAT_POSITION, { ...opening, fee: dec(0) });
          const extra = dec(extraLots).div(1000);
          const price = dec(ticks).div(100);
          const flipSide = opening.side === 'buy' ? 'sell' : 'buy';
          const flipped = applyFill(start, { side: flipSide, size: opening.size.plus(extra), price });
          const expectedSize = opening.side === 'buy' ? extra.neg() : extra;
          assert.ok(flipped.size.eq(expectedSize));
          assert.ok(flipped.entryPrice?.eq(price));
          const direction = opening.side === 'buy' ? 1 : -1;
          assert.ok(flipped.tradingPnl.eq(price.minus(opening.price).mul(opening.size).mul(direction)));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('funding adds to net realized and nothing else', () => {
    fc.assert(
      fc.property(
        fc.array(fillArb, { maxLength: 10 }),
        fc.array(
          fc.integer({ min: -10_000, max: 10_000 }).map((n) => dec(n).div(100)),
          { maxLength: 10 },
        ),
        (list, payments) => {
          const traded = list.reduce(applyFill, FLAT_POSITION);
          const funded = payments.reduce((s, amount) => applyFunding(s, { amount }), traded);
          const total = payments.reduce((a, b) => a.plus(b), dec(0));
          assert.ok(funded.funding.eq(total));
          assert.ok(funded.realizedPnl.eq(traded.realizedPnl));
          assert.ok(funded.netRealizedPnl.eq(traded.realizedPnl.plus(total)));
          assert.ok(funded.size.eq(traded.size));
        },
      ),
      { numRuns: 100 },
    );
  });
});
