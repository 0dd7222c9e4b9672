/**
 * The emulated Lighter of the rehearsal (libs/emulators rehearsal.ts, what the `emulators`
 * config section starts) opened through the `lighter` kind from config, as
 * `perpmesh start` does: every component ready, the funded account, an order and its cancel.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import {
  EMULATED_LIGHTER_ACCOUNT,
  EMULATOR_CREDENTIALS,
  type RunningRehearsalEmulators,
  startRehearsalEmulators,
} from '@perpmesh/emulators';
import { Secret } from '@perpmesh/runtime';
import type { VenuePort } from '../port.js';
import { lighterVenueConfigSchema } from './config.js';
import { lighterVenueKind } from './kind.js';

let running: RunningRehearsalEmulators;
let port: VenuePort;

before(async () => {
  running = await startRehearsalEmulators({
    seed: 42,
    binanceusdmPort: 0,
    hyperliquidPort: 0,
    lighterPort: 0,
  });
  // The config snippet of config/emulated-dex.yaml (README "Lighter"), pointed at this run's port.
  const config = lighterVenueConfigSchema.parse({
    kind: 'lighter',
    instruments: ['BTC-USDC-PERP'],
    baseUrl: running.lighter.url,
    requestsPerMinute: 6000,
    accounts: {
      main: {
        accountIndex: EMULATED_LIGHTER_ACCOUNT.accountIndex,
        apiKeyIndex: EMULATED_LIGHTER_ACCOUNT.apiKeyIndex,
        apiPrivateKey: { env: 'LIGHTER_EMULATOR_API_PRIVATE_KEY' },
      },
    },
  });
  const main = config.accounts.main;
  assert.ok(main);
  const opened = await lighterVenueKind.open({
    venue: 'lighter',
    config,
    access: 'trading',
    accounts: [
      {
        account: 'main',
        apiKeyId: main.apiKeyId,
        credentials: { apiPrivateKey: new Secret(EMULATOR_CREDENTIALS.LIGHTER_EMULATOR_API_PRIVATE_KEY) },
      },
    ],
    host: { paperAddress: '', callTimeoutMs: 5_000 },
  });
  port = opened.accountPorts[0] as VenuePort;
});

after(async () => {
  await port?.close();
  await running?.close();
});

test('the rehearsal Lighter opens from config with every component ready and the account funded', async () => {
  const components = port.readiness();
  for (const c of components) assert.equal(c.ready, true, `${c.component}: ${c.reason}`);
  assert.deepEqual(components.map((c) => c.component).sort(), [
    'auth token',
    'balance',
    'link',
    'markets',
    'nonces',
    'request budget',
    'signer',
  ]);
  assert.equal(
    port.apiKeyId,
    `${EMULATED_LIGHTER_ACCOUNT.accountIndex}:${EMULATED_LIGHTER_ACCOUNT.apiKeyIndex}`,
  );
  const [balance] = await port.fetchBalances();
  assert.equal(balance?.total.toFixed(), '100000');
});

test('an order and its cancel on the rehearsal Lighter', async () => {
  const book = await port.fetchOrderBook('BTC-USDC-PERP', 1);
  const bid = book.bids[0]?.price;
  assert.ok(bid);
  const next = await port.fetchNextNonce?.();
  assert.ok(next !== undefined);
  const price = bid.mul('0.9').toDecimalPlaces(1);
  const order = await port.createOrder({
    clientOrderId: `rehearsal-${process.pid}`,
    instrument: 'BTC-USDC-PERP',
    side: 'buy',
    type: 'limit',
    timeInForce: 'gtc',
    price,
    size: new Decimal('0.001'),
    reduceOnly: false,
    nonce: next,
  });
  assert.equal(order.status, 'accepted');
  const canceled = await port.cancelOrder(
    { instrument: 'BTC-USDC-PERP', clientOrderId: order.clientOrderId },
    { nonce: next + 1n },
  );
  assert.equal(canceled.status, 'canceled');
});
