/**
 * OKX account controls through ccxt against the emulator: funding settled while nobody
 * listened is read back from `account/bills` (type 8), each payment with its billId;
 * leverage (`account/set-leverage`) and the dead-man switch (`trade/cancel-all-after`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import { bareMarket, OkxEmulator, okxSimConfig } from '@perpmesh/emulators';
import { eventually } from '@perpmesh/testing';
import { CcxtVenuePort } from '../ccxt/port.js';
import { okxProfile } from './profile.js';

const BTC = 'BTC-USDT-PERP';
const KEY = { apiKey: 'emu-okx-acct', secret: 'emu-okx-acct-secret', passphrase: 'emu-okx-acct-pass' };
const MAKER = 'counterparty';

let emulator: OkxEmulator;
let port: CcxtVenuePort;

before(async () => {
  // Funding settles every second here, so a test sees several settlements.
  const config = okxSimConfig('okx', {
    funding: {
      intervalMs: 1_000,
      interestRate: '0.0001',
      premiumClamp: '0.0005',
      divisor: '1',
      capPerInterval: '0.003',
      rateDecimals: 8,
    },
  });
  const market = bareMarket(config, Date.now());
  market.exchange.deposit(MAKER, '10000000');
  market.exchange.setPrices(BTC, { markPrice: '60000', indexPrice: '60000' });
  emulator = new OkxEmulator({
    market,
    apiKeys: [{ ...KEY, accountId: 'main', deposit: '10000' }],
    stepIntervalMs: 50,
  });
  const baseUrl = await emulator.start();
  port = await CcxtVenuePort.open({
    venue: 'okx',
    account: 'main',
    apiKeyId: 'default',
    profile: okxProfile,
    instruments: [BTC],
    endpoints: { testnet: false, baseUrl, wsUrl: emulator.wsUrl },
    credentials: okxProfile.credentials(KEY, {}),
    callTimeoutMs: 5_000,
    streamBackoff: { initialDelayMs: 50, maxDelayMs: 500 },
  });
});

after(async () => {
  await port.close();
  await emulator.close();
});

describe('okx account: funding history, leverage, dead-man switch', () => {
  test('funding paid while nobody listened is recovered from the bills', async () => {
    assert.equal(port.capabilities.fundingHistory, true);
    const since = Date.now();
    const r = emulator.exchange.placeOrder({
      accountId: MAKER,
      instrumentId: BTC,
      side: 'sell',
      type: 'limit',
      timeInForce: 'gtc',
      price: '60000',
      size: '0.1',
    });
    assert.ok(r.ok);
    emulator.server.flush();
    await port.createOrder({
      clientOrderId: 'okxacctlong1',
      instrument: BTC,
      side: 'buy',
      type: 'limit',
      timeInForce: 'ioc',
      price: new Decimal('60000'),
      size: new Decimal('0.1'),
      reduceOnly: false,
    });
    // Mark above index: longs pay.
    emulator.exchange.setPrices(BTC, { markPrice: '60060', indexPrice: '60000' });
    await eventually(
      'a few settlements',
      () => emulator.exchange.balance('main').fundingNet.lt(0) && Date.now() - since > 2_500,
      10_000,
    );
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
