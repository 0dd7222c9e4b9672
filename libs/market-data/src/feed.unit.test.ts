/**
 * MarketDataFeed against a scripted venue port: the I/O around BookSync (book-sync.unit.test.ts
 * covers its rules): the resync fetch and its replay, the retry timer after a failed fetch,
 * the port's stream readiness; publish failures make `md/event_log` not ready.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeEnvelope } from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { HealthRegistry } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import {
  type BookSnapshot,
  type MarketEvent,
  type ReadinessComponent,
  VENUE_COMPONENT,
  type VenuePort,
} from '@perpmesh/venues';
import { MarketDataFeed, type MarketDataFeedOptions } from './feed.js';
import { quietLogger } from './market-data.test-helper.js';
import type { MdEventSink } from './publisher.js';

const I = 'BTC-USDC-PERP';
const T0 = 1_736_121_600_000;
const lvl = (price: string, size: string) => ({ price: dec(price), size: dec(size) });

function scriptedPort() {
  let emit: (e: MarketEvent) => void = () => {};
  const fetches: Array<{ resolve: (s: BookSnapshot) => void; reject: (err: Error) => void }> = [];
  let readiness: ReadinessComponent[] = [];
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
    fetchOrderBook: () => new Promise<BookSnapshot>((resolve, reject) => fetches.push({ resolve, reject })),
    readiness: () => readiness,
    close: async () => {},
  } as unknown as VenuePort;
  const delta = (seq: number, bids: ReturnType<typeof lvl>[], asks: ReturnType<typeof lvl>[] = []) =>
    emit({ kind: 'delta', instrument: I, seq, bids, asks, tsEventMs: T0 + seq });
  const setReadiness = (components: ReadinessComponent[]) => {
    readiness = components;
  };
  return { port, delta, fetches, setReadiness };
}

/** The order_books reasons of every md.status the feed publishes. */
function statusReasons(): { log: MdEventSink; reasons: string[] } {
  const reasons: string[] = [];
  return {
    reasons,
    log: {
      publish: async (m) => {
        const payload = decodeEnvelope(m.data).payload;
        if (payload?.$case !== 'venueStatus') return {};
        for (const c of payload.value.components) if (c.component === 'order_books') reasons.push(c.reason);
        return {};
      },
    },
  };
}

