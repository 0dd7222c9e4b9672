/**
 * Binance USD-M account events the venue makes on its own, through ccxt against the
 * emulator: funding settled while nobody listened is read back from the venue's history,
 * and a liquidation's fill arrives on the user stream with the position gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import { BinanceUsdmEmulator, binanceusdmSimConfig } from '@perpmesh/emulators';
import { eventually } from '@perpmesh/testing';
import type { CcxtVenuePort } from '../ccxt/port.js';
import {
  EmulatedVenue,
  FUNDING_EVERY_SECOND,
  holdLongWhileFundingSettles,
  makerMarket,
} from '../ccxt/venue-scenarios.test-helper.js';
import type { VenueFill } from '../port.js';
import { binanceusdmProfile } from './profile.js';

const BTC = 'BTC-USDT-PERP';
const KEY = { apiKey: 'emu-key-acct', secret: 'emu-secret-acct' };

let emulator: BinanceUsdmEmulator;
let venue: EmulatedVenue<BinanceUsdmEmulator>;
let port: CcxtVenuePort;

before(async () => {
  const config = binanceusdmSimConfig('binanceusdm', 'USDT', { funding: FUNDING_EVERY_SECOND });
  emulator = new BinanceUsdmEmulator({
    market: makerMarket(config, BTC, { markPrice: '60000', indexPrice: '60000' }),
    apiKeys: [{ ...KEY, accountId: 'main', deposit: '1000' }],
    stepIntervalMs: 50,
  });
  venue = await EmulatedVenue.start(emulator, BTC, {
    venue: 'binanceusdm',
    profile: binanceusdmProfile,
    credentials: KEY,
  });
  port = await venue.openPort();
});

after(() => venue.close());

describe('binanceusdm account events made by the venue', () => {
  test('funding paid while nobody listened is recovered from the venue history', async () => {
    assert.equal(port.capabilities.fundingHistory, true);
    const since = await holdLongWhileFundingSettles(venue, port, BTC, 'acct-long-1');
    const payments = await port.fetchFundingPayments(since);
    assert.ok(payments.length >= 2, `payments: ${payments.length}`);
    assert.ok(payments.every((p) => p.instrument === BTC && p.amount.isNeg()));
    const truth = emulator.exchange.balance('main').fundingNet;
    const sum = payments.reduce((s, p) => s.plus(p.amount), new Decimal(0));
    // Settlements may land between the two readings; the history never has more than the truth.
    assert.ok(sum.gte(truth), `history ${sum.toFixed()} vs venue ${truth.toFixed()}`);
    assert.ok(sum.lt(0));
  });

  test('a liquidation: its fill arrives on the user stream and the position is gone', async () => {
    const fills: VenueFill[] = [];
    const sub = await port.watchUserStream((e) => {
      if (e.kind === 'fill') fills.push(e.fill);
    });
    try {
      assert.equal((await port.fetchPositions())[0]?.size.toFixed(), '0.1');
      emulator.exchange.setPrices(BTC, { markPrice: '50000', indexPrice: '50000' });
      emulator.server.flush();
      assert.equal(port.capabilities.venueFills, true);
      const liquidation = await eventually(
        'liquidation fill',
        () => fills.find((f) => f.origin === 'liquidation'),
        5_000,
      );
      // The venue's `autoclose-<tradeId>` order is none of ours: no client id of ours.
      assert.equal(liquidation.clientOrderId, '');
      assert.equal(liquidation.side, 'sell');
      assert.equal(liquidation.size.toFixed(), '0.1');
      assert.equal(liquidation.price.toFixed(), '50000');
      assert.deepEqual(await port.fetchPositions(), []);
      assert.ok(fills.every((f) => !f.clientOrderId.startsWith('autoclose-')));
      // The same fill read back over REST (userTrades has no client id: the order's says it).
      const rest = (await port.fetchFills(0)).find((f) => f.tradeId === liquidation.tradeId);
      assert.equal(rest?.origin, 'liquidation');
      assert.equal(rest?.clientOrderId, '');
    } finally {
      await sub.close();
    }
  });

  test('leverage is set per symbol (POST /fapi/v1/leverage)', async () => {
    assert.equal(port.capabilities.setLeverage, true);
    await port.setLeverage(BTC, new Decimal(5));
    assert.equal(emulator.exchange.position('main', BTC).leverage, 5);
    await assert.rejects(port.setLeverage(BTC, new Decimal(0)), ValidationError);
  });

  test('the dead-man switch (countdownCancelAll) arms and disarms', async () => {
    assert.equal(port.capabilities.scheduleCancelAll, true);
    await port.scheduleCancelAll(60_000);
    const armed = emulator.exchange.cancelAllDeadline('main');
    assert.ok(armed !== undefined && armed > Date.now() + 50_000, String(armed));
    await port.scheduleCancelAll(0);
    assert.equal(emulator.exchange.cancelAllDeadline('main'), undefined);
  });
});
