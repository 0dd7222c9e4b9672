/**
 * Hyperliquid through the real ccxt code path against the local emulator (127.0.0.1):
 * markets, the streamed book, hourly funding, the account, an order's life, EIP-712
 * signing checked by recovering the signer, our nonces under 20 concurrent orders and
 * cancels, a websocket drop during fills, and the scheduled cancel-all on a venue clock 3 s
 * ahead of ours and 3 s behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import { HyperliquidEmulator, hyperliquidAddressOf, hyperliquidSimConfig } from '@perpmesh/emulators';
import { eventually } from '@perpmesh/testing';
import type { CcxtVenuePort, CcxtVenuePortOptions } from '../ccxt/port.js';
import { EmulatedVenue, fillInTwoParts, makerMarket } from '../ccxt/venue-scenarios.test-helper.js';
import { VenueRejectedError } from '../errors.js';
import type { BookSnapshot, PlaceOrderRequest, UserStreamEvent, VenueFill } from '../port.js';
import { hyperliquidProfile } from './profile.js';

const BTC = 'BTC-USDC-PERP';
const PRIVATE_KEY = `0x${'11'.repeat(32)}`;
const STRANGER_KEY = `0x${'22'.repeat(32)}`;
const WALLET = hyperliquidAddressOf(PRIVATE_KEY);
const HOUR_MS = 3_600_000;

let emulator: HyperliquidEmulator;
let venue: EmulatedVenue<HyperliquidEmulator>;
let port: CcxtVenuePort;
let nextNonce = Date.now();

const openPort = (overrides: Partial<CcxtVenuePortOptions> = {}) => venue.openPort(overrides);
const makerOrder = (side: 'buy' | 'sell', price: string, size: string, tif: 'gtc' | 'ioc' = 'gtc') =>
  venue.makerOrder(side, price, size, tif);

/** A nonce as execution allocates them for this venue: strictly increasing, never below the clock. */
function allocateNonce(): bigint {
  nextNonce = Math.max(nextNonce + 1, Date.now());
  return BigInt(nextNonce);
}

function order(clientOrderId: string, side: 'buy' | 'sell', price: string, size: string): PlaceOrderRequest {
  return {
    clientOrderId,
    instrument: BTC,
    side,
    type: 'limit',
    timeInForce: 'gtc',
    price: new Decimal(price),
    size: new Decimal(size),
    reduceOnly: false,
    nonce: allocateNonce(),
  };
}

before(async () => {
  emulator = new HyperliquidEmulator({
    market: makerMarket(hyperliquidSimConfig(), BTC, { markPrice: '60000', indexPrice: '59990' }),
    users: [{ address: WALLET, accountId: 'main', deposit: '100000' }],
    stepIntervalMs: 50,
  });
  venue = await EmulatedVenue.start(emulator, BTC, {
    venue: 'hyperliquid',
    profile: hyperliquidProfile,
    credentials: { walletAddress: WALLET, privateKey: PRIVATE_KEY },
    fundingPollMs: 200,
    budget: { capacity: 100, perSecond: 100, maxWaitMs: 5_000 },
  });
  makerOrder('buy', '59000', '1');
  makerOrder('sell', '61000', '1');
  port = await openPort();
});

after(() => venue.close());

