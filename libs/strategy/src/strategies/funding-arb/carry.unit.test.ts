import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Decimal, dec, FLAT_POSITION } from '@perpmesh/core';
import { type BookState, cloneDraft, walk } from '../../world.js';
import {
  breakEvenHours,
  type CarryVenue,
  commonLotSize,
  estimateCarry,
  fillableBothWays,
  imminentSettlement,
  markedPnlAfterExit,
  ratePerHourOf,
  settlementPayment,
  settlementsWithin,
  stayValue,
  takeCost,
  walkOnce,
  widestSpreadPair,
} from './carry.js';

const HOUR_MS = 3_600_000;

function levels(rows: ReadonlyArray<readonly [string, string]>) {
  return rows.map(([price, size]) => ({ price: dec(price), size: dec(size) }));
}

/** Bids 99 x 0.5 then 98 x 1; asks 100 x 0.2 then 101 x 0.3: mid 99.5. */
function twoLevelBook(): BookState {
  return {
    bids: levels([
      ['99', '0.5'],
      ['98', '1'],
    ]),
    asks: levels([
      ['100', '0.2'],
      ['101', '0.3'],
    ]),
    asOfMs: 0,
    receivedAtMs: 0,
  };
}

function venue(
  book: BookState,
  opts: { feeRate?: string; ratePerHour?: string; mark?: string; mid?: string } = {},
): CarryVenue {
  return {
    book,
    mid: dec(opts.mid ?? '99.5'),
    feeRate: dec(opts.feeRate ?? '0'),
    ratePerHour: dec(opts.ratePerHour ?? '0'),
    mark: dec(opts.mark ?? '100'),
    // Settles every hour on the hour (from 0), at its per-hour rate.
    funding: { rate: dec(opts.ratePerHour ?? '0'), intervalMs: HOUR_MS, nextFundingTimeMs: HOUR_MS },
  };
}

/** The carry window from 0 for `horizonMs`. */
const over = (horizonMs: number) => ({ nowMs: 0, horizonMs });

const text = (d: Decimal | undefined) => d?.toFixed();

describe('carry: per-hour rates', () => {
  test('a rate is divided by its own venue interval', () => {
    assert.equal(text(ratePerHourOf({ rate: dec('0.0008'), intervalMs: 8 * HOUR_MS })), '0.0001');
    assert.equal(text(ratePerHourOf({ rate: dec('0.0001'), intervalMs: HOUR_MS })), '0.0001');
    assert.equal(text(ratePerHourOf({ rate: dec('-0.001'), intervalMs: 4 * HOUR_MS })), '-0.00025');
  });

  test('the pair is picked by per-hour rate, not by raw rate', () => {
    // Raw: A 0.04 % > B 0.01 %. Per hour: A 0.005 % < B 0.01 %.
    const a = { name: 'a', ratePerHour: ratePerHourOf({ rate: dec('0.0004'), intervalMs: 8 * HOUR_MS }) };
    const b = { name: 'b', ratePerHour: ratePerHourOf({ rate: dec('0.0001'), intervalMs: HOUR_MS }) };
    const pair = widestSpreadPair([a, b])!;
    assert.equal(pair.short.name, 'b');
    assert.equal(pair.long.name, 'a');
    assert.equal(text(pair.spread), '0.00005');
  });

  test('with three venues the widest spread wins; fewer than two venues give no pair', () => {
    const views = [
      { name: 'x', ratePerHour: dec('0.0001') },
      { name: 'y', ratePerHour: dec('-0.0002') },
      { name: 'z', ratePerHour: dec('0.0003') },
    ];
    const pair = widestSpreadPair(views)!;
    assert.deepEqual([pair.short.name, pair.long.name, text(pair.spread)], ['z', 'y', '0.0005']);
    assert.equal(widestSpreadPair([views[0]!]), undefined);
  });
});

