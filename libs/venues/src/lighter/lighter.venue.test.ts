/**
 * Lighter through our own adapter (LighterVenuePort, our signer) against the local emulator
 * (127.0.0.1), which verifies every Schnorr signature against the registered key: markets,
 * the book (REST and the websocket's deltas), funding per hour, the account against the
 * emulator's truth, an order's life, cancel-all, the scheduled cancel-all (also on a venue
 * clock 3 s ahead and behind ours), wrong-key and all-zero signatures, nonces (missing, stale,
 * resynced), the auth token and its renewal, and the signer self-test refusing to sign.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import { LIGHTER_ERROR, LighterEmulator, lighterSimConfig } from '@perpmesh/emulators';
import { LighterPrivateKey, signLighterTx } from '@perpmesh/signing';
import { eventually } from '@perpmesh/testing';
import { FUNDING_EVERY_SECOND, MAKER, makerMarket } from '../ccxt/venue-scenarios.test-helper.js';
import {
  RateLimitedError,
  VenueNotSentError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';
import type { BookSnapshot, PlaceOrderRequest, UserStreamEvent, VenueFill } from '../port.js';
import { lighterClientOrderIdCodec } from '../shared/client-order-id.js';
import { LighterVenuePort, type LighterVenuePortOptions } from './port.js';

const BTC = 'BTC-USDC-PERP';
const HOUR_MS = 3_600_000;
const ACCOUNT_INDEX = 7;
const API_KEY_INDEX = 4;
const KEY = LighterPrivateKey.fromSeed(new TextEncoder().encode('perpmesh lighter venue test'));
const STRANGER = LighterPrivateKey.fromSeed(new TextEncoder().encode('not the registered key'));

let emulator: LighterEmulator;
let baseUrl: string;
let port: LighterVenuePort;
const opened: LighterVenuePort[] = [];
let nonce = 0n;
let seq = 0;

const cid = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
const nextNonce = () => ++nonce;

async function openPort(
  overrides: Partial<LighterVenuePortOptions> = {},
  target = emulator,
): Promise<LighterVenuePort> {
  const url = target === emulator ? baseUrl : await target.start();
  const p = await LighterVenuePort.open({
    venue: 'lighter',
    account: 'main',
    instruments: [BTC],
    baseUrl: url,
    wsUrl: target.wsUrl,
    chainId: target.chainId,
    callTimeoutMs: 5_000,
    credentials: { accountIndex: ACCOUNT_INDEX, apiKeyIndex: API_KEY_INDEX, privateKey: KEY },
    requestsPerMinute: 100_000,
    accountTier: 'test',
    fundingPollMs: 200,
    scheduledCancelAllMinMs: 1_000,
    streamBackoff: { initialDelayMs: 50, maxDelayMs: 500 },
    ...overrides,
  });
  opened.push(p);
  return p;
}

function makerOrder(side: 'buy' | 'sell', price: string, size: string, target = emulator): void {
  const r = target.exchange.placeOrder({
    accountId: MAKER,
    instrumentId: BTC,
    side,
    type: 'limit',
    timeInForce: 'gtc',
    price,
    size,
  });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.reject));
  target.server.flush();
}

function order(clientOrderId: string, side: 'buy' | 'sell', price: string, size: string): PlaceOrderRequest {
  return {
    clientOrderId,
    instrument: BTC,
    side,
    type: 'limit',
    timeInForce: 'gtc',
    price: new Decimal(price),
    size: new Decimal(size),
    reduceOnly: false,
    nonce: nextNonce(),
  };
}

function emulatorFor(
  market = makerMarket(lighterSimConfig(), BTC, { markPrice: '60000', indexPrice: '59990' }),
) {
  return new LighterEmulator({
    market,
    accounts: [
      {
        accountIndex: ACCOUNT_INDEX,
        accountId: 'main',
        deposit: '100000',
        apiKeys: [{ apiKeyIndex: API_KEY_INDEX, publicKeyHex: KEY.publicKeyHex }],
      },
    ],
    stepIntervalMs: 50,
    minScheduledCancelAllMs: 1_000,
  });
}

/** A raw sendTx to the emulator (what a client with a broken signer would send). */
async function rawSendTx(
  txType: number,
  txInfo: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/api/v1/sendTx`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ tx_type: String(txType), tx_info: txInfo }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const cancelAllTx = () => ({
  txType: 16 as const,
  accountIndex: ACCOUNT_INDEX,
  apiKeyIndex: API_KEY_INDEX,
  expiredAt: Date.now() + 60_000,
  timeInForce: 0,
  time: 0,
});

const cancelTx = (n: bigint) => ({
  txType: 15 as const,
  accountIndex: ACCOUNT_INDEX,
  apiKeyIndex: API_KEY_INDEX,
  expiredAt: Date.now() + 60_000,
  nonce: n,
  marketIndex: 1,
  index: 1,
});

before(async () => {
  emulator = emulatorFor();
  baseUrl = await emulator.start();
  makerOrder('buy', '59000', '1');
  makerOrder('sell', '61000', '1');
  port = await openPort();
});

after(async () => {
  await Promise.allSettled(opened.map((p) => p.close()));
  await emulator.close();
});

describe('lighter (own adapter) against the emulator', () => {
  test('opens ready: signer self-test, registered key, nonces, auth token, budget named', async () => {
    const byName = new Map(port.readiness().map((c) => [c.component, c]));
    for (const name of ['markets', 'link', 'signer', 'balance', 'nonces', 'auth token', 'request budget']) {
      assert.equal(byName.get(name as never)?.ready, true, `${name}: ${byName.get(name as never)?.reason}`);
    }
    assert.match(byName.get('signer')?.reason ?? '', /known-answer/);
    assert.match(byName.get('request budget')?.reason ?? '', /requests a minute left \(test tier\)/);
    assert.equal(port.apiKeyId, `${ACCOUNT_INDEX}:${API_KEY_INDEX}`);
    assert.equal(port.capabilities.nonces, true);
    assert.equal(port.capabilities.fok, false);
  });

  test('markets: BTC is market 1, tick 0.1, lot 0.00001, $10 minimum, 50x, funding every hour', async () => {
    const [btc] = await port.loadMarkets();
    assert.equal(btc?.instrument, BTC);
    assert.equal(btc?.venueSymbol, '1');
    assert.equal(btc?.tickSize.toFixed(), '0.1');
    assert.equal(btc?.lotSize.toFixed(), '0.00001');
    assert.equal(btc?.minNotional.toFixed(), '10');
    assert.equal(btc?.maxLeverage.toFixed(), '50');
    assert.equal(btc?.fundingIntervalMs, HOUR_MS);
  });

  test('the book: REST equals the venue, the websocket follows it with deltas', async () => {
    const book = await port.fetchOrderBook(BTC, 5);
    assert.equal(book.bids[0]?.price.toFixed(), '59000');
    assert.equal(book.asks[0]?.price.toFixed(), '61000');
    const snapshots: BookSnapshot[] = [];
    const deltas: { price: string; size: string }[] = [];
    const sub = await port.watchMarket([BTC], (e) => {
      if (e.kind === 'snapshot') snapshots.push(e);
      if (e.kind === 'delta')
        for (const l of e.bids) deltas.push({ price: l.price.toFixed(), size: l.size.toFixed() });
    });
    try {
      await eventually('snapshot', () => snapshots.length > 0, 5_000);
      makerOrder('buy', '59500', '0.5');
      await eventually(
        'delta with the new bid',
        () => deltas.some((d) => d.price === '59500' && d.size === '0.5'),
        5_000,
      );
      const stream = port.readiness().find((c) => c.component === 'market stream');
      assert.equal(stream?.ready, true, stream?.reason);
    } finally {
      await sub.close();
    }
  });

  test('a lost book delta (an offset jump) starts over from a new snapshot', async () => {
    let snapshots = 0;
    const sub = await port.watchMarket([BTC], (e) => {
      if (e.kind === 'snapshot') snapshots += 1;
    });
    try {
      await eventually('first snapshot', () => snapshots === 1, 5_000);
      emulator.server.faults.skipBookDeltas(String(emulator.marketId(BTC)));
      makerOrder('buy', '59100', '0.1');
      makerOrder('buy', '59200', '0.1');
      await eventually('a new snapshot after the gap', () => snapshots >= 2, 5_000);
    } finally {
      await sub.close();
    }
  });

  test('funding: the 8 h rate of funding-rates as 1/8 per hour, interval 1 h', async () => {
    const [f] = await port.fetchFunding([BTC]);
    const predicted = emulator.exchange.funding(BTC)?.predictedRate;
    assert.ok(f && predicted);
    assert.equal(f.intervalMs, HOUR_MS);
    assert.equal(f.rate.toFixed(), predicted.toFixed(), 'per hour, as the venue settles it');
    assert.equal(f.nextFundingTimeMs % HOUR_MS, 0);
  });

  test('place, partial fill, fill, streamed once each; balances and positions equal the venue', async () => {
    const events: UserStreamEvent[] = [];
    const sub = await port.watchUserStream((e) => events.push(e));
    try {
      const id = cid('fill');
      const placed = await port.createOrder(order(id, 'buy', '60000', '0.005'));
      assert.equal(placed.status, 'accepted');
      assert.equal(placed.clientOrderId, id);
      const ref = { instrument: BTC, clientOrderId: id };
      makerOrder('sell', '60000', '0.002');
      const partial = await port.fetchOrder(ref);
      assert.equal(partial?.status, 'partially_filled');
      assert.equal(partial?.filled.toFixed(), '0.002');
      makerOrder('sell', '60000', '0.003');
      const filled = await port.fetchOrder(ref);
      assert.equal(filled?.status, 'filled');
      assert.equal(filled?.avgFillPrice?.toFixed(), '60000');
      const fills = () =>
        events.flatMap((e) => (e.kind === 'fill' && e.fill.clientOrderId === id ? [e.fill] : []));
      await eventually('both fills streamed', () => fills().length === 2, 5_000);
      assert.deepEqual(
        fills().map((f: VenueFill) => [f.side, f.size.toFixed(), f.liquidity]),
        [
          ['buy', '0.002', 'maker'],
          ['buy', '0.003', 'maker'],
        ],
      );
      assert.ok(
        events.some((e) => e.kind === 'order' && e.order.clientOrderId === id && e.order.status === 'filled'),
      );
      const rest = await port.fetchFills(Date.now() - 60_000);
      assert.equal(rest.filter((f) => f.clientOrderId === id).length, 2);

      const truth = emulator.exchange.balance('main');
      const [balance] = await port.fetchBalances();
      assert.equal(balance?.asset, 'USDC');
      assert.equal(balance?.total.toFixed(6), truth.walletBalance.toFixed(6));
      assert.equal(balance?.available.toFixed(6), truth.available.toFixed(6));
      assert.equal(balance?.equity.toFixed(6), truth.equity.toFixed(6));
      const [position] = await port.fetchPositions();
      const p = emulator.exchange.position('main', BTC);
      assert.equal(position?.size.toFixed(), '0.005');
      assert.equal(position?.size.toFixed(), p.size.toFixed());
      assert.equal(position?.entryPrice.toFixed(), p.entryPrice?.toFixed());
      assert.equal(position?.unrealizedPnl.toFixed(6), p.unrealizedPnl.toFixed(6));
      assert.equal(position?.liquidationPrice?.toFixed(), p.liquidationPrice?.toFixed());
    } finally {
      await sub.close();
    }
  });

  test('a short reads negative', async () => {
    makerOrder('buy', '60000', '0.01');
    await port.createOrder({ ...order(cid('short'), 'sell', '60000', '0.01'), timeInForce: 'ioc' });
    const [position] = await port.fetchPositions();
    assert.equal(position?.size.toFixed(), '-0.005');
  });

  test('cancel by our id; cancel-all (one transaction) cancels every open order', async () => {
    const one = cid('c');
    await port.createOrder(order(one, 'buy', '58000', '0.001'));
    const canceled = await port.cancelOrder({ instrument: BTC, clientOrderId: one }, { nonce: nextNonce() });
    assert.equal(canceled.status, 'canceled');
    const ids = [cid('all'), cid('all')];
    for (const id of ids) await port.createOrder(order(id, 'buy', '58000', '0.001'));
    assert.equal(emulator.exchange.openOrders('main').length, 2);
    const result = await port.cancelAllOrders(BTC, { nonce: nextNonce() });
    assert.deepEqual(result.map((o) => o.clientOrderId).sort(), [...ids].sort());
    assert.equal(emulator.exchange.openOrders('main').length, 0);
    for (const id of ids)
      assert.equal((await port.fetchOrder({ instrument: BTC, clientOrderId: id }))?.status, 'canceled');
  });

  test('a lookup by our id pages back past the newest 100 inactive orders', async () => {
    const old = cid('old');
    await port.createOrder(order(old, 'buy', '58000', '0.001'));
    await port.cancelOrder({ instrument: BTC, clientOrderId: old }, { nonce: nextNonce() });
    // 250 orders end after it (IOC buys below the book, canceled at once): 3 pages newer.
    for (let i = 0; i < 250; i++) {
      const r = emulator.exchange.placeOrder({
        accountId: 'main',
        instrumentId: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'ioc',
        price: '50000',
        size: '0.001',
      });
      assert.ok(r.ok, JSON.stringify(!r.ok && r.reject));
    }
    emulator.server.flush();
    const found = await eventually('the old order found', () =>
      port.fetchOrder({ instrument: BTC, clientOrderId: old }),
    );
    assert.equal(found.clientOrderId, old);
    assert.equal(found.status, 'canceled');
  });

  test('the same client order id twice: the venue refuses the second (duplicate client order index)', async () => {
    const id = cid('dup');
    await port.createOrder(order(id, 'buy', '58000', '0.001'));
    await assert.rejects(port.createOrder(order(id, 'buy', '58000', '0.001')), (err: unknown) => {
      assert.ok(err instanceof VenueRejectedError);
      assert.equal(err.reason, 'duplicate_client_order_id');
      return true;
    });
    await port.cancelAllOrders(undefined, { nonce: nextNonce() });
  });

  test('a post-only order that would cross: the venue cancels it at once, the placement is refused', async () => {
    const id = cid('po');
    await assert.rejects(
      port.createOrder({ ...order(id, 'buy', '61000', '0.001'), timeInForce: 'post_only' }),
      (err: unknown) => {
        assert.ok(err instanceof VenueRejectedError);
        assert.equal(err.reason, 'post_only_would_cross');
        return true;
      },
    );
    const seen = await port.fetchOrder({ instrument: BTC, clientOrderId: id });
    assert.equal(seen?.status, 'rejected');
    assert.equal(seen?.reason, 'canceled-post-only');
  });

  test('the dead-man switch: a scheduled cancel-all fires when not refreshed; 0 disarms', async () => {
    await assert.rejects(port.scheduleCancelAll(500, { nonce: nextNonce() }), ValidationError);
    const id = cid('dms');
    await port.createOrder(order(id, 'buy', '58000', '0.001'));
    await port.scheduleCancelAll(1_500, { nonce: nextNonce() });
    assert.ok(emulator.exchange.cancelAllDeadline('main'));
    await eventually(
      'canceled by the switch',
      async () => (await port.fetchOrder({ instrument: BTC, clientOrderId: id }))?.status === 'canceled',
      5_000,
    );
    await port.scheduleCancelAll(60_000, { nonce: nextNonce() });
    await port.scheduleCancelAll(0, { nonce: nextNonce() });
    assert.equal(emulator.exchange.cancelAllDeadline('main'), undefined);
  });

  test('nonces: none is refused before signing; a stale one is the venue refusal; nextNonce resyncs', async () => {
    const { nonce: _omit, ...withoutNonce } = order(cid('nn'), 'buy', '58000', '0.001');
    const sent = emulator.server.requestCounts.get('POST /api/v1/sendTx') ?? 0;
    await assert.rejects(port.createOrder(withoutNonce), ValidationError);
    await assert.rejects(port.cancelAllOrders(undefined), ValidationError);
    assert.equal(emulator.server.requestCounts.get('POST /api/v1/sendTx') ?? 0, sent, 'nothing sent');

    await assert.rejects(
      port.createOrder({ ...order(cid('stale'), 'buy', '58000', '0.001'), nonce: 1n }),
      (err: unknown) => {
        assert.ok(err instanceof VenueRejectedError);
        assert.equal(err.reason, 'invalid_nonce');
        assert.match(err.message, /21104/);
        return true;
      },
    );
    assert.equal(port.readiness().find((c) => c.component === 'nonces')?.ready, false);
    const next = await port.fetchNextNonce();
    assert.ok(next > 1n && next <= nonce + 1n, `next nonce ${next}`);
    assert.equal(port.readiness().find((c) => c.component === 'nonces')?.ready, true);
    // Resynced forward: the order goes through with the venue's next nonce.
    const placed = await port.createOrder({ ...order(cid('resync'), 'buy', '58000', '0.001'), nonce: next });
    assert.equal(placed.status, 'accepted');
    nonce = next;
  });

  test('a wrong key or an all-zero Sig is refused by the venue (invalid signature)', async () => {
    const before = await port.fetchNextNonce();
    const n = nextNonce();
    const stranger = signLighterTx(cancelTx(n), { chainId: emulator.chainId, key: STRANGER });
    const wrong = await rawSendTx(15, stranger.txInfo);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.code, LIGHTER_ERROR.invalidSignature.code);
    const zeroSig = stranger.txInfo.replace(
      /"Sig":"[^"]*"/,
      `"Sig":"${Buffer.alloc(80).toString('base64')}"`,
    );
    assert.equal((await rawSendTx(15, zeroSig)).body.code, LIGHTER_ERROR.invalidSignature.code);
    const otherChain = signLighterTx(cancelTx(n), { chainId: 300, key: KEY });
    assert.equal((await rawSendTx(15, otherChain.txInfo)).body.code, LIGHTER_ERROR.invalidSignature.code);
    // None of them used a nonce.
    assert.equal(await port.fetchNextNonce(), before);
  });

  test('a port whose key is not the registered one: signer not ready, nothing signed', async () => {
    const wrong = await openPort({
      credentials: { accountIndex: ACCOUNT_INDEX, apiKeyIndex: API_KEY_INDEX, privateKey: STRANGER },
    });
    const signer = wrong.readiness().find((c) => c.component === 'signer');
    assert.equal(signer?.ready, false);
    assert.match(signer?.reason ?? '', /not the one of the configured private key/);
    await assert.rejects(wrong.createOrder(order(cid('w'), 'buy', '58000', '0.001')), /refusing to sign/);
  });

  test('a failed signer self-test: signer not ready with the cases, every signature refused', async () => {
    const sent = emulator.server.requestCounts.get('POST /api/v1/sendTx') ?? 0;
    const broken = await openPort({
      selfTest: () => ({
        ok: false,
        results: [{ ok: false, section: 'schnorr', name: 'sign_1', detail: 'mismatch' }],
      }),
    });
    const signer = broken.readiness().find((c) => c.component === 'signer');
    assert.equal(signer?.ready, false);
    assert.match(signer?.reason ?? '', /self-test, refusing to sign .*schnorr\/sign_1: mismatch/);
    await assert.rejects(broken.createOrder(order(cid('b'), 'buy', '58000', '0.001')), (err: unknown) => {
      assert.ok(err instanceof VenueRejectedError);
      assert.equal(err.reason, 'signer_not_ready');
      return true;
    });
    await assert.rejects(broken.fetchOpenOrders(), /no auth token/);
    assert.equal(emulator.server.requestCounts.get('POST /api/v1/sendTx') ?? 0, sent, 'nothing sent');
  });

  test('the auth token: private reads need it, an expired one is refused, the port renews before expiry', async () => {
    const noToken = await fetch(
      `${baseUrl}/api/v1/accountActiveOrders?account_index=${ACCOUNT_INDEX}&market_id=1`,
    );
    assert.equal(noToken.status, 400);
    const short = await openPort({ authTokenLifetimeMs: 8_000, authTokenRenewBeforeMs: 4_000 });
    await short.fetchOpenOrders();
    const first = short.authTokenDeadlineMs;
    assert.ok(first);
    assert.equal(short.readiness().find((c) => c.component === 'auth token')?.ready, true);
    // Renewed by the port itself, before the deadline passes.
    await eventually('renewed before expiry', () => (short.authTokenDeadlineMs ?? 0) > first, {
      timeoutMs: 12_000,
      intervalMs: 100,
    });
    assert.ok(Date.now() < first, 'before the old token expired');
    await short.fetchOpenOrders();
    const { createLighterAuthToken } = await import('@perpmesh/signing');
    const expired = createLighterAuthToken(KEY, {
      deadlineUnixSeconds: Math.floor(Date.now() / 1000) - 1,
      accountIndex: ACCOUNT_INDEX,
      apiKeyIndex: API_KEY_INDEX,
    });
    const refused = await fetch(
      `${baseUrl}/api/v1/accountActiveOrders?account_index=${ACCOUNT_INDEX}&market_id=1`,
      {
        headers: { authorization: expired },
      },
    );
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(await refused.json()), /expired/);
  });

  test('the request budget is in readiness and turns not ready before it runs out', async () => {
    const tight = await openPort({ requestsPerMinute: 20 });
    const budget = () => tight.readiness().find((c) => c.component === 'request budget');
    assert.equal(budget()?.ready, true, budget()?.reason);
    for (let i = 0; i < 15; i++) await tight.fetchOrderBook(BTC, 1);
    assert.equal(budget()?.ready, false);
    assert.match(budget()?.reason ?? '', /of 20 requests a minute left .* nearly spent/);
  });

  test('faults: a 429 is rate-limited; a sendTx that times out after the venue took it is an unknown outcome, found by our id', async () => {
    const quick = await openPort({ callTimeoutMs: 500 });
    emulator.server.faults.inject({ kind: 'rate-limit', path: '/api/v1/orderBookOrders' });
    await assert.rejects(quick.fetchOrderBook(BTC, 1), RateLimitedError);
    emulator.server.faults.inject({ kind: 'timeout-after-accept', method: 'POST', path: '/api/v1/sendTx' });
    const id = cid('lost');
    const placed = emulator.acceptedClientOrderIndexes.length;
    await assert.rejects(quick.createOrder(order(id, 'buy', '58000', '0.001')), VenueUnknownOutcomeError);
    assert.equal(emulator.acceptedClientOrderIndexes.length, placed + 1, 'the venue placed it');
    const found = await quick.fetchOrder({ instrument: BTC, clientOrderId: id });
    assert.equal(found?.status, 'accepted');
    await quick.cancelAllOrders(undefined, { nonce: nextNonce() });
  });

  test('funding payments: the account history, per hour fraction and signed amount equal the venue', async () => {
    const config = lighterSimConfig('lighter', { funding: { ...FUNDING_EVERY_SECOND, divisor: '8' } });
    const fast = emulatorFor(makerMarket(config, BTC, { markPrice: '60000', indexPrice: '60000' }));
    try {
      const p = await openPort({}, fast);
      makerOrder('sell', '60000', '0.1', fast);
      await p.createOrder({ ...order(cid('f'), 'buy', '60000', '0.1'), nonce: 1n, timeInForce: 'ioc' });
      fast.exchange.setPrices(BTC, { markPrice: '60060', indexPrice: '60000' });
      const since = Date.now() - 1_000;
      await eventually('a few settlements', () => fast.exchange.balance('main').fundingNet.lt(0), 10_000);
      const payments = await eventually('payments listed', async () => {
        const list = await p.fetchFundingPayments(since);
        return list.length > 0 ? list : undefined;
      });
      const truth = fast.exchange.balance('main').fundingNet;
      const sum = payments.reduce((s, x) => s.plus(x.amount), new Decimal(0));
      assert.ok(sum.lte(0) && sum.gte(truth), `${sum.toFixed()} vs ${truth.toFixed()}`);
      for (const pay of payments) {
        assert.equal(pay.instrument, BTC);
        assert.equal(pay.positionSize.toFixed(), '0.1');
        assert.ok(pay.rate.gt(0), 'longs pay: a positive rate');
        assert.ok(pay.amount.lt(0));
      }
    } finally {
      await fast.close();
    }
  });
  test('a batch: orders with consecutive nonces go out in ONE sendTxBatch, each placed once', async () => {
    assert.equal(port.capabilities.maxBatchOrders, 50);
    const ids = [cid('b'), cid('b'), cid('b'), cid('b'), cid('b')];
    const batches = emulator.server.requestCounts.get('POST /api/v1/sendTxBatch') ?? 0;
    const singles = emulator.server.requestCounts.get('POST /api/v1/sendTx') ?? 0;
    const outcomes = await (port.createOrders as NonNullable<typeof port.createOrders>)(
      ids.map((id) => order(id, 'buy', '58000', '0.001')),
    );
    assert.equal(emulator.server.requestCounts.get('POST /api/v1/sendTxBatch'), batches + 1, 'one request');
    assert.equal(emulator.server.requestCounts.get('POST /api/v1/sendTx') ?? 0, singles, 'no single sendTx');
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? `${o.order.clientOrderId}:${o.order.status}` : String(o.error))),
      ids.map((id) => `${id}:accepted`),
    );
    const placed = emulator.acceptedClientOrderIndexes.map(String);
    for (const id of ids) {
      const index = lighterClientOrderIdCodec.encode(id);
      assert.equal(placed.filter((i) => i === index).length, 1, `${id} placed once`);
    }
    await port.cancelAllOrders(undefined, { nonce: nextNonce() });
  });

  test('a refusal inside a batch: the orders before it placed, the refused one its own error, the rest not sent (nonces unused)', async () => {
    const taken = cid('bt');
    await port.createOrder(order(taken, 'buy', '58000', '0.001'));
    const first = order(cid('b1'), 'buy', '58000', '0.001');
    const duplicate = order(taken, 'buy', '58000', '0.001');
    const after = [order(cid('b3'), 'buy', '58000', '0.001'), order(cid('b4'), 'buy', '58000', '0.001')];
    const outcomes = await (port.createOrders as NonNullable<typeof port.createOrders>)([
      first,
      duplicate,
      ...after,
    ]);
    assert.equal(outcomes[0]?.ok && outcomes[0].order.status, 'accepted');
    const refused = outcomes[1];
    assert.ok(refused !== undefined && !refused.ok && refused.error instanceof VenueRejectedError);
    assert.equal(refused.error.reason, 'duplicate_client_order_id');
    for (const o of outcomes.slice(2)) assert.ok(!o.ok && o.error instanceof VenueNotSentError, String(o));
    const placed = emulator.acceptedClientOrderIndexes.map(String);
    for (const r of after) assert.ok(!placed.includes(lighterClientOrderIdCodec.encode(r.clientOrderId)));
    // The refused transaction used its nonce; the ones after it did not.
    assert.equal(await port.fetchNextNonce(), (duplicate.nonce as bigint) + 1n);

    // A stale nonce first: that order is refused as for one order, nothing after it is looked at.
    const stale = await (port.createOrders as NonNullable<typeof port.createOrders>)([
      { ...order(cid('bs'), 'buy', '58000', '0.001'), nonce: 1n },
      order(cid('bs'), 'buy', '58000', '0.001'),
    ]);
    assert.ok(!stale[0]?.ok && stale[0]?.error instanceof VenueRejectedError);
    assert.equal(stale[0].error.reason, 'invalid_nonce');
    assert.ok(!stale[1]?.ok && stale[1]?.error instanceof VenueNotSentError);
    assert.equal(port.readiness().find((c) => c.component === 'nonces')?.ready, false);
    nonce = await port.fetchNextNonce();
    await port.cancelAllOrders(undefined, { nonce: nextNonce() });
  });

  test('the venue verifies every transaction of a batch: a forged signature in the second stops it there (21120)', async () => {
    const signed = [nextNonce(), nextNonce()].map((n) =>
      signLighterTx({ ...cancelAllTx(), nonce: n }, { chainId: emulator.chainId, key: KEY }),
    );
    const forged = signed[1]?.txInfo.replace(
      /"Sig":"[^"]*"/,
      `"Sig":"${Buffer.alloc(80).toString('base64')}"`,
    );
    const res = await fetch(`${baseUrl}/api/v1/sendTxBatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        tx_types: JSON.stringify([16, 16]),
        tx_infos: JSON.stringify([signed[0]?.txInfo, forged]),
      }).toString(),
    });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.code, LIGHTER_ERROR.invalidSignature.code);
    assert.equal((body.tx_hash as unknown[]).length, 1, 'the first was taken');
    nonce = await port.fetchNextNonce();
  });

  test('a batch whose answer is lost: every order of it unknown, each found by our id', async () => {
    const quick = await openPort({ callTimeoutMs: 500 });
    emulator.server.faults.inject({
      kind: 'timeout-after-accept',
      method: 'POST',
      path: '/api/v1/sendTxBatch',
    });
    const requests = [order(cid('bl'), 'buy', '58000', '0.001'), order(cid('bl'), 'buy', '58000', '0.001')];
    const outcomes = await (quick.createOrders as NonNullable<typeof quick.createOrders>)(requests);
    for (const o of outcomes) assert.ok(!o.ok && o.error instanceof VenueUnknownOutcomeError, String(o));
    for (const r of requests) {
      const found = await quick.fetchOrder({ instrument: BTC, clientOrderId: r.clientOrderId });
      assert.equal(found?.status, 'accepted');
    }
    await quick.cancelAllOrders(undefined, { nonce: nextNonce() });
  });
});

