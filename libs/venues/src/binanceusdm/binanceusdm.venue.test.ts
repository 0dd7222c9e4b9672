/**
 * Binance USD-M through the real ccxt code path against the local emulator
 * (libs/emulators, 127.0.0.1): markets, a book that resyncs after a sequence gap, funding
 * with the interval the venue states (changed mid-run), balances and positions equal to
 * the emulator's truth, the life of an order, signing, a websocket drop during fills, and
 * a create that timed out after the venue accepted it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import { BinanceUsdmEmulator, binanceusdmSimConfig } from '@perpmesh/emulators';
import { eventually } from '@perpmesh/testing';
import type { CcxtVenuePort, CcxtVenuePortOptions } from '../ccxt/port.js';
import { EmulatedVenue, fillInTwoParts, makerMarket } from '../ccxt/venue-scenarios.test-helper.js';
import { RateLimitedError, VenueRejectedError, VenueUnknownOutcomeError } from '../errors.js';
import type { BookSnapshot, FundingInfo, MarketEvent, UserStreamEvent, VenueFill } from '../port.js';
import { binanceusdmProfile } from './profile.js';

const BTC = 'BTC-USDT-PERP';
const KEY = { apiKey: 'emu-key-main', secret: 'emu-secret-main' };
const HOUR_MS = 3_600_000;

let emulator: BinanceUsdmEmulator;
let venue: EmulatedVenue<BinanceUsdmEmulator>;
let port: CcxtVenuePort;

const openPort = (overrides: Partial<CcxtVenuePortOptions> = {}) => venue.openPort(overrides);
const makerOrder = (side: 'buy' | 'sell', price: string, size: string) => venue.makerOrder(side, price, size);

before(async () => {
  emulator = new BinanceUsdmEmulator({
    market: makerMarket(binanceusdmSimConfig(), BTC, { markPrice: '60000', indexPrice: '60000' }),
    apiKeys: [{ ...KEY, accountId: 'main', deposit: '100000' }],
    stepIntervalMs: 50,
  });
  venue = await EmulatedVenue.start(emulator, BTC, {
    venue: 'binanceusdm',
    profile: binanceusdmProfile,
    credentials: KEY,
    fundingPollMs: 200,
  });
  // A book to look at: the counterparty's quotes well away from where the tests trade.
  makerOrder('buy', '59000', '1');
  makerOrder('sell', '61000', '1');
  port = await openPort();
});

after(() => venue.close());

describe('binanceusdm through ccxt against the emulator', () => {
  test('markets load with the venue rules and its funding interval', async () => {
    const markets = await port.loadMarkets();
    assert.equal(markets.length, 1);
    const btc = markets[0];
    assert.equal(btc?.instrument, BTC);
    assert.equal(btc?.venueSymbol, 'BTCUSDT');
    assert.equal(btc?.settle, 'USDT');
    assert.equal(btc?.tickSize.toFixed(), '0.1');
    assert.equal(btc?.lotSize.toFixed(), '0.001');
    assert.equal(btc?.minNotional.toFixed(), '100');
    assert.equal(btc?.fundingIntervalMs, 8 * HOUR_MS);
    assert.ok(port.readiness().find((r) => r.component === 'markets')?.ready);
  });

  test('a book streams and resyncs from a new snapshot after a sequence gap', async () => {
    const snapshots: BookSnapshot[] = [];
    const sub = await port.watchMarket([BTC], (e: MarketEvent) => {
      if (e.kind === 'snapshot') snapshots.push(e);
    });
    try {
      await eventually('first book', () => snapshots.length > 0, 5_000);
      const depthFetches = emulator.server.requestCounts.get('GET /fapi/v1/depth') ?? 0;
      emulator.server.faults.skipBookDeltas('BTCUSDT', 1);
      makerOrder('buy', '59100', '0.5'); // this delta is never sent: a gap
      makerOrder('buy', '59200', '0.25'); // its pu does not match: ccxt must resync
      await eventually(
        'book resynced to the venue truth',
        () => {
          const last = snapshots.at(-1);
          const truth = emulator.exchange.bookSnapshot(BTC, 1000);
          return (
            last !== undefined &&
            last.seq === truth.seq &&
            JSON.stringify(last.bids.map((l) => [l.price.toFixed(), l.size.toFixed()])) ===
              JSON.stringify(truth.bids.map((l) => [l.price.toFixed(), l.size.toFixed()]))
          );
        },
        10_000,
      );
      assert.ok(
        (emulator.server.requestCounts.get('GET /fapi/v1/depth') ?? 0) > depthFetches,
        'a new depth snapshot was fetched after the gap',
      );
      const best = snapshots.at(-1)?.bids[0];
      assert.equal(best?.price.toFixed(), '59200');
      assert.equal(best?.size.toFixed(), '0.25');
    } finally {
      await sub.close();
    }
  });

  test('funding carries the interval the venue states now, and follows a change mid-run', async () => {
    const seen: FundingInfo[] = [];
    const sub = await port.watchMarket([BTC], (e) => {
      if (e.kind === 'funding') seen.push(e);
    });
    try {
      const [first] = await port.fetchFunding([BTC]);
      assert.equal(first?.intervalMs, 8 * HOUR_MS);
      assert.equal(first?.markPrice.toFixed(), '60000');
      assert.equal(first?.nextFundingTimeMs % (8 * HOUR_MS), 0);
      emulator.setFundingIntervalHours(BTC, 4);
      await eventually('streamed funding at 4 h', () => seen.at(-1)?.intervalMs === 4 * HOUR_MS, 5_000);
      const [second] = await port.fetchFunding([BTC]);
      assert.equal(second?.intervalMs, 4 * HOUR_MS);
      assert.equal(second?.nextFundingTimeMs % (4 * HOUR_MS), 0);
      // The emulator scales its rate to the stated interval: the per-hour rate is the same.
      const perHour = (f: FundingInfo) => f.rate.div(f.intervalMs / HOUR_MS);
      assert.equal(perHour(second as FundingInfo).toFixed(8), perHour(first as FundingInfo).toFixed(8));
      const markets = await port.loadMarkets();
      assert.equal(markets[0]?.fundingIntervalMs, 4 * HOUR_MS);
    } finally {
      emulator.setFundingIntervalHours(BTC, 8);
      await sub.close();
    }
  });

  test('an order is placed, partially filled, filled and another canceled; the stream agrees', async () => {
    const events: UserStreamEvent[] = [];
    const sub = await port.watchUserStream((e) => events.push(e));
    try {
      const placed = await port.createOrder({
        clientOrderId: 'life-1',
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'gtc',
        price: new Decimal('60000'),
        size: new Decimal('0.005'),
        reduceOnly: false,
      });
      assert.equal(placed.status, 'accepted');
      assert.equal(placed.clientOrderId, 'life-1');
      const { filled, fills } = await fillInTwoParts(venue, port, BTC, 'life-1', events);
      assert.equal(filled.filled.toFixed(), '0.005');
      assert.equal(filled.avgFillPrice?.toFixed(), '60000');
      assert.deepEqual(
        fills.map((f) => [f.size.toFixed(), f.price.toFixed(), f.liquidity]),
        [
          ['0.002', '60000', 'maker'],
          ['0.003', '60000', 'maker'],
        ],
      );
      // Maker fee 0.02% of each fill's notional, to the last decimal.
      assert.deepEqual(
        fills.map((f) => f.fee.toFixed()),
        ['0.024', '0.036'],
      );

      const resting = await port.createOrder({
        clientOrderId: 'life-2',
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'gtc',
        price: new Decimal('58000'),
        size: new Decimal('0.002'),
        reduceOnly: false,
      });
      assert.equal((await port.fetchOpenOrders(BTC)).map((o) => o.clientOrderId).join(), 'life-2');
      const canceled = await port.cancelOrder({ instrument: BTC, clientOrderId: resting.clientOrderId });
      assert.equal(canceled.status, 'canceled');
      await eventually(
        'cancel streamed',
        () =>
          events.some(
            (e) => e.kind === 'order' && e.order.clientOrderId === 'life-2' && e.order.status === 'canceled',
          ),
        5_000,
      );
    } finally {
      await sub.close();
    }
  });

  test('balances and positions equal the emulator truth', async () => {
    emulator.server.flush();
    const [balance] = await port.fetchBalances();
    const truth = emulator.exchange.balance('main');
    assert.equal(balance?.asset, 'USDT');
    assert.equal(balance?.total.toFixed(), truth.walletBalance.toFixed());
    assert.equal(balance?.equity.toFixed(), truth.equity.toFixed());
    assert.equal(balance?.available.toFixed(), truth.available.toFixed());
    assert.equal(balance?.unrealizedPnl.toFixed(), truth.unrealizedPnl.toFixed());
    assert.equal(truth.walletBalance.toFixed(), '99999.94'); // 100000 - fees 0.024 - 0.036
    const positions = await port.fetchPositions();
    const pos = emulator.exchange.position('main', BTC);
    assert.equal(positions.length, 1);
    assert.equal(positions[0]?.size.toFixed(), pos.size.toFixed());
    assert.equal(positions[0]?.size.toFixed(), '0.005');
    assert.equal(positions[0]?.entryPrice.toFixed(), pos.entryPrice?.toFixed());
    assert.equal(positions[0]?.markPrice.toFixed(), pos.markPrice.toFixed());
    assert.equal(positions[0]?.unrealizedPnl.toFixed(), pos.unrealizedPnl.toFixed());
    assert.equal(positions[0]?.leverage.toFixed(), String(pos.leverage));
    assert.equal(positions[0]?.liquidationPrice?.toFixed(), pos.liquidationPrice?.toFixed());
    assert.ok(port.readiness().find((r) => r.component === 'balance')?.ready);
  });

  test('a wrong signature or key is refused by the emulator', async () => {
    const badSecret = await openPort({ credentials: { apiKey: KEY.apiKey, secret: 'not-the-secret' } });
    await assert.rejects(badSecret.fetchBalances(), (err: unknown) => {
      assert.ok(err instanceof VenueRejectedError);
      assert.equal(err.reason, 'authentication');
      assert.match(err.message, /-1022/);
      assert.doesNotMatch(err.message, /not-the-secret/);
      return true;
    });
    const badKey = await openPort({ credentials: { apiKey: 'nobody', secret: KEY.secret } });
    await assert.rejects(
      badKey.fetchPositions(),
      (err: unknown) => err instanceof VenueRejectedError && /-2015/.test(err.message),
    );
  });

  test('a websocket drop during fills: after the reconnect every fill is delivered once', async () => {
    const fills: VenueFill[] = [];
    let witnessed = false;
    const sub = await port.watchUserStream((e) => {
      if (e.kind === 'fill' && e.fill.clientOrderId === 'drop-1') fills.push(e.fill);
      if (e.kind === 'fill' && e.fill.clientOrderId === 'drop-witness') witnessed = true;
    });
    try {
      await port.createOrder({
        clientOrderId: 'drop-1',
        instrument: BTC,
        side: 'sell',
        type: 'limit',
        timeInForce: 'gtc',
        price: new Decimal('60500'),
        size: new Decimal('0.008'),
        reduceOnly: false,
      });
      const fillAgainst = () => venue.makerOrder('buy', '60500', '0.002', 'ioc');
      fillAgainst();
      await eventually('first fill live', () => fills.length === 1, 5_000);
      emulator.server.dropWebSockets();
      fillAgainst(); // while the stream is down
      fillAgainst();
      await eventually('missed fills caught up', () => fills.length === 3, 10_000);
      fillAgainst(); // after the reconnect
      await eventually('live again', () => fills.length === 4, 5_000);
      // A later fill on the same private socket and through the same delivery path: once it
      // is delivered, any duplicate of an earlier fill has been delivered too.
      await port.createOrder({
        clientOrderId: 'drop-witness',
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'ioc',
        price: new Decimal('61000'),
        size: new Decimal('0.002'),
        reduceOnly: false,
      });
      await eventually('a later fill delivered', () => witnessed, 5_000);
      assert.equal(new Set(fills.map((f) => f.tradeId)).size, 4);
      assert.equal(fills.length, 4);
      assert.equal(fills.reduce((s, f) => s.plus(f.size), new Decimal(0)).toFixed(), '0.008');
    } finally {
      await sub.close();
    }
  });

  test('a create that times out after the venue accepted it: found by client id, nothing resent', async () => {
    const slow = await openPort({ callTimeoutMs: 800 });
    const before = emulator.server.requestCounts.get('POST /fapi/v1/order') ?? 0;
    emulator.server.faults.inject({ kind: 'timeout-after-accept', method: 'POST', path: '/fapi/v1/order' });
    await assert.rejects(
      slow.createOrder({
        clientOrderId: 'timeout-1',
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'gtc',
        price: new Decimal('57000'),
        size: new Decimal('0.002'),
        reduceOnly: false,
      }),
      VenueUnknownOutcomeError,
    );
    const found = await slow.fetchOrder({ instrument: BTC, clientOrderId: 'timeout-1' });
    assert.equal(found?.status, 'accepted');
    assert.equal(emulator.server.requestCounts.get('POST /fapi/v1/order'), before + 1);
    assert.equal(
      emulator.exchange.openOrders('main', BTC).filter((o) => o.clientOrderId === 'timeout-1').length,
      1,
    );
    await slow.cancelOrder({ instrument: BTC, clientOrderId: 'timeout-1' });
  });

  test('429 is rate-limited; a 5xx on create is an unknown outcome', async () => {
    emulator.server.faults.inject({ kind: 'rate-limit', path: '/fapi/v2/positionRisk' });
    await assert.rejects(port.fetchPositions(), RateLimitedError);
    emulator.server.faults.inject({ kind: 'server-error', method: 'POST', path: '/fapi/v1/order' });
    await assert.rejects(
      port.createOrder({
        clientOrderId: 'fivexx-1',
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'gtc',
        price: new Decimal('57000'),
        size: new Decimal('0.002'),
        reduceOnly: false,
      }),
      VenueUnknownOutcomeError,
    );
    assert.equal(await port.fetchOrder({ instrument: BTC, clientOrderId: 'fivexx-1' }), undefined);
  });

  test('a venue that does not answer at open: the port opens, not ready, with the reason', async () => {
    const down = await openPort({
      endpoints: { testnet: false, baseUrl: 'http://127.0.0.1:9', wsUrl: 'ws://127.0.0.1:9/ws' },
      callTimeoutMs: 1_000,
    });
    const markets = down.readiness().find((r) => r.component === 'markets');
    const link = down.readiness().find((r) => r.component === 'link');
    assert.equal(markets?.ready, false);
    assert.match(markets?.reason ?? '', /cannot load markets/);
    assert.equal(link?.ready, false);
    assert.match(link?.reason ?? '', /reachable/);
  });

  test('a public port has no keys and refuses account calls', async () => {
    const pub = await openPort({ account: '', credentials: undefined });
    assert.equal((await pub.fetchFunding([BTC]))[0]?.instrument, BTC);
    await assert.rejects(pub.fetchBalances(), /public market data only/);
  });
});
