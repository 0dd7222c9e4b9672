/**
 * Lighter holds a scheduled cancel-all's `Time` against its own clock: refused below its
 * minimum from its now, fired when its clock reaches it. Against an emulator whose clock is
 * 3 s ahead of ours or 3 s behind, the adapter measures the offset from the answers' `Date`
 * headers and asks for a deadline on the venue's clock: accepted, and fired when asked, not
 * early (ahead) and not 3 s late (behind).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import { LighterEmulator, lighterSimConfig } from '@perpmesh/emulators';
import { LighterPrivateKey } from '@perpmesh/signing';
import { eventually } from '@perpmesh/testing';
import { makerMarket } from '../ccxt/venue-scenarios.test-helper.js';
import { LighterVenuePort } from './port.js';

const BTC = 'BTC-USDC-PERP';
const ACCOUNT_INDEX = 9;
const API_KEY_INDEX = 3;
const MIN_MS = 1_000;
const KEY = LighterPrivateKey.fromSeed(new TextEncoder().encode('perpmesh lighter clock test'));
const emulators: LighterEmulator[] = [];
const ports: LighterVenuePort[] = [];

after(async () => {
  await Promise.allSettled(ports.map((p) => p.close()));
  await Promise.allSettled(emulators.map((e) => e.close()));
});

async function portOnClockSkew(
  skewMs: number,
): Promise<{ emulator: LighterEmulator; port: LighterVenuePort }> {
  const emulator = new LighterEmulator({
    market: makerMarket(lighterSimConfig(), BTC, { markPrice: '60000', indexPrice: '59990' }, skewMs),
    accounts: [
      {
        accountIndex: ACCOUNT_INDEX,
        accountId: 'main',
        deposit: '100000',
        apiKeys: [{ apiKeyIndex: API_KEY_INDEX, publicKeyHex: KEY.publicKeyHex }],
      },
    ],
    stepIntervalMs: 50,
    minScheduledCancelAllMs: MIN_MS,
  });
  emulators.push(emulator);
  const baseUrl = await emulator.start();
  const port = await LighterVenuePort.open({
    venue: 'lighter',
    account: 'main',
    instruments: [BTC],
    baseUrl,
    wsUrl: emulator.wsUrl,
    chainId: emulator.chainId,
    callTimeoutMs: 5_000,
    credentials: { accountIndex: ACCOUNT_INDEX, apiKeyIndex: API_KEY_INDEX, privateKey: KEY },
    requestsPerMinute: 100_000,
    accountTier: 'test',
    scheduledCancelAllMinMs: MIN_MS,
    streamBackoff: { initialDelayMs: 50, maxDelayMs: 500 },
  });
  ports.push(port);
  return { emulator, port };
}

describe('lighter scheduled cancel-all against a venue clock skewed from ours', () => {
  for (const skewMs of [3_000, -3_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by 3 s: the schedule is accepted and fires when asked`, async () => {
      const { emulator, port } = await portOnClockSkew(skewMs);
      let nonce = (await port.fetchNextNonce()) - 1n;
      const nextNonce = () => ++nonce;
      const offset = port.clockOffset();
      assert.ok(offset, 'measured from the answers so far');
      assert.ok(Math.abs(offset.offsetMs - skewMs) <= offset.uncertaintyMs + 60, JSON.stringify(offset));

      const clientOrderId = `lc${skewMs > 0 ? 'a' : 'b'}${process.pid}`;
      await port.createOrder({
        clientOrderId,
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'gtc',
        price: new Decimal('58000'),
        size: new Decimal('0.001'),
        reduceOnly: false,
        nonce: nextNonce(),
      });
      const afterMs = 1_500;
      const armedAtMs = Date.now();
      await port.scheduleCancelAll(afterMs, { nonce: nextNonce() });
      const answeredAtMs = Date.now();
      const deadline = emulator.exchange.cancelAllDeadline('main');
      assert.ok(deadline !== undefined, 'armed');
      const used = port.clockOffset() ?? offset;
      // On the venue's clock: never before `afterMs` after we asked; late by at most the
      // measure's uncertainty (twice) and the call.
      const earliest = armedAtMs + skewMs + afterMs - 250; // the emulator's exchange clock trails its venue clock by a step (50 ms; more when loaded)
      const latest = answeredAtMs + skewMs + afterMs + 2 * used.uncertaintyMs + 60;
      assert.ok(deadline >= earliest, `deadline ${deadline - (armedAtMs + skewMs)} ms after arming`);
      assert.ok(
        deadline <= latest,
        `deadline ${deadline - (armedAtMs + skewMs)} ms after arming (${JSON.stringify(used)})`,
      );

      await eventually(
        'canceled by the switch',
        async () => (await port.fetchOrder({ instrument: BTC, clientOrderId }))?.status === 'canceled',
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      assert.equal(emulator.exchange.cancelAllDeadline('main'), undefined, 'fired');
    });
  }
});
