/**
 * Hyperliquid account events the venue makes on its own, through ccxt against the
 * emulator: a liquidation's fill (a `userFills` row carrying `liquidation`) arrives on the
 * user stream as `origin: 'liquidation'` with no client id of ours, and the position is gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import { HyperliquidEmulator, hyperliquidAddressOf, hyperliquidSimConfig } from '@perpmesh/emulators';
import { eventually } from '@perpmesh/testing';
import type { CcxtVenuePort } from '../ccxt/port.js';
import { EmulatedVenue, makerMarket } from '../ccxt/venue-scenarios.test-helper.js';
import type { VenueFill } from '../port.js';
import { hyperliquidProfile } from './profile.js';

const BTC = 'BTC-USDC-PERP';
const PRIVATE_KEY = `0x${'33'.repeat(32)}`;
const WALLET = hyperliquidAddressOf(PRIVATE_KEY);

let emulator: HyperliquidEmulator;
let venue: EmulatedVenue<HyperliquidEmulator>;
let port: CcxtVenuePort;
let nonce = Date.now();
const nextNonce = () => {
  nonce = Math.max(nonce + 1, Date.now());
  return BigInt(nonce);
};

before(async () => {
  emulator = new HyperliquidEmulator({
    market: makerMarket(hyperliquidSimConfig(), BTC, { markPrice: '60000', indexPrice: '60000' }),
    users: [{ address: WALLET, accountId: 'main', deposit: '1000' }],
    stepIntervalMs: 50,
  });
  venue = await EmulatedVenue.start(emulator, BTC, {
    venue: 'hyperliquid',
    profile: hyperliquidProfile,
    credentials: { walletAddress: WALLET, privateKey: PRIVATE_KEY },
  });
  port = await venue.openPort();
});

after(() => venue.close());

describe('hyperliquid account events made by the venue', () => {
  test('a liquidation: its fill is origin liquidation, no client id of ours, and the position is gone', async () => {
    assert.equal(port.capabilities.venueFills, true);
    await port.setLeverage(BTC, new Decimal(10), { nonce: nextNonce() });
    venue.makerOrder('sell', '60000', '0.1');
    const fills: VenueFill[] = [];
    const sub = await port.watchUserStream((e) => {
      if (e.kind === 'fill') fills.push(e.fill);
    });
    try {
      await port.createOrder({
        clientOrderId: 'hl-acct-long',
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'ioc',
        price: new Decimal('60000'),
        size: new Decimal('0.1'),
        reduceOnly: false,
        nonce: nextNonce(),
      });
      await eventually('our fill', () => fills.find((f) => f.clientOrderId === 'hl-acct-long'), 5_000);
      assert.equal((await port.fetchPositions())[0]?.size.toFixed(), '0.1');
      emulator.exchange.setPrices(BTC, { markPrice: '50000', indexPrice: '50000' });
      emulator.server.flush();
      const liquidation = await eventually(
        'liquidation fill',
        () => fills.find((f) => f.origin === 'liquidation'),
        5_000,
      );
      assert.equal(liquidation.clientOrderId, '');
      assert.equal(liquidation.side, 'sell');
      assert.equal(liquidation.size.toFixed(), '0.1');
      assert.deepEqual(await port.fetchPositions(), []);
      // The same fill read back over REST is the venue's too.
      const rest = (await port.fetchFills(0)).find((f) => f.tradeId === liquidation.tradeId);
      assert.equal(rest?.origin, 'liquidation');
      assert.equal(rest?.clientOrderId, '');
    } finally {
      await sub.close();
    }
  });
});
