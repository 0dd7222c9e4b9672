/**
 * Two execution replicas (two execution services sharing one Redis nonce store and one NATS
 * log) trading one Lighter API key through the real Lighter adapter against the Lighter
 * emulator, which verifies every signature and takes a nonce only above the last one of the
 * key. The emulator records every nonce it accepted and every order it placed: no nonce is
 * used twice and every order is placed once. An invalid-nonce reply (the key used elsewhere)
 * is resynced forward from the venue's nextNonce and the order goes through once. Orders queued
 * together for the key go out through the venue's batch endpoint (sendTxBatch): fewer venue
 * calls than orders, each order once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { bareMarket, LighterEmulator, lighterSimConfig } from '@perpmesh/emulators';
import { LighterPrivateKey, signLighterTx } from '@perpmesh/signing';
import { eventually, openTestBackend, type TestBackend } from '@perpmesh/testing';
import {
  type LighterVenuePort,
  lighterClientOrderIdCodec,
  openLighterVenuePort,
  StaticVenueDirectory,
} from '@perpmesh/venues';
import { newService, type ServiceUnderTest } from './harness.test-helper.js';
import { cid, limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

const VENUE = 'lighter';
const BTC = 'BTC-USDC-PERP';
const ACCOUNT_INDEX = 21;
const API_KEY_INDEX = 5;
const KEY = LighterPrivateKey.fromSeed(new TextEncoder().encode('perpmesh two replicas, one lighter key'));
const KEY_ID = `${ACCOUNT_INDEX}:${API_KEY_INDEX}`;
const ORDERS = 200;

let backend: TestBackend;
let emulator: LighterEmulator;
const ports: LighterVenuePort[] = [];
const services: ServiceUnderTest[] = [];

async function lighterPort(baseUrl: string): Promise<LighterVenuePort> {
  const port = await openLighterVenuePort({
    venue: VENUE,
    account: 'main',
    instruments: [BTC],
    baseUrl,
    wsUrl: emulator.wsUrl,
    chainId: emulator.chainId,
    callTimeoutMs: 10_000,
    credentials: { accountIndex: ACCOUNT_INDEX, apiKeyIndex: API_KEY_INDEX, privateKey: KEY },
    requestsPerMinute: 1_000_000,
    accountTier: 'test',
    streamBackoff: { initialDelayMs: 50, maxDelayMs: 500 },
  });
  ports.push(port);
  return port;
}

const place = (s: ServiceUnderTest, id: string, price: string) =>
  s.service.engine.placeOrder(
    placeOrderCommandFromProto(limitRequest(VENUE, id, 'buy', dec(price), '0.001')),
  );

before(async () => {
  backend = await openTestBackend('nats-redis', { prefix: 'LTRX' });
  const market = bareMarket(lighterSimConfig(VENUE), Date.now());
  market.exchange.deposit('counterparty', '10000000');
  market.exchange.setPrices(BTC, { markPrice: '60000', indexPrice: '60000' });
  market.exchange.placeOrder({
    accountId: 'counterparty',
    instrumentId: BTC,
    side: 'sell',
    type: 'limit',
    timeInForce: 'gtc',
    price: '61000',
    size: '1',
  });
  emulator = new LighterEmulator({
    market,
    accounts: [
      {
        accountIndex: ACCOUNT_INDEX,
        accountId: 'main',
        deposit: '10000000',
        apiKeys: [{ apiKeyIndex: API_KEY_INDEX, publicKeyHex: KEY.publicKeyHex }],
      },
    ],
    stepIntervalMs: 50,
  });
  const baseUrl = await emulator.start();
  // Each replica has its own connections to the venue, as two processes would.
  const first = newService({ ...backend, directory: new StaticVenueDirectory([await lighterPort(baseUrl)]) });
  const second = newService({
    ...backend,
    log: await backend.secondLog(),
    state: await backend.secondState(),
    directory: new StaticVenueDirectory([await lighterPort(baseUrl)]),
    instance: 'replica-2',
    // Replicas overtake each other on one key: each overtaken order resyncs and resends.
    config: { staleNonceRetries: 50 },
  });
  services.push(first, second);
  for (const s of services) await s.service.start();
});

after(async () => {
  for (const s of services) await s.service.stop();
  await Promise.allSettled(ports.map((p) => p.close()));
  await emulator?.close();
  await backend?.close();
});

describe('two execution replicas on one Lighter key (emulated venue)', () => {
  test('the port counts nonces per (account, API key)', () => {
    assert.equal(ports[0]?.apiKeyId, KEY_ID);
    assert.equal(ports[1]?.apiKeyId, KEY_ID);
  });

  test(`${ORDERS} orders placed and canceled by two replicas: no nonce reused, every order once`, async () => {
    const [first, second] = services as [ServiceUnderTest, ServiceUnderTest];
    const ids = Array.from({ length: ORDERS }, (_, i) => cid(`lt${i % 2}`));
    const placed = await Promise.all(ids.map((id, i) => place(i % 2 === 0 ? first : second, id, '59000')));
    assert.deepEqual(
      [...new Set(placed.map((r) => r.order.state.status))],
      ['accepted'],
      `the venue accepted every order; not: ${JSON.stringify(
        placed.filter((r) => r.order.state.status !== 'accepted').map((r) => r.order.state),
      )}`,
    );
    assert.equal(emulator.exchange.openOrders('main').length, ORDERS);

    await Promise.all(
      ids.map((id, i) =>
        (i % 2 === 0 ? second : first).service.engine.cancelOrder({
          venue: VENUE,
          account: 'main',
          clientOrderId: id,
        }),
      ),
    );
    await eventually(
      'every order canceled at the venue',
      () => emulator.exchange.openOrders('main').length === 0,
    );

    const nonces = emulator.acceptedNonces.get(KEY_ID) ?? [];
    assert.equal(new Set(nonces.map(String)).size, nonces.length, 'no nonce accepted twice');
    assert.ok(
      nonces.every((n, i) => i === 0 || n > (nonces[i - 1] as bigint)),
      'strictly increasing',
    );
    assert.ok(nonces.length >= 2 * ORDERS, `orders and cancels each took a nonce (${nonces.length})`);
    const placedIndexes = emulator.acceptedClientOrderIndexes.map(String);
    const ours = ids.map((id) => lighterClientOrderIdCodec.encode(id));
    assert.equal(placedIndexes.length, ORDERS, 'every order placed once, none twice');
    assert.deepEqual([...placedIndexes].sort(), [...ours].sort());
  });

  test('an invalid nonce (the key used elsewhere) resyncs forward from nextNonce; the order goes through once', async () => {
    // Another client of the same key moves the venue's nonce far ahead.
    const ahead = (await ports[0]!.fetchNextNonce()) + 1_000n;
    const tx = signLighterTx(
      {
        txType: 16,
        accountIndex: ACCOUNT_INDEX,
        apiKeyIndex: API_KEY_INDEX,
        expiredAt: Date.now() + 60_000,
        nonce: ahead,
        timeInForce: 0,
        time: 0,
      },
      { chainId: emulator.chainId, key: KEY },
    );
    const res = await fetch(`http://127.0.0.1:${emulator.server.port}/api/v1/sendTx`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ tx_type: '16', tx_info: tx.txInfo }).toString(),
    });
    assert.equal(res.status, 200);
    const id = cid('resync');
    const result = await place(services[0]!, id, '59000');
    assert.equal(result.order.state.status, 'accepted');
    const index = lighterClientOrderIdCodec.encode(id);
    assert.equal(emulator.acceptedClientOrderIndexes.filter((i) => String(i) === index).length, 1);
    const nonces = emulator.acceptedNonces.get(KEY_ID) ?? [];
    assert.ok((nonces[nonces.length - 1] as bigint) > ahead, 'signed above the venue nonce after the resync');
    assert.equal(new Set(nonces.map(String)).size, nonces.length);
  });
  test('N concurrent orders to one key go out through sendTxBatch in fewer venue calls than N, each placed once', async () => {
    const N = 120;
    const txCalls = () =>
      (emulator.server.requestCounts.get('POST /api/v1/sendTx') ?? 0) +
      (emulator.server.requestCounts.get('POST /api/v1/sendTxBatch') ?? 0);
    const before = txCalls();
    const batchesBefore = emulator.server.requestCounts.get('POST /api/v1/sendTxBatch') ?? 0;
    const ids = Array.from({ length: N }, () => cid('batch'));
    const placed = await Promise.all(ids.map((id) => place(services[0]!, id, '58000')));
    assert.deepEqual([...new Set(placed.map((r) => r.order.state.status))], ['accepted']);
    const calls = txCalls() - before;
    assert.ok(calls < N, `${N} orders in ${calls} venue calls`);
    assert.ok(
      (emulator.server.requestCounts.get('POST /api/v1/sendTxBatch') ?? 0) > batchesBefore,
      'batches used',
    );
    const accepted = emulator.acceptedClientOrderIndexes.map(String);
    for (const id of ids) {
      const index = lighterClientOrderIdCodec.encode(id);
      assert.equal(accepted.filter((i) => i === index).length, 1, `${id} placed once`);
    }
    const nonces = emulator.acceptedNonces.get(KEY_ID) ?? [];
    assert.equal(new Set(nonces.map(String)).size, nonces.length, 'no nonce accepted twice');
  });
});
