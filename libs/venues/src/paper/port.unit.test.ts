/** SimulatedVenue against the VenuePort contract, over a manual-clock PaperVenueHub. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, OrderBook } from '@perpmesh/core';
import {
  InsufficientMarginError,
  VenueDisconnectedError,
  VenueNotSentError,
  VenueOrderNotFoundError,
  VenueRejectedError,
} from '../errors.js';
import type { BatchOrderOutcome, MarketEvent, PlaceOrderRequest, UserStreamEvent } from '../port.js';
import { PaperVenueHub } from './hub.js';
import { PAPER_MAX_BATCH_ORDERS } from './parse.js';

const START_MS = Date.UTC(2026, 0, 1, 0, 0, 0);
const HOUR_MS = 3_600_000;
const BTC = 'BTC-USDC-PERP';
const ETH = 'ETH-USDC-PERP';

function makeHub(seed = 7) {
  return new PaperVenueHub({
    seed,
    clock: { kind: 'manual' },
    startMs: START_MS,
    accounts: [
      { venueId: 'paper', accountId: 'alice', deposit: '100000' },
      { venueId: 'paper', accountId: 'whale', deposit: '5000000' },
      { venueId: 'paper', accountId: 'poor', deposit: '100' },
      { venueId: 'paper-lighter', accountId: 'alice', deposit: '100000', apiKeyId: 'k4' },
      { venueId: 'paper-extended', accountId: 'alice', deposit: '100000' },
    ],
  });
}

let ids = 0;
function order(overrides: Partial<PlaceOrderRequest>): PlaceOrderRequest {
  ids += 1;
  return {
    clientOrderId: `c-${ids}`,
    instrument: BTC,
    side: 'buy',
    type: 'market',
    timeInForce: 'ioc',
    size: dec('0.01'),
    reduceOnly: false,
    ...overrides,
  };
}

async function rejectReason(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => assert.fail('expected a VenueRejectedError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof VenueRejectedError, `expected VenueRejectedError, got ${String(err)}`);
  return err.reason;
}

describe('SimulatedVenue: markets and market data', () => {
  test('markets carry tick, lot, min notional, max leverage and the venue funding interval', async () => {
    const hub = makeHub();
    const paper = await hub.venue('paper', 'alice').loadMarkets();
    const lighter = await hub.venue('paper-lighter', 'alice', 'k4').loadMarkets();
    const extended = await hub.venue('paper-extended', 'alice').loadMarkets();
    const btc = (ms: typeof paper) => ms.find((m) => m.instrument === BTC)!;
    assert.deepEqual(
      paper.map((m) => m.instrument),
      [BTC, ETH],
    );
    assert.equal(btc(paper).fundingIntervalMs, 8 * HOUR_MS);
    assert.equal(btc(lighter).fundingIntervalMs, HOUR_MS);
    assert.equal(btc(extended).fundingIntervalMs, HOUR_MS);
    assert.equal(btc(paper).tickSize.toFixed(), '0.1');
    assert.equal(btc(paper).lotSize.toFixed(), '0.001');
    assert.equal(btc(paper).minNotional.toFixed(), '100');
    assert.equal(btc(paper).maxLeverage.toFixed(), '125');
    assert.equal(btc(paper).takerFeeRate.toFixed(), '0.0005');
    assert.equal(btc(lighter).lotSize.toFixed(), '0.00001');
    assert.equal(btc(lighter).maxLeverage.toFixed(), '50');
    assert.equal(btc(extended).tickSize.toFixed(), '1');
    assert.equal(btc(extended).minSize.toFixed(), '0.0001');
    assert.equal(btc(paper).settle, 'USDC');
    hub.close();
  });

  test('capabilities follow the venue rules', () => {
    const hub = makeHub();
    const paper = hub.venue('paper', 'alice');
    const lighter = hub.venue('paper-lighter', 'alice', 'k4');
    assert.equal(paper.capabilities.nonces, false);
    assert.equal(paper.capabilities.rejectsDuplicateClientOrderId, false);
    assert.equal(paper.fetchNextNonce, undefined);
    assert.equal(lighter.capabilities.nonces, true);
    assert.equal(lighter.capabilities.rejectsDuplicateClientOrderId, true);
    assert.equal(typeof lighter.fetchNextNonce, 'function');
    assert.equal(lighter.apiKeyId, 'k4');
    assert.equal(paper.capabilities.maxBatchOrders, PAPER_MAX_BATCH_ORDERS);
    assert.equal(lighter.capabilities.maxBatchOrders, PAPER_MAX_BATCH_ORDERS);
    hub.close();
  });

  test('watchMarket: a snapshot, then deltas continuing its seq without gaps, equal to fetchOrderBook', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    const events: MarketEvent[] = [];
    const sub = await alice.watchMarket([BTC], (e) => events.push(e));
    assert.equal(events[0]?.kind, 'snapshot', 'the snapshot comes first');
    assert.equal(events[1]?.kind, 'funding', 'then the current funding');
    let now = START_MS;
    for (let i = 0; i < 40; i++) {
      now += 250;
      hub.advanceTo(now);
      if (i % 10 === 5) {
        // Our own orders move the book too: a resting bid and a taker.
        await alice.createOrder(
          order({ type: 'limit', timeInForce: 'gtc', price: dec('59000'), size: dec('0.01') }),
        );
        await alice.createOrder(order({ side: 'sell', size: dec('0.3') }));
      }
    }
    const book = new OrderBook({ name: 'paper BTC' });
    let lastSeq = -1;
    let deltas = 0;
    for (const e of events) {
      if (e.kind === 'snapshot') {
        book.applySnapshot(e);
        lastSeq = e.seq;
      } else if (e.kind === 'delta') {
        assert.equal(e.prevSeq, lastSeq, 'each delta continues the previous seq');
        assert.equal(e.seq, lastSeq + 1);
        const result = book.applyDelta(e);
        assert.equal(result.status, 'applied');
        lastSeq = e.seq;
        deltas += 1;
      }
    }
    assert.ok(deltas > 5, `expected several deltas, got ${deltas}`);
    const fetched = await alice.fetchOrderBook(BTC, 10);
    assert.equal(fetched.seq, book.seq);
    const levels = (ls: readonly { price: { toFixed(): string }; size: { toFixed(): string } }[]) =>
      ls.map((l) => `${l.price.toFixed()}@${l.size.toFixed()}`);
    assert.deepEqual(levels(book.levels('bids', 10)), levels(fetched.bids));
    assert.deepEqual(levels(book.levels('asks', 10)), levels(fetched.asks));
    assert.ok(
      events.some((e) => e.kind === 'trade'),
      'trades are on the stream',
    );
    await sub.close();
    const count = events.length;
    hub.advanceTo(now + 60_000);
    assert.equal(events.length, count, 'nothing after close');
    hub.close();
  });

  test('funding info has the venue interval, next funding time, mark and index', async () => {
    const hub = makeHub();
    const [paper] = await hub.venue('paper', 'alice').fetchFunding([BTC]);
    const [lighter] = await hub.venue('paper-lighter', 'alice', 'k4').fetchFunding([BTC]);
    assert.ok(paper && lighter);
    assert.equal(paper.intervalMs, 8 * HOUR_MS);
    assert.equal(paper.nextFundingTimeMs, START_MS + 8 * HOUR_MS);
    assert.equal(lighter.intervalMs, HOUR_MS);
    assert.equal(lighter.nextFundingTimeMs, START_MS + HOUR_MS);
    assert.ok(paper.markPrice.gt(0) && paper.indexPrice.gt(0));
    assert.ok(paper.rate.isFinite());
    const all = await hub.venue('paper', 'alice').fetchFunding([]);
    assert.deepEqual(
      all.map((f) => f.instrument),
      [BTC, ETH],
    );
    hub.close();
  });
});

describe('SimulatedVenue: account and orders', () => {
  test('a funded account has a non-zero balance; a fill opens a tracked position', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    const [balance] = await alice.fetchBalances();
    assert.ok(balance);
    assert.equal(balance.asset, 'USDC');
    assert.equal(balance.total.toFixed(), '100000');
    assert.equal(balance.equity.toFixed(), '100000');
    assert.equal(balance.available.toFixed(), '100000');
    assert.deepEqual(await alice.fetchPositions(), []);

    const stream: UserStreamEvent[] = [];
    await alice.watchUserStream((e) => stream.push(e));
    const acked = await alice.createOrder(order({ size: dec('0.02') }));
    assert.equal(acked.status, 'filled');
    assert.equal(acked.filled.toFixed(), '0.02');
    assert.ok(acked.avgFillPrice?.gt(0));
    const [position] = await alice.fetchPositions();
    assert.ok(position);
    assert.equal(position.instrument, BTC);
    assert.equal(position.size.toFixed(), '0.02');
    assert.ok(position.entryPrice.gt(0));
    assert.equal(position.leverage.toFixed(), '20');
    const kinds = new Set(stream.map((e) => e.kind));
    for (const kind of ['order', 'fill', 'balance', 'position'] as const)
      assert.ok(kinds.has(kind), `user stream has ${kind}`);
    const fills = await alice.fetchFills(START_MS);
    assert.ok(fills.length >= 1);
    assert.equal(fills.reduce((sum, f) => sum.plus(f.size), dec(0)).toFixed(), '0.02');
    assert.ok(
      fills.every((f) => f.liquidity === 'taker' && f.fee.gt(0) && f.clientOrderId === acked.clientOrderId),
    );
    assert.deepEqual(await alice.fetchFills(START_MS + 1), [], 'sinceMs filters');
    hub.close();
  });

  test('a market order larger than the book fills partially and reports the rest', async () => {
    const hub = makeHub();
    const whale = hub.venue('paper', 'whale');
    const book = await whale.fetchOrderBook(BTC, 1000);
    const askDepth = book.asks.reduce((sum, l) => sum.plus(l.size), dec(0));
    const acked = await whale.createOrder(order({ size: askDepth.plus(5) }));
    assert.equal(acked.status, 'canceled');
    assert.equal(acked.filled.toFixed(), askDepth.toFixed(), 'filled what the book had');
    assert.ok(acked.filled.lt(acked.size));
    assert.equal(acked.reason, 'no_liquidity');
    hub.close();
  });

  test('post-only that would cross is rejected with a reason', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    const book = await alice.fetchOrderBook(BTC, 1);
    const bestAsk = book.asks[0]!.price;
    const reason = await rejectReason(
      alice.createOrder(order({ type: 'limit', timeInForce: 'post_only', price: bestAsk })),
    );
    assert.equal(reason, 'post_only_would_cross');
    assert.equal(
      await rejectReason(
        alice.createOrder(order({ type: 'limit', timeInForce: 'gtc', price: dec('59000.05') })),
      ),
      'tick_size',
    );
    hub.close();
  });

  test('reduce-only never increases a position', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    assert.equal(
      await rejectReason(alice.createOrder(order({ side: 'sell', reduceOnly: true }))),
      'reduce_only_would_increase',
      'flat: a reduce-only order would open a position',
    );
    await alice.createOrder(order({ size: dec('0.01') }));
    assert.equal(
      await rejectReason(alice.createOrder(order({ side: 'buy', reduceOnly: true }))),
      'reduce_only_would_increase',
    );
    const closing = await alice.createOrder(order({ side: 'sell', size: dec('0.05'), reduceOnly: true }));
    assert.equal(closing.size.toFixed(), '0.01', 'capped to the position');
    assert.equal(closing.filled.toFixed(), '0.01');
    assert.deepEqual(await alice.fetchPositions(), [], 'flat, not short');
    hub.close();
  });

  test('insufficient margin throws InsufficientMarginError', async () => {
    const hub = makeHub();
    const poor = hub.venue('paper', 'poor');
    const err = await poor
      .createOrder(order({ type: 'limit', timeInForce: 'gtc', price: dec('50000'), size: dec('1') }))
      .catch((e: unknown) => e);
    assert.ok(err instanceof InsufficientMarginError, String(err));
    assert.equal(err.code, 'INSUFFICIENT_MARGIN');
    assert.deepEqual(await poor.fetchOpenOrders(), []);
    hub.close();
  });

  test('paper-lighter rejects a reused nonce and a duplicate client order id; fetchNextNonce moves on', async () => {
    const hub = makeHub();
    const lighter = hub.venue('paper-lighter', 'alice', 'k4');
    assert.equal(await lighter.fetchNextNonce!(), 0n);
    const first = await lighter.createOrder(order({ clientOrderId: 'dup-1', nonce: 5n }));
    assert.equal(first.status, 'filled');
    assert.equal(await lighter.fetchNextNonce!(), 6n);
    assert.equal(await rejectReason(lighter.createOrder(order({ nonce: 5n }))), 'nonce_too_low');
    assert.equal(await rejectReason(lighter.createOrder(order({ nonce: 3n }))), 'nonce_too_low');
    assert.equal(
      await rejectReason(lighter.createOrder(order({ clientOrderId: 'dup-1', nonce: 6n }))),
      'duplicate_client_order_id',
    );
    // Lighter uses a nonce up once it passed the nonce check, even when the order is refused.
    assert.equal(await lighter.fetchNextNonce!(), 7n);
    await assert.rejects(lighter.createOrder(order({})), { name: 'ValidationError', field: 'nonce' });
    const next = await lighter.createOrder(order({ nonce: 7n }));
    assert.equal(next.status, 'filled');
    hub.close();
  });

  test('paper accepts a reused client order id (its rule), and fetchOrder finds the order by client order id after a fill', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    const placed = await alice.createOrder(order({ clientOrderId: 'find-me', size: dec('0.01') }));
    assert.equal(placed.status, 'filled');
    const found = await alice.fetchOrder({ instrument: BTC, clientOrderId: 'find-me' });
    assert.ok(found);
    assert.equal(found.venueOrderId, placed.venueOrderId);
    assert.equal(found.status, 'filled');
    assert.equal(found.filled.toFixed(), '0.01');
    const byVenueId = await alice.fetchOrder({ instrument: BTC, venueOrderId: placed.venueOrderId });
    assert.equal(byVenueId?.clientOrderId, 'find-me');
    assert.equal(
      await alice.fetchOrder({ instrument: ETH, clientOrderId: 'find-me' }),
      undefined,
      'wrong instrument',
    );
    assert.equal(await alice.fetchOrder({ instrument: BTC, clientOrderId: 'nope' }), undefined);
    const again = await alice.createOrder(
      order({ clientOrderId: 'find-me', side: 'sell', size: dec('0.01') }),
    );
    assert.equal(again.status, 'filled');
    hub.close();
  });

  test('cancelOrder and cancelAllOrders leave no open orders; on a nonce venue they sign from the one sequence of the key', async () => {
    const hub = makeHub();
    for (const [venue, port] of [
      ['paper', hub.venue('paper', 'alice')],
      ['paper-lighter', hub.venue('paper-lighter', 'alice', 'k4')],
    ] as const) {
      let nonce = 100n;
      const signed = () => (port.capabilities.nonces ? { nonce: nonce++ } : {});
      const rest = (price: string, instrument = BTC) =>
        port.createOrder(
          order({
            type: 'limit',
            timeInForce: 'gtc',
            instrument,
            price: dec(price),
            size: dec('0.01'),
            ...signed(),
          }),
        );
      const a = await rest('55000');
      assert.equal(a.status, 'accepted', venue);
      await rest('55100');
      await rest('2500', ETH);
      assert.equal((await port.fetchOpenOrders()).length, 3);
      assert.equal((await port.fetchOpenOrders(ETH)).length, 1);
      if (port.capabilities.nonces) {
        // A cancel without a nonce, or with one the key already used, is refused.
        await assert.rejects(port.cancelOrder({ instrument: BTC, clientOrderId: a.clientOrderId }), /nonce/);
        await assert.rejects(
          port.cancelOrder({ instrument: BTC, clientOrderId: a.clientOrderId }, { nonce: 100n }),
          /nonce/,
        );
      }
      const canceled = await port.cancelOrder({ instrument: BTC, clientOrderId: a.clientOrderId }, signed());
      assert.equal(canceled.status, 'canceled');
      await assert.rejects(
        port.cancelOrder({ instrument: BTC, clientOrderId: a.clientOrderId }, signed()),
        VenueOrderNotFoundError,
      );
      const all = await port.cancelAllOrders(undefined, signed());
      assert.equal(all.length, 2);
      assert.ok(all.every((o) => o.status === 'canceled'));
      assert.deepEqual(await port.fetchOpenOrders(), [], venue);
      if (port.capabilities.nonces) {
        // Orders and cancels used one sequence: the venue's next nonce follows the last cancel.
        assert.equal(await port.fetchNextNonce?.(), nonce);
      }
      const after = await rest('55000');
      assert.equal(after.status, 'accepted');
      await port.cancelAllOrders(BTC, signed());
      assert.deepEqual(await port.fetchOpenOrders(), []);
    }
    hub.close();
  });

  test('funding payments reach the user stream at the venue interval', async () => {
    const hub = makeHub();
    const lighter = hub.venue('paper-lighter', 'alice', 'k4');
    const payments: UserStreamEvent[] = [];
    await lighter.watchUserStream((e) => {
      if (e.kind === 'funding_payment') payments.push(e);
    });
    await lighter.createOrder(order({ size: dec('0.1'), nonce: 1n }));
    for (let t = START_MS + 300_000; t <= START_MS + HOUR_MS + 300_000; t += 300_000) hub.advanceTo(t);
    assert.equal(payments.length, 1, 'one hourly settlement');
    const p = payments[0]!;
    assert.ok(p.kind === 'funding_payment');
    assert.equal(p.payment.instrument, BTC);
    assert.equal(p.payment.tsEventMs, START_MS + HOUR_MS);
    assert.equal(p.payment.positionSize.toFixed(), '0.1');
    assert.ok(!p.payment.amount.isZero());
    hub.close();
  });

  test('bad input names the field and nothing reaches the venue', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    await assert.rejects(alice.createOrder(order({ clientOrderId: 'has space' })), {
      field: 'clientOrderId',
    });
    await assert.rejects(alice.createOrder(order({ instrument: 'SOL-USDC-PERP' })), { field: 'instrument' });
    await assert.rejects(alice.fetchOrderBook(BTC, 0), { field: 'depth' });
    await assert.rejects(alice.fetchOrder({ instrument: BTC }), { field: 'ref' });
    assert.throws(() => hub.venue('paper', 'nobody'), { field: 'account' });
    assert.throws(() => hub.venue('binanceusdm', 'alice'), { field: 'venue' });
    assert.deepEqual(await alice.fetchOpenOrders(), []);
    hub.close();
  });

  test('readiness per component with reasons; closed ports and hubs refuse work', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    const ready = alice.readiness();
    assert.deepEqual(
      ready.map((c) => c.component),
      ['markets', 'market stream', 'user stream', 'balance'],
    );
    assert.ok(ready.every((c) => c.ready && c.reason.length > 0));
    await alice.close();
    assert.ok(alice.readiness().every((c) => !c.ready && /closed/.test(c.reason)));
    await assert.rejects(alice.fetchBalances(), VenueDisconnectedError);
    const again = hub.venue('paper', 'alice');
    assert.notEqual(again, alice, 'a closed port is replaced');
    hub.close();
    assert.ok(again.readiness().every((c) => !c.ready));
    await assert.rejects(again.loadMarkets(), VenueDisconnectedError);
  });
});

describe('SimulatedVenue: funding history, leverage, dead-man switch, venue-made fills', () => {
  test('fetchFundingPayments returns the ledger since a time, as the user stream had it', async () => {
    const hub = makeHub();
    const lighter = hub.venue('paper-lighter', 'alice', 'k4');
    assert.equal(lighter.capabilities.fundingHistory, true);
    await lighter.createOrder(order({ size: dec('0.1'), nonce: 1n }));
    for (let t = START_MS + 300_000; t <= START_MS + 2 * HOUR_MS + 300_000; t += 300_000) hub.advanceTo(t);
    const all = await lighter.fetchFundingPayments(START_MS);
    assert.deepEqual(
      all.map((p) => p.tsEventMs),
      [START_MS + HOUR_MS, START_MS + 2 * HOUR_MS],
    );
    assert.ok(all.every((p) => p.instrument === BTC && p.positionSize.eq('0.1') && !p.amount.isZero()));
    const later = await lighter.fetchFundingPayments(START_MS + HOUR_MS + 1);
    assert.deepEqual(
      later.map((p) => p.tsEventMs),
      [START_MS + 2 * HOUR_MS],
    );
    await assert.rejects(lighter.fetchFundingPayments(-1), { field: 'sinceMs' });
    hub.close();
  });

  test('setLeverage changes the account leverage; a bad one names the field', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    await alice.setLeverage(BTC, dec(7));
    await alice.createOrder(order({ size: dec('0.1') }));
    const [position] = await alice.fetchPositions();
    assert.equal(position?.leverage.toFixed(), '7');
    await assert.rejects(alice.setLeverage(BTC, dec('2.5')), { field: 'leverage' });
    await assert.rejects(alice.setLeverage(BTC, dec(100_000)), VenueRejectedError);
    hub.close();
  });

  test('scheduleCancelAll: refreshed in time keeps the orders; a missed deadline cancels them; 0 disarms', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    const rest = () =>
      alice.createOrder(order({ type: 'limit', timeInForce: 'gtc', price: dec('40000'), size: dec('0.01') }));
    await rest();
    await rest();
    await alice.scheduleCancelAll(60_000);
    hub.advanceTo(START_MS + 30_000);
    await alice.scheduleCancelAll(60_000);
    hub.advanceTo(START_MS + 80_000);
    assert.equal((await alice.fetchOpenOrders()).length, 2, 'refreshed at 30 s: the deadline is 90 s');
    const updates: UserStreamEvent[] = [];
    await alice.watchUserStream((e) => updates.push(e));
    hub.advanceTo(START_MS + 95_000);
    assert.deepEqual(await alice.fetchOpenOrders(), []);
    const ended = updates.flatMap((e) => (e.kind === 'order' ? [e.order] : []));
    assert.equal(ended.length, 2);
    assert.ok(ended.every((o) => o.status === 'canceled' && o.reason === 'dead_man_switch'));
    // Fired once: disarmed until armed again.
    await rest();
    hub.advanceTo(START_MS + 300_000);
    assert.equal((await alice.fetchOpenOrders()).length, 1);
    await alice.scheduleCancelAll(10_000);
    await alice.scheduleCancelAll(0);
    hub.advanceTo(START_MS + 400_000);
    assert.equal((await alice.fetchOpenOrders()).length, 1, 'disarmed');
    await assert.rejects(alice.scheduleCancelAll(-1), { field: 'afterMs' });
    hub.close();
  });

  test('a liquidation reaches the user stream and fetchFills as a venue-made fill with no client order id', async () => {
    const hub = makeHub();
    const poor = hub.venue('paper', 'poor');
    await poor.setLeverage(BTC, dec(50));
    const bought = await poor.createOrder(order({ size: dec('0.05') }));
    assert.equal(bought.status, 'filled');
    const fills: UserStreamEvent[] = [];
    await poor.watchUserStream((e) => {
      if (e.kind === 'fill') fills.push(e);
    });
    const mark = hub.exchange('paper').markPrice(BTC);
    assert.ok(mark);
    const crash = mark.mul('0.9').toDecimalPlaces(1);
    hub.command('paper', (exchange) => exchange.setPrices(BTC, { markPrice: crash, indexPrice: crash }));
    assert.equal(fills.length, 1, 'the liquidation fill');
    const fill = fills[0]!;
    assert.ok(fill.kind === 'fill');
    assert.equal(fill.fill.origin, 'liquidation');
    assert.equal(fill.fill.clientOrderId, '');
    assert.equal(fill.fill.side, 'sell');
    assert.equal(fill.fill.size.toFixed(), '0.05');
    assert.deepEqual(await poor.fetchPositions().then((p) => p.filter((x) => !x.size.isZero())), []);
    const history = await poor.fetchFills(START_MS);
    assert.deepEqual(
      history.map((f) => f.origin),
      ['order', 'liquidation'],
    );
    hub.close();
  });
});

describe('SimulatedVenue: createOrders (the batch call)', () => {
  const errorOf = (outcome: BatchOrderOutcome | undefined): unknown => {
    assert.ok(
      outcome !== undefined && !outcome.ok,
      `expected a refused outcome, got ${JSON.stringify(outcome)}`,
    );
    return outcome.error;
  };
  const orderOf = (outcome: BatchOrderOutcome | undefined) => {
    assert.ok(outcome?.ok, `expected a placed order, got ${String(outcome && !outcome.ok && outcome.error)}`);
    return outcome.order;
  };
  const resting = (price: string, nonce?: bigint) =>
    order({
      type: 'limit',
      timeInForce: 'gtc',
      price: dec(price),
      size: dec('0.5'), // a notional above every paper venue's minimum
      ...(nonce === undefined ? {} : { nonce }),
    });

  test('places every order of a batch, in order, one outcome each, as createOrder would', async () => {
    const hub = makeHub();
    const lighter = hub.venue('paper-lighter', 'alice', 'k4');
    const requests = [resting('1000', 10n), resting('1001', 11n), order({ nonce: 12n })];
    const outcomes = await lighter.createOrders(requests);
    assert.equal(outcomes.length, 3);
    const placed = outcomes.map(orderOf);
    assert.deepEqual(
      placed.map((o) => o.clientOrderId),
      requests.map((r) => r.clientOrderId),
    );
    assert.deepEqual(
      placed.map((o) => o.status),
      ['accepted', 'accepted', 'filled'],
    );
    assert.equal(await lighter.fetchNextNonce!(), 13n);
    assert.equal((await lighter.fetchOpenOrders(BTC)).length, 2);
    hub.close();
  });

  test('stops at the first refusal: the orders before it placed, it refused with its reason, the rest not sent', async () => {
    const hub = makeHub();
    const lighter = hub.venue('paper-lighter', 'alice', 'k4');
    await lighter.createOrder(order({ nonce: 20n }));
    const before = resting('1000', 21n);
    const stale = resting('1001', 20n); // nonce already used
    const after = [resting('1002', 22n), resting('1003', 23n)];
    const outcomes = await lighter.createOrders([before, stale, ...after]);
    assert.equal(orderOf(outcomes[0]).status, 'accepted');
    const refused = errorOf(outcomes[1]);
    assert.ok(refused instanceof VenueRejectedError, String(refused));
    assert.equal(refused.reason, 'nonce_too_low');
    for (const outcome of outcomes.slice(2)) {
      const notSent = errorOf(outcome);
      assert.ok(notSent instanceof VenueNotSentError, String(notSent));
      assert.match(notSent.message, /order 2 of its batch was refused/);
    }
    // Nothing of the orders after the refusal reached the venue; their nonces are still free.
    const open = await lighter.fetchOpenOrders(BTC);
    assert.deepEqual(
      open.map((o) => o.clientOrderId),
      [before.clientOrderId],
    );
    assert.equal(await lighter.fetchNextNonce!(), 22n);
    const resent = await lighter.createOrders(after);
    assert.deepEqual(
      resent.map((o) => orderOf(o).status),
      ['accepted', 'accepted'],
    );
    hub.close();
  });

  test('a request the port refuses before the venue gets its own error and the batch goes on without it', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    const outcomes = await alice.createOrders([
      resting('1000'),
      order({ instrument: 'DOGE-USDC-PERP' }),
      order({ clientOrderId: 'not an id!' }),
      resting('1001'),
    ]);
    assert.equal(orderOf(outcomes[0]).status, 'accepted');
    assert.deepEqual(
      [errorOf(outcomes[1]), errorOf(outcomes[2])].map((e) => (e as { field?: string }).field),
      ['instrument', 'clientOrderId'],
    );
    assert.equal(orderOf(outcomes[3]).status, 'accepted');
    hub.close();
  });

  test("a venue refusal other than the nonce is the order's own error class (insufficient margin)", async () => {
    const hub = makeHub();
    const poor = hub.venue('paper', 'poor');
    const outcomes = await poor.createOrders([
      order({ type: 'limit', timeInForce: 'gtc', price: dec('50000'), size: dec('1') }),
      resting('1000'),
    ]);
    assert.ok(errorOf(outcomes[0]) instanceof InsufficientMarginError);
    assert.ok(errorOf(outcomes[1]) instanceof VenueNotSentError);
    assert.deepEqual(await poor.fetchOpenOrders(), []);
    hub.close();
  });

  test('more orders than the limit, or a public port, is refused as a whole; an empty batch answers nothing', async () => {
    const hub = makeHub();
    const alice = hub.venue('paper', 'alice');
    await assert.rejects(
      alice.createOrders(Array.from({ length: PAPER_MAX_BATCH_ORDERS + 1 }, () => resting('1000'))),
      { name: 'ValidationError', field: 'requests' },
    );
    assert.deepEqual(await alice.fetchOpenOrders(), []);
    assert.deepEqual(await alice.createOrders([]), []);
    await assert.rejects(hub.marketVenue('paper').createOrders([resting('1000')]), /createOrders/);
    hub.close();
  });
});