describe('hyperliquid through ccxt against the emulator', () => {
  test('markets load: 5 size decimals, the 5-significant-digit tick, 1 h funding', async () => {
    const [btc] = await port.loadMarkets();
    assert.equal(btc?.instrument, BTC);
    assert.equal(btc?.venueSymbol, 'BTC');
    assert.equal(btc?.settle, 'USDC');
    assert.equal(btc?.lotSize.toFixed(), '0.00001');
    assert.equal(btc?.tickSize.toFixed(), '1');
    assert.equal(btc?.maxLeverage.toFixed(), '40');
    assert.equal(btc?.fundingIntervalMs, HOUR_MS);
  });

  test('the book streams and follows the venue', async () => {
    const snapshots: BookSnapshot[] = [];
    const sub = await port.watchMarket([BTC], (e) => {
      if (e.kind === 'snapshot') snapshots.push(e);
    });
    try {
      makerOrder('buy', '59500', '0.25');
      await eventually(
        'new best bid streamed',
        () => snapshots.at(-1)?.bids[0]?.price.toFixed() === '59500',
        5_000,
      );
      assert.equal(snapshots.at(-1)?.bids[0]?.size.toFixed(), '0.25');
      assert.equal(snapshots.at(-1)?.asks[0]?.price.toFixed(), '61000');
    } finally {
      await sub.close();
    }
  });

  test('funding: the hourly rate with its 1 h interval and the next hour', async () => {
    const [f] = await port.fetchFunding([BTC]);
    const truth = emulator.exchange.funding(BTC);
    assert.equal(f?.intervalMs, HOUR_MS);
    assert.equal(f?.rate.toFixed(), truth?.predictedRate.toFixed());
    assert.equal(f?.markPrice.toFixed(), '60000');
    assert.equal(f?.indexPrice.toFixed(), '59990');
    assert.equal((f?.nextFundingTimeMs ?? 1) % HOUR_MS, 0);
  });

  test('an order is placed, partially filled, filled; another canceled; the stream agrees', async () => {
    const events: UserStreamEvent[] = [];
    const sub = await port.watchUserStream((e) => events.push(e));
    try {
      const placed = await port.createOrder(order('hl-life-1', 'buy', '60000', '0.005'));
      assert.equal(placed.status, 'accepted');
      const { filled, fills } = await fillInTwoParts(venue, port, BTC, 'hl-life-1', events);
      assert.equal(filled.clientOrderId, 'hl-life-1');
      assert.equal(filled.filled.toFixed(), '0.005');
      assert.deepEqual(
        fills.map((f) => [f.size.toFixed(), f.fee.toFixed(), f.liquidity]),
        [
          ['0.002', '0.018', 'maker'],
          ['0.003', '0.027', 'maker'],
        ],
      );
      await port.createOrder(order('hl-life-2', 'buy', '58000', '0.002'));
      const canceled = await port.cancelOrder(
        { instrument: BTC, clientOrderId: 'hl-life-2' },
        { nonce: allocateNonce() },
      );
      assert.equal(canceled.status, 'canceled');
      assert.equal(canceled.clientOrderId, 'hl-life-2');
    } finally {
      await sub.close();
    }
  });

  test('balances and positions equal the emulator truth', async () => {
    emulator.server.flush();
    const [balance] = await port.fetchBalances();
    const truth = emulator.exchange.balance('main');
    assert.equal(balance?.asset, 'USDC');
    assert.equal(balance?.equity.toFixed(), truth.equity.toFixed());
    assert.equal(balance?.total.toFixed(), truth.walletBalance.toFixed());
    assert.equal(balance?.available.toFixed(), truth.available.toFixed());
    assert.equal(truth.walletBalance.toFixed(), '99999.955');
    const [position] = await port.fetchPositions();
    const pos = emulator.exchange.position('main', BTC);
    assert.equal(position?.size.toFixed(), '0.005');
    assert.equal(position?.entryPrice.toFixed(), pos.entryPrice?.toFixed());
    assert.equal(position?.markPrice.toFixed(), pos.markPrice.toFixed());
    assert.equal(position?.unrealizedPnl.toFixed(), pos.unrealizedPnl.toFixed());
    assert.equal(position?.leverage.toFixed(), String(pos.leverage));
    assert.equal(position?.liquidationPrice?.toFixed(), pos.liquidationPrice?.toFixed());
  });

  test('an action signed by a key the venue does not know is refused (the signer is recovered)', async () => {
    const stranger = await openPort({ credentials: { walletAddress: WALLET, privateKey: STRANGER_KEY } });
    await assert.rejects(
      stranger.createOrder(order('hl-stranger', 'buy', '58000', '0.002')),
      (err: unknown) => {
        assert.ok(err instanceof VenueRejectedError, String(err));
        assert.equal(err.reason, 'authentication');
        assert.match(err.message, new RegExp(hyperliquidAddressOf(STRANGER_KEY), 'i'));
        return true;
      },
    );
    assert.equal(
      emulator.exchange.getOrder('main', {
        clientOrderId: hyperliquidProfile.clientOrderIds.encode('hl-stranger'),
      }),
      undefined,
    );
  });

  test('20 concurrent orders and cancels: every nonce distinct, every order ours', async () => {
    const signer = WALLET.toLowerCase();
    const before = emulator.acceptedNonces.get(signer)?.length ?? 0;
    const requests = Array.from({ length: 20 }, (_, i) =>
      order(`hl-burst-${i}`, 'buy', String(57000 + i), '0.001'),
    );
    const placed = await Promise.all(requests.map((r) => port.createOrder(r)));
    assert.equal(new Set(placed.map((o) => o.venueOrderId)).size, 20);
    const cancelNonces = placed.map(() => allocateNonce());
    await Promise.all(
      placed.map((o, i) =>
        port.cancelOrder({ instrument: BTC, venueOrderId: o.venueOrderId }, { nonce: cancelNonces[i] }),
      ),
    );
    const nonces = (emulator.acceptedNonces.get(signer) ?? []).slice(before);
    assert.equal(nonces.length, 40);
    assert.equal(new Set(nonces).size, 40);
    // Orders and cancels signed with exactly the nonces execution allocated, none of the clock's.
    assert.deepEqual(nonces.slice(0, 20).sort(), requests.map((r) => Number(r.nonce)).sort());
    assert.deepEqual(nonces.slice(20).sort(), cancelNonces.map(Number).sort());
    assert.equal(emulator.exchange.openOrders('main', BTC).length, 0);
  });

  test('20 orders and cancels interleaved concurrently: each signed with the nonce it brought', async () => {
    const signer = WALLET.toLowerCase();
    const requests = Array.from({ length: 20 }, (_, i) =>
      order(`hl-mix-${i}`, 'buy', String(56000 + i), '0.001'),
    );
    const first = await Promise.all(requests.slice(0, 10).map((r) => port.createOrder(r)));
    const before = emulator.acceptedNonces.get(signer)?.length ?? 0;
    const cancelNonces = first.map(() => allocateNonce());
    // The second ten orders race the cancels of the first ten.
    await Promise.all([
      ...requests.slice(10).map((r) => port.createOrder(r)),
      ...first.map((o, i) =>
        port.cancelOrder({ instrument: BTC, venueOrderId: o.venueOrderId }, { nonce: cancelNonces[i] }),
      ),
    ]);
    const nonces = (emulator.acceptedNonces.get(signer) ?? []).slice(before);
    const passed = [...requests.slice(10).map((r) => Number(r.nonce)), ...cancelNonces.map(Number)];
    assert.deepEqual([...nonces].sort(), passed.sort());
    await port.cancelAllOrders(BTC, { nonce: allocateNonce() });
    assert.equal(emulator.exchange.openOrders('main', BTC).length, 0);
  });

  test('a cancel without a nonce is refused before anything is signed', async () => {
    const signer = WALLET.toLowerCase();
    const before = emulator.acceptedNonces.get(signer)?.length ?? 0;
    await assert.rejects(port.cancelOrder({ instrument: BTC, venueOrderId: '1' }), (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.equal(err.field, 'nonce');
      return true;
    });
    assert.equal(emulator.acceptedNonces.get(signer)?.length ?? 0, before);
  });

  test('leverage is set with the nonce passed (updateLeverage)', async () => {
    assert.equal(port.capabilities.setLeverage, true);
    const nonce = allocateNonce();
    await port.setLeverage(BTC, new Decimal(7), { nonce });
    assert.ok(emulator.acceptedNonces.get(WALLET.toLowerCase())?.includes(Number(nonce)));
    assert.equal(emulator.exchange.position('main', BTC).leverage, 7);
    await assert.rejects(
      port.setLeverage(BTC, new Decimal('2.5'), { nonce: allocateNonce() }),
      ValidationError,
    );
  });

  test('the scheduled cancel-all (scheduleCancel) arms, moves and disarms', async () => {
    assert.equal(port.capabilities.scheduleCancelAll, true);
    assert.equal(port.capabilities.scheduleCancelAllMinMs, 5_000);
    await port.scheduleCancelAll(60_000, { nonce: allocateNonce() });
    const armed = emulator.exchange.cancelAllDeadline('main');
    assert.ok(armed !== undefined && armed > Date.now() + 50_000, String(armed));
    await assert.rejects(port.scheduleCancelAll(1_000, { nonce: allocateNonce() }), ValidationError);
    await port.scheduleCancelAll(0, { nonce: allocateNonce() });
    assert.equal(emulator.exchange.cancelAllDeadline('main'), undefined);
  });

  test('a websocket drop during fills: every fill delivered once after the reconnect', async () => {
    const fills: VenueFill[] = [];
    const sub = await port.watchUserStream((e) => {
      if (e.kind === 'fill' && e.fill.clientOrderId === 'hl-drop-1') fills.push(e.fill);
    });
    try {
      await port.createOrder(order('hl-drop-1', 'sell', '60500', '0.004'));
      makerOrder('buy', '60500', '0.001', 'ioc');
      await eventually('first fill live', () => fills.length === 1, 5_000);
      emulator.server.dropWebSockets();
      makerOrder('buy', '60500', '0.001', 'ioc');
      makerOrder('buy', '60500', '0.001', 'ioc');
      await eventually('missed fills caught up', () => fills.length === 3, 10_000);
      makerOrder('buy', '60500', '0.001', 'ioc');
      await eventually('live again', () => fills.length === 4, 5_000);
      assert.equal(new Set(fills.map((f) => f.tradeId)).size, 4);
    } finally {
      await sub.close();
    }
  });
});