describe('carry: taking a book', () => {
  test('a buy walks the asks: slippage is the walked average above mid, the fee is on the walked notional', () => {
    // 0.2 at 100 + 0.2 at 101 = 40.2 for 0.4 (vwap 100.5), mid 99.5.
    const cost = takeCost(venue(twoLevelBook(), { feeRate: '0.001' }), 'buy', dec('0.4'))!;
    assert.equal(text(cost.slippage), '0.4');
    assert.equal(text(cost.fee), '0.0402');
    assert.equal(text(cost.worst), '101');
  });

  test('a sell walks the bids: slippage is the walked average below mid', () => {
    // 0.5 at 99 + 0.5 at 98 = 98.5 for 1 (vwap 98.5), mid 99.5.
    const cost = takeCost(venue(twoLevelBook(), { feeRate: '0.0005' }), 'sell', dec('1'))!;
    assert.equal(text(cost.slippage), '1');
    assert.equal(text(cost.fee), '0.04925');
    assert.equal(text(cost.worst), '98');
  });

  test('within the top level the cost is half the spread times the size', () => {
    const cost = takeCost(venue(twoLevelBook()), 'buy', dec('0.1'))!;
    assert.equal(text(cost.slippage), '0.05');
    assert.equal(text(cost.fee), '0');
  });

  test('a book too thin for the size gives no cost', () => {
    assert.equal(takeCost(venue(twoLevelBook()), 'buy', dec('0.6')), undefined);
    assert.equal(takeCost(venue(twoLevelBook()), 'sell', dec('1.6')), undefined);
  });
});

describe('carry: the estimate over the horizon', () => {
  test('gross carry is the per-hour rate x mark difference, times hours and size', () => {
    const short = venue(twoLevelBook(), { ratePerHour: '0.0001', mark: '100' });
    const long = venue(twoLevelBook(), { ratePerHour: '-0.00005', mark: '100' });
    // (0.01 - -0.005) x 8 h x 0.2 = 0.024.
    assert.equal(text(estimateCarry(short, long, dec('0.2'), over(8 * HOUR_MS))!.grossCarry), '0.024');
    // Twice the horizon, twice the carry.
    assert.equal(text(estimateCarry(short, long, dec('0.2'), over(16 * HOUR_MS))!.grossCarry), '0.048');
    // Each leg is valued at its own mark.
    const longAt90 = venue(twoLevelBook(), { ratePerHour: '-0.00005', mark: '90' });
    // (0.01 - -0.0045) x 8 x 0.2 = 0.0232.
    assert.equal(text(estimateCarry(short, longAt90, dec('0.2'), over(8 * HOUR_MS))!.grossCarry), '0.0232');
  });

  test('fees of both legs, entering and exiting, each at its own venue fee rate', () => {
    const short = venue(twoLevelBook(), { feeRate: '0.001', ratePerHour: '0.001' });
    const long = venue(twoLevelBook(), { feeRate: '0.0005' });
    const e = estimateCarry(short, long, dec('0.4'), over(HOUR_MS))!;
    // Entry: sell 0.4 on the short venue (0.4 x 99 = 39.6) and buy 0.4 on the long one (40.2).
    assert.equal(text(e.entryFees), dec('39.6').mul('0.001').plus(dec('40.2').mul('0.0005')).toFixed());
    // Exit: buy back on the short venue (40.2), sell on the long one (39.6).
    assert.equal(text(e.exitFees), dec('40.2').mul('0.001').plus(dec('39.6').mul('0.0005')).toFixed());
    assert.equal(text(e.entryFees), '0.0597');
    assert.equal(text(e.exitFees), '0.06');
  });

  test('slippage of both legs walked on the books, entering and exiting; net = gross - fees - slippage', () => {
    const short = venue(twoLevelBook(), { ratePerHour: '0.001', mark: '100' });
    const long = venue(twoLevelBook(), { ratePerHour: '0', mark: '100' });
    const e = estimateCarry(short, long, dec('0.4'), over(10 * HOUR_MS))!;
    // Sell 0.4 at 99 (0.2 below mid) + buy 0.4 at 100.5 avg (0.4 above mid).
    assert.equal(text(e.entrySlippage), '0.6');
    assert.equal(text(e.exitSlippage), '0.6');
    assert.equal(text(e.grossCarry), '0.4');
    assert.equal(text(e.netCarry), '-0.8');
    assert.equal(text(e.shortWorst), '99');
    assert.equal(text(e.longWorst), '101');
  });

  test('no estimate when a book cannot fill the size in either direction', () => {
    const thinAsks: BookState = { ...twoLevelBook(), asks: levels([['100', '0.1']]) };
    // The short venue can sell 0.4 (entry) but not buy it back (exit).
    assert.equal(estimateCarry(venue(thinAsks), venue(twoLevelBook()), dec('0.4'), over(HOUR_MS)), undefined);
    assert.ok(estimateCarry(venue(twoLevelBook()), venue(twoLevelBook()), dec('0.4'), over(HOUR_MS)));
  });
});