/**
 * Lighter holds a scheduled cancel-all's `Time` against its own clock: refused below its
 * minimum from its now, fired when its clock reaches it. Against an emulator whose clock is
 * 3 s ahead of ours or 3 s behind, the adapter measures the offset from the answers' `Date`
 * headers and asks for a deadline on the venue's clock: accepted, and fired when asked, not
 * early (ahead) and not 3 s late (behind).
 */
describe('lighter scheduled cancel-all against a venue clock skewed from ours', () => {
  for (const skewMs of [3_000, -3_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by 3 s: the schedule is accepted and fires when asked`, async () => {
      const skewed = emulatorFor(
        makerMarket(lighterSimConfig(), BTC, { markPrice: '60000', indexPrice: '59990' }, skewMs),
      );
      try {
        const p = await openPort({}, skewed);
        const offset = p.clockOffset();
        assert.ok(offset, 'measured from the answers so far');
        assert.ok(Math.abs(offset.offsetMs - skewMs) <= offset.uncertaintyMs + 60, JSON.stringify(offset));
        const id = cid('clk');
        await p.createOrder(order(id, 'buy', '58000', '0.001'));
        const afterMs = 1_500;
        const armedAtMs = Date.now();
        await p.scheduleCancelAll(afterMs, { nonce: nextNonce() });
        const answeredAtMs = Date.now();
        const deadline = skewed.exchange.cancelAllDeadline('main');
        assert.ok(deadline !== undefined, 'armed');
        const used = p.clockOffset() ?? offset;
        // On the venue's clock: never before `afterMs` after we asked (the emulator's exchange
        // clock trails its venue clock by a step, 50 ms, more when loaded); late by at most the
        // measure's uncertainty (twice) and the call.
        const afterArming = `deadline ${deadline - (armedAtMs + skewMs)} ms after arming (${JSON.stringify(used)})`;
        assert.ok(deadline >= armedAtMs + skewMs + afterMs - 250, afterArming);
        assert.ok(deadline <= answeredAtMs + skewMs + afterMs + 2 * used.uncertaintyMs + 60, afterArming);
        await eventually(
          'canceled by the switch',
          async () => (await p.fetchOrder({ instrument: BTC, clientOrderId: id }))?.status === 'canceled',
          { timeoutMs: 15_000, intervalMs: 200 },
        );
        assert.equal(skewed.exchange.cancelAllDeadline('main'), undefined, 'fired');
      } finally {
        await skewed.close();
      }
    });
  }
});
