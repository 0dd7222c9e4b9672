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

/**
 * A port whose every watchMarket is its own subscription: the test resolves each one and
 * emits on it, and sees which were closed.
 */
function subscriptionsPort(
  venue = 'paper',
  listed: readonly string[] = ['A-USDC-PERP', 'B-USDC-PERP', 'C-USDC-PERP'],
) {
  interface Sub {
    instruments: string[];
    emit: (e: MarketEvent) => void;
    closed: boolean;
    open: () => void;
    fail: (err: Error) => void;
  }
  const subs: Sub[] = [];
  const port = {
    venue,
    account: '',
    apiKeyId: 'default',
    loadMarkets: async () => listed.map((instrument) => ({ instrument })),
    fetchFunding: async () => [],
    watchMarket: (instruments: string[], onEvent: (e: MarketEvent) => void) =>
      new Promise((resolve, reject) => {
        const sub: Sub = {
          instruments: [...instruments],
          emit: onEvent,
          closed: false,
          open: () =>
            resolve({
              close: async () => {
                sub.closed = true;
              },
            }),
          fail: reject,
        };
        subs.push(sub);
      }),
    fetchOrderBook: () => new Promise<BookSnapshot>(() => {}),
    readiness: () => [],
    close: async () => {},
  } as unknown as VenuePort;
  const snapshot = (sub: Sub, instrument: string, seq: number, bid: string) =>
    sub.emit({
      kind: 'snapshot',
      instrument,
      seq,
      bids: [lvl(bid, '1')],
      asks: [lvl('200', '1')],
      tsEventMs: T0,
    });
  const delta = (sub: Sub, instrument: string, seq: number, bid: string) =>
    sub.emit({ kind: 'delta', instrument, seq, bids: [lvl(bid, '2')], asks: [], tsEventMs: T0 + seq });
  return { port, subs, snapshot, delta };
}

describe('MarketDataFeed.follow: another set of instruments, no gap for the kept ones', () => {
  const [A, B, C] = ['A-USDC-PERP', 'B-USDC-PERP', 'C-USDC-PERP'];

  test('a kept book serves from the old stream until the new one has it; removed ones go, added ones sync', async () => {
    const { port, subs, snapshot, delta } = subscriptionsPort();
    const health = new HealthRegistry();
    const feed = newFeed(port, { health, venues: [{ port, instruments: [A, B] }] });
    const starting = feed.start();
    await eventually('first subscription asked', () => subs.length === 1);
    subs[0]!.open();
    await starting;
    snapshot(subs[0]!, A, 10, '100');
    snapshot(subs[0]!, B, 10, '50');
    assert.equal(health.component('paper/order_books')?.ready, true);

    const following = feed.follow([{ port, instruments: [A, C] }]);
    await eventually('the new list subscribed first', () => subs.length === 2);
    assert.deepEqual(subs[1]!.instruments, [A, C]);
    assert.equal(subs[0]!.closed, false, 'the old stream stays open until the new one is');
    // Meanwhile A is served and still follows the old stream; B is gone; C waits for its snapshot.
    delta(subs[0]!, A, 11, '101');
    assert.equal(feed.orderBook('paper', A)?.synced, true);
    assert.equal(feed.orderBook('paper', A)?.bids[0]?.price.toString(), '101');
    assert.equal(feed.orderBook('paper', B), undefined);
    assert.match(feed.orderBook('paper', C)?.reason ?? '', /no snapshot yet/);
    assert.equal(health.component('paper/order_books')?.ready, false, 'C is not synced yet');
    assert.deepEqual(feed.instruments('paper'), [A, C]);

    subs[1]!.open();
    await following;
    assert.equal(subs[0]!.closed, true, 'the old stream is closed once the new one is open');
    // The new stream's first book event takes A over; the old stream's late events are ignored.
    assert.equal(feed.orderBook('paper', A)?.seq, 11, 'A still served before the new stream has it');
    snapshot(subs[1]!, A, 12, '102');
    delta(subs[0]!, A, 13, '999');
    assert.equal(feed.orderBook('paper', A)?.seq, 12);
    assert.equal(feed.orderBook('paper', A)?.bids[0]?.price.toString(), '102');
    snapshot(subs[1]!, B, 14, '55');
    assert.equal(feed.orderBook('paper', B), undefined, 'a removed book takes no event');
    snapshot(subs[1]!, C, 15, '70');
    assert.equal(feed.orderBook('paper', C)?.synced, true);
    assert.equal(health.component('paper/order_books')?.ready, true);
    await feed.stop();
    assert.equal(subs[1]!.closed, true);
  });

  test('a venue no longer followed leaves with its readiness; a new venue connects', async () => {
    const paper = subscriptionsPort('paper');
    const other = subscriptionsPort('other');
    const health = new HealthRegistry();
    const feed = newFeed(paper.port, { health, venues: [{ port: paper.port, instruments: [A] }] });
    const starting = feed.start();
    await eventually('paper subscription asked', () => paper.subs.length === 1);
    paper.subs[0]!.open();
    await starting;
    paper.snapshot(paper.subs[0]!, A, 1, '100');
    assert.equal(health.component('paper/order_books')?.ready, true);

    const following = feed.follow([{ port: other.port, instruments: [B] }]);
    await eventually('other subscription asked', () => other.subs.length === 1);
    other.subs[0]!.open();
    await following;
    assert.equal(paper.subs[0]!.closed, true);
    assert.deepEqual(feed.venues(), ['other']);
    assert.equal(feed.orderBook('paper', A), undefined);
    for (const c of ['symbols', 'market_stream', 'order_books', 'funding'])
      assert.equal(health.component(`paper/${c}`), undefined, `paper/${c} unregistered`);
    assert.equal(health.component('other/market_stream')?.ready, true);
    other.snapshot(other.subs[0]!, B, 1, '10');
    assert.equal(feed.orderBook('other', B)?.synced, true);
    await feed.stop();
  });

  test('an instrument the loaded markets do not list is refused before anything changes', async () => {
    const { port, subs } = subscriptionsPort('paper', [A, B]);
    const feed = newFeed(port, { venues: [{ port, instruments: [A] }] });
    const starting = feed.start();
    await eventually('subscription asked', () => subs.length === 1);
    subs[0]!.open();
    await starting;
    await assert.rejects(feed.follow([{ port, instruments: [A, C] }]), (err: Error) => {
      assert.match(err.message, /paper does not list C-USDC-PERP/);
      return true;
    });
    assert.deepEqual(feed.instruments('paper'), [A]);
    assert.equal(subs.length, 1, 'no new subscription');
    // The next follow runs normally after a refused one.
    const following = feed.follow([{ port, instruments: [B] }]);
    await eventually('new subscription asked', () => subs.length === 2);
    subs[1]!.open();
    await following;
    assert.deepEqual(feed.instruments('paper'), [B]);
    await feed.stop();
  });

  test('a list changed while the first subscription is still opening: the stream opened is for the latest list', async () => {
    const { port, subs, snapshot } = subscriptionsPort();
    const feed = newFeed(port, { venues: [{ port, instruments: [A] }] });
    const starting = feed.start();
    await eventually('first subscription asked', () => subs.length === 1);
    await feed.follow([{ port, instruments: [A, B] }]);
    subs[0]!.open(); // for [A]: outdated, closed, and [A, B] subscribed instead
    await eventually('subscribed again for the new list', () => subs.length === 2);
    assert.equal(subs[0]!.closed, true);
    assert.deepEqual(subs[1]!.instruments, [A, B]);
    subs[1]!.open();
    await starting;
    snapshot(subs[1]!, B, 1, '10');
    assert.equal(feed.orderBook('paper', B)?.synced, true);
    await feed.stop();
  });

  test('the new subscription failing: the old stream closes and the venue reconnects with the new list', async () => {
    const { port, subs, snapshot } = subscriptionsPort();
    const health = new HealthRegistry();
    const feed = newFeed(port, { health, retryDelayMs: 5, venues: [{ port, instruments: [A] }] });
    const starting = feed.start();
    await eventually('first subscription asked', () => subs.length === 1);
    subs[0]!.open();
    await starting;
    const following = feed.follow([{ port, instruments: [A, B] }]);
    await eventually('new subscription asked', () => subs.length === 2);
    subs[1]!.fail(new Error('refused'));
    await following;
    assert.equal(subs[0]!.closed, true);
    assert.match(health.component('paper/market_stream')?.reason ?? '', /cannot subscribe: refused/);
    await eventually('reconnect subscribes again', () => subs.length === 3);
    assert.deepEqual(subs[2]!.instruments, [A, B]);
    subs[2]!.open();
    await eventually('market_stream ready', () => health.component('paper/market_stream')?.ready === true);
    snapshot(subs[2]!, A, 5, '100');
    assert.equal(feed.orderBook('paper', A)?.synced, true);
    await feed.stop();
  });
});

