/**
 * OKX swaps through the real ccxt code path against the local emulator (127.0.0.1):
 * markets in contracts, the book, funding with the interval OKX states (changed mid-run),
 * the account, an order's life with our client ids, signing with key + passphrase, and a
 * create that timed out after the venue accepted it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import { OkxEmulator, okxSimConfig } from '@perpmesh/emulators';
import { eventually } from '@perpmesh/testing';
import type { CcxtVenuePort, CcxtVenuePortOptions } from '../ccxt/port.js';
import { EmulatedVenue, fillInTwoParts, makerMarket } from '../ccxt/venue-scenarios.test-helper.js';
import { VenueRejectedError, VenueUnknownOutcomeError } from '../errors.js';
import type { BookSnapshot, PlaceOrderRequest, UserStreamEvent } from '../port.js';
import { okxProfile } from './profile.js';

const BTC = 'BTC-USDT-PERP';
const KEY = { apiKey: 'emu-okx-key', secret: 'emu-okx-secret', passphrase: 'emu-okx-pass' };
const HOUR_MS = 3_600_000;

let emulator: OkxEmulator;
let venue: EmulatedVenue<OkxEmulator>;
let port: CcxtVenuePort;

const openPort = (overrides: Partial<CcxtVenuePortOptions> = {}) => venue.openPort(overrides);
const makerOrder = (side: 'buy' | 'sell', price: string, size: string) => venue.makerOrder(side, price, size);

const order = (
  clientOrderId: string,
  side: 'buy' | 'sell',
  price: string,
  size: string,
): PlaceOrderRequest => ({
  clientOrderId,
  instrument: BTC,
  side,
  type: 'limit',
  timeInForce: 'gtc',
  price: new Decimal(price),
  size: new Decimal(size),
  reduceOnly: false,
});

before(async () => {
  emulator = new OkxEmulator({
    market: makerMarket(okxSimConfig(), BTC, { markPrice: '60000', indexPrice: '59995' }),
    apiKeys: [{ ...KEY, accountId: 'main', deposit: '100000' }],
    stepIntervalMs: 50,
  });
  venue = await EmulatedVenue.start(emulator, BTC, {
    venue: 'okx',
    profile: okxProfile,
    credentials: okxProfile.credentials(KEY, {}),
    fundingPollMs: 200,
  });
  makerOrder('buy', '59000', '1');
  makerOrder('sell', '61000', '1');
  port = await openPort();
});

after(() => venue.close());

describe('okx through ccxt against the emulator', () => {
  test('markets load: contracts turned into base units, 8 h funding', async () => {
    const [btc] = await port.loadMarkets();
    assert.equal(btc?.venueSymbol, 'BTC-USDT-SWAP');
    assert.equal(btc?.tickSize.toFixed(), '0.1');
    assert.equal(btc?.lotSize.toFixed(), '0.0001');
    assert.equal(btc?.fundingIntervalMs, 8 * HOUR_MS);
  });

  test('the book streams in base units and follows the venue', async () => {
    const snapshots: BookSnapshot[] = [];
    const sub = await port.watchMarket([BTC], (e) => {
      if (e.kind === 'snapshot') snapshots.push(e);
    });
    try {
      makerOrder('buy', '59500', '0.25');
      await eventually('new best bid', () => snapshots.at(-1)?.bids[0]?.price.toFixed() === '59500', 5_000);
      assert.equal(snapshots.at(-1)?.bids[0]?.size.toFixed(), '0.25');
    } finally {
      await sub.close();
    }
  });

  test('funding: the interval is nextFundingTime - fundingTime, and follows a change', async () => {
    const [first] = await port.fetchFunding([BTC]);
    assert.equal(first?.intervalMs, 8 * HOUR_MS);
    assert.equal(first?.markPrice.toFixed(), '60000');
    assert.equal(first?.indexPrice.toFixed(), '59995');
    emulator.setFundingIntervalHours(BTC, 2);
    const [second] = await port.fetchFunding([BTC]);
    assert.equal(second?.intervalMs, 2 * HOUR_MS);
    assert.equal((second?.nextFundingTimeMs ?? 1) % (2 * HOUR_MS), 0);
    emulator.setFundingIntervalHours(BTC, 8);
  });

  test('an order is placed, partially filled, filled; another canceled; stream and account agree', async () => {
    const events: UserStreamEvent[] = [];
    const sub = await port.watchUserStream((e) => events.push(e));
    try {
      const placed = await port.createOrder(order('okx-life_1', 'buy', '60000', '0.005'));
      assert.equal(placed.status, 'accepted');
      const { filled, fills } = await fillInTwoParts(venue, port, BTC, 'okx-life_1', events);
      assert.equal(filled.clientOrderId, 'okx-life_1');
      assert.equal(filled.filled.toFixed(), '0.005');
      assert.deepEqual(
        fills.map((f) => [f.size.toFixed(), f.fee.toFixed(), f.liquidity]),
        [
          ['0.002', '0.024', 'maker'],
          ['0.003', '0.036', 'maker'],
        ],
      );
      await port.createOrder(order('okx-life_2', 'buy', '58000', '0.002'));
      const canceled = await port.cancelOrder({ instrument: BTC, clientOrderId: 'okx-life_2' });
      assert.equal(canceled.status, 'canceled');

      const [balance] = await port.fetchBalances();
      const truth = emulator.exchange.balance('main');
      assert.equal(balance?.total.toFixed(), truth.walletBalance.toFixed());
      assert.equal(balance?.equity.toFixed(), truth.equity.toFixed());
      const [position] = await port.fetchPositions();
      assert.equal(position?.size.toFixed(), '0.005');
      assert.equal(
        position?.liquidationPrice?.toFixed(),
        emulator.exchange.position('main', BTC).liquidationPrice?.toFixed(),
      );
    } finally {
      await sub.close();
    }
  });

  test('a wrong signature or passphrase is refused by the emulator', async () => {
    const badSecret = await openPort({
      credentials: okxProfile.credentials({ ...KEY, secret: 'wrong' }, {}),
    });
    await assert.rejects(
      badSecret.fetchBalances(),
      (e: unknown) =>
        e instanceof VenueRejectedError && e.reason === 'authentication' && /50113/.test(e.message),
    );
    const badPass = await openPort({
      credentials: okxProfile.credentials({ ...KEY, passphrase: 'wrong' }, {}),
    });
    await assert.rejects(
      badPass.fetchPositions(),
      (e: unknown) => e instanceof VenueRejectedError && /50105/.test(e.message),
    );
  });

  test('a create that timed out after the venue accepted it: found by client id, nothing resent', async () => {
    const slow = await openPort({ callTimeoutMs: 800 });
    const before = emulator.server.requestCounts.get('POST /api/v5/trade/order') ?? 0;
    emulator.server.faults.inject({
      kind: 'timeout-after-accept',
      method: 'POST',
      path: '/api/v5/trade/order',
    });
    await assert.rejects(
      slow.createOrder(order('okx-timeout', 'buy', '57000', '0.002')),
      VenueUnknownOutcomeError,
    );
    const found = await slow.fetchOrder({ instrument: BTC, clientOrderId: 'okx-timeout' });
    assert.equal(found?.status, 'accepted');
    assert.equal(emulator.server.requestCounts.get('POST /api/v5/trade/order'), before + 1);
  });
});
