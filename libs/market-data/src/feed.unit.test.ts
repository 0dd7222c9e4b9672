/**
 * MarketDataFeed against a scripted venue port: deltas that arrive while a resync snapshot
 * is in flight are replayed on top of it; publish failures make `md/event_log` not ready.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { HealthRegistry } from '@perpmesh/runtime';
import type { BookSnapshot, MarketEvent, VenuePort } from '@perpmesh/venues';
import { MarketDataFeed } from './feed.js';
import { quietLogger } from './market-data.test-helper.js';

const I = 'BTC-USDC-PERP';
const T0 = 1_736_121_600_000;
const lvl = (price: string, size: string) => ({ price: dec(price), size: dec(size) });

function scriptedPort() {
  let emit: (e: MarketEvent) => void = () => {};
  const fetches: Array<(s: BookSnapshot) => void> = [];
  const port = {
    venue: 'paper',
    account: 'main',
    apiKeyId: 'default',
    loadMarkets: async () => [{ instrument: I }],
    fetchFunding: async () => [
      {
        kind: 'funding',
        instrument: I,
        rate: dec('0.0008'),
        intervalMs: 8 * 3_600_000,
        nextFundingTimeMs: T0 + 1,
        markPrice: dec('100'),
        indexPrice: dec('100'),
        tsEventMs: T0,
      },
    ],
    watchMarket: async (_i: string[], onEvent: (e: MarketEvent) => void) => {
      emit = onEvent;
      onEvent({
        kind: 'snapshot',
        instrument: I,
        seq: 10,
        bids: [lvl('100', '1')],
        asks: [lvl('101', '1')],
        tsEventMs: T0,
      });
      return { close: async () => {} };
    },
    fetchOrderBook: () => new Promise<BookSnapshot>((resolve) => fetches.push(resolve)),
    readiness: () => [],
    close: async () => {},
  } as unknown as VenuePort;
  const delta = (seq: number, bids: ReturnType<typeof lvl>[], asks: ReturnType<typeof lvl>[] = []) =>
    emit({ kind: 'delta', instrument: I, seq, bids, asks, tsEventMs: T0 + seq });
  return { port, delta, fetches };
}

describe('MarketDataFeed resync', () => {
  test('deltas received while the snapshot is fetched are replayed on top of it', async () => {
    const { port, delta, fetches } = scriptedPort();
    const events: unknown[] = [];
    const feed = new MarketDataFeed({
      source: 'market-data/unit',
      log: { publish: async (m) => void events.push(m) },
      venues: [{ port, instruments: [I] }],
      nowMs: () => T0 + 100,
      logger: quietLogger(),
      fundingPollIntervalMs: 0,
      portReadinessPollMs: 0,
    });
    await feed.start();
    delta(11, [lvl('100', '2')]);
    assert.equal(feed.orderBook('paper', I)?.seq, 11);
    delta(13, [lvl('99', '5')]); // 12 is missing: gap
    const during = feed.orderBook('paper', I)!;
    assert.equal(during.synced, false);
    assert.match(during.reason, /resyncing \(book sequence gap/);
    assert.equal(fetches.length, 1);
    delta(14, [lvl('98', '1')]);
    delta(15, [], [lvl('101', '0'), lvl('102', '3')]);
    // The venue's snapshot reflects seq 13 (12 and 13 applied).
    fetches[0]!({
      kind: 'snapshot',
      instrument: I,
      seq: 13,
      bids: [lvl('100', '2'), lvl('99', '5')],
      asks: [lvl('101', '1')],
      tsEventMs: T0 + 13,
    });
    await new Promise((r) => setImmediate(r));
    const book = feed.orderBook('paper', I)!;
    assert.equal(book.synced, true, book.reason);
    assert.equal(book.seq, 15);
    assert.deepEqual(
      book.bids.map((l) => [l.price.toFixed(), l.size.toFixed()]),
      [
        ['100', '2'],
        ['99', '5'],
        ['98', '1'],
      ],
    );
    assert.deepEqual(
      book.asks.map((l) => [l.price.toFixed(), l.size.toFixed()]),
      [['102', '3']],
    );
    assert.equal(feed.stats().resyncs, 1);
    await feed.stop();
  });

  test('a failing log makes md/event_log not ready with the cause, and ready again once it works', async () => {
    const { port, delta } = scriptedPort();
    let failing = true;
    const health = new HealthRegistry();
    const feed = new MarketDataFeed({
      source: 'market-data/unit',
      log: {
        publish: async () => {
          if (failing) throw new Error('nats: no responders');
          return {};
        },
      },
      venues: [{ port, instruments: [I] }],
      nowMs: () => T0 + 100,
      logger: quietLogger(),
      health,
      fundingPollIntervalMs: 0,
      portReadinessPollMs: 0,
    });
    await feed.start();
    await feed.flush();
    const c = health.component('md/event_log');
    assert.equal(c?.ready, false);
    assert.match(c?.reason ?? '', /md events not reaching the event log: nats: no responders/);
    assert.ok(feed.publishFailures > 0);
    failing = false;
    delta(11, [lvl('100', '2')]);
    await feed.flush();
    assert.equal(health.component('md/event_log')?.ready, true);
    await feed.stop();
  });
});
