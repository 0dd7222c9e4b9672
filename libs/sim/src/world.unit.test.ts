import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Decimal } from '@perpmesh/core';
import {
  type BookLevel,
  BookMirror,
  BookSequenceError,
  canonicalJson,
  defaultWorldConfig,
  type FundingRateEvent,
  isUserEvent,
  observeOnly,
  type SimEvent,
  SimWorld,
  type SimWorldConfig,
} from './index.js';
import { BTC, ETH } from './test-helpers.js';

// 30 s before 08:00 UTC: every venue (8 h and 1 h intervals) settles during the run.
const START_MS = Date.UTC(2026, 0, 1, 7, 59, 30);
const STEPS = 60;

function run(config: SimWorldConfig, steps = STEPS, stepMs = 1000): { world: SimWorld; events: SimEvent[] } {
  const world = new SimWorld(config);
  const events: SimEvent[] = [];
  const user = world.exchange('paper');
  user.deposit('user', '100000');
  for (let i = 0; i <= steps; i++) {
    // A strategy's own orders between steps are part of the tape too.
    if (i === 10)
      user.placeOrder({ accountId: 'user', instrumentId: BTC, side: 'buy', type: 'market', size: '0.05' });
    if (i === 20)
      user.placeOrder({ accountId: 'user', instrumentId: ETH, side: 'sell', type: 'market', size: '1' });
    for (const e of world.step(config.startMs + i * stepMs)) events.push(e);
  }
  return { world, events };
}

function tapeHash(events: readonly SimEvent[]): string {
  const hash = createHash('sha256');
  for (const e of events) hash.update(`${canonicalJson(e)}\n`);
  return hash.digest('hex');
}

describe('SimWorld', () => {
  const a = run(defaultWorldConfig({ seed: 20260101, startMs: START_MS }));

  test('same seed, same tape (byte-identical); another seed, another tape', () => {
    const b = run(defaultWorldConfig({ seed: 20260101, startMs: START_MS }));
    const c = run(defaultWorldConfig({ seed: 20260102, startMs: START_MS }));
    assert.ok(a.events.length > 1000, `only ${a.events.length} events`);
    assert.equal(tapeHash(a.events), tapeHash(b.events));
    assert.notEqual(tapeHash(a.events), tapeHash(c.events));
  });

  test("observing only the user: the tape is the full tape's market events and the user's own, byte for byte", () => {
    const observed = run({
      ...defaultWorldConfig({ seed: 20260101, startMs: START_MS }),
      observeAccount: observeOnly(['user']),
    });
    const seen = a.events.filter((e) => !isUserEvent(e) || e.accountId === 'user');
    assert.ok(seen.length < a.events.length / 2, 'background user events are most of the full tape');
    assert.ok(
      seen.some((e) => isUserEvent(e)),
      "the user's own events are kept",
    );
    assert.equal(observed.events.length, seen.length);
    assert.equal(tapeHash(observed.events), tapeHash(seen));
  });

  test('every event kind a venue adapter needs is on the tape', () => {
    const kinds = new Set(a.events.map((e) => e.type));
    for (const kind of [
      'book_delta',
      'trade',
      'funding_rate',
      'funding_settled',
      'order_update',
      'fill',
      'balance',
      'position',
      'funding_payment',
    ]) {
      assert.ok(kinds.has(kind as SimEvent['type']), `no ${kind} event`);
    }
    const userFills = a.events.filter((e) => e.type === 'fill' && e.accountId === 'user');
    assert.ok(userFills.length > 0, 'the user order filled against background liquidity');
  });

  test('book deltas carry contiguous sequences and rebuild every venue book from its first snapshot', () => {
    const world = new SimWorld(defaultWorldConfig({ seed: 5, startMs: START_MS }));
    const mirrors = new Map<string, BookMirror>();
    for (const venueId of world.venueIds()) {
      for (const id of [BTC, ETH])
        mirrors.set(`${venueId}/${id}`, new BookMirror(world.exchange(venueId).bookSnapshot(id)));
    }
    let deltas = 0;
    for (let i = 0; i <= 30; i++) {
      for (const e of world.step(START_MS + i * 1000)) {
        if (e.type !== 'book_delta') continue;
        assert.equal(e.seq, e.prevSeq + 1);
        mirrors.get(`${e.venueId}/${e.instrumentId}`)?.apply(e); // throws on a gap
        deltas++;
      }
    }
    assert.ok(deltas > 50);
    const flat = (levels: readonly BookLevel[]) =>
      levels.map((l) => `${l.price.toFixed()}@${l.size.toFixed()}`);
    for (const [key, mirror] of mirrors) {
      const [venueId, id] = key.split('/') as [string, string];
      const snap = world.exchange(venueId).bookSnapshot(id, 1000);
      assert.equal(mirror.seq, snap.seq);
      assert.deepEqual(flat(mirror.levels('bids')), flat(snap.bids), key);
      assert.deepEqual(flat(mirror.levels('asks')), flat(snap.asks), key);
    }
  });

  test('a book mirror refuses a delta out of sequence', () => {
    const ex = a.world.exchange('paper');
    const mirror = new BookMirror(ex.bookSnapshot(BTC));
    assert.throws(
      () => mirror.apply({ seq: mirror.seq + 2, prevSeq: mirror.seq + 1, bids: [], asks: [] }),
      BookSequenceError,
    );
  });

  test('background liquidity keeps a two-sided book around mark on every venue', () => {
    for (const venueId of a.world.venueIds()) {
      const ex = a.world.exchange(venueId);
      for (const id of [BTC, ETH]) {
        const book = ex.bookSnapshot(id, 20);
        const mark = ex.markPrice(id) as Decimal;
        assert.ok(book.bids.length >= 5 && book.asks.length >= 5, `${venueId} ${id} thin book`);
        const bid = book.bids[0]?.price as Decimal;
        const ask = book.asks[0]?.price as Decimal;
        assert.ok(bid.lt(ask), 'crossed book');
        // Top of book within 10 bps of mark.
        assert.ok(mark.minus(bid).div(mark).lt('0.001'), `${venueId} ${id} bid ${bid} far from mark ${mark}`);
        assert.ok(ask.minus(mark).div(mark).lt('0.001'), `${venueId} ${id} ask ${ask} far from mark ${mark}`);
      }
    }
  });

  test('funding settles at 08:00 on every venue, at each venue its own interval', () => {
    const settled = a.events.filter((e) => e.type === 'funding_settled');
    assert.deepEqual(
      [...new Set(settled.map((e) => `${e.venueId}:${e.fundingIntervalMs / 3_600_000}h`))].sort(),
      ['paper-extended:1h', 'paper-lighter:1h', 'paper:8h'],
    );
    for (const e of settled) assert.equal(e.fundingTimeMs, Date.UTC(2026, 0, 1, 8));
  });

  test('money is conserved on every venue', () => {
    for (const venueId of a.world.venueIds()) {
      const l = a.world.exchange(venueId).ledger();
      assert.equal(l.equity.toFixed(), l.netDeposits.toFixed(), venueId);
      assert.equal(l.fundingNet.toFixed(), '0');
    }
  });
});

