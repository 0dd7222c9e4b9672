/**
 * The Extended adapter against its emulator (127.0.0.1): markets, the streamed book and a
 * resync after a lost frame, hourly funding, a zero-balance account (the venue's 404) read
 * as 0, the account against the emulator's truth, an order's life (place, partial fill,
 * fill, cancel), mass cancel, the Stark signature (a wrong or placeholder one is refused by
 * the venue; a failed self-test refuses to sign), the API key, and the dead-man switch
 * armed and disarmed (it firing after execution is killed: libs/execution's
 * extended-dead-man.venue.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decimal, fundingRatePerHour, ValidationError } from '@perpmesh/core';
import { ExtendedEmulator, extendedSimConfig } from '@perpmesh/emulators';
import { StarkSigner } from '@perpmesh/signing';
import { eventually } from '@perpmesh/testing';
import {
  FUNDING_EVERY_SECOND,
  fillInTwoParts,
  holdLongWhileFundingSettles,
  makerMarket,
  placeMakerOrder,
} from '../ccxt/venue-scenarios.test-helper.js';
import {
  InsufficientMarginError,
  RateLimitedError,
  VenueDisconnectedError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';
import { type MarketEvent, PUBLIC_ACCOUNT, type UserStreamEvent, VENUE_COMPONENT } from '../port.js';
import { EXTENDED_CAPABILITIES, ExtendedVenuePort, type ExtendedVenuePortOptions } from './port.js';

const BTC = 'BTC-USDC-PERP';
const KEYS = {
  main: { apiKey: 'emu-extended-main', privateKey: `0x${'1a2b3c4d'.repeat(7)}`, vault: '500343' },
  empty: { apiKey: 'emu-extended-empty', privateKey: `0x${'5e6f7a8b'.repeat(7)}`, vault: '500344' },
  other: { apiKey: 'emu-extended-other', privateKey: `0x${'0c0d0e0f'.repeat(7)}`, vault: '500345' },
};
const publicKey = (privateKey: string) => new StarkSigner(privateKey).publicKey;

let emulator: ExtendedEmulator;
let baseUrl: string;
const opened: ExtendedVenuePort[] = [];

async function openPort(
  who: keyof typeof KEYS | typeof PUBLIC_ACCOUNT,
  overrides: Partial<ExtendedVenuePortOptions> = {},
): Promise<ExtendedVenuePort> {
  const key = who === PUBLIC_ACCOUNT ? undefined : KEYS[who];
  const port = await ExtendedVenuePort.open({
    venue: 'extended',
    account: who === PUBLIC_ACCOUNT ? PUBLIC_ACCOUNT : who,
    apiKeyId: 'default',
    instruments: [BTC],
    chainId: 'SN_MAIN',
    baseUrl,
    wsUrl: emulator.wsUrl,
    callTimeoutMs: 5_000,
    streamBackoff: { initialDelayMs: 50, maxDelayMs: 500 },
    fundingPollMs: 200,
    ...(key === undefined
      ? {}
      : {
          keys: {
            apiKey: key.apiKey,
            signer: new StarkSigner(key.privateKey),
            starkPublicKey: publicKey(key.privateKey),
            vault: key.vault,
          },
        }),
    ...overrides,
  });
  opened.push(port);
  return port;
}

const makerOrder = (side: 'buy' | 'sell', price: string, size: string, tif: 'gtc' | 'ioc' = 'gtc') =>
  placeMakerOrder(emulator, BTC, side, price, size, tif);
/** The venue as the shared scenarios see it (the emulator exists once `before` ran). */
const makerVenue = () => ({ emulator, makerOrder });

const limit = (clientOrderId: string, side: 'buy' | 'sell', price: string, size: string) => ({
  clientOrderId,
  instrument: BTC,
  side,
  type: 'limit' as const,
  timeInForce: 'gtc' as const,
  price: new Decimal(price),
  size: new Decimal(size),
  reduceOnly: false,
});

