/** Readings: freshness, venue balances and positions, projected positions, summaries and totals. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import type { VenueBalance, VenuePosition } from '@perpmesh/venues';
import {
  applyFillToProjection,
  applyFundingToProjection,
  emptyFundingProjection,
  emptyPositionsProjection,
  mergedPosition,
  positionKey,
} from './projection.js';
import {
  type AccountSummaryReading,
  accountSummaryReading,
  balanceReading,
  freshness,
  latestOf,
  type PositionReading,
  projectedPositionReading,
  summaryTotals,
  venuePositionReading,
} from './readings.js';

const T0 = Date.UTC(2026, 0, 1);
const BTC = 'BTC-USDC-PERP';

const balance = (total: string, tsEventMs = T0): VenueBalance => ({
  asset: 'USDC',
  total: dec(total),
  available: dec(total).minus(10),
  equity: dec(total).plus(5),
  unrealizedPnl: dec(5),
  tsEventMs,
});

const venuePosition = (size: string, over: Partial<VenuePosition> = {}): VenuePosition => ({
  instrument: BTC,
  size: dec(size),
  entryPrice: dec(100),
  markPrice: dec(110),
  unrealizedPnl: dec(10),
  realizedPnl: dec(2),
  leverage: dec(3),
  liquidationPrice: dec(50),
  tsEventMs: T0,
  ...over,
});

/** A long 1 BTC at 100 from one fill at T0 + 1 s, as stored. */
function storedLong() {
  const state = applyFillToProjection(emptyPositionsProjection(), {
    venue: 'paper',
    account: 'main',
    instrument: BTC,
    tradeId: 't1',
    side: 'buy',
    price: dec(100),
    size: dec(1),
    fee: dec('0.1'),
    tsEventMs: T0 + 1_000,
  });
  return state.positions[positionKey('paper', 'main', BTC)];
}

/** `storedLong`, marked at 110. */
function projectedLong(markPrice = dec(110)) {
  return mergedPosition('paper', 'main', BTC, storedLong(), undefined, markPrice);
}