describe('SimWorld funding drift', () => {
  test('venue funding drifts apart and back: arbitrage chances appear and vanish', () => {
    const base = defaultWorldConfig({ seed: 7, startMs: START_MS });
    // Thin background (one level, no noise) keeps this long run fast; funding comes from the basis.
    const config: SimWorldConfig = {
      ...base,
      venues: base.venues.map((v) => ({
        ...v,
        marketMaker: { ...v.marketMaker, levels: 1 },
        noise: { ...v.noise, ordersPerMinute: 0 },
      })),
    };
    const world = new SimWorld(config);
    // Hourly-normalized predicted rate spread between the two hourly venues, sampled each minute for 12 h.
    const spreads: number[] = [];
    for (let minute = 0; minute <= 12 * 60; minute++) {
      const events = world.step(START_MS + minute * 60_000);
      const rate = (venueId: string) =>
        events.find(
          (e): e is FundingRateEvent =>
            e.type === 'funding_rate' && e.venueId === venueId && e.instrumentId === BTC,
        )?.predictedRate;
      const lighter = rate('paper-lighter');
      const extended = rate('paper-extended');
      if (lighter !== undefined && extended !== undefined) spreads.push(lighter.minus(extended).toNumber());
    }
    const wide = spreads.filter((s) => Math.abs(s) > 0.00005).length;
    const narrow = spreads.filter((s) => Math.abs(s) < 0.00001).length;
    assert.ok(wide > 10, `the spread was never wide (${wide} samples above 0.5 bp/h)`);
    assert.ok(narrow > 10, `the spread never closed (${narrow} samples below 0.1 bp/h)`);
    // Wide and narrow alternate: the spread crosses the middle band several times.
    let crossings = 0;
    let wasWide = Math.abs(spreads[0] ?? 0) > 0.00003;
    for (const s of spreads) {
      const isWide = Math.abs(s) > 0.00003;
      if (isWide !== wasWide) crossings++;
      wasWide = isWide;
    }
    assert.ok(crossings >= 4, `only ${crossings} crossings`);
  });
});