/** POST user/order with a body the test builds: what the venue says to a settlement it did not sign. */
async function postOrder(
  apiKey: string,
  body: unknown,
): Promise<{ status: number; body: { error?: { code: number } } }> {
  const res = await fetch(`${baseUrl}/api/v1/user/order`, {
    method: 'POST',
    headers: { 'X-Api-Key': apiKey, 'User-Agent': 'venue-test', 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: number } } };
}

before(async () => {
  emulator = new ExtendedEmulator({
    market: makerMarket(extendedSimConfig('extended', { funding: FUNDING_EVERY_SECOND }), BTC, {
      markPrice: '60000',
      indexPrice: '60000',
    }),
    accounts: [
      { ...KEYS.main, accountId: 'main', starkPublicKey: publicKey(KEYS.main.privateKey), deposit: '10000' },
      { ...KEYS.empty, accountId: 'empty', starkPublicKey: publicKey(KEYS.empty.privateKey), deposit: '0' },
      {
        ...KEYS.other,
        accountId: 'other',
        starkPublicKey: publicKey(KEYS.other.privateKey),
        deposit: '10000',
      },
    ],
    stepIntervalMs: 50,
  });
  baseUrl = await emulator.start();
});

after(async () => {
  await Promise.allSettled(opened.map((p) => p.close()));
  await emulator.close();
});

describe('extended: markets, book, funding', () => {
  test('markets carry the venue rules, the hourly funding interval and the account fees', async () => {
    const port = await openPort('main');
    const [m] = await port.loadMarkets();
    assert.equal(m?.instrument, BTC);
    assert.equal(m?.venueSymbol, 'BTC-USD');
    assert.equal(m?.tickSize.toFixed(), '1');
    assert.equal(m?.lotSize.toFixed(), '0.00001');
    assert.equal(m?.minSize.toFixed(), '0.0001');
    assert.equal(m?.maxLeverage.toFixed(), '50');
    assert.equal(m?.fundingIntervalMs, 3_600_000);
    assert.equal(m?.takerFeeRate.toFixed(), '0.00025');
    assert.equal(m?.makerFeeRate.toFixed(), '0');
    assert.ok(port.readiness().some((c) => c.component === VENUE_COMPONENT.markets && c.ready));
    // The venue's clock offset, from the answers' Date headers (this emulator's clock is ours).
    const clock = port.clockOffset();
    assert.ok(clock, 'measured');
    assert.ok(Math.abs(clock.offsetMs) <= clock.uncertaintyMs + 60, JSON.stringify(clock));
  });

  test('the book over REST and the stream: a snapshot, deltas in seq order, a resync after a lost frame', async () => {
    makerOrder('buy', '59990', '0.5');
    makerOrder('sell', '60010', '0.4');
    const port = await openPort(PUBLIC_ACCOUNT);
    const book = await port.fetchOrderBook(BTC, 10);
    assert.equal(book.bids[0]?.price.toFixed(), '59990');
    assert.equal(book.asks[0]?.size.toFixed(), '0.4');
    const events: MarketEvent[] = [];
    const sub = await port.watchMarket([BTC], (e) => events.push(e));
    await eventually('snapshot', () => events.some((e) => e.kind === 'snapshot'), 5_000);
    makerOrder('buy', '59980', '0.25');
    const delta = await eventually(
      'delta',
      () => events.find((e) => e.kind === 'delta' && e.bids.some((l) => l.price.toFixed() === '59980')),
      5_000,
    );
    assert.equal(delta?.kind === 'delta' && delta.bids[0]?.size.toFixed(), '0.25');
    // A lost frame: the stream sees the seq gap and starts again from a fresh snapshot.
    const snapshots = events.filter((e) => e.kind === 'snapshot').length;
    emulator.server.faults.skipBookDeltas('BTC-USD');
    makerOrder('buy', '59970', '0.1');
    makerOrder('buy', '59960', '0.1');
    const resynced = await eventually(
      'fresh snapshot after the gap',
      () =>
        events.filter((e) => e.kind === 'snapshot').length > snapshots
          ? events.findLast((e) => e.kind === 'snapshot')
          : undefined,
      5_000,
    );
    assert.ok(resynced?.kind === 'snapshot' && resynced.bids.some((l) => l.price.toFixed() === '59960'));
    await sub.close();
  });

  test('funding: the running hour rate with its 1 h interval, per hour as is', async () => {
    const port = await openPort(PUBLIC_ACCOUNT);
    emulator.exchange.setPrices(BTC, { markPrice: '60030', indexPrice: '60000' });
    await eventually(
      'a predicted rate',
      () => !emulator.exchange.funding(BTC)?.predictedRate.isZero(),
      5_000,
    );
    const [f] = await port.fetchFunding([BTC]);
    const truth = emulator.exchange.funding(BTC);
    assert.equal(f?.intervalMs, 3_600_000);
    assert.ok(f?.rate.gt(0), f?.rate.toFixed());
    assert.equal(
      fundingRatePerHour(f?.rate as Decimal, { intervalMs: f?.intervalMs as number }).toFixed(),
      f?.rate.toFixed(),
    );
    // The next settlement (the test's sim settles every second).
    assert.ok((f?.nextFundingTimeMs ?? 0) > Date.now() - 1_000);
    assert.equal(f?.markPrice.toFixed(), truth?.markPrice.toFixed());
    const events: MarketEvent[] = [];
    const sub = await port.watchMarket([BTC], (e) => events.push(e));
    await eventually('funding on the market stream', () => events.some((e) => e.kind === 'funding'), 5_000);
    await sub.close();
    emulator.exchange.setPrices(BTC, { markPrice: '60000', indexPrice: '60000' });
  });
});

