/** PaperVenueHub: determinism, config overrides, fan-out order, the realtime clock. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { dec, ValidationError } from '@perpmesh/core';
import { canonicalJson } from '@perpmesh/sim';
import { eventually } from '@perpmesh/testing';
import { type PlaceOrderRequest, PUBLIC_ACCOUNT } from '../port.js';
import { PaperVenueHub, type PaperVenueHubOptions } from './hub.js';

const START_MS = Date.UTC(2026, 0, 1, 0, 0, 0);
const BTC = 'BTC-USDC-PERP';
const ETH = 'ETH-USDC-PERP';

function options(seed: number): PaperVenueHubOptions {
  return {
    seed,
    clock: { kind: 'manual' },
    startMs: START_MS,
    accounts: [
      { venueId: 'paper', accountId: 'alice', deposit: '50000' },
      { venueId: 'paper-lighter', accountId: 'alice', deposit: '50000' },
    ],
  };
}

function market(clientOrderId: string, extra: Partial<PlaceOrderRequest> = {}): PlaceOrderRequest {
  return {
    clientOrderId,
    instrument: BTC,
    side: 'buy',
    type: 'market',
    timeInForce: 'ioc',
    size: dec('0.05'),
    reduceOnly: false,
    ...extra,
  };
}

/** One scripted session; returns the sha256 of every market and user-stream event, serialized canonically. */
async function scriptedTape(seed: number): Promise<{ hash: string; count: number }> {
  const hub = new PaperVenueHub(options(seed));
  const tape: string[] = [];
  const paper = hub.venue('paper', 'alice');
  const lighter = hub.venue('paper-lighter', 'alice');
  await paper.watchMarket([BTC, ETH], (e) => tape.push(`paper md ${canonicalJson(e)}`));
  await lighter.watchMarket([BTC], (e) => tape.push(`lighter md ${canonicalJson(e)}`));
  await paper.watchUserStream((e) => tape.push(`paper user ${canonicalJson(e)}`));
  await lighter.watchUserStream((e) => tape.push(`lighter user ${canonicalJson(e)}`));
  let now = START_MS;
  for (let i = 0; i < 60; i++) {
    now += 1000;
    hub.advanceTo(now);
    if (i === 5) await paper.createOrder(market('d-1'));
    if (i === 10) await lighter.createOrder(market('d-2', { side: 'sell', nonce: 1n }));
    if (i === 20) {
      const book = await paper.fetchOrderBook(BTC, 1);
      const price = book.bids[0]!.price.minus(50);
      await paper.createOrder(market('d-3', { type: 'limit', timeInForce: 'gtc', price }));
    }
    if (i === 40) await paper.cancelAllOrders();
  }
  hub.advanceTo(now + 3_600_000); // across a lighter funding settlement
  hub.close();
  return { hash: createHash('sha256').update(tape.join('\n')).digest('hex'), count: tape.length };
}

