/**
 * BookSync, path by path: what each input (snapshot, delta, fetched snapshot, failed fetch,
 * retry, stream down/up, time) answers, and the book and trust it leaves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import type { BookDelta, BookSnapshot } from '@perpmesh/venues';
import { BookSync, type BookSyncAction } from './book-sync.js';

const V = 'paper';
const I = 'BTC-USDC-PERP';
const T0 = 1_736_121_600_000;
const lvl = (price: string, size: string) => ({ price: dec(price), size: dec(size) });

function snapshot(seq: number, bids = [lvl('100', '1')], asks = [lvl('101', '1')]): BookSnapshot {
  return { kind: 'snapshot', instrument: I, seq, bids, asks, tsEventMs: T0 + seq };
}

function delta(
  seq: number,
  bids: ReturnType<typeof lvl>[] = [],
  asks: ReturnType<typeof lvl>[] = [],
): BookDelta {
  return { kind: 'delta', instrument: I, seq, bids, asks, tsEventMs: T0 + seq };
}

function newSync(options: { maxBufferedDeltas?: number; staleAfterMs?: number } = {}): BookSync {
  return new BookSync({
    venue: V,
    instrument: I,
    maxBufferedDeltas: options.maxBufferedDeltas ?? 100,
    staleAfterMs: options.staleAfterMs ?? 60_000,
  });
}

/** A sync that took snapshot 10 (bid 100 x 1, ask 101 x 1). */
function synced(options?: Parameters<typeof newSync>[0]): BookSync {
  const sync = newSync(options);
  sync.snapshot(snapshot(10));
  assert.equal(sync.synced, true);
  return sync;
}

const kinds = (actions: BookSyncAction[]) => actions.map((a) => a.do);
const resyncWhy = (actions: BookSyncAction[]) =>
  (actions.find((a) => a.do === 'resync') as { why: string } | undefined)?.why;
const bids = (sync: BookSync) => sync.top(10).bids.map((l) => `${l.price.toFixed()}x${l.size.toFixed()}`);
const asks = (sync: BookSync) => sync.top(10).asks.map((l) => `${l.price.toFixed()}x${l.size.toFixed()}`);

describe('BookSync: snapshot and deltas', () => {
  test('before any snapshot the book is not trusted, saying so', () => {
    const sync = newSync();
    assert.equal(sync.synced, false);
    assert.equal(sync.reason, `order book ${I} on ${V}: no snapshot yet`);
    assert.equal(sync.freshness(T0).stale, true);
  });

  test('a snapshot makes it trusted and asks to publish', () => {
    const sync = newSync();
    assert.deepEqual(sync.snapshot(snapshot(10)), [{ do: 'publish' }, { do: 'ready' }]);
    assert.equal(sync.synced, true);
    assert.equal(sync.reason, '');
    assert.equal(sync.top(5).seq, 10);
    assert.equal(sync.asOfMs, T0 + 10);
  });

  test('a delta that continues the sequence is applied and published; an old one is skipped', () => {
    const sync = synced();
    assert.deepEqual(sync.delta(delta(11, [lvl('100', '2')])), [{ do: 'publish' }]);
    assert.deepEqual(bids(sync), ['100x2']);
    assert.deepEqual(sync.delta(delta(9, [lvl('100', '7')])), []);
    assert.deepEqual(bids(sync), ['100x2']);
    assert.equal(sync.top(1).seq, 11);
  });

  test('a delta before any snapshot resyncs, keeping that delta for after the snapshot', () => {
    const sync = newSync();
    const actions = sync.delta(delta(11, [lvl('99', '1')]));
    assert.deepEqual(kinds(actions), ['resync', 'not_ready']);
    assert.equal(resyncWhy(actions), 'delta before any snapshot');
    assert.equal(sync.resyncing, true);
    assert.equal(sync.bufferedDeltas, 1);
    assert.deepEqual(kinds(sync.resyncSnapshot(snapshot(10))), ['publish', 'ready']);
    assert.deepEqual(bids(sync), ['100x1', '99x1']);
    assert.equal(sync.top(1).seq, 11);
  });
});

