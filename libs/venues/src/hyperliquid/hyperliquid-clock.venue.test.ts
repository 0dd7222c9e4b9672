/**
 * Hyperliquid holds a scheduled cancel-all's `time` against its own clock: refused when less
 * than 5 s after its now, fired when its clock reaches it. Against an emulator whose clock is
 * 3 s ahead of ours or 3 s behind, the adapter measures the offset (`exchangeStatus` time)
 * and asks for a deadline on the venue's clock: the 5 s minimum is accepted and fires 5 s on,
 * not early (ahead) and not 3 s late (behind).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import { HyperliquidEmulator, hyperliquidAddressOf, hyperliquidSimConfig } from '@perpmesh/emulators';
import { eventually } from '@perpmesh/testing';
import { EmulatedVenue, makerMarket } from '../ccxt/venue-scenarios.test-helper.js';
import { hyperliquidProfile } from './profile.js';

const BTC = 'BTC-USDC-PERP';
const PRIVATE_KEY = `0x${'33'.repeat(32)}`;
const WALLET = hyperliquidAddressOf(PRIVATE_KEY);
const venues: EmulatedVenue<HyperliquidEmulator>[] = [];
let nextNonce = Date.now();

after(() => Promise.all(venues.map((v) => v.close())));

/** Strictly increasing, never below our clock (as execution allocates them for this venue). */
function allocateNonce(): bigint {
  nextNonce = Math.max(nextNonce + 1, Date.now());
  return BigInt(nextNonce);
}

async function venueWithClockSkew(skewMs: number): Promise<EmulatedVenue<HyperliquidEmulator>> {
  const emulator = new HyperliquidEmulator({
    market: makerMarket(hyperliquidSimConfig(), BTC, { markPrice: '60000', indexPrice: '59990' }, skewMs),
    users: [{ address: WALLET, accountId: 'main', deposit: '100000' }],
    stepIntervalMs: 50,
  });
  const venue = await EmulatedVenue.start(emulator, BTC, {
    venue: 'hyperliquid',
    profile: hyperliquidProfile,
    credentials: { walletAddress: WALLET, privateKey: PRIVATE_KEY },
    budget: { capacity: 100, perSecond: 100, maxWaitMs: 5_000 },
  });
  venues.push(venue);
  return venue;
}

describe('hyperliquid scheduled cancel-all against a venue clock skewed from ours', () => {
  for (const skewMs of [3_000, -3_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by 3 s: the 5 s schedule is accepted and fires 5 s on`, async () => {
      const venue = await venueWithClockSkew(skewMs);
      const port = await venue.openPort();
      const offset = port.clockOffset();
      assert.ok(offset, 'measured at open');
      assert.ok(Math.abs(offset.offsetMs - skewMs) <= offset.uncertaintyMs + 60, JSON.stringify(offset));

      const clientOrderId = `hl-clock-${skewMs}-${process.pid}`;
      await port.createOrder({
        clientOrderId,
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'gtc',
        price: new Decimal('58000'),
        size: new Decimal('0.001'),
        reduceOnly: false,
        nonce: allocateNonce(),
      });
      const armedAtMs = Date.now();
      await port.scheduleCancelAll(5_000, { nonce: allocateNonce() });
      const answeredAtMs = Date.now();
      const deadline = venue.emulator.exchange.cancelAllDeadline('main');
      assert.ok(deadline !== undefined, 'armed');
      // On the venue's clock: never before 5 s after we asked; late by at most the transit
      // allowance near the minimum (500 ms), the measure's uncertainty (twice) and the call.
      const earliest = armedAtMs + skewMs + 5_000 - 250; // the emulator's exchange clock trails its venue clock by a step (50 ms; more when loaded)
      const latest = answeredAtMs + skewMs + 5_500 + 2 * offset.uncertaintyMs + 60;
      assert.ok(deadline >= earliest, `deadline ${deadline - (armedAtMs + skewMs)} ms after arming`);
      assert.ok(deadline <= latest, `deadline ${deadline - (armedAtMs + skewMs)} ms after arming`);

      await eventually(
        'canceled by the switch',
        async () => (await port.fetchOrder({ instrument: BTC, clientOrderId }))?.status === 'canceled',
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      assert.equal(venue.emulator.exchange.cancelAllDeadline('main'), undefined, 'fired');
    });
  }
});