describe('extended: the account', () => {
  test('a zero-balance account (the venue answers 404) reads an explicit 0 with its time, no error', async () => {
    const port = await openPort('empty');
    const res = await fetch(`${baseUrl}/api/v1/user/balance`, {
      headers: { 'X-Api-Key': KEYS.empty.apiKey, 'User-Agent': 'venue-test' },
    });
    assert.equal(res.status, 404);
    const before = Date.now();
    const balances = await port.fetchBalances();
    assert.equal(balances.length, 1);
    assert.equal(balances[0]?.asset, 'USDC');
    assert.equal(balances[0]?.total.toFixed(), '0');
    assert.equal(balances[0]?.equity.toFixed(), '0');
    assert.equal(balances[0]?.available.toFixed(), '0');
    assert.ok((balances[0]?.tsEventMs ?? 0) >= before);
    const balance = port.readiness().find((c) => c.component === VENUE_COMPONENT.balance);
    assert.equal(balance?.ready, false);
    assert.match(balance?.reason ?? '', /zero balance/);
  });

  test('balances and positions equal the emulator truth after a fill', async () => {
    const port = await openPort('main');
    makerOrder('sell', '60000', '0.01');
    await port.createOrder({ ...limit('ext-acct-1', 'buy', '60000', '0.01'), timeInForce: 'ioc' });
    await eventually('position', () => emulator.exchange.position('main', BTC).size.gt(0), 5_000);
    const [balance] = await port.fetchBalances();
    const truth = emulator.exchange.balance('main');
    assert.equal(balance?.total.toFixed(), truth.walletBalance.toFixed());
    assert.equal(balance?.equity.toFixed(), truth.equity.toFixed());
    assert.equal(balance?.unrealizedPnl.toFixed(), truth.unrealizedPnl.toFixed());
    const [position] = await port.fetchPositions();
    const p = emulator.exchange.position('main', BTC);
    assert.equal(position?.instrument, BTC);
    assert.equal(position?.size.toFixed(), p.size.toFixed());
    assert.equal(position?.entryPrice.toFixed(), p.entryPrice?.toFixed());
    assert.equal(position?.markPrice.toFixed(), p.markPrice.toFixed());
    assert.equal(position?.unrealizedPnl.toFixed(), p.unrealizedPnl.toFixed());
    assert.equal(position?.liquidationPrice?.toFixed(), p.liquidationPrice?.toFixed());
    assert.equal(position?.leverage.toFixed(), String(p.leverage));
    assert.ok(port.readiness().some((c) => c.component === VENUE_COMPONENT.balance && c.ready));
  });

  test('funding paid while nobody listened is read back from the account history', async () => {
    const port = await openPort('main');
    const since = await holdLongWhileFundingSettles(makerVenue(), port, BTC, 'ext-funding-long');
    const payments = await port.fetchFundingPayments(since);
    assert.ok(payments.length >= 2, `payments: ${payments.length}`);
    assert.ok(payments.every((p) => p.instrument === BTC && p.amount.isNeg() && p.positionSize.gt(0)));
    assert.equal(new Set(payments.map((p) => p.paymentId)).size, payments.length);
    const truth = emulator.exchange.balance('main').fundingNet;
    const sum = payments.reduce((s, p) => s.plus(p.amount), new Decimal(0));
    assert.ok(sum.gte(truth) && sum.lt(0), `history ${sum.toFixed()} vs venue ${truth.toFixed()}`);
    emulator.exchange.setPrices(BTC, { markPrice: '60000', indexPrice: '60000' });
  });

  test('a wrong API key is refused as authentication', async () => {
    const port = await openPort('main', {
      keys: {
        apiKey: 'not-a-key',
        signer: new StarkSigner(KEYS.main.privateKey),
        starkPublicKey: publicKey(KEYS.main.privateKey),
        vault: KEYS.main.vault,
      },
    });
    await assert.rejects(
      port.fetchBalances(),
      (err: unknown) => err instanceof VenueRejectedError && err.reason === 'authentication',
    );
  });
});