describe('BookSync: gap and resync', () => {
  test('a gap resyncs with the gap as the reason; never applies the delta', () => {
    const sync = synced();
    const actions = sync.delta(delta(12, [lvl('99', '5')]));
    assert.deepEqual(kinds(actions), ['resync', 'not_ready']);
    assert.match(resyncWhy(actions)!, /book sequence gap/);
    assert.match(sync.reason, new RegExp(`^order book ${I} on ${V}: resyncing \\(book sequence gap`));
    assert.deepEqual(bids(sync), ['100x1']);
  });

  test('deltas during the resync are buffered and replayed on the snapshot; those it covers are skipped', () => {
    const sync = synced();
    sync.delta(delta(11, [lvl('100', '2')]));
    sync.delta(delta(13, [lvl('99', '5')])); // 12 missing: gap, 13 kept
    assert.deepEqual(sync.delta(delta(14, [lvl('98', '1')])), [], 'buffered, no second resync');
    sync.delta(delta(15, [], [lvl('101', '0'), lvl('102', '3')]));
    assert.equal(sync.bufferedDeltas, 3);
    // The venue's snapshot reflects seq 13: 13 is skipped, 14 and 15 applied on top.
    const actions = sync.resyncSnapshot(snapshot(13, [lvl('100', '2'), lvl('99', '5')], [lvl('101', '1')]));
    assert.deepEqual(actions, [{ do: 'publish' }, { do: 'ready' }]);
    assert.equal(sync.top(1).seq, 15);
    assert.deepEqual(bids(sync), ['100x2', '99x5', '98x1']);
    assert.deepEqual(asks(sync), ['102x3']);
    assert.equal(sync.bufferedDeltas, 0);
  });

  test('the buffer keeps the newest maxBufferedDeltas', () => {
    const sync = synced({ maxBufferedDeltas: 2 });
    sync.delta(delta(12)); // gap: 12 is the first buffered
    sync.delta(delta(13));
    sync.delta(delta(14));
    assert.equal(sync.bufferedDeltas, 2);
    // 12 was dropped: the snapshot at 11 cannot be continued by 13, so another resync.
    const actions = sync.resyncSnapshot(snapshot(11));
    assert.equal(resyncWhy(actions) !== undefined, true, JSON.stringify(actions));
    assert.equal(sync.synced, false);
  });

  test('a gap inside the buffer starts another resync that keeps what followed the gap', () => {
    const sync = synced();
    sync.delta(delta(12)); // gap
    sync.delta(delta(14, [lvl('97', '1')])); // 13 missing from the buffer too
    sync.delta(delta(15, [lvl('96', '1')]));
    const actions = sync.resyncSnapshot(snapshot(12));
    assert.deepEqual(
      kinds(actions).filter((k) => k === 'resync'),
      ['resync'],
    );
    assert.equal(sync.resyncing, true);
    assert.equal(sync.bufferedDeltas, 2, 'delta 14 (the gap) and 15 wait for the next snapshot');
    sync.resyncSnapshot(snapshot(14, [lvl('100', '1'), lvl('97', '1')]));
    assert.equal(sync.synced, true, sync.reason);
    assert.equal(sync.top(1).seq, 15);
    assert.deepEqual(bids(sync), ['100x1', '97x1', '96x1']);
  });

  test('a newer snapshot from the stream during the resync wins over an older fetched one', () => {
    const sync = synced();
    sync.delta(delta(12)); // gap
    sync.snapshot(snapshot(20, [lvl('105', '1')], [lvl('106', '1')]));
    assert.equal(sync.synced, true);
    sync.resyncSnapshot(snapshot(15));
    assert.equal(sync.top(1).seq, 20);
    assert.deepEqual(bids(sync), ['105x1']);
  });

  test('a failed fetch leaves the book not trusted with the cause, and asks to retry later', () => {
    const sync = synced();
    sync.delta(delta(12));
    const actions = sync.resyncFailed('connection reset');
    assert.deepEqual(actions, [
      { do: 'retry_later', why: 'retry after a failed resync' },
      { do: 'not_ready', reason: `order book ${I} on ${V}: resync failed: connection reset` },
    ]);
    assert.equal(sync.resyncing, false);
    assert.equal(sync.bufferedDeltas, 0);
    const retry = sync.retryDue('retry after a failed resync');
    assert.deepEqual(kinds(retry), ['resync', 'not_ready']);
    assert.equal(sync.resyncing, true);
  });

  test('a retry once the book is trusted again does nothing', () => {
    const sync = synced();
    assert.deepEqual(sync.retryDue('late timer'), []);
  });
});

