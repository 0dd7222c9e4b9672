/**
 * The port members beyond orders over the paper-venue gRPC service, against a real paper
 * port (hub, manual clock): cancel nonces from the key's one sequence, funding history,
 * leverage, the dead-man switch, and a liquidation fill's origin.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { PaperVenueHub } from '../paper/hub.js';
import type { PlaceOrderRequest } from '../port.js';
import { PaperVenueClient } from './client.js';
import { startTestPaperVenueServer } from './fake-venue.test-helper.js';

const START_MS = Date.UTC(2026, 0, 1);
const HOUR_MS = 3_600_000;
const BTC = 'BTC-USDC-PERP';

const hub = new PaperVenueHub({
  seed: 7,
  clock: { kind: 'manual' },
  startMs: START_MS,
  accounts: [
    { venueId: 'paper-lighter', accountId: 'alice', deposit: '100000', apiKeyId: 'k4' },
    { venueId: 'paper', accountId: 'poor', deposit: '100' },
  ],
});
const server = await startTestPaperVenueServer({
  venues: [hub.venue('paper-lighter', 'alice', 'k4'), hub.venue('paper', 'poor')],
});
const connect = (venue: string, account: string, apiKeyId: string) =>
  PaperVenueClient.connect({
    address: server.address,
    venue,
    account,
    apiKeyId,
    callTimeoutMs: 5_000,
    readinessPollMs: 0,
  });
const lighter = await connect('paper-lighter', 'alice', 'k4');
const poor = await connect('paper', 'poor', 'default');
after(async () => {
  await lighter.close();
  await poor.close();
  await server.close();
  hub.close();
});

let ids = 0;
function limit(nonce: bigint, price = '40000'): PlaceOrderRequest {
  ids += 1;
  return {
    clientOrderId: `ext-${ids}`,
    instrument: BTC,
    side: 'buy',
    type: 'limit',
    timeInForce: 'gtc',
    price: dec(price),
    size: dec('0.01'),
    reduceOnly: false,
    nonce,
  };
}

test('capabilities announce the extensions and the client offers exactly those members', () => {
  assert.equal(lighter.capabilities.fundingHistory, true);
  assert.equal(lighter.capabilities.setLeverage, true);
  assert.equal(lighter.capabilities.scheduleCancelAll, true);
  assert.equal(lighter.capabilities.venueFills, true);
  assert.ok(lighter.fetchFundingPayments && lighter.setLeverage && lighter.scheduleCancelAll);
});

test('cancels carry the nonce over the wire, from the one sequence of the key', async () => {
  const a = await lighter.createOrder(limit(10n));
  await assert.rejects(lighter.cancelOrder({ instrument: BTC, clientOrderId: a.clientOrderId }), /nonce/);
  await assert.rejects(
    lighter.cancelOrder({ instrument: BTC, clientOrderId: a.clientOrderId }, { nonce: 10n }),
    /nonce/,
  );
  const canceled = await lighter.cancelOrder(
    { instrument: BTC, clientOrderId: a.clientOrderId },
    { nonce: 11n },
  );
  assert.equal(canceled.status, 'canceled');
  await lighter.createOrder(limit(12n));
  assert.equal((await lighter.cancelAllOrders(undefined, { nonce: 13n })).length, 1);
  assert.equal(await lighter.fetchNextNonce?.(), 14n);
});

test('setLeverage, scheduleCancelAll and funding history round-trip', async () => {
  await assert.rejects(lighter.setLeverage!(BTC, dec(3)), /nonce/);
  await lighter.setLeverage!(BTC, dec(3), { nonce: 19n });
  await assert.rejects(lighter.setLeverage!(BTC, dec('2.5'), { nonce: 20n }), /leverage/);
  await lighter.createOrder({ ...limit(21n), type: 'market', timeInForce: 'ioc', price: undefined });
  await lighter.createOrder(limit(22n));
  await lighter.scheduleCancelAll!(60_000, { nonce: 23n });
  hub.advanceTo(START_MS + 2 * HOUR_MS);
  assert.deepEqual(await lighter.fetchOpenOrders(), [], 'the switch fired at the venue');
  const payments = await lighter.fetchFundingPayments!(START_MS);
  assert.deepEqual(
    payments.map((p) => p.tsEventMs),
    [START_MS + HOUR_MS, START_MS + 2 * HOUR_MS],
  );
  assert.ok(payments.every((p) => p.positionSize.eq('0.01')));
});

test('a liquidation fill keeps its origin across the wire', async () => {
  await poor.setLeverage!(BTC, dec(50));
  await poor.createOrder({
    ...limit(0n),
    nonce: undefined,
    type: 'market',
    timeInForce: 'ioc',
    price: undefined,
    size: dec('0.05'),
  });
  const mark = hub.exchange('paper').markPrice(BTC)!;
  const crash = mark.mul('0.9').toDecimalPlaces(1);
  hub.command('paper', (exchange) => exchange.setPrices(BTC, { markPrice: crash, indexPrice: crash }));
  const fills = await poor.fetchFills(START_MS);
  const liquidation = fills.filter((f) => f.origin === 'liquidation');
  assert.equal(liquidation.length, 1);
  assert.equal(liquidation[0]?.clientOrderId, '');
  assert.ok(fills.filter((f) => f.origin === 'order').every((f) => f.clientOrderId !== ''));
  assert.equal(fills.at(-1)?.origin, 'liquidation');
});