function newFeed(
  port: VenuePort,
  options: {
    health?: HealthRegistry;
    retryDelayMs?: number;
    log?: MdEventSink;
    bookPublishIntervalMs?: number;
    bookPublishIntervalOverrides?: MarketDataFeedOptions['bookPublishIntervalOverrides'];
    venues?: MarketDataFeedOptions['venues'];
    emulatedVenues?: readonly string[];
  } = {},
) {
  return new MarketDataFeed({
    source: 'market-data/unit',
    log: { publish: async () => ({}) },
    venues: [{ port, instruments: [I] }],
    nowMs: () => T0 + 100,
    logger: quietLogger(),
    fundingPollIntervalMs: 0,
    portReadinessPollMs: 0,
    ...options,
  });
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
    fetches[0]!.resolve({
      kind: 'snapshot',
      instrument: I,
      seq: 13,
      bids: [lvl('100', '2'), lvl('99', '5')],
      asks: [lvl('101', '1')],
      tsEventMs: T0 + 13,
    });
    const book = await eventually('the book synced from the resync snapshot', () => {
      const view = feed.orderBook('paper', I)!;
      return view.synced && view;
    });
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

describe('MarketDataFeed around BookSync', () => {
  test('a failed resync fetch is retried after retryDelayMs, and the book recovers', async () => {
    const { port, delta, fetches } = scriptedPort();
    const { log, reasons } = statusReasons();
    const feed = newFeed(port, { retryDelayMs: 5, log });
    await feed.start();
    delta(12, [lvl('99', '1')]); // 11 missing: gap
    assert.equal(fetches.length, 1);
    fetches[0]!.reject(new Error('HTTP 503'));
    await eventually('the failure reported on md.status', () =>
      reasons.some((r) => /resync failed: HTTP 503/.test(r)),
    );
    await eventually('a second fetch after the retry delay', () => fetches.length === 2);
    fetches[1]!.resolve({
      kind: 'snapshot',
      instrument: I,
      seq: 12,
      bids: [lvl('100', '1'), lvl('99', '1')],
      asks: [lvl('101', '1')],
      tsEventMs: T0 + 12,
    });
    await eventually('the book synced again', () => feed.orderBook('paper', I)!.synced);
    assert.equal(feed.stats().resyncs, 2);
    await feed.stop();
  });

  test("the port's market stream down makes the venue and its books not ready; back, they resync", async () => {
    const { port, fetches, setReadiness } = scriptedPort();
    const health = new HealthRegistry();
    const feed = newFeed(port, { health });
    await feed.start();
    assert.equal(health.component('paper/order_books')?.ready, true);

    // A component that carries no market data does not count.
    setReadiness([{ component: VENUE_COMPONENT.userStream, ready: false, reason: 'user stream lost' }]);
    feed.pollPortReadiness();
    assert.equal(health.component('paper/market_stream')?.ready, true);

    setReadiness([{ component: VENUE_COMPONENT.link, ready: false, reason: 'gateway unreachable' }]);
    feed.pollPortReadiness();
    assert.equal(health.component('paper/market_stream')?.ready, false);
    assert.match(
      health.component('paper/market_stream')?.reason ?? '',
      /market stream of paper down: gateway unreachable/,
    );
    assert.equal(health.component('paper/order_books')?.ready, false);
    assert.equal(feed.orderBook('paper', I)!.synced, false);
    assert.equal(fetches.length, 0, 'no resync while the stream is down');

    setReadiness([{ component: VENUE_COMPONENT.link, ready: true, reason: '' }]);
    feed.pollPortReadiness();
    assert.equal(health.component('paper/market_stream')?.ready, true);
    assert.equal(fetches.length, 1, 'the book resyncs once the stream is back');
    fetches[0]!.resolve({
      kind: 'snapshot',
      instrument: I,
      seq: 20,
      bids: [lvl('100', '1')],
      asks: [lvl('101', '1')],
      tsEventMs: T0 + 20,
    });
    await eventually('order_books ready again', () => health.component('paper/order_books')?.ready === true);
    await feed.stop();
  });
});

describe('MarketDataFeed: every port component', () => {
  test('reaches health as `venue <venue>: <component>` and GetVenueStatus, the emulated flag with it', async () => {
    const { port, setReadiness } = scriptedPort();
    // The scripted port is a public one here (no account), as market data opens it.
    (port as { account: string }).account = '';
    setReadiness([
      { component: VENUE_COMPONENT.markets, ready: true, reason: 'paper: 1 instrument listed' },
      { component: VENUE_COMPONENT.requestBudget, ready: false, reason: 'spent; next slot in 900 ms' },
    ]);
    const health = new HealthRegistry();
    const feed = newFeed(port, { health, emulatedVenues: ['paper'] });
    await feed.start();
    assert.deepEqual(
      [health.component('venue paper: markets')?.ready, health.component('venue paper: markets')?.reason],
      [true, 'paper: 1 instrument listed'],
    );
    assert.equal(health.component('venue paper: request budget')?.informational, true);
    const [status] = feed.venueStatus();
    assert.equal(status?.emulated, true);
    assert.deepEqual(
      status?.portComponents.map((c) => [c.component, c.ready, c.informational]),
      [
        ['markets', true, false],
        ['request budget', false, true],
      ],
    );
    assert.equal(status?.ready, true, 'an informational component does not make the venue not ready');
    // The next poll follows the port: a link down decides readiness.
    setReadiness([{ component: VENUE_COMPONENT.link, ready: false, reason: 'paper: gateway unreachable' }]);
    feed.pollPortReadiness();
    assert.equal(health.component('venue paper: link')?.reason, 'paper: gateway unreachable');
    assert.equal(health.component('venue paper: markets'), undefined);
    assert.equal(feed.venueStatus()[0]?.ready, false);
    await feed.stop();
  });
});

describe('MarketDataFeed: md.book conflated per book', () => {
  const J = 'ETH-USDC-PERP';

  /** A port following I and J, both books from a snapshot at seq 10. */
  function twoBookPort() {
    let emit: (e: MarketEvent) => void = () => {};
    const snapshot = (instrument: string): MarketEvent => ({
      kind: 'snapshot',
      instrument,
      seq: 10,
      bids: [lvl('100', '1')],
      asks: [lvl('101', '1')],
      tsEventMs: T0,
    });
    const port = {
      venue: 'paper',
      account: '',
      apiKeyId: 'default',
      loadMarkets: async () => [{ instrument: I }, { instrument: J }],
      fetchFunding: async () => [],
      watchMarket: async (_i: string[], onEvent: (e: MarketEvent) => void) => {
        emit = onEvent;
        onEvent(snapshot(I));
        onEvent(snapshot(J));
        return { close: async () => {} };
      },
      fetchOrderBook: () => new Promise<BookSnapshot>(() => {}),
      readiness: () => [],
      close: async () => {},
    } as unknown as VenuePort;
    const delta = (instrument: string, seq: number) =>
      emit({
        kind: 'delta',
        instrument,
        seq,
        bids: [lvl('100', String(seq))],
        asks: [],
        tsEventMs: T0 + seq,
      });
    return { port, delta };
  }

  /** The md.book events the feed published, as `instrument@seq`. */
  function bookLog(): { log: MdEventSink; books: string[] } {
    const books: string[] = [];
    return {
      books,
      log: {
        publish: async (m) => {
          const payload = decodeEnvelope(m.data).payload;
          if (payload?.$case === 'orderBook')
            books.push(`${payload.value.instrument}@${payload.value.sequence}`);
          return {};
        },
      },
    };
  }

  test('a busy book waits for its interval, another book goes out at once, the latest state is published', async () => {
    const { port, delta } = twoBookPort();
    const { log, books } = bookLog();
    const feed = newFeed(port, {
      log,
      venues: [{ port, instruments: [I, J] }],
      // I: an interval far longer than the test; J: every change.
      bookPublishIntervalMs: 60_000,
      bookPublishIntervalOverrides: [{ venue: 'paper', instrument: J, intervalMs: 0 }],
    });
    await feed.start();
    await eventually('both snapshots published (leading edge)', () => books.length === 2);
    delta(I, 11);
    delta(I, 12);
    delta(J, 11);
    await eventually('J published at once', () => books.includes(`${J}@11`));
    assert.deepEqual(
      books.filter((b) => b.startsWith(I)),
      [`${I}@10`],
      'I waits for its interval',
    );
    await feed.flush();
    assert.deepEqual(
      books.filter((b) => b.startsWith(I)),
      [`${I}@10`, `${I}@12`],
      'one publish of the latest state for the changes inside the interval',
    );
    await feed.stop();
  });

  test('the trailing publish goes out at the end of the interval, with the last change', async () => {
    const { port, delta } = twoBookPort();
    const { log, books } = bookLog();
    const feed = newFeed(port, { log, venues: [{ port, instruments: [I, J] }], bookPublishIntervalMs: 30 });
    await feed.start();
    await eventually('both snapshots published', () => books.length === 2);
    delta(I, 11);
    delta(I, 12);
    delta(I, 13);
    await eventually('the trailing publish of I', () => books.includes(`${I}@13`));
    assert.deepEqual(books, [`${I}@10`, `${J}@10`, `${I}@13`]);
    await feed.stop();
  });
});