describe('BookSync: crossed and malformed books', () => {
  test('a crossed snapshot is kept out of trust and retried later', () => {
    const sync = newSync();
    const actions = sync.snapshot(snapshot(10, [lvl('102', '1')], [lvl('101', '1')]));
    assert.deepEqual(actions, [
      { do: 'retry_later', why: 'crossed snapshot' },
      { do: 'not_ready', reason: `order book ${I} on ${V}: snapshot is crossed` },
    ]);
    assert.equal(sync.synced, false);
    // Deltas on a crossed (invalidated) book resync rather than apply.
    assert.equal(resyncWhy(sync.delta(delta(11))), 'delta before any snapshot');
  });

  test('a delta that crosses the book resyncs at once', () => {
    const sync = synced();
    const actions = sync.delta(delta(11, [lvl('101.5', '1')]));
    assert.deepEqual(kinds(actions), ['publish', 'resync', 'not_ready']);
    assert.equal(resyncWhy(actions), 'book crossed after a delta');
  });

  test('a malformed delta or snapshot resyncs naming the problem, and never half-applies', () => {
    const sync = synced();
    const bad = sync.delta(delta(11, [lvl('100', '-1')]));
    assert.match(resyncWhy(bad)!, /^bad delta: /);
    assert.deepEqual(bids(sync), ['100x1']);

    const other = synced();
    const badSnapshot = other.snapshot({ ...snapshot(20), seq: -5 });
    assert.match(resyncWhy(badSnapshot)!, /^bad snapshot: /);
    assert.equal(other.top(1).seq, 10);
  });

  test('a malformed fetched snapshot counts as a failed fetch', () => {
    const sync = synced();
    sync.delta(delta(12));
    const actions = sync.resyncSnapshot({ ...snapshot(13), seq: Number.NaN });
    assert.deepEqual(kinds(actions), ['retry_later', 'not_ready']);
    assert.match(sync.reason, /resync failed: /);
  });
});

describe('BookSync: the port stream and time', () => {
  test('stream down: not trusted with the reason; a snapshot meanwhile is kept but not trusted', () => {
    const sync = synced();
    const down = sync.streamDown('market stream of paper down: link lost');
    assert.deepEqual(down, [
      { do: 'not_ready', reason: `order book ${I} on ${V}: market stream of paper down: link lost` },
    ]);
    assert.deepEqual(sync.snapshot(snapshot(30)), [{ do: 'publish' }]);
    assert.equal(sync.synced, false);
    assert.equal(sync.top(1).seq, 30);
  });

  test('stream back: an untrusted book resyncs', () => {
    const sync = synced();
    sync.streamDown('down');
    const up = sync.streamUp();
    assert.equal(resyncWhy(up), 'market stream reconnected');
    assert.match(sync.reason, /resyncing \(market stream reconnected\)/);
    sync.resyncSnapshot(snapshot(40));
    assert.equal(sync.synced, true);
  });

  test('stream back with nothing to fix: no action', () => {
    const sync = synced();
    assert.deepEqual(sync.streamUp(), []);
  });

  test('a trusted book older than staleAfterMs is stale, with its age; a new update clears it', () => {
    const sync = synced({ staleAfterMs: 1_000 });
    const asOf = T0 + 10;
    assert.deepEqual(sync.freshness(asOf + 1_000), {
      synced: true,
      stale: false,
      reason: '',
      asOfMs: asOf,
      observedAtMs: 0,
      ageMs: 1_000,
    });
    const old = sync.freshness(asOf + 1_001);
    assert.equal(old.synced, true);
    assert.equal(old.stale, true);
    assert.equal(old.reason, `order book ${I} on ${V}: last update 1001 ms ago (stale after 1000 ms)`);
    sync.delta(delta(11));
    assert.equal(sync.freshness(asOf + 1_001).stale, false);
  });

  test('a clock behind the event time gives age 0, not a negative age', () => {
    const sync = synced();
    assert.equal(sync.freshness(T0).ageMs, 0);
  });

  for (const skewMs of [-1_400, 5_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by ${Math.abs(skewMs)} ms: the book ages from when its updates arrived (3 s bound)`, () => {
      let nowMs = T0;
      const sync = new BookSync({
        venue: V,
        instrument: I,
        maxBufferedDeltas: 100,
        staleAfterMs: 3_000,
        nowMs: () => nowMs,
      });
      sync.snapshot({ ...snapshot(10), tsEventMs: nowMs + skewMs });
      for (let seq = 11; seq <= 30; seq++) {
        nowMs += 500;
        sync.delta({ ...delta(seq), tsEventMs: nowMs + skewMs });
        const f = sync.freshness(nowMs + 100);
        assert.equal(f.stale, false, `fresh at delta ${seq}`);
        assert.equal(f.ageMs, 100);
        assert.equal(f.asOfMs, nowMs + skewMs, 'as-of stays the venue time');
        assert.equal(f.observedAtMs, nowMs);
      }
      // Updates stop: stale once 3 s have passed on our clock, whatever the venue's clock says.
      assert.equal(sync.freshness(nowMs + 3_000).stale, false);
      assert.equal(sync.freshness(nowMs + 3_001).stale, true);
    });
  }
});
