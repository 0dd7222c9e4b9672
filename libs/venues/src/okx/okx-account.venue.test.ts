/**
 * OKX account controls through ccxt against the emulator: funding settled while nobody
 * listened is read back from `account/bills` (type 8), each payment with its billId;
 * leverage (`account/set-leverage`) and the dead-man switch (`trade/cancel-all-after`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import { OkxEmulator, okxSimConfig } from '@perpmesh/emulators';
import type { CcxtVenuePort } from '../ccxt/port.js';
import {
  EmulatedVenue,
  FUNDING_EVERY_SECOND,
  holdLongWhileFundingSettles,
  makerMarket,
} from '../ccxt/venue-scenarios.test-helper.js';
import { okxProfile } from './profile.js';

const BTC = 'BTC-USDT-PERP';
const KEY = { apiKey: 'emu-okx-acct', secret: 'emu-okx-acct-secret', passphrase: 'emu-okx-acct-pass' };

let emulator: OkxEmulator;
let venue: EmulatedVenue<OkxEmulator>;
let port: CcxtVenuePort;

before(async () => {
  emulator = new OkxEmulator({
    market: makerMarket(okxSimConfig('okx', { funding: FUNDING_EVERY_SECOND }), BTC, {
      markPrice: '60000',
      indexPrice: '60000',
    }),
    apiKeys: [{ ...KEY, accountId: 'main', deposit: '10000' }],
    stepIntervalMs: 50,
  });
  venue = await EmulatedVenue.start(emulator, BTC, {
    venue: 'okx',
    profile: okxProfile,
    credentials: okxProfile.credentials(KEY, {}),
  });
  port = await venue.openPort();
});

after(() => venue.close());

describe('okx account: funding history, leverage, dead-man switch', () => {
  test('funding paid while nobody listened is recovered from the bills', async () => {
    assert.equal(port.capabilities.fundingHistory, true);
    const since = await holdLongWhileFundingSettles(venue, port, BTC, 'okxacctlong1');
    const payments = await port.fetchFundingPayments(since);
    assert.ok(payments.length >= 2, `payments: ${payments.length}`);
    assert.ok(payments.every((p) => p.instrument === BTC && p.amount.isNeg()));
    assert.equal(new Set(payments.map((p) => p.paymentId)).size, payments.length);
    // Sizes in base units (the bill states contracts of 0.01 BTC).
    assert.ok(
      payments.every((p) => p.positionSize.toFixed() === '0.1'),
      payments[0]?.positionSize.toFixed(),
    );
    const sorted = [...payments].sort((a, b) => a.tsEventMs - b.tsEventMs);
    assert.deepEqual(payments, sorted);
    const truth = emulator.exchange.balance('main').fundingNet;
    const sum = payments.reduce((s, p) => s.plus(p.amount), new Decimal(0));
    // Settlements may land between the two readings; the history never has more than the truth.
    assert.ok(sum.gte(truth), `history ${sum.toFixed()} vs venue ${truth.toFixed()}`);
    assert.ok(sum.lt(0));
    // Only what is at or after `since`.
    const later = payments.at(-1)?.tsEventMs ?? 0;
    assert.ok((await port.fetchFundingPayments(later)).every((p) => p.tsEventMs >= later));
  });

  test('leverage is set on the instrument (account/set-leverage, cross)', async () => {
    assert.equal(port.capabilities.setLeverage, true);
    await port.setLeverage(BTC, new Decimal(5));
    assert.equal(emulator.exchange.position('main', BTC).leverage, 5);
  });

  test('the dead-man switch (cancel-all-after) arms in whole seconds and disarms', async () => {
    assert.equal(port.capabilities.scheduleCancelAll, true);
    await port.scheduleCancelAll(59_001);
    const armed = emulator.exchange.cancelAllDeadline('main');
    // Rounded up to 60 s: never earlier than asked.
    assert.ok(armed !== undefined && armed >= Date.now() + 59_001 - 1_000, String(armed));
    await assert.rejects(port.scheduleCancelAll(5_000), ValidationError);
    await assert.rejects(port.scheduleCancelAll(121_000), ValidationError);
    await port.scheduleCancelAll(0);
    assert.equal(emulator.exchange.cancelAllDeadline('main'), undefined);
  });
});
