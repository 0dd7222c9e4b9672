/**
 * Binance checks every signed request's `timestamp` against its own clock (at most 1 s
 * ahead, at most recvWindow behind: -1021 otherwise). Against an emulator whose clock is
 * behind ours by 1.5 s, or ahead by 12 s (beyond ccxt's 10 s recvWindow), the adapter's
 * signed calls must still be answered: it measures the venue's clock offset.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { BinanceUsdmEmulator, bareMarket, binanceusdmSimConfig } from '@perpmesh/emulators';
import { EmulatedVenue } from '../ccxt/venue-scenarios.test-helper.js';
import { binanceusdmProfile } from './profile.js';

const BTC = 'BTC-USDT-PERP';
const KEY = { apiKey: 'emu-key-clock', secret: 'emu-secret-clock' };
const venues: EmulatedVenue<BinanceUsdmEmulator>[] = [];

after(() => Promise.all(venues.map((v) => v.close())));

async function venueWithClockSkew(skewMs: number): Promise<EmulatedVenue<BinanceUsdmEmulator>> {
  const market = bareMarket(binanceusdmSimConfig('binanceusdm', 'USDT'), Date.now() + skewMs, skewMs);
  market.exchange.setPrices(BTC, { markPrice: '60000', indexPrice: '60000' });
  const emulator = new BinanceUsdmEmulator({
    market,
    apiKeys: [{ ...KEY, accountId: 'main', deposit: '1000' }],
    stepIntervalMs: 50,
  });
  const venue = await EmulatedVenue.start(emulator, BTC, {
    venue: 'binanceusdm',
    profile: binanceusdmProfile,
    credentials: KEY,
  });
  venues.push(venue);
  return venue;
}

describe('binanceusdm against a venue clock skewed from ours', () => {
  for (const skewMs of [-1_500, 12_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by ${Math.abs(skewMs)} ms: signed calls answered`, async () => {
      const venue = await venueWithClockSkew(skewMs);
      const port = await venue.openPort();
      const balances = await port.fetchBalances();
      assert.equal(balances.find((b) => b.asset === 'USDT')?.total.toFixed(), '1000');
      assert.deepEqual(await port.fetchOpenOrders(), []);
      // The measured offset (`/fapi/v1/time`), as the metric and venue deadlines see it.
      const clock = port.clockOffset();
      assert.ok(clock, 'measured at open');
      assert.ok(Math.abs(clock.offsetMs - skewMs) <= clock.uncertaintyMs + 60, JSON.stringify(clock));
    });
  }
});