describe('freshness', () => {
  test('age is the clock minus the as-of, never negative; stale only past the bound', () => {
    assert.deepEqual(freshness(T0, T0 + 1_000, 1_000), { asOfMs: T0, ageMs: 1_000, stale: false });
    assert.deepEqual(freshness(T0, T0 + 1_001, 1_000), { asOfMs: T0, ageMs: 1_001, stale: true });
    assert.deepEqual(freshness(T0 + 5_000, T0, 1_000), { asOfMs: T0 + 5_000, ageMs: 0, stale: false });
  });

  for (const skewMs of [-1_400, 5_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by ${Math.abs(skewMs)} ms: a reading ages from when we observed it (3 s bound)`, () => {
      // Polled at T0 (our clock), dated by the venue's clock.
      const polled = { ...balance('100', T0 + 50 + skewMs), observedAtMs: T0 };
      const fresh = balanceReading('paper', 'main', polled, T0 + 200, 3_000);
      assert.equal(fresh.asOfMs, T0 + 50 + skewMs, 'as-of stays the venue time');
      assert.equal(fresh.observedAtMs, T0);
      assert.equal(fresh.ageMs, 200);
      assert.equal(fresh.stale, false);
      assert.equal(balanceReading('paper', 'main', polled, T0 + 3_000, 3_000).stale, false);
      const stopped = balanceReading('paper', 'main', polled, T0 + 3_001, 3_000);
      assert.equal(stopped.stale, true, 'no new reading for past the bound');
      assert.equal(stopped.ageMs, 3_001);
      const position = { ...venuePosition('1', { tsEventMs: T0 + 50 + skewMs }), observedAtMs: T0 };
      assert.equal(venuePositionReading('paper', 'main', position, T0 + 3_000, 3_000)?.stale, false);
      assert.equal(venuePositionReading('paper', 'main', position, T0 + 3_001, 3_000)?.stale, true);
    });
  }

  test('latestOf ignores undefined and non-positive values', () => {
    assert.equal(latestOf(undefined, 0, 3, 7, -1), 7);
    assert.equal(latestOf(undefined, 0), undefined);
  });
});

describe('venue readings', () => {
  test('a balance is the venue’s, as of the venue’s time', () => {
    const r = balanceReading('paper', 'main', balance('1000', T0), T0 + 20_000, 15_000);
    assert.equal(r.currency, 'USDC');
    assert.equal(r.total.toFixed(), '1000');
    assert.equal(r.available.toFixed(), '990');
    assert.equal(r.equity.toFixed(), '1005');
    assert.equal(r.source, 'venue');
    assert.equal(r.asOfMs, T0);
    assert.equal(r.ageMs, 20_000);
    assert.equal(r.stale, true);
  });

  test('a position only the venue reports is shown as the venue’s; flat is nothing', () => {
    assert.equal(venuePositionReading('paper', 'main', venuePosition('0'), T0, 15_000), undefined);
    const r = venuePositionReading('paper', 'main', venuePosition('-0.5'), T0 + 1_000, 15_000)!;
    assert.equal(r.side, 'short');
    assert.equal(r.size.toFixed(), '-0.5');
    assert.equal(r.source, 'venue');
    assert.equal(r.venueSize?.toFixed(), '-0.5');
    assert.equal(r.tradingPnl.toFixed(), '2');
    assert.ok(r.fees.isZero() && r.funding.isZero());
    assert.equal(r.leverage?.toFixed(), '3');
    assert.equal(r.ageMs, 1_000);
    const unknown = venuePositionReading(
      'paper',
      'main',
      venuePosition('1', { leverage: dec(0), entryPrice: dec(0), markPrice: dec(0) }),
      T0,
      15_000,
    )!;
    assert.equal(unknown.leverage, undefined, 'a leverage of 0 means unknown');
    assert.equal(unknown.entryPrice, undefined);
    assert.equal(unknown.markPrice, undefined);
  });
});

describe('projected position readings', () => {
  for (const skewMs of [-1_400, 5_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by ${Math.abs(skewMs)} ms: a confirmed position ages from the confirming read, on our clock`, () => {
      // The venue agreed in a poll we sent at T0 + 9000 (our clock); it dated its answer by its clock.
      const inputs = {
        merged: projectedLong(),
        confirmedAsOfMs: T0 + 9_050 + skewMs,
        confirmedObservedAtMs: T0 + 9_000,
        venuePosition: undefined,
        venuePositionsFetched: true,
      };
      const fresh = projectedPositionReading(inputs, T0 + 12_000, 3_000);
      assert.equal(fresh.asOfMs, Math.max(T0 + 1_000, T0 + 9_050 + skewMs), 'as-of stays on the venue clock');
      assert.equal(fresh.ageMs, 3_000);
      assert.equal(fresh.stale, false);
      assert.equal(
        projectedPositionReading(inputs, T0 + 12_001, 3_000).stale,
        true,
        'no confirmation for past the bound',
      );
    });
  }

  test('as of the newest of fill and venue confirmation; venue size only once fetched', () => {
    const merged = projectedLong();
    const base = { merged, confirmedAsOfMs: undefined, venuePosition: undefined };
    const unconfirmed = projectedPositionReading(
      { ...base, venuePositionsFetched: false },
      T0 + 21_000,
      15_000,
    );
    assert.equal(unconfirmed.source, 'projection');
    assert.equal(unconfirmed.asOfMs, T0 + 1_000, 'the fill');
    assert.equal(unconfirmed.stale, true);
    assert.equal(unconfirmed.venueSize, undefined, 'never read: unknown, not 0');
    assert.equal(unconfirmed.size.toFixed(), '1');
    assert.equal(unconfirmed.unrealizedPnl.toFixed(), '10');
    assert.equal(unconfirmed.fees.toFixed(), '0.1');

    const confirmed = projectedPositionReading(
      { ...base, confirmedAsOfMs: T0 + 9_000, venuePositionsFetched: true },
      T0 + 21_000,
      15_000,
    );
    assert.equal(confirmed.asOfMs, T0 + 9_000, 'the venue confirmed it later');
    assert.equal(confirmed.stale, false);
    assert.equal(confirmed.venueSize?.toFixed(), '0', 'read, and the venue has none');
    assert.equal(confirmed.leverage, undefined);

    const withVenue = projectedPositionReading(
      { ...base, venuePosition: venuePosition('1'), venuePositionsFetched: true },
      T0 + 2_000,
      15_000,
    );
    assert.equal(withVenue.leverage?.toFixed(), '3');
    assert.equal(withVenue.liquidationPrice?.toFixed(), '50');
  });

  test('a mark read after a fill the projection has not applied yet does not date the size past that fill', () => {
    // The projection holds the fill at T0 + 1 s; a second fill at T0 + 1.2 s is still on its
    // way to the account when a mark read at T0 + 1.5 s moves the position's valuation.
    const reading = projectedPositionReading(
      {
        merged: mergedPosition('paper', 'main', BTC, storedLong(), undefined, dec(111)),
        confirmedAsOfMs: undefined,
        venuePosition: undefined,
        venuePositionsFetched: true,
      },
      T0 + 1_600,
      15_000,
    );
    assert.equal(reading.unrealizedPnl.toFixed(), '11', 'valued at the new mark');
    assert.equal(reading.size.toFixed(), '1', 'without the fill in flight');
    // The strategy's world takes a snapshot newer than its own fill at T0 + 1.2 s as holding
    // it: dated by the mark (T0 + 1.5 s) it would replace a view that holds the fill.
    assert.equal(reading.asOfMs, T0 + 1_000, 'as of the last fill it holds');

    // Nor does a funding payment settled after that fill.
    const funding = applyFundingToProjection(emptyFundingProjection(), {
      venue: 'paper',
      account: 'main',
      instrument: BTC,
      amount: dec('0.5'),
      fundingTimeMs: T0 + 1_500,
    }).funding[positionKey('paper', 'main', BTC)];
    const funded = projectedPositionReading(
      {
        merged: mergedPosition('paper', 'main', BTC, storedLong(), funding, dec(111)),
        confirmedAsOfMs: undefined,
        venuePosition: undefined,
        venuePositionsFetched: true,
      },
      T0 + 1_600,
      15_000,
    );
    assert.equal(funded.funding.toFixed(), '0.5');
    assert.equal(funded.asOfMs, T0 + 1_000, 'as of the last fill, not the funding time');
    // A position with funding and no fills at all: as of its funding.
    const fundingOnly = projectedPositionReading(
      {
        merged: mergedPosition('paper', 'main', BTC, undefined, funding, undefined),
        confirmedAsOfMs: undefined,
        venuePosition: undefined,
        venuePositionsFetched: true,
      },
      T0 + 1_600,
      15_000,
    );
    assert.equal(fundingOnly.asOfMs, T0 + 1_500);
  });

  test('no event time at all: as of now (not epoch 0)', () => {
    const flat = mergedPosition('paper', 'main', BTC, undefined, undefined, undefined);
    const r = projectedPositionReading(
      {
        merged: flat,
        confirmedAsOfMs: undefined,
        venuePosition: venuePosition('1'),
        venuePositionsFetched: true,
      },
      T0,
      15_000,
    );
    assert.equal(r.asOfMs, T0);
    assert.equal(r.leverage, undefined, 'flat: no leverage');
    assert.equal(r.liquidationPrice, undefined);
  });
});