describe('MarketDataFeed: warming books (followed, not published)', () => {
  const [A, B] = ['A-USDC-PERP', 'B-USDC-PERP'];

  test('a warming book syncs and answers, publishes nothing and counts in no readiness; taken over, it publishes at once', async () => {
    const { port, subs, snapshot, delta } = subscriptionsPort();
    const health = new HealthRegistry();
    const books: string[] = [];
    const log: MdEventSink = {
      publish: async (m) => {
        const payload = decodeEnvelope(m.data).payload;
        if (payload?.$case === 'orderBook')
          books.push(`${payload.value.instrument}@${payload.value.sequence}`);
        return {};
      },
    };
    const feed = newFeed(port, {
      health,
      log,
      bookPublishIntervalMs: 0,
      venues: [{ port, instruments: [A, B], warming: [B] }],
    });
    const starting = feed.start();
    await eventually('subscription asked', () => subs.length === 1);
    subs[0]!.open();
    await starting;
    snapshot(subs[0]!, A, 1, '100');
    assert.equal(health.component('paper/order_books')?.ready, true, 'B (no snapshot yet) does not count');
    snapshot(subs[0]!, B, 1, '50');
    delta(subs[0]!, B, 2, '51');
    assert.equal(feed.orderBook('paper', B)?.synced, true, 'B answers queries');
    assert.equal(feed.orderBook('paper', B)?.warming, true);
    assert.equal(feed.orderBook('paper', A)?.warming, false);
    await feed.flush();
    assert.deepEqual(books, ['A-USDC-PERP@1'], 'only A published');

    // B taken over: same instruments, no new subscription; its current book goes out at once.
    await feed.follow([{ port, instruments: [A, B] }]);
    assert.equal(subs.length, 1, 'no resubscription');
    assert.equal(feed.orderBook('paper', B)?.warming, false);
    await feed.flush();
    assert.deepEqual(books, ['A-USDC-PERP@1', 'B-USDC-PERP@2']);
    delta(subs[0]!, B, 3, '52');
    await feed.flush();
    assert.equal(books.at(-1), 'B-USDC-PERP@3');

    // Back to warming (e.g. handed over again): nothing more published for it.
    await feed.follow([{ port, instruments: [A, B], warming: [B] }]);
    delta(subs[0]!, B, 4, '53');
    await feed.flush();
    assert.equal(books.at(-1), 'B-USDC-PERP@3');
    assert.equal(feed.orderBook('paper', B)?.seq, 4);
    await feed.stop();
  });
});