describe('PaperVenueHub', () => {
  test('same seed, manual clock and calls give the same market and user events; another seed differs', async () => {
    const a = await scriptedTape(11);
    const b = await scriptedTape(11);
    const c = await scriptedTape(12);
    assert.ok(a.count > 100, `a real tape, got ${a.count} events`);
    assert.equal(a.hash, b.hash);
    assert.equal(a.count, b.count);
    assert.notEqual(a.hash, c.hash);
  });

  test('venues are configurable: a new venue from a preset with its own fees, funding interval, margin and rules', async () => {
    const hub = new PaperVenueHub({
      seed: 1,
      clock: { kind: 'manual' },
      startMs: START_MS,
      venues: [
        {
          venueId: 'paper-fast',
          preset: 'paper',
          overrides: {
            takerFeeRate: '0.001',
            defaultLeverage: 5,
            funding: { intervalMs: 4 * 3_600_000 },
            requireIncreasingNonce: true,
            rejectDuplicateClientOrderId: true,
            instruments: [{ instrumentId: BTC, tickSize: '1', maxLeverage: 25 }],
          },
        },
      ],
      accounts: [{ venueId: 'paper-fast', accountId: 'bob', deposit: '1000' }],
    });
    assert.deepEqual(hub.venueIds(), ['paper-fast']);
    const bob = hub.venue('paper-fast', 'bob');
    const [btc, ...rest] = await bob.loadMarkets();
    assert.deepEqual(rest, [], 'only the listed instruments');
    assert.ok(btc);
    assert.equal(btc.fundingIntervalMs, 4 * 3_600_000);
    assert.equal(btc.takerFeeRate.toFixed(), '0.001');
    assert.equal(btc.makerFeeRate.toFixed(), '0.0002', "the preset's maker fee stays");
    assert.equal(btc.tickSize.toFixed(), '1');
    assert.equal(btc.lotSize.toFixed(), '0.001', "the preset's lot stays");
    assert.equal(btc.maxLeverage.toFixed(), '25');
    assert.equal(bob.capabilities.nonces, true);
    assert.equal(bob.capabilities.rejectsDuplicateClientOrderId, true);
    await bob.createOrder(market('x-1', { size: dec('0.01'), nonce: 1n }));
    const [position] = await bob.fetchPositions();
    assert.equal(position?.leverage.toFixed(), '5');
    hub.close();
  });

  test('bad config names the field', () => {
    const base = { seed: 1, clock: { kind: 'manual' as const }, startMs: START_MS };
    assert.throws(() => new PaperVenueHub({ ...base, venues: [{ venueId: 'okx' }] }), {
      field: 'venues[0].venueId',
    });
    assert.throws(() => new PaperVenueHub({ ...base, venues: [{ venueId: 'paper-x' }] }), {
      field: 'venues[0].preset',
    });
    assert.throws(
      () =>
        new PaperVenueHub({
          ...base,
          venues: [{ venueId: 'paper', overrides: { funding: { intervalMs: 5 } } }],
        }),
      { field: 'venues[0].funding.intervalMs' },
    );
    assert.throws(
      () => new PaperVenueHub({ ...base, accounts: [{ venueId: 'paper', accountId: 'a', deposit: '0' }] }),
      { field: 'accounts[0].deposit' },
    );
    assert.throws(
      () =>
        new PaperVenueHub({ ...base, accounts: [{ venueId: 'paper', accountId: 'bg:noise', deposit: '1' }] }),
      { field: 'accounts[0].accountId' },
    );
    assert.throws(() => new PaperVenueHub({ seed: 1, clock: { kind: 'manual' } }), { field: 'startMs' });
    assert.throws(() => new PaperVenueHub({ ...base, seed: -1 }), { field: 'seed' });
  });

  test('a command sent from a listener is delivered after the events already queued, to every subscriber in order', async () => {
    const hub = new PaperVenueHub(options(3));
    const alice = hub.venue('paper', 'alice');
    const first: string[] = [];
    const second: string[] = [];
    let reacted = false;
    await alice.watchUserStream((e) => {
      first.push(e.kind === 'order' ? `order ${e.order.clientOrderId} ${e.order.status}` : e.kind);
      if (!reacted && e.kind === 'order' && e.order.clientOrderId === 'r-1') {
        reacted = true;
        void alice.createOrder(market('r-2', { side: 'sell' }));
      }
    });
    await alice.watchUserStream((e) =>
      second.push(e.kind === 'order' ? `order ${e.order.clientOrderId} ${e.order.status}` : e.kind),
    );
    await alice.createOrder(market('r-1'));
    assert.deepEqual(first, second, 'both subscribers see one order');
    const r1 = first.findLastIndex((s) => s.startsWith('order r-1'));
    const r2 = first.findIndex((s) => s.startsWith('order r-2'));
    assert.ok(r2 > r1, `r-2 events come after all of r-1's: ${first.join(', ')}`);
    hub.close();
  });

  test('fills history is bounded per account', async () => {
    const hub = new PaperVenueHub({ ...options(4), fillHistoryLimit: 2 });
    const alice = hub.venue('paper', 'alice');
    for (let i = 0; i < 4; i++) await alice.createOrder(market(`f-${i}`, { size: dec('0.01') }));
    const fills = await alice.fetchFills(0);
    assert.equal(fills.length, 2);
    assert.deepEqual(
      fills.map((f) => f.clientOrderId),
      ['f-2', 'f-3'],
    );
    hub.close();
  });

  test('a throwing subscriber does not stop delivery to the others', async () => {
    const errors: string[] = [];
    const hub = new PaperVenueHub({ ...options(5), onError: (_e, where) => errors.push(where) });
    const alice = hub.venue('paper', 'alice');
    let delivered = 0;
    await alice.watchUserStream(() => {
      throw new Error('boom');
    });
    await alice.watchUserStream(() => {
      delivered += 1;
    });
    await alice.createOrder(market('t-1'));
    assert.ok(delivered > 0);
    assert.ok(errors.length > 0 && errors.every((w) => w === 'user stream listener'));
    hub.close();
  });

  test('a public port streams market data, refuses account calls, and closes on its own', async () => {
    const hub = new PaperVenueHub(options(5));
    const first = hub.marketVenue('paper-lighter');
    const second = hub.marketVenue('paper-lighter');
    assert.equal(first.account, PUBLIC_ACCOUNT);
    assert.notEqual(first, second, 'one port per caller');
    assert.equal(first.fetchNextNonce, undefined, 'no nonce without an account (the venue wants nonces)');
    assert.deepEqual(
      first.readiness().map((c) => c.component),
      ['markets', 'market stream'],
    );
    const seen: string[] = [];
    await second.watchMarket([BTC], (e) => seen.push(e.kind));
    assert.ok(seen.includes('snapshot'));
    for (const call of [
      () => first.fetchBalances(),
      () => first.fetchPositions(),
      () => first.fetchOpenOrders(),
      () => first.fetchFills(START_MS),
      () => first.createOrder(market('pub-1')),
      () => first.cancelAllOrders(),
      () => first.watchUserStream(() => {}),
    ]) {
      await assert.rejects(call(), (err) => err instanceof ValidationError && err.field === 'account');
    }
    await first.close();
    const before = seen.length;
    hub.advanceTo(START_MS + 5_000);
    assert.ok(seen.length > before, 'the other public port still streams');
    hub.close();
  });

  test('realtime clock: start steps the world to the clock every tick; close stops it', async () => {
    let wallMs = START_MS;
    const hub = new PaperVenueHub({
      seed: 9,
      clock: { kind: 'realtime', tickIntervalMs: 5, nowMs: () => wallMs },
      accounts: [{ venueId: 'paper', accountId: 'alice', deposit: '1000' }],
    });
    assert.equal(hub.nowMs, START_MS);
    const alice = hub.venue('paper', 'alice');
    const stream = alice.readiness().find((c) => c.component === 'market stream')!;
    assert.equal(stream.ready, false, 'not moving before start');
    assert.match(stream.reason, /not started/);
    assert.throws(() => hub.advanceTo(START_MS + 1), /manual clock/);
    const steps: number[] = [];
    const done = new Promise<void>((resolve) => {
      hub.onStep((s) => {
        steps.push(s.nowMs);
        wallMs += 1000;
        if (steps.length >= 4) resolve();
      });
    });
    // The hub's timer is unref'd (a forgotten hub must not hold a process open): hold this test open.
    const keepAlive = setTimeout(() => {}, 10_000);
    hub.start();
    await done;
    clearTimeout(keepAlive);
    assert.ok(alice.readiness().every((c) => c.ready));
    hub.close();
    assert.equal(hub.state, 'closed');
    assert.deepEqual(steps.slice(0, 4), [START_MS, START_MS + 1000, START_MS + 2000, START_MS + 3000]);
    const count = steps.length;
    // Witness: a second hub on the same tick steps three times; the closed one would have too.
    const witness = new PaperVenueHub({
      seed: 9,
      clock: { kind: 'realtime', tickIntervalMs: 5, nowMs: () => wallMs },
    });
    let witnessSteps = 0;
    witness.onStep(() => {
      witnessSteps += 1;
      wallMs += 1000;
    });
    const holdOpen = setTimeout(() => {}, 10_000);
    witness.start();
    try {
      await eventually('three steps of the witness hub', () => witnessSteps >= 3);
    } finally {
      clearTimeout(holdOpen);
      witness.close();
    }
    assert.equal(steps.length, count, 'no steps after close');
  });
});
