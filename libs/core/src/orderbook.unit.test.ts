import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Decimal, dec } from './decimal.js';
import { ValidationError } from './errors.js';
import { type BookLevel, BookSequenceGapError, OrderBook, type OrderBookDelta } from './orderbook.js';

const lv = (price: string | number, size: string | number): BookLevel => ({
  price: dec(price),
  size: dec(size),
});
const plain = (levels: readonly BookLevel[]) => levels.map((l) => [l.price.toFixed(), l.size.toFixed()]);

function bookWith(seq = 100): OrderBook {
  const book = new OrderBook({ name: 'test BTC-USDC-PERP' });
  book.applySnapshot({
    seq,
    bids: [lv(99, 1), lv(98, 2), lv(97, 3)],
    asks: [lv(101, 1), lv(102, 2), lv(103, 3)],
  });
  return book;
}

describe('OrderBook snapshot and queries', () => {
  test('starts unsynced; a snapshot sorts sides, drops zero sizes, last duplicate wins', () => {
    const book = new OrderBook();
    assert.equal(book.needsResync, true);
    assert.equal(book.seq, -1);
    const result = book.applySnapshot({
      seq: 7,
      bids: [lv(98, 2), lv(99, 1), lv(97, 0), lv(98, 5)],
      asks: [lv(103, 3), lv(101, 1), lv('101.0', 4)],
    });
    assert.deepEqual(result, { seq: 7, crossed: false });
    assert.equal(book.needsResync, false);
    assert.deepEqual(plain(book.levels('bids')), [
      ['99', '1'],
      ['98', '5'],
    ]);
    assert.deepEqual(plain(book.levels('asks')), [
      ['101', '4'],
      ['103', '3'],
    ]);
  });

  test('best, mid, spread, top-N', () => {
    const book = bookWith();
    assert.equal(book.bestBid()?.price.toFixed(), '99');
    assert.equal(book.bestAsk()?.price.toFixed(), '101');
    assert.equal(book.mid()?.toFixed(), '100');
    assert.equal(book.spread()?.toFixed(), '2');
    const top = book.top(2);
    assert.equal(top.seq, 100);
    assert.deepEqual(plain(top.bids), [
      ['99', '1'],
      ['98', '2'],
    ]);
    assert.deepEqual(plain(top.asks), [
      ['101', '1'],
      ['102', '2'],
    ]);
    assert.equal(book.levels('asks', 0).length, 0);
    assert.equal(book.depth('bids'), 3);
    const empty = new OrderBook();
    empty.applySnapshot({ seq: 1, bids: [lv(1, 1)], asks: [] });
    assert.equal(empty.mid(), undefined);
    assert.equal(empty.spread(), undefined);
    assert.equal(empty.bestAsk(), undefined);
  });

  test('returned levels are copies: later deltas do not change them', () => {
    const book = bookWith();
    const before = book.levels('bids');
    book.applyDelta({ seq: 101, bids: [lv(99, 7), lv('99.5', 1)], asks: [] });
    assert.deepEqual(plain(before), [
      ['99', '1'],
      ['98', '2'],
      ['97', '3'],
    ]);
  });

  test('invalid levels are rejected naming the field', () => {
    const book = new OrderBook();
    assert.throws(
      () => book.applySnapshot({ seq: 1, bids: [lv(1, 1), lv(0, 1)], asks: [] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'snapshot.bids[1].price',
    );
    assert.throws(
      () => book.applySnapshot({ seq: 1, bids: [], asks: [lv(1, -1)] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'snapshot.asks[0].size',
    );
    assert.throws(
      () => book.applySnapshot({ seq: 1.5, bids: [], asks: [] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'snapshot.seq',
    );
  });

  test('a malformed delta is not half-applied and leaves the book needing a resync', () => {
    const book = bookWith();
    assert.throws(
      () => book.applyDelta({ seq: 101, bids: [lv(99, 5)], asks: [lv(101, -1)] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'delta.asks[0].size',
    );
    assert.equal(book.bestBid()?.size.toFixed(), '1');
    assert.equal(book.seq, 100);
    assert.equal(book.needsResync, true);
  });
});

describe('OrderBook deltas', () => {
  test('size 0 deletes, a new price inserts in order, an existing price updates', () => {
    const book = bookWith();
    const result = book.applyDelta({
      seq: 101,
      bids: [lv(98, 0), lv('98.5', 4), lv(97, 9), lv(50, 0)],
      asks: [lv(101, 0), lv('101.5', 2)],
    });
    assert.deepEqual(result, { status: 'applied', seq: 101, crossed: false });
    assert.equal(book.seq, 101);
    assert.deepEqual(plain(book.levels('bids')), [
      ['99', '1'],
      ['98.5', '4'],
      ['97', '9'],
    ]);
    assert.deepEqual(plain(book.levels('asks')), [
      ['101.5', '2'],
      ['102', '2'],
      ['103', '3'],
    ]);
  });

  test('seq convention: must be last + 1', () => {
    const book = bookWith();
    assert.equal(book.applyDelta({ seq: 101, bids: [], asks: [] }).status, 'applied');
    const gap = book.applyDelta({ seq: 103, bids: [lv(99, 100)], asks: [] });
    assert.equal(gap.status, 'gap');
    assert.ok(gap.status === 'gap' && gap.error instanceof BookSequenceGapError);
    if (gap.status === 'gap') {
      assert.equal(gap.error.code, 'BOOK_SEQUENCE_GAP');
      assert.equal(gap.error.seqField, 'seq');
      assert.equal(gap.error.expected, 102);
      assert.equal(gap.error.got, 103);
      assert.match(gap.error.message, /test BTC-USDC-PERP: expected seq 102, got 103/);
    }
    assert.equal(book.bestBid()?.size.toFixed(), '1', 'the gapped delta was not applied');
    assert.equal(book.needsResync, true);
  });

  test('prevSeq convention: prevSeq must equal the book seq; seq may jump', () => {
    const book = bookWith();
    assert.deepEqual(book.applyDelta({ seq: 150, prevSeq: 100, bids: [], asks: [lv(101, 5)] }), {
      status: 'applied',
      seq: 150,
      crossed: false,
    });
    const gap = book.applyDelta({ seq: 170, prevSeq: 160, bids: [], asks: [lv(101, 9)] });
    assert.equal(gap.status, 'gap');
    if (gap.status === 'gap') {
      assert.equal(gap.error.seqField, 'prevSeq');
      assert.equal(gap.error.expected, 150);
      assert.equal(gap.error.got, 160);
    }
    assert.equal(book.bestAsk()?.size.toFixed(), '5');
  });

  test('firstSeq convention: the delta range must cover seq + 1 (first event after a REST snapshot)', () => {
    const book = bookWith();
    assert.equal(book.applyDelta({ firstSeq: 95, seq: 105, bids: [lv(99, 2)], asks: [] }).status, 'applied');
    assert.equal(book.applyDelta({ firstSeq: 106, seq: 110, bids: [], asks: [] }).status, 'applied');
    const gap = book.applyDelta({ firstSeq: 112, seq: 115, bids: [], asks: [] });
    assert.equal(gap.status, 'gap');
    if (gap.status === 'gap') {
      assert.equal(gap.error.seqField, 'firstSeq');
      assert.equal(gap.error.expected, 111);
      assert.equal(gap.error.got, 112);
    }
  });

  test('stale deltas (seq <= book seq) are ignored and reported', () => {
    const book = bookWith();
    assert.deepEqual(book.applyDelta({ seq: 100, bids: [lv(99, 50)], asks: [] }), {
      status: 'stale',
      seq: 100,
      bookSeq: 100,
    });
    assert.deepEqual(book.applyDelta({ seq: 90, prevSeq: 89, bids: [lv(99, 50)], asks: [] }), {
      status: 'stale',
      seq: 90,
      bookSeq: 100,
    });
    assert.equal(book.bestBid()?.size.toFixed(), '1');
    assert.equal(book.needsResync, false, 'stale is not a gap');
  });

  test('after a gap, deltas are refused until the next snapshot', () => {
    const book = bookWith();
    book.applyDelta({ seq: 102, bids: [], asks: [] });
    assert.deepEqual(book.applyDelta({ seq: 101, bids: [lv(99, 9)], asks: [] }), {
      status: 'unsynced',
      seq: 101,
    });
    assert.equal(book.bestBid()?.size.toFixed(), '1');
    book.applySnapshot({ seq: 200, bids: [lv(99, 3)], asks: [lv(100, 1)] });
    assert.equal(book.needsResync, false);
    assert.equal(book.applyDelta({ seq: 201, bids: [lv(99, 4)], asks: [] }).status, 'applied');
    assert.equal(book.bestBid()?.size.toFixed(), '4');
  });

  test('deltas before the first snapshot are unsynced; invalidate() forces a resync', () => {
    const book = new OrderBook();
    assert.equal(book.applyDelta({ seq: 1, bids: [lv(1, 1)], asks: [] }).status, 'unsynced');
    assert.equal(book.depth('bids'), 0);
    const synced = bookWith();
    synced.invalidate();
    assert.equal(synced.needsResync, true);
    assert.equal(synced.applyDelta({ seq: 101, bids: [], asks: [] }).status, 'unsynced');
  });

  test('crossed book is detected after a snapshot or delta', () => {
    const book = bookWith();
    const locked = book.applyDelta({ seq: 101, bids: [lv(101, 1)], asks: [] });
    assert.deepEqual(locked, { status: 'applied', seq: 101, crossed: true });
    assert.equal(book.isCrossed(), true);
    assert.equal(book.spread()?.toFixed(), '0');
    assert.equal(book.applyDelta({ seq: 102, bids: [lv(101, 0)], asks: [] }).status, 'applied');
    assert.equal(book.isCrossed(), false);
    assert.deepEqual(new OrderBook().applySnapshot({ seq: 1, bids: [lv(5, 1)], asks: [lv(4, 1)] }), {
      seq: 1,
      crossed: true,
    });
  });
});

describe('OrderBook.walkBook', () => {
  test('a buy walks the asks: vwap, worst price, notional, unfilled', () => {
    const book = bookWith();
    const walk = book.walkBook('buy', dec('2.5'));
    assert.equal(walk.filledSize.toFixed(), '2.5');
    assert.equal(walk.notional.toFixed(), '254'); // 1 * 101 + 1.5 * 102
    assert.equal(walk.vwap?.toFixed(), '101.6');
    assert.equal(walk.worstPrice?.toFixed(), '102');
    assert.equal(walk.unfilled.toFixed(), '0');
  });

  test('a sell walks the bids; a size beyond the book leaves unfilled', () => {
    const book = bookWith();
    const walk = book.walkBook('sell', dec(10));
    assert.equal(walk.filledSize.toFixed(), '6');
    assert.equal(walk.notional.toFixed(), String(99 + 98 * 2 + 97 * 3));
    assert.equal(walk.worstPrice?.toFixed(), '97');
    assert.equal(walk.unfilled.toFixed(), '4');
  });

  test('nothing to fill: vwap and worst price are undefined', () => {
    const book = new OrderBook();
    book.applySnapshot({ seq: 1, bids: [lv(1, 1)], asks: [] });
    const walk = book.walkBook('buy', dec(1));
    assert.equal(walk.vwap, undefined);
    assert.equal(walk.worstPrice, undefined);
    assert.equal(walk.unfilled.toFixed(), '1');
    assert.equal(bookWith().walkBook('buy', dec(0)).filledSize.toFixed(), '0');
    assert.throws(
      () => bookWith().walkBook('buy', dec(-1)),
      (e: unknown) => e instanceof ValidationError && e.field === 'size',
    );
  });
});

// ---------------------------------------------------------------------------------------
// Property tests against a reference model: a Map price -> size per side.

type Model = { bids: Map<number, number>; asks: Map<number, number> };
type Change = [price: number, size: number];
type SideChanges = { bids: Change[]; asks: Change[] };

// Bids live in [1, 100] and asks in [101, 200], so the generated book never crosses.
const bidChange = fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 5 }));
const askChange = fc.tuple(fc.integer({ min: 101, max: 200 }), fc.integer({ min: 0, max: 5 }));
const sideChanges: fc.Arbitrary<SideChanges> = fc.record({
  bids: fc.array(bidChange, { maxLength: 20 }),
  asks: fc.array(askChange, { maxLength: 20 }),
});
const convention = fc.constantFrom('seq' as const, 'prevSeq' as const, 'firstSeq' as const);
const steps = fc.array(fc.tuple(sideChanges, convention, fc.integer({ min: 1, max: 5 })), { maxLength: 40 });

const toLevels = (changes: Change[]) => changes.map(([p, s]) => lv(p, s));

function applyToModel(model: Model, changes: SideChanges): void {
  for (const [p, s] of changes.bids) s === 0 ? model.bids.delete(p) : model.bids.set(p, s);
  for (const [p, s] of changes.asks) s === 0 ? model.asks.delete(p) : model.asks.set(p, s);
}

function modelLevels(model: Model, side: 'bids' | 'asks'): [string, string][] {
  const entries = [...model[side].entries()].sort((a, b) => (side === 'bids' ? b[0] - a[0] : a[0] - b[0]));
  return entries.map(([p, s]) => [String(p), String(s)]);
}

/** A delta that validly continues `bookSeq` by `convention`, advancing by `advance`. */
function continuing(
  bookSeq: number,
  changes: SideChanges,
  conv: 'seq' | 'prevSeq' | 'firstSeq',
  advance: number,
): OrderBookDelta {
  const bids = toLevels(changes.bids);
  const asks = toLevels(changes.asks);
  if (conv === 'seq') return { seq: bookSeq + 1, bids, asks };
  if (conv === 'prevSeq') return { seq: bookSeq + advance, prevSeq: bookSeq, bids, asks };
  return { seq: bookSeq + advance, firstSeq: bookSeq + 1 - (advance - 1), bids, asks };
}

function snapshotOf(snapshot: SideChanges): { seq: number; bids: BookLevel[]; asks: BookLevel[] } {
  return { seq: 1000, bids: toLevels(snapshot.bids), asks: toLevels(snapshot.asks) };
}

function modelFromSnapshot(snapshot: SideChanges): Model {
  const model: Model = { bids: new Map(), asks: new Map() };
  applyToModel(model, snapshot);
  return model;
}

const sumBy = (xs: Decimal[]) => xs.reduce((a, b) => a.plus(b), dec(0));

describe('OrderBook properties', () => {
  test('snapshot + valid deltas (any convention) equals the reference map model, never crossed', () => {
    fc.assert(
      fc.property(sideChanges, steps, (snapshot, deltas) => {
        const book = new OrderBook();
        book.applySnapshot(snapshotOf(snapshot));
        const model = modelFromSnapshot(snapshot);
        for (const [changes, conv, advance] of deltas) {
          const result = book.applyDelta(continuing(book.seq, changes, conv, advance));
          assert.equal(result.status, 'applied');
          assert.ok(result.status === 'applied' && !result.crossed);
          applyToModel(model, changes);
        }
        assert.deepEqual(plain(book.levels('bids')), modelLevels(model, 'bids'));
        assert.deepEqual(plain(book.levels('asks')), modelLevels(model, 'asks'));
        const bid = book.bestBid();
        const ask = book.bestAsk();
        if (bid && ask) assert.ok(bid.price.lt(ask.price));
        assert.equal(book.isCrossed(), false);
      }),
      { numRuns: 150 },
    );
  });

  test('a gap is always detected and never applied, whatever the convention', () => {
    const gapKind = fc.constantFrom('seq-skip', 'prevSeq-mismatch', 'firstSeq-late');
    fc.assert(
      fc.property(
        sideChanges,
        steps,
        sideChanges,
        gapKind,
        fc.integer({ min: 1, max: 50 }),
        (snapshot, deltas, gapChanges, kind, by) => {
          const book = new OrderBook();
          book.applySnapshot(snapshotOf(snapshot));
          for (const [changes, conv, advance] of deltas)
            book.applyDelta(continuing(book.seq, changes, conv, advance));
          const before = {
            seq: book.seq,
            bids: plain(book.levels('bids')),
            asks: plain(book.levels('asks')),
          };
          const bids = toLevels(gapChanges.bids);
          const asks = toLevels(gapChanges.asks);
          const delta: OrderBookDelta =
            kind === 'seq-skip'
              ? { seq: book.seq + 1 + by, bids, asks }
              : kind === 'prevSeq-mismatch'
                ? { seq: book.seq + by + 1, prevSeq: book.seq + by, bids, asks }
                : { seq: book.seq + by + 5, firstSeq: book.seq + 1 + by, bids, asks };
          const result = book.applyDelta(delta);
          assert.equal(result.status, 'gap');
          assert.equal(book.needsResync, true);
          assert.deepEqual(
            { seq: book.seq, bids: plain(book.levels('bids')), asks: plain(book.levels('asks')) },
            before,
          );
          // And nothing after it applies until a snapshot, even a delta that would continue.
          assert.equal(book.applyDelta(continuing(book.seq, gapChanges, 'seq', 1)).status, 'unsynced');
        },
      ),
      { numRuns: 150 },
    );
  });

  test('stale deltas never change the book', () => {
    fc.assert(
      fc.property(sideChanges, steps, sideChanges, fc.nat(), (snapshot, deltas, staleChanges, back) => {
        const book = new OrderBook();
        book.applySnapshot(snapshotOf(snapshot));
        for (const [changes, conv, advance] of deltas)
          book.applyDelta(continuing(book.seq, changes, conv, advance));
        const before = { seq: book.seq, bids: plain(book.levels('bids')), asks: plain(book.levels('asks')) };
        const seq = Math.max(0, book.seq - (back % (book.seq + 1)));
        const result = book.applyDelta({
          seq,
          bids: toLevels(staleChanges.bids),
          asks: toLevels(staleChanges.asks),
        });
        assert.equal(result.status, 'stale');
        assert.equal(book.needsResync, false);
        assert.deepEqual(
          { seq: book.seq, bids: plain(book.levels('bids')), asks: plain(book.levels('asks')) },
          before,
        );
      }),
      { numRuns: 100 },
    );
  });

  test('walkBook: filled + unfilled = size, notional matches the levels, vwap within best..worst', () => {
    fc.assert(
      fc.property(
        sideChanges,
        fc.constantFrom('buy' as const, 'sell' as const),
        fc.integer({ min: 0, max: 200 }),
        (s, side, tenths) => {
          const book = new OrderBook();
          book.applySnapshot(snapshotOf(s));
          const size = dec(tenths).div(10);
          const walk = book.walkBook(side, size);
          assert.ok(walk.filledSize.plus(walk.unfilled).eq(size));
          const levels = book.levels(side === 'buy' ? 'asks' : 'bids');
          const available = sumBy(levels.map((l) => l.size));
          assert.ok(walk.filledSize.eq(size.lt(available) ? size : available));
          // Independent computation of the notional: take levels in order until size is used.
          let left = size;
          const parts: Decimal[] = [];
          for (const level of levels) {
            const take = left.lt(level.size) ? left : level.size;
            if (take.isZero()) break;
            parts.push(take.mul(level.price));
            left = left.minus(take);
          }
          assert.ok(walk.notional.eq(sumBy(parts)));
          if (walk.vwap && walk.worstPrice) {
            const best = levels[0]!.price;
            const [lo, hi] = side === 'buy' ? [best, walk.worstPrice] : [walk.worstPrice, best];
            assert.ok(walk.vwap.gte(lo) && walk.vwap.lte(hi));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