/**
 * Hyperliquid holds a scheduled cancel-all's `time` against its own clock: refused when less
 * than 5 s after its now, fired when its clock reaches it. Against an emulator whose clock is
 * 3 s ahead of ours or 3 s behind, the adapter measures the offset (`exchangeStatus` time)
 * and asks for a deadline on the venue's clock: the 5 s minimum is accepted and fires 5 s on,
 * not early (ahead) and not 3 s late (behind).
 */
describe('hyperliquid scheduled cancel-all against a venue clock skewed from ours', () => {
  for (const skewMs of [3_000, -3_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by 3 s: the 5 s schedule is accepted and fires 5 s on`, async () => {
      const skewed = await EmulatedVenue.start(
        new HyperliquidEmulator({
          market: makerMarket(
            hyperliquidSimConfig(),
            BTC,
            { markPrice: '60000', indexPrice: '59990' },
            skewMs,
          ),
          users: [{ address: WALLET, accountId: 'main', deposit: '100000' }],
          stepIntervalMs: 50,
        }),
        BTC,
        {
          venue: 'hyperliquid',
          profile: hyperliquidProfile,
          credentials: { walletAddress: WALLET, privateKey: PRIVATE_KEY },
          budget: { capacity: 100, perSecond: 100, maxWaitMs: 5_000 },
        },
      );
      try {
        const p = await skewed.openPort();
        const offset = p.clockOffset();
        assert.ok(offset, 'measured at open');
        assert.ok(Math.abs(offset.offsetMs - skewMs) <= offset.uncertaintyMs + 60, JSON.stringify(offset));
        const id = `hl-clock-${skewMs > 0 ? 'ahead' : 'behind'}-${process.pid}`;
        await p.createOrder(order(id, 'buy', '58000', '0.001'));
        const armedAtMs = Date.now();
        await p.scheduleCancelAll(5_000, { nonce: allocateNonce() });
        const answeredAtMs = Date.now();
        const deadline = skewed.emulator.exchange.cancelAllDeadline('main');
        assert.ok(deadline !== undefined, 'armed');
        // On the venue's clock: never before 5 s after we asked (the emulator's exchange clock
        // trails its venue clock by a step, 50 ms, more when loaded); late by at most the
        // transit allowance near the minimum (500 ms), the measure's uncertainty (twice) and the call.
        const afterArming = `deadline ${deadline - (armedAtMs + skewMs)} ms after arming (${JSON.stringify(offset)})`;
        assert.ok(deadline >= armedAtMs + skewMs + 5_000 - 250, afterArming);
        assert.ok(deadline <= answeredAtMs + skewMs + 5_500 + 2 * offset.uncertaintyMs + 60, afterArming);
        await eventually(
          'canceled by the switch',
          async () => (await p.fetchOrder({ instrument: BTC, clientOrderId: id }))?.status === 'canceled',
          { timeoutMs: 15_000, intervalMs: 200 },
        );
        assert.equal(skewed.emulator.exchange.cancelAllDeadline('main'), undefined, 'fired');
      } finally {
        await skewed.close();
      }
    });
  }
});
