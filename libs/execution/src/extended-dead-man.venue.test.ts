/**
 * Execution's dead-man switch on Extended, against the emulator:
 * - an execution process opened from the venue's config arms the switch and is killed with
 *   SIGKILL; the venue cancels the account's order once the deadline passes
 *   (dead-man.test-helper.ts);
 * - tied to the kill switch: a strategy HALTED (its `trading_state` decision on the bus)
 *   makes execution cancel the account's orders at the venue now and stop refreshing the
 *   switch, which stays armed and fires on what the account still has at its deadline.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { bareMarket, ExtendedEmulator, extendedSimConfig } from '@perpmesh/emulators';
import { StarkSigner } from '@perpmesh/signing';
import { eventually, openTestBackend } from '@perpmesh/testing';
import { ExtendedVenuePort, StaticVenueDirectory } from '@perpmesh/venues';
import { assertKilledExecutionIsCanceledByVenue, publishTradingState } from './dead-man.test-helper.js';
import { BTC, newService } from './harness.test-helper.js';
import { limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

const KEY = { apiKey: 'emu-extended-dms', privateKey: `0x${'0c0d0e0f'.repeat(7)}`, vault: '500345' };
const STARK_KEY = new StarkSigner(KEY.privateKey).publicKey;
/** The account the kill-switch test halts (its own, so the two tests share no switch). */
const HALT_KEY = { apiKey: 'emu-extended-halt', privateKey: `0x${'0a0b0c0d'.repeat(7)}`, vault: '500346' };
const HALT_SIGNER = new StarkSigner(HALT_KEY.privateKey);

let emulator: ExtendedEmulator;
let baseUrl: string;

before(async () => {
  const market = bareMarket(extendedSimConfig('extended'), Date.now());
  market.exchange.setPrices(BTC, { markPrice: '60000', indexPrice: '60000' });
  emulator = new ExtendedEmulator({
    market,
    accounts: [
      { ...KEY, accountId: 'main', starkPublicKey: STARK_KEY, deposit: '10000' },
      { ...HALT_KEY, accountId: 'halted', starkPublicKey: HALT_SIGNER.publicKey, deposit: '10000' },
    ],
    stepIntervalMs: 50,
  });
  baseUrl = await emulator.start();
});

after(() => emulator.close());

test('the venue cancels the orders of an execution killed with SIGKILL once its switch is not refreshed', async () => {
  await assertKilledExecutionIsCanceledByVenue({
    input: {
      venues: {
        extended: {
          kind: 'extended',
          instruments: [BTC],
          baseUrl,
          wsUrl: emulator.wsUrl,
          accounts: {
            main: {
              apiKey: { env: 'DMS_EXTENDED_API_KEY' },
              starkPrivateKey: { env: 'DMS_EXTENDED_STARK_PRIVATE_KEY' },
              starkPublicKey: `0x${STARK_KEY.toString(16)}`,
              vault: KEY.vault,
            },
          },
        },
      },
      venue: 'extended',
      clientOrderId: `dms-${process.pid}`,
      price: '50000',
      size: '0.001',
      afterMs: 2_000,
      refreshMs: 300,
    },
    env: { DMS_EXTENDED_API_KEY: KEY.apiKey, DMS_EXTENDED_STARK_PRIVATE_KEY: KEY.privateKey },
    exchange: emulator.exchange,
    accountId: 'main',
  });
});

test("a strategy HALTED cancels the account's orders at the venue and stops refreshing its switch", async () => {
  const strategy = `halt${process.pid}`;
  const afterMs = 2_000;
  const refreshMs = 200;
  const backend = await openTestBackend('embedded', { prefix: 'EXTHALT' });
  const port = await ExtendedVenuePort.open({
    venue: 'extended',
    account: 'halted',
    apiKeyId: 'default',
    instruments: [BTC],
    chainId: 'SN_MAIN',
    baseUrl,
    wsUrl: emulator.wsUrl,
    callTimeoutMs: 5_000,
    keys: {
      apiKey: HALT_KEY.apiKey,
      signer: HALT_SIGNER,
      starkPublicKey: HALT_SIGNER.publicKey,
      vault: HALT_KEY.vault,
    },
  });
  const svc = newService({
    ...backend,
    directory: new StaticVenueDirectory([port]),
    settings: { deadManSwitch: { afterMs, refreshMs } },
  });
  const exchange = emulator.exchange;
  try {
    await svc.service.start();
    const placed = await svc.service.engine.placeOrder(
      placeOrderCommandFromProto({
        ...limitRequest('extended', `${strategy}_1`, 'buy', dec('50000'), '0.001'),
        account: 'halted',
      }),
    );
    assert.equal(placed.order.state.status, 'accepted');
    const armed = await eventually('execution armed the switch', () => exchange.cancelAllDeadline('halted'));
    // Refreshed while the strategy trades: the deadline moves on.
    await eventually('the switch refreshed', () => {
      const deadline = exchange.cancelAllDeadline('halted');
      return deadline !== undefined && deadline > armed ? true : undefined;
    });

    await publishTradingState(backend, strategy, 'halted', Date.now());
    const canceled = await eventually("execution canceled the account's orders at the venue", () =>
      exchange.openOrders('halted').length === 0
        ? exchange.getOrder('halted', { clientOrderId: `${strategy}_1` })
        : undefined,
    );
    assert.equal(canceled?.status, 'canceled');
    assert.notEqual(canceled?.endReason, 'dead_man_switch', 'canceled by execution, before any deadline');
    await svc.service.engine.settled();
    // No longer refreshed, still armed: an order the account still has (placed at the venue
    // behind execution's back) is canceled by the venue at the deadline it had at the halt.
    const deadline = exchange.cancelAllDeadline('halted');
    assert.ok(deadline !== undefined, 'the switch stays armed at the venue');
    const late = exchange.placeOrder({
      accountId: 'halted',
      instrumentId: BTC,
      side: 'buy',
      type: 'limit',
      timeInForce: 'gtc',
      price: '50000',
      size: '0.001',
      clientOrderId: `${strategy}_late`,
    });
    assert.ok(late.ok, JSON.stringify(!late.ok && late.reject));
    const fired = await eventually(
      'the venue fired the switch',
      () => {
        const order = exchange.getOrder('halted', { clientOrderId: `${strategy}_late` });
        return order?.status === 'canceled' ? order : undefined;
      },
      afterMs + 10_000,
    );
    assert.equal(fired?.endReason, 'dead_man_switch');
    assert.ok(
      exchange.nowMs - deadline >= 0 && exchange.nowMs - deadline < afterMs,
      `fired at the deadline of the halt (${deadline}), not a refreshed one (now ${exchange.nowMs})`,
    );
  } finally {
    await svc.service.stop();
    await port.close();
    await backend.close();
  }
});
