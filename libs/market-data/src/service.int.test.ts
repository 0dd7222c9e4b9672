/**
 * buildMarketDataService in process: the PaperVenueHub (manual clock) as the venues, an
 * EmbeddedEventLog as the log. What the log holds after the market moves, the book the
 * service shows against the hub's own book, funding normalization across 8 h and 1 h
 * venues, a sequence gap and its resync, and /readyz reasons until books and funding are in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Envelope, SIDE, type OrderBook as WireBook } from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { startHttpServer } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import { BookNotSyncedError, NotThisShardError } from './errors.js';
import { getOrderBook } from './grpc.js';
import {
  advance,
  GapPort,
  GatedPort,
  type Harness,
  INSTRUMENTS,
  marketDataHarness,
  readEnvelopes,
  VENUES,
} from './market-data.test-helper.js';

function hubTop(h: Harness, venue: string, instrument: string, depth: number) {
  const snap = h.hub.exchange(venue).bookSnapshot(instrument, depth);
  return {
    seq: snap.seq,
    bids: snap.bids.map((l) => [l.price.toFixed(), l.size.toFixed()]),
    asks: snap.asks.map((l) => [l.price.toFixed(), l.size.toFixed()]),
  };
}

function serviceTop(h: Harness, venue: string, instrument: string, depth: number) {
  const view = h.service.orderBook(venue, instrument, depth);
  assert.ok(view, `no book ${venue} ${instrument}`);
  return {
    seq: view.seq,
    bids: view.bids.map((l) => [l.price.toFixed(), l.size.toFixed()]),
    asks: view.asks.map((l) => [l.price.toFixed(), l.size.toFixed()]),
  };
}

describe('market-data service over the paper hub and the embedded log', () => {
  let h: Harness;

  before(async () => {
    h = await marketDataHarness();
    await h.service.start();
  });
  after(() => h.close());

  test('after the hub advances, md.book / md.trade / md.funding / md.status are on the log, decodable, on their subjects', async () => {
    advance(h.hub, 20);
    await h.service.flush();
    const events = await readEnvelopes(h.log, h.mdStream);
    const byCase = new Map<string, Array<{ subject: string; envelope: Envelope }>>();
    for (const e of events) {
      const c = e.envelope.payload?.$case ?? 'none';
      byCase.set(c, [...(byCase.get(c) ?? []), e]);
    }
    for (const c of ['orderBook', 'publicTrade', 'fundingRate', 'venueStatus']) {
      assert.ok(
        (byCase.get(c)?.length ?? 0) > 0,
        `expected ${c} events, got cases ${[...byCase.keys()].join(',')}`,
      );
    }
    for (const { subject, envelope } of events) {
      assert.equal(envelope.source, 'market-data/test');
      assert.ok(envelope.tsEvent > 0 && envelope.tsInit > 0);
      const p = envelope.payload!;
      switch (p.$case) {
        case 'orderBook':
          assert.equal(subject, h.subjects.mdBook(p.value.venue, p.value.instrument));
          assert.equal(envelope.type, 'perpmesh.v1.OrderBook');
          assert.ok(p.value.bids.length > 0 && p.value.bids.length <= 20);
          assert.ok(
            dec(p.value.bids[0]!.price).lt(dec(p.value.asks[0]!.price)),
            'published book not crossed',
          );
          break;
        case 'publicTrade':
          assert.equal(subject, h.subjects.mdTrade(p.value.venue, p.value.instrument));
          assert.ok(dec(p.value.size).gt(0));
          assert.ok(['buy', 'sell'].includes(SIDE.fromProto(p.value.aggressorSide, 'aggressorSide')));
          break;
        case 'fundingRate':
          assert.equal(subject, h.subjects.mdFunding(p.value.venue, p.value.instrument));
          assert.ok(p.value.intervalMs > 0);
          break;
        case 'venueStatus':
          assert.equal(subject, h.subjects.mdStatus(p.value.venue));
          assert.deepEqual(
            p.value.components.map((c) => c.component),
            ['symbols', 'market_stream', 'order_books', 'funding'],
          );
          break;
        default:
          assert.fail(`unexpected payload ${p.$case} on the MD stream`);
      }
    }
    // Every venue ends ready, and says so on md.status.
    for (const venue of VENUES) {
      const last = (byCase.get('venueStatus') ?? [])
        .map((e) => e.envelope.payload)
        .filter((p) => p?.$case === 'venueStatus' && p.value.venue === venue)
        .at(-1);
      assert.ok(last?.$case === 'venueStatus' && last.value.ready, `${venue} ready on md.status`);
    }
  });

  test('the latest md.book per instrument equals the hub book at that moment', async () => {
    advance(h.hub, 5);
    await h.service.flush();
    const events = await readEnvelopes(h.log, h.mdStream);
    for (const venue of VENUES) {
      for (const instrument of INSTRUMENTS) {
        const last = events
          .map((e) => e.envelope.payload)
          .filter(
            (p): p is { $case: 'orderBook'; value: WireBook } =>
              p?.$case === 'orderBook' && p.value.venue === venue && p.value.instrument === instrument,
          )
          .at(-1);
        assert.ok(last, `md.book for ${venue} ${instrument}`);
        const hub = hubTop(h, venue, instrument, 20);
        assert.equal(last.value.sequence, hub.seq);
        assert.deepEqual(
          last.value.bids.map((l) => [dec(l.price).toFixed(), dec(l.size).toFixed()]),
          hub.bids,
        );
        assert.deepEqual(
          last.value.asks.map((l) => [dec(l.price).toFixed(), dec(l.size).toFixed()]),
          hub.asks,
        );
      }
    }
  });

  test('GetOrderBook equals the hub book, top-N, synced and fresh', () => {
    advance(h.hub, 3);
    for (const venue of VENUES) {
      for (const instrument of INSTRUMENTS) {
        assert.deepEqual(serviceTop(h, venue, instrument, 20), hubTop(h, venue, instrument, 20));
        const res = getOrderBook(h.service.queries, { venue, instrument, depth: 5 });
        assert.equal(res.stale, false);
        assert.equal(res.book?.bids.length, 5);
        assert.equal(res.book?.depth, 5);
        assert.equal(res.ageMs, h.hub.nowMs - res.book!.asOfMs);
      }
    }
  });

  test('funding: per-hour and annualized follow each venue interval (8 h paper, 1 h paper-lighter)', () => {
    const paper = h.service.fundingRates('paper', 'BTC-USDC-PERP')[0];
    const lighter = h.service.fundingRates('paper-lighter', 'BTC-USDC-PERP')[0];
    assert.ok(paper && lighter);
    assert.equal(paper.intervalMs, 8 * 3_600_000);
    assert.equal(lighter.intervalMs, 3_600_000);
    assert.equal(paper.ratePerHour.toFixed(), paper.rate.div(8).toFixed());
    assert.equal(lighter.ratePerHour.toFixed(), lighter.rate.toFixed());
    assert.equal(paper.annualized.toFixed(), paper.ratePerHour.times(8760).toFixed());
    assert.equal(lighter.annualized.toFixed(), lighter.ratePerHour.times(8760).toFixed());
    // The raw rate is the venue's own: what the hub reports for its interval.
    const hubFunding = h.hub.exchange('paper').funding('BTC-USDC-PERP');
    assert.equal(paper.rate.toFixed(), hubFunding?.predictedRate.toFixed());
    assert.equal(paper.nextFundingTimeMs, hubFunding?.nextFundingTimeMs);
    assert.equal(paper.stale, false);
    // Filters.
    assert.equal(h.service.fundingRates().length, VENUES.length * INSTRUMENTS.length);
    assert.equal(h.service.fundingRates('paper').length, INSTRUMENTS.length);
  });

  test('md.funding carries rate_per_hour normalized for the venue', async () => {
    await h.service.flush();
    const events = await readEnvelopes(h.log, h.mdStream);
    const funding = events
      .map((e) => e.envelope.payload)
      .filter((p) => p?.$case === 'fundingRate')
      .map(
        (p) =>
          (p as { value: { venue: string; rate: string; ratePerHour: string; intervalMs: number } }).value,
      );
    for (const f of funding) {
      const hours = f.intervalMs / 3_600_000;
      assert.equal(dec(f.ratePerHour).toFixed(), dec(f.rate).div(hours).toFixed(), `${f.venue}`);
    }
    assert.ok(funding.some((f) => f.venue === 'paper' && f.intervalMs === 28_800_000));
    assert.ok(funding.some((f) => f.venue === 'paper-lighter' && f.intervalMs === 3_600_000));
  });

  test('the same trade reported twice is stored once (fact ids)', async () => {
    const before = await readEnvelopes(h.log, h.mdStream);
    const trades = before.filter((e) => e.envelope.payload?.$case === 'publicTrade');
    assert.ok(trades.length > 0);
    // Ids of venue facts are derived from the fact: replaying one gives the same id.
    const ids = new Set(trades.map((t) => t.envelope.id));
    assert.equal(ids.size, trades.length, 'distinct trades have distinct ids');
    const first = trades[0]!;
    const ack = await h.log.publish({
      subject: first.subject,
      id: first.envelope.id,
      data: new Uint8Array([1]),
    });
    assert.equal(ack.duplicate, true);
  });
});

describe('sequence gap → not ready with the reason → resync → ready with a correct book', () => {
  let h: Harness;
  const gapPorts = new Map<string, GapPort>();
  const notReadyReasons: string[] = [];

  before(async () => {
    h = await marketDataHarness({
      wrap: (p) => {
        const g = new GapPort(p);
        gapPorts.set(p.venue, g);
        return g;
      },
    });
    h.health.onReadinessChange((report) => {
      for (const c of report.components) if (!c.ready && c.reason) notReadyReasons.push(c.reason);
    });
    await h.service.start();
    advance(h.hub, 3);
  });
  after(() => h.close());

  test('a dropped delta is detected, reported, resynced from a fresh snapshot', async () => {
    const gap = gapPorts.get('paper-lighter')!;
    assert.equal(h.health.isReady(), true);
    const fetchesBefore = gap.fetches;
    const resyncsBefore = h.service.feed.stats().resyncs;
    await h.service.flush();
    const statusFrom = (await h.log.streamInfo(h.mdStream)).lastSeq + 1;

    gap.dropNextDelta('BTC-USDC-PERP');
    // Step until a delta has been dropped and the next one revealed the gap.
    for (let i = 0; i < 100 && gap.dropped === undefined; i++) advance(h.hub, 1);
    assert.ok(gap.dropped, 'a delta was dropped');
    for (let i = 0; i < 100 && h.service.feed.stats().resyncs === resyncsBefore; i++) advance(h.hub, 1);

    // The gap made the component not ready with the gap as the reason...
    assert.ok(
      notReadyReasons.some((r) =>
        /order book BTC-USDC-PERP on paper-lighter: resyncing \(book sequence gap/.test(r),
      ),
      `reasons seen: ${notReadyReasons.join(' | ')}`,
    );
    // ...and a resync fetched a fresh snapshot.
    await eventually('fetchOrderBook called for the resync', () => gap.fetches > fetchesBefore);
    assert.ok(h.service.feed.stats().resyncs > resyncsBefore);

    advance(h.hub, 3);
    await h.service.flush();
    assert.equal(h.health.isReady(), true, JSON.stringify(h.health.readiness()));
    assert.deepEqual(
      serviceTop(h, 'paper-lighter', 'BTC-USDC-PERP', 20),
      hubTop(h, 'paper-lighter', 'BTC-USDC-PERP', 20),
    );

    // md.status told the world: not ready with the reason, then ready again.
    const statuses = (await readEnvelopes(h.log, h.mdStream, statusFrom))
      .map((e) => e.envelope.payload)
      .filter((p) => p?.$case === 'venueStatus' && p.value.venue === 'paper-lighter')
      .map(
        (p) =>
          (p as { value: { ready: boolean; components: { component: string; reason: string }[] } }).value,
      );
    const down = statuses.findIndex((s) => !s.ready);
    assert.ok(down >= 0, 'md.status not ready after the gap');
    assert.match(
      statuses[down]!.components.find((c) => c.component === 'order_books')!.reason,
      /sequence gap/,
    );
    assert.ok(
      statuses.slice(down + 1).some((s) => s.ready),
      'md.status ready again after the resync',
    );
  });
});

describe('readiness until books and funding are in', () => {
  let h: Harness;
  const gated: GatedPort[] = [];

  before(async () => {
    h = await marketDataHarness({
      wrap: (p) => {
        const g = new GatedPort(p);
        gated.push(g);
        return g;
      },
    });
  });
  after(() => h.close());

  test('/readyz is 503 with per-venue reasons, then 200 once books and funding arrive; GetOrderBook refuses an unsynced book', async () => {
    const http = await startHttpServer({ port: 0, host: '127.0.0.1', health: h.health });
    try {
      await h.service.start();
      const res = await fetch(`${http.url}/readyz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as {
        ready: boolean;
        components: { name: string; ready: boolean; reason: string | null }[];
      };
      const byName = new Map(body.components.map((c) => [c.name, c]));
      assert.equal(byName.get('paper-lighter/symbols')?.ready, true);
      assert.equal(byName.get('paper-lighter/market_stream')?.ready, true);
      assert.equal(byName.get('paper-lighter/order_books')?.ready, false);
      assert.match(
        byName.get('paper-lighter/order_books')?.reason ?? '',
        /order book BTC-USDC-PERP on paper-lighter: no snapshot yet/,
      );
      assert.match(
        byName.get('paper/funding')?.reason ?? '',
        /funding on paper not known yet for BTC-USDC-PERP, ETH-USDC-PERP/,
      );

      assert.throws(
        () => getOrderBook(h.service.queries, { venue: 'paper', instrument: 'BTC-USDC-PERP', depth: 0 }),
        (err: unknown) => err instanceof BookNotSyncedError && /no snapshot yet/.test(err.message),
      );
      const status = h.service.venueStatus('paper')[0]!;
      assert.equal(status.ready, false);

      for (const g of gated) g.release();
      const ok = await fetch(`${http.url}/readyz`);
      const okBody = (await ok.json()) as unknown;
      assert.equal(ok.status, 200, JSON.stringify(okBody));
      assert.equal(h.service.venueStatus('paper')[0]!.ready, true);
    } finally {
      await http.close();
    }
  });
});

describe('shards of the service', () => {
  test('two shards split the configured instruments disjointly and completely; the other shard answers NOT_THIS_SHARD', async () => {
    const a = await marketDataHarness({ config: { shard: { index: 0, count: 2 } } });
    const b = await marketDataHarness({ hub: a.hub, config: { shard: { index: 1, count: 2 } } });
    try {
      const pairs = (h: Harness) =>
        [...h.service.assignment].flatMap(([v, list]) => list.map((i) => `${v}|${i}`));
      const pa = pairs(a);
      const pb = pairs(b);
      assert.equal(pa.filter((p) => pb.includes(p)).length, 0, 'disjoint');
      assert.deepEqual(
        [...pa, ...pb].sort(),
        VENUES.flatMap((v) => INSTRUMENTS.map((i) => `${v}|${i}`)).sort(),
        'complete',
      );
      const [venue, instrument] = pb[0]!.split('|') as [string, string];
      assert.throws(
        () => getOrderBook(a.service.queries, { venue, instrument, depth: 1 }),
        (err: unknown) =>
          err instanceof NotThisShardError &&
          /served by market-data shard 1 of 2; this is shard 0/.test((err as Error).message),
      );
    } finally {
      await b.close();
      await a.close();
    }
  });
});