describe('extended: orders', () => {
  test('place, partial fill, fill (streamed once each), by our client order id', async () => {
    const port = await openPort('main');
    const events: UserStreamEvent[] = [];
    const sub = await port.watchUserStream((e) => events.push(e));
    const placed = await port.createOrder(limit('ext-life-1', 'buy', '60000', '0.005'));
    assert.equal(placed.status, 'accepted');
    assert.equal(
      emulator.exchange.getOrder('main', { clientOrderId: 'ext-life-1' })?.venueOrderId,
      placed.venueOrderId,
    );
    const { filled, fills } = await fillInTwoParts(makerVenue(), port, BTC, 'ext-life-1', events);
    assert.equal(filled.filled.toFixed(), '0.005');
    assert.equal(filled.avgFillPrice?.toFixed(), '60000');
    assert.deepEqual(
      fills.map((f) => f.size.toFixed()),
      ['0.002', '0.003'],
    );
    assert.ok(fills.every((f) => f.venueOrderId === placed.venueOrderId && f.liquidity === 'maker'));
    assert.ok(
      events.some(
        (e) => e.kind === 'order' && e.order.clientOrderId === 'ext-life-1' && e.order.status === 'filled',
      ),
    );
    assert.ok(events.some((e) => e.kind === 'position'));
    await sub.close();
  });

  test('a websocket drop during fills: each fill delivered once, the missed ones read back', async () => {
    const port = await openPort('main');
    const events: UserStreamEvent[] = [];
    const sub = await port.watchUserStream((e) => events.push(e));
    const fills = () =>
      events.flatMap((e) => (e.kind === 'fill' && e.fill.clientOrderId === 'ext-drop-1' ? [e.fill] : []));
    await port.createOrder(limit('ext-drop-1', 'buy', '60000', '0.004'));
    makerOrder('sell', '60000', '0.001');
    await eventually('the first fill streamed', () => fills().length === 1, 5_000);
    emulator.server.dropWebSockets();
    // Filled while the stream is down: only the read-back after the reconnect can tell.
    makerOrder('sell', '60000', '0.001');
    makerOrder('sell', '60000', '0.002');
    await eventually('every fill, once', () => fills().length === 3, 10_000);
    assert.equal(new Set(fills().map((f) => f.tradeId)).size, 3);
    assert.deepEqual(
      fills()
        .map((f) => f.size.toFixed())
        .sort(),
      ['0.001', '0.001', '0.002'],
    );
    const stream = port.readiness().find((c) => c.component === VENUE_COMPONENT.userStream);
    assert.equal(stream?.ready, true, stream?.reason);
    await sub.close();
  });

  test('the trade history is read page by page (100 a page, newest first) back to the time asked', async () => {
    const port = await openPort('main');
    const since = Date.now();
    await port.createOrder(limit('ext-pages-1', 'buy', '60000', '0.024'));
    for (let i = 0; i < 120; i += 1) makerOrder('sell', '60000', '0.0002');
    const pagesBefore = emulator.server.requestCounts.get('GET /api/v1/user/trades') ?? 0;
    const fills = (await port.fetchFills(since)).filter((f) => f.clientOrderId === 'ext-pages-1');
    assert.equal(fills.length, 120);
    assert.equal(new Set(fills.map((f) => f.tradeId)).size, 120);
    assert.deepEqual(
      fills.map((f) => f.tsEventMs),
      [...fills.map((f) => f.tsEventMs)].sort((a, b) => a - b),
    );
    assert.equal((emulator.server.requestCounts.get('GET /api/v1/user/trades') ?? 0) - pagesBefore, 2);
  });

  test('cancel by our id and by the venue id', async () => {
    const port = await openPort('main');
    const a = await port.createOrder(limit('ext-cancel-a', 'buy', '55000', '0.001'));
    await port.createOrder(limit('ext-cancel-b', 'buy', '55001', '0.001'));
    const byOurs = await port.cancelOrder({ instrument: BTC, clientOrderId: 'ext-cancel-b' });
    assert.equal(byOurs.status, 'canceled');
    assert.equal(byOurs.clientOrderId, 'ext-cancel-b');
    const byVenue = await port.cancelOrder({ instrument: BTC, venueOrderId: a.venueOrderId });
    assert.equal(byVenue.status, 'canceled');
    assert.equal(byVenue.clientOrderId, 'ext-cancel-a');
    assert.equal(await port.fetchOrder({ instrument: BTC, clientOrderId: 'never-placed' }), undefined);
  });

  test('mass cancel cancels every open order of the account', async () => {
    const port = await openPort('main');
    for (const [i, price] of ['54000', '54001', '54002'].entries()) {
      await port.createOrder(limit(`ext-mass-${i}`, 'buy', price, '0.001'));
    }
    assert.equal(emulator.exchange.openOrders('main').length >= 3, true);
    const canceled = await port.cancelAllOrders(BTC);
    assert.ok(canceled.length >= 3 && canceled.every((o) => o.status === 'canceled'));
    assert.equal(emulator.exchange.openOrders('main').length, 0);
    assert.deepEqual(await port.fetchOpenOrders(BTC), []);
  });

  test('an order beyond the collateral is insufficient margin', async () => {
    const port = await openPort('main');
    await assert.rejects(
      port.createOrder(limit('ext-too-big', 'buy', '59000', '50')),
      InsufficientMarginError,
    );
  });
});