describe('account summaries', () => {
  const position = (size: string, over: Partial<PositionReading> = {}): PositionReading =>
    ({
      ...projectedPositionReading(
        {
          merged: projectedLong(),
          confirmedAsOfMs: undefined,
          venuePosition: undefined,
          venuePositionsFetched: true,
        },
        T0 + 2_000,
        15_000,
      ),
      size: dec(size),
      ...over,
    }) as PositionReading;

  test('balance with the open positions’ PnL and every position’s fees; as old as its oldest part', () => {
    const open = position('1', {
      unrealizedPnl: dec(10),
      tradingPnl: dec(3),
      fees: dec('0.5'),
      funding: dec(1),
      asOfMs: T0 + 500,
    });
    const closed = position('0', {
      unrealizedPnl: dec(99),
      tradingPnl: dec(99),
      fees: dec('0.25'),
      funding: dec(-2),
    });
    const r = accountSummaryReading(
      {
        venue: 'paper',
        account: 'main',
        currency: 'USDC',
        balance: balance('1000', T0 + 1_000),
        positions: [open, closed],
        openOrders: 2,
      },
      T0 + 2_000,
      15_000,
    );
    assert.equal(r.currency, 'USDC');
    assert.equal(r.equity.toFixed(), '1005');
    assert.equal(r.unrealizedPnl.toFixed(), '10', 'open positions only');
    assert.equal(r.realizedPnl.toFixed(), '3');
    assert.equal(r.fees.toFixed(), '0.75', 'closed positions’ fees count');
    assert.equal(r.funding.toFixed(), '-1');
    assert.equal(r.openPositions, 1);
    assert.equal(r.openOrders, 2);
    assert.equal(r.asOfMs, T0 + 500);
    assert.equal(r.ageMs, 1_500);
    assert.equal(r.stale, false);
  });

  test('stale when the balance is old or missing, or an open position is stale', () => {
    const inputs = {
      venue: 'paper',
      account: 'main',
      currency: 'USDC',
      positions: [],
      openOrders: undefined,
    };
    const old = accountSummaryReading({ ...inputs, balance: balance('1', T0) }, T0 + 15_001, 15_000);
    assert.equal(old.stale, true);
    const missing = accountSummaryReading({ ...inputs, balance: undefined }, T0, 15_000);
    assert.equal(missing.stale, true);
    assert.ok(missing.equity.isZero());
    assert.equal(missing.currency, 'USDC');
    const stalePosition = accountSummaryReading(
      { ...inputs, balance: balance('1', T0), positions: [position('1', { stale: true })] },
      T0,
      15_000,
    );
    assert.equal(stalePosition.stale, true);
  });

  test('totals are per currency, never added across currencies', () => {
    const reading = (
      currency: string,
      equity: string,
      asOfMs: number,
      stale = false,
    ): AccountSummaryReading => ({
      venue: 'paper',
      account: `a-${currency}-${equity}`,
      currency,
      equity: dec(equity),
      available: dec(equity),
      unrealizedPnl: dec(1),
      realizedPnl: dec(0),
      fees: dec(0),
      funding: dec(0),
      openPositions: 1,
      openOrders: 0,
      asOfMs,
      ageMs: 0,
      stale,
    });
    const totals = summaryTotals([
      reading('USDC', '10', T0 + 5),
      reading('USDT', '7', T0),
      reading('USDC', '5', T0 + 1, true),
    ]);
    assert.deepEqual(
      totals.map((t) => [t.currency, t.equity.toFixed(), t.accounts, t.openPositions, t.asOfMs, t.stale]),
      [
        ['USDC', '15', 2, 2, T0 + 1, true],
        ['USDT', '7', 1, 1, T0, false],
      ],
    );
  });
});