describe('carry: settlements and exits', () => {
  test('a positive rate: longs pay, shorts receive', () => {
    assert.equal(text(settlementPayment(dec('1'), dec('100'), dec('0.001'))), '-0.1');
    assert.equal(text(settlementPayment(dec('-1'), dec('100'), dec('0.001'))), '0.1');
    assert.equal(text(settlementPayment(dec('1'), dec('100'), dec('-0.001'))), '0.1');
  });

  test('only settlements within the guard window count', () => {
    const at = (venueName: string, rate: string, nextFundingTimeMs: number) => ({
      venue: venueName,
      funding: { rate: dec(rate), nextFundingTimeMs },
      mark: dec('100'),
    });
    const nowMs = 1_000_000;
    const result = imminentSettlement(
      [
        { view: at('soon', '0.001', nowMs + 60_000), signedSize: dec('-2') },
        { view: at('later', '0.001', nowMs + 180_000), signedSize: dec('2') },
        { view: at('past', '0.001', nowMs), signedSize: dec('2') },
        { view: undefined, signedSize: dec('2') },
      ],
      nowMs,
      120_000,
    );
    assert.equal(text(result.net), '0.2');
    assert.deepEqual(result.inputs, {
      'soon.next_settlement_in_ms': '60000',
      'soon.next_settlement_payment': '0.2',
      imminent_settlement_net: '0.2',
    });
  });

  test('staying earns the settlements inside the time left, per leg, leaving out an imminent one when asked', () => {
    const leg = (rate: string, intervalMs: number, nextFundingTimeMs: number, size: string) => ({
      view: { funding: { rate: dec(rate), intervalMs, nextFundingTimeMs }, mark: dec('50000') },
      signedSize: dec(size),
    });
    const now = 1_000_000;
    // Short 0.2 on an 8 h venue settling in 7 h: nothing inside 6 h. Long 0.2 on an hourly
    // venue paying 0.0002: settlements at +1 min, then every hour: 6 inside 6 h (-12).
    const legs = [
      leg('0.0081', 8 * HOUR_MS, now + 7 * HOUR_MS, '-0.2'),
      leg('0.0002', HOUR_MS, now + 60_000, '0.2'),
    ];
    assert.equal(text(stayValue(legs, now, 6 * HOUR_MS)), '-12');
    assert.equal(text(stayValue(legs, now, 6 * HOUR_MS, 120_000)), '-10');
    assert.equal(text(stayValue(legs, now, 8 * HOUR_MS)), '65');
    assert.equal(text(stayValue(legs, now, 0)), '0');
  });

  test('marked PnL after exit: realized + unrealized at mid, minus the fees and slippage of closing both legs', () => {
    const short = {
      position: { ...FLAT_POSITION, size: dec('-0.4'), entryPrice: dec('100.5'), netRealizedPnl: dec('1') },
      view: venue(twoLevelBook(), { feeRate: '0.001' }),
    };
    const long = {
      position: { ...FLAT_POSITION, size: dec('0.4'), entryPrice: dec('99'), netRealizedPnl: dec('0.5') },
      view: venue(twoLevelBook(), { feeRate: '0' }),
    };
    // Unrealized: short (99.5 - 100.5) x -0.4 = 0.4, long (99.5 - 99) x 0.4 = 0.2; realized 1.5.
    // Closing: buy 0.4 on the short venue (fee 0.0402, slippage 0.4), sell 0.4 on the long one (slippage 0.2).
    assert.equal(text(markedPnlAfterExit(short, long, dec('0.4'))), '1.4598');
    assert.equal(markedPnlAfterExit(short, long, dec('5')), undefined);
  });
});

describe('carry: common lot', () => {
  test('the common lot is a multiple of both venues lots', () => {
    assert.equal(commonLotSize(dec('0.001'), dec('0.0001')).toFixed(), '0.001');
    assert.equal(commonLotSize(dec('0.003'), dec('0.002')).toFixed(), '0.006');
    assert.equal(commonLotSize(dec('0.01'), dec('0.01')).toFixed(), '0.01');
  });

  test('the least common multiple of both lots', () => {
    assert.equal(text(commonLotSize(dec('0.25'), dec('0.1'))), '0.5');
    assert.equal(text(commonLotSize(dec('1'), dec('1'))), '1');
  });
});