describe('extended: faults and account controls', () => {
  test('a create that timed out after the venue accepted it is an unknown outcome, found by our id', async () => {
    const port = await openPort('main', { callTimeoutMs: 300 });
    emulator.server.faults.inject({
      kind: 'timeout-after-accept',
      method: 'POST',
      path: '/api/v1/user/order',
    });
    const sent = emulator.server.requestCounts.get('POST /api/v1/user/order') ?? 0;
    await assert.rejects(
      port.createOrder(limit('ext-timeout-1', 'buy', '52000', '0.001')),
      VenueUnknownOutcomeError,
    );
    const found = await port.fetchOrder({ instrument: BTC, clientOrderId: 'ext-timeout-1' });
    assert.equal(found?.status, 'accepted');
    assert.equal(
      emulator.server.requestCounts.get('POST /api/v1/user/order'),
      sent + 1,
      'sent once, never resent',
    );
    await port.cancelOrder({ instrument: BTC, clientOrderId: 'ext-timeout-1' });
  });

  test('429 is rate-limited, a 5xx on a create an unknown outcome, on a read a disconnection (link not ready)', async () => {
    const port = await openPort('main');
    emulator.server.faults.inject({ kind: 'rate-limit', path: '/api/v1/user/positions' });
    await assert.rejects(port.fetchPositions(), RateLimitedError);
    emulator.server.faults.inject({ kind: 'server-error', method: 'POST', path: '/api/v1/user/order' });
    await assert.rejects(
      port.createOrder(limit('ext-5xx-1', 'buy', '52000', '0.001')),
      VenueUnknownOutcomeError,
    );
    assert.equal(await port.fetchOrder({ instrument: BTC, clientOrderId: 'ext-5xx-1' }), undefined);
    emulator.server.faults.inject({ kind: 'server-error', path: '/api/v1/user/balance' });
    await assert.rejects(port.fetchBalances(), VenueDisconnectedError);
    const link = port.readiness().find((c) => c.component === VENUE_COMPONENT.link);
    assert.equal(link?.ready, false);
    assert.match(link?.reason ?? '', /user\/balance failed/);
  });

  test('leverage is set per market (PATCH user/leverage); a fractional one is refused before sending', async () => {
    const port = await openPort('main');
    await port.setLeverage(BTC, new Decimal(7));
    assert.equal(emulator.exchange.position('main', BTC).leverage, 7);
    await assert.rejects(port.setLeverage(BTC, new Decimal('2.5')), ValidationError);
    await assert.rejects(
      port.setLeverage(BTC, new Decimal(80)),
      (err: unknown) => err instanceof VenueRejectedError && err.reason === 'invalid_leverage',
    );
    await port.setLeverage(BTC, new Decimal(10));
  });
});

