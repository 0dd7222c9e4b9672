/** GetOrderBook with leases: which books this replica answers itself, which go to their holder. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, PerpmeshError } from '@perpmesh/core';
import type { BookView, MarketDataFeed } from './feed.js';
import { getOrderBook, type MarketDataQueries } from './grpc.js';
import { SINGLE_SHARD } from './shard.js';

const I = 'BTC-USDC-PERP';

function queries(view: Partial<BookView> | undefined): MarketDataQueries {
  const book: BookView | undefined = view && {
    venue: 'paper',
    instrument: I,
    warming: false,
    synced: true,
    stale: false,
    reason: '',
    seq: 7,
    asOfMs: 1,
    ageMs: 0,
    depth: 5,
    bids: [{ price: dec('100'), size: dec('1') }],
    asks: [{ price: dec('101'), size: dec('1') }],
    ...view,
  };
  return {
    feed: { orderBook: () => book } as unknown as MarketDataFeed,
    configured: new Map([['paper', [I]]]),
    shard: SINGLE_SHARD,
    servedBy: () => 'md-b',
  };
}

describe('GetOrderBook with leases', () => {
  const request = { venue: 'paper', instrument: I, depth: 5 };
  const toHolder = (err: unknown) =>
    err instanceof PerpmeshError && err.code === 'NOT_THIS_SHARD' && /expected: md-b/.test(err.message);

  test('a book not followed here goes to its holder (NOT_THIS_SHARD, which the router forwards)', () => {
    assert.throws(() => getOrderBook(queries(undefined), request), toHolder);
  });

  test('a warming book: answered here once synced; before that its holder answers', () => {
    assert.throws(
      () => getOrderBook(queries({ warming: true, synced: false, reason: 'no snapshot yet' }), request),
      toHolder,
    );
    assert.equal(getOrderBook(queries({ warming: true }), request).book?.sequence, 7);
  });

  test('a served book not synced: BOOK_NOT_SYNCED with the reason', () => {
    assert.throws(
      () => getOrderBook(queries({ synced: false, reason: 'resyncing' }), request),
      (err: unknown) =>
        err instanceof PerpmeshError && err.code === 'BOOK_NOT_SYNCED' && /resyncing/.test(err.message),
    );
  });
});
