/**
 * The publish path on real NATS (namespaced streams and subjects; a tail subscriber sees
 * the md.* events) and the MarketDataService over a real gRPC server on 127.0.0.1 with
 * the generated client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  decodeEnvelope,
  type Envelope,
  type GetFundingRatesResponse,
  type GetOrderBookResponse,
  type GetVenueStatusResponse,
  MarketDataServiceClient,
} from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { createLogger, HealthRegistry, type RunningGrpcServer, startGrpcServer } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import {
  advance,
  GatedPort,
  type Harness,
  INSTRUMENTS,
  marketDataHarness,
  VENUES,
} from './market-data.test-helper.js';

const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

type Client = InstanceType<typeof MarketDataServiceClient>;
function call<Req, Res>(
  fn: (req: Req, md: Metadata, cb: (err: ServiceError | null, res: Res) => void) => unknown,
  req: Req,
) {
  return new Promise<Res>((resolve, reject) =>
    fn(req, new Metadata(), (err, res) => (err ? reject(err) : resolve(res))),
  );
}

describe('market-data on real NATS and gRPC', () => {
  let h: Harness;
  let grpcServer: RunningGrpcServer;
  let client: Client;
  let gated: GatedPort | undefined;
  const seen: Array<{ subject: string; envelope: Envelope }> = [];
  let stopTail: (() => Promise<void>) | undefined;

  before(async () => {
    h = await marketDataHarness({
      kind: 'nats-redis',
      wrap: (p) => {
        if (p.venue !== 'paper-extended') return p;
        gated = new GatedPort(p);
        return gated;
      },
    });
    const tail = await h.log.tail(`${h.subjects.root}.md.>`, { from: 'new' }, async (msg) => {
      seen.push({ subject: msg.subject, envelope: decodeEnvelope(msg.data) });
    });
    stopTail = () => tail.stop();
    await h.service.start();
    grpcServer = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      services: [h.service.grpc],
      protoFiles: ['perpmesh/v1/market_data.proto'],
      includeDirs: [PROTO_DIR],
      logger: createLogger({ service: 'md-test', level: 'silent' }),
      health: new HealthRegistry(),
    });
    client = new MarketDataServiceClient(grpcServer.address, credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await grpcServer?.close(100);
    await stopTail?.();
    await h?.close();
  });

  test('md.book / md.trade / md.funding / md.status reach a NATS subscriber, decodable, on namespaced subjects', async () => {
    advance(h.hub, 20);
    await h.service.flush();
    await eventually('md.book, md.trade, md.funding and md.status on the tail', () =>
      ['orderBook', 'publicTrade', 'fundingRate', 'venueStatus'].every((c) =>
        seen.some((e) => e.envelope.payload?.$case === c),
      ),
    );
    const cases = new Set(seen.map((e) => e.envelope.payload?.$case));
    for (const c of ['orderBook', 'publicTrade', 'fundingRate', 'venueStatus'])
      assert.ok(cases.has(c as never), `saw ${c}`);
    for (const { subject, envelope } of seen) {
      assert.ok(subject.startsWith(`${h.subjects.root}.md.`), subject);
      const p = envelope.payload!;
      if (p.$case === 'orderBook')
        assert.equal(subject, h.subjects.mdBook(p.value.venue, p.value.instrument));
      if (p.$case === 'publicTrade')
        assert.equal(subject, h.subjects.mdTrade(p.value.venue, p.value.instrument));
      if (p.$case === 'fundingRate')
        assert.equal(subject, h.subjects.mdFunding(p.value.venue, p.value.instrument));
      if (p.$case === 'venueStatus') assert.equal(subject, h.subjects.mdStatus(p.value.venue));
    }
    const info = await h.log.streamInfo(h.mdStream);
    assert.ok(info.messages >= seen.length);
  });

  test('GetOrderBook over gRPC equals the hub book', async () => {
    const res = await call<{ venue: string; instrument: string; depth: number }, GetOrderBookResponse>(
      client.getOrderBook.bind(client),
      { venue: 'paper-lighter', instrument: 'BTC-USDC-PERP', depth: 10 },
    );
    const hub = h.hub.exchange('paper-lighter').bookSnapshot('BTC-USDC-PERP', 10);
    assert.equal(res.stale, false);
    assert.equal(res.book?.sequence, hub.seq);
    assert.deepEqual(
      res.book?.bids.map((l) => dec(l.price).toFixed()),
      hub.bids.map((l) => l.price.toFixed()),
    );
    assert.deepEqual(
      res.book?.asks.map((l) => dec(l.size).toFixed()),
      hub.asks.map((l) => l.size.toFixed()),
    );
  });

  test('an unsynced book is UNAVAILABLE with the reason; a bad venue is INVALID_ARGUMENT naming the field', async () => {
    await assert.rejects(
      call(client.getOrderBook.bind(client), {
        venue: 'paper-extended',
        instrument: 'ETH-USDC-PERP',
        depth: 5,
      }),
      (err: ServiceError) =>
        err.code === status.UNAVAILABLE &&
        /order book ETH-USDC-PERP on paper-extended: no snapshot yet/.test(err.details),
    );
    await assert.rejects(
      call(client.getOrderBook.bind(client), { venue: 'nope', instrument: 'BTC-USDC-PERP', depth: 5 }),
      (err: ServiceError) =>
        err.code === status.INVALID_ARGUMENT &&
        err.metadata.get('perpmesh-field')[0] === 'venue' &&
        /nope/.test(err.details),
    );
    await assert.rejects(
      call(client.getOrderBook.bind(client), { venue: 'paper', instrument: 'BTC-USDC-PERP', depth: -1 }),
      (err: ServiceError) => err.code === status.INVALID_ARGUMENT && /depth/.test(err.details),
    );
  });

  test('GetVenueStatus gives per-component reasons; GetFundingRates gives raw, interval and per-hour', async () => {
    const statusRes = await call<{ venue: string }, GetVenueStatusResponse>(
      client.getVenueStatus.bind(client),
      { venue: '' },
    );
    assert.deepEqual(
      statusRes.venues.map((v) => v.venue),
      [...VENUES],
    );
    const extended = statusRes.venues.find((v) => v.venue === 'paper-extended')!;
    assert.equal(extended.ready, false);
    assert.match(extended.components.find((c) => c.component === 'order_books')!.reason, /no snapshot yet/);
    assert.equal(statusRes.venues.find((v) => v.venue === 'paper')!.ready, true);

    gated!.release();
    const after = await call<{ venue: string }, GetVenueStatusResponse>(client.getVenueStatus.bind(client), {
      venue: 'paper-extended',
    });
    assert.equal(after.venues[0]?.ready, true, JSON.stringify(after));

    const rates = await call<{ venue: string; instrument: string }, GetFundingRatesResponse>(
      client.getFundingRates.bind(client),
      { venue: '', instrument: 'BTC-USDC-PERP' },
    );
    assert.equal(rates.rates.length, VENUES.length);
    const paper = rates.rates.find((r) => r.rate?.venue === 'paper')!.rate!;
    assert.equal(paper.intervalMs, 28_800_000);
    assert.equal(dec(paper.ratePerHour).toFixed(), dec(paper.rate).div(8).toFixed());
    assert.equal(dec(paper.annualized).toFixed(), dec(paper.ratePerHour).times(8760).toFixed());
    assert.ok(
      paper.markPrice !== '' && paper.indexPrice !== '' && paper.nextFundingTimeMs > 0 && paper.asOfMs > 0,
    );
    assert.equal(
      rates.rates.every((r) => INSTRUMENTS.includes(r.rate!.instrument)),
      true,
    );
  });
});