describe('extended: the Stark signature', () => {
  /** A signed body the port would send, captured from a real order, for tampering. */
  async function signedBody(clientOrderId: string): Promise<Record<string, unknown>> {
    const port = await openPort('main');
    let body: Record<string, unknown> | undefined;
    const original = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      if (String(input).endsWith('/api/v1/user/order') && init?.method === 'POST') {
        body = JSON.parse(String(init.body)) as Record<string, unknown>;
      }
      return original(input, init);
    };
    try {
      await port.createOrder(limit(clientOrderId, 'buy', '53000', '0.001'));
    } finally {
      globalThis.fetch = original;
    }
    await port.cancelOrder({ instrument: BTC, clientOrderId });
    assert.ok(body);
    return body;
  }

  test('the venue verifies the signature over the hash it recomputes: tampered, wrong-key and placeholder signatures are refused', async () => {
    const body = await signedBody('ext-sig-source');
    const settlement = body.settlement as { signature: { r: string; s: string }; starkKey: string };
    // The same signature over a changed order (price): the recomputed hash no longer matches.
    const tampered = await postOrder(KEYS.main.apiKey, { ...body, id: 'ext-sig-tampered', price: '53001' });
    assert.equal(tampered.status, 400);
    assert.equal(tampered.body.error?.code, 1101);
    // A placeholder signature.
    const placeholder = await postOrder(KEYS.main.apiKey, {
      ...body,
      id: 'ext-sig-placeholder',
      settlement: { ...settlement, signature: { r: '0x0', s: '0x0' } },
    });
    assert.equal(placeholder.body.error?.code, 1101);
    // Signed by another key, claiming this account's key.
    const stranger = new StarkSigner(KEYS.other.privateKey).signHash(123456789n);
    const wrongKey = await postOrder(KEYS.main.apiKey, {
      ...body,
      id: 'ext-sig-wrong-key',
      settlement: {
        ...settlement,
        signature: { r: `0x${stranger.r.toString(16)}`, s: `0x${stranger.s.toString(16)}` },
      },
    });
    assert.equal(wrongKey.body.error?.code, 1101);
    assert.equal(emulator.exchange.getOrder('main', { clientOrderId: 'ext-sig-tampered' }), undefined);
    assert.equal(emulator.exchange.getOrder('main', { clientOrderId: 'ext-sig-placeholder' }), undefined);
    assert.equal(emulator.exchange.getOrder('main', { clientOrderId: 'ext-sig-wrong-key' }), undefined);
  });

  test("a signer whose key is not the account's is not ready and the venue would refuse it", async () => {
    const port = await openPort('main', {
      keys: {
        apiKey: KEYS.main.apiKey,
        signer: new StarkSigner(KEYS.other.privateKey),
        starkPublicKey: publicKey(KEYS.main.privateKey),
        vault: KEYS.main.vault,
      },
    });
    const signer = port.readiness().find((c) => c.component === VENUE_COMPONENT.signer);
    assert.equal(signer?.ready, false);
    assert.match(signer?.reason ?? '', /does not belong to the account/);
    await assert.rejects(port.createOrder(limit('ext-wrong-signer', 'buy', '53000', '0.001')));
    assert.equal(emulator.exchange.getOrder('main', { clientOrderId: 'ext-wrong-signer' }), undefined);
  });

  test('a failed signer self-test at open: signer not ready with the reason, nothing signed or sent', async () => {
    const sentBefore = emulator.server.requestCounts.get('POST /api/v1/user/order') ?? 0;
    const port = await openPort('main', {
      signerSelfTest: () => [
        { section: 'orders', name: 'case-1', ok: true },
        { section: 'orders', name: 'case-2', ok: false, detail: 'message hash mismatch' },
      ],
    });
    const signer = port.readiness().find((c) => c.component === VENUE_COMPONENT.signer);
    assert.equal(signer?.ready, false);
    assert.match(
      signer?.reason ?? '',
      /self-test failed.*orders\/case-2: message hash mismatch.*refusing to sign/,
    );
    await assert.rejects(
      port.createOrder(limit('ext-no-selftest', 'buy', '53000', '0.001')),
      (err: unknown) => err instanceof VenueRejectedError && err.reason === 'signer_self_test_failed',
    );
    assert.equal(emulator.server.requestCounts.get('POST /api/v1/user/order') ?? 0, sentBefore);
  });

  test('a passing self-test and the venue vault make the signer ready', async () => {
    const port = await openPort('main');
    const signer = port.readiness().find((c) => c.component === VENUE_COMPONENT.signer);
    assert.equal(signer?.ready, true, signer?.reason);
    assert.match(signer?.reason ?? '', /vault 500343/);
    const budget = port.readiness().find((c) => c.component === VENUE_COMPONENT.requestBudget);
    assert.equal(budget?.ready, true, budget?.reason);
  });
});

describe('extended: the dead-man switch', () => {
  test('arms and disarms at the venue', async () => {
    assert.equal(EXTENDED_CAPABILITIES.scheduleCancelAll, true);
    const port = await openPort('main');
    const before = Date.now();
    await port.scheduleCancelAll(2_500);
    const deadline = emulator.deadManSwitchDeadline('main') ?? 0;
    // Whole seconds, rounded up: never earlier than asked.
    assert.ok(deadline >= before + 3_000 - 100 && deadline <= Date.now() + 3_000, `${deadline - before}`);
    assert.ok(
      port
        .readiness()
        .some((c) => c.component === VENUE_COMPONENT.deadManSwitch && c.ready && /armed/.test(c.reason)),
    );
    await port.scheduleCancelAll(0);
    assert.equal(emulator.deadManSwitchDeadline('main'), undefined);
  });
});