describe('carry: settlements inside the holding window', () => {
  const eightHourly = { intervalMs: 8 * HOUR_MS, nextFundingTimeMs: 8 * HOUR_MS };
  test('counts the settlements in (from, to], starting at the next one', () => {
    assert.equal(settlementsWithin(eightHourly, 0, 8 * HOUR_MS), 1);
    assert.equal(settlementsWithin(eightHourly, 0, 8 * HOUR_MS - 1), 0);
    assert.equal(settlementsWithin(eightHourly, 0, 24 * HOUR_MS), 3);
  });
  test('a window opened a minute after a settlement on an 8 h venue sees none for eight hours', () => {
    const from = 8 * HOUR_MS + 60_000;
    assert.equal(settlementsWithin(eightHourly, from, from + 7 * HOUR_MS), 0);
    assert.equal(settlementsWithin(eightHourly, from, from + 8 * HOUR_MS), 1);
  });
  test('a next funding time already past rolls forward by whole intervals', () => {
    assert.equal(
      settlementsWithin({ intervalMs: HOUR_MS, nextFundingTimeMs: 0 }, 90 * 60_000, 3 * HOUR_MS),
      2, // at 2 h and 3 h
    );
    assert.equal(settlementsWithin(eightHourly, 5, 5), 0);
  });
  test('gross carry is per-settlement payments, not the per-hour rate times the horizon', () => {
    const s = {
      ...venue(twoLevelBook(), { mark: '100' }),
      funding: { rate: dec('0.0008'), intervalMs: 8 * HOUR_MS, nextFundingTimeMs: 8 * HOUR_MS },
    };
    const l = venue(twoLevelBook(), { mark: '100' });
    // Two hours from 0: the per-hour view says 0.0001 x 100 x 0.2 x 2 = 0.002, but nothing settles.
    assert.equal(text(estimateCarry(s, l, dec('0.2'), over(2 * HOUR_MS))!.grossCarry), '0');
    assert.equal(text(estimateCarry(s, l, dec('0.2'), over(8 * HOUR_MS))!.grossCarry), '0.016');
  });
});

describe('carry: depth and break-even', () => {
  test('what a book fills both ways is the smaller visible side', () => {
    assert.equal(text(fillableBothWays(twoLevelBook())), text(dec(0.5)));
  });
  test('break-even hours: costs over the per-hour carry; never when the pair earns nothing', () => {
    const s = { ratePerHour: dec('0.0001'), mark: dec('100') };
    const l = { ratePerHour: dec('-0.0001'), mark: dec('100') };
    // 0.0002 x 100 x 0.5 = 0.01 per hour; costs 0.05 -> 5 h.
    assert.equal(text(breakEvenHours(s, l, dec('0.5'), dec('0.05'))), '5');
    assert.equal(breakEvenHours(l, s, dec('0.5'), dec('0.05')), undefined);
  });
});

describe('carry: walks remembered per book levels (speed only)', () => {
  const same = (a: ReturnType<typeof walk>, b: ReturnType<typeof walk>) =>
    [a.notional, a.vwap, a.worstPrice, a.unfilled].map((x) => x?.toFixed()).join() ===
    [b.notional, b.vwap, b.worstPrice, b.unfilled].map((x) => x?.toFixed()).join();

  test("a step's copy of the book (same Decimals) gets the same walk as walk() gives", () => {
    const book = twoLevelBook();
    const first = walkOnce(book, 'buy', dec('0.4'));
    const copy = cloneDraft(book);
    assert.notEqual(copy, book);
    assert.equal(walkOnce(copy, 'buy', dec('0.4')), first, 'recognised: the remembered walk');
    assert.ok(same(first, walk(copy, 'buy', dec('0.4'))));
    assert.ok(same(walkOnce(copy, 'sell', dec('0.4')), walk(copy, 'sell', dec('0.4'))));
    assert.equal(fillableBothWays(copy).toFixed(), '0.5');
  });

  test('a changed level (new Decimal objects) is walked again, also with equal first price', () => {
    const book = twoLevelBook();
    const before = walkOnce(book, 'buy', dec('0.4'));
    // Same first bid object, a different second ask: the 0.4 buy now reaches 102.
    const changed: BookState = {
      ...book,
      bids: book.bids,
      asks: [book.asks[0]!, { price: dec('102'), size: dec('0.3') }],
    };
    const after = walkOnce(changed, 'buy', dec('0.4'));
    assert.equal(before.worstPrice?.toFixed(), '101');
    assert.equal(after.worstPrice?.toFixed(), '102');
    assert.ok(same(after, walk(changed, 'buy', dec('0.4'))));
    // And back: the first book is walked right again.
    assert.equal(walkOnce(book, 'buy', dec('0.4')).worstPrice?.toFixed(), '101');
  });
});
