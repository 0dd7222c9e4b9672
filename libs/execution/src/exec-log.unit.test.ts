import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventLog, StoredMessage } from '@perpmesh/bus';
import { type Envelope, encodeEnvelope } from '@perpmesh/contracts';
import { dec, type OrderEvent, type OrderRequest } from '@perpmesh/core';
import type { VenueFill } from '@perpmesh/venues';
import {
  type ExecFoldTarget,
  execStreamItemOf,
  foldDroppedSubmitted,
  foldExecEnvelope,
  ordersBehindTheLog,
  readExecLookback,
} from './exec-log.js';
import { newTrackedOrder, OrderTable, type OrderView, type TrackedOrder } from './orders.js';
import { orderEventOfVenueFill, transitionOrder } from './venue-reports.js';
import { orderEventEnvelope } from './wire.js';

const T0 = 1_700_000_000_000;
const ctx = { source: 'execution/other', tsInitMs: T0 + 1 };

function request(account: string, clientOrderId: string): OrderRequest {
  return {
    clientOrderId,
    venue: 'paper',
    account,
    instrument: 'BTC-USDC-PERP',
    side: 'sell',
    type: 'limit',
    timeInForce: 'gtc',
    price: dec('60000'),
    size: dec('0.01'),
    reduceOnly: false,
  };
}

function fill(tradeId: string, size: string, clientOrderId = 'c1'): VenueFill {
  return {
    tradeId,
    venueOrderId: 'v1',
    clientOrderId,
    instrument: 'BTC-USDC-PERP',
    side: 'sell',
    price: dec('60000'),
    size: dec(size),
    fee: dec('0.01'),
    feeCurrency: 'USDC',
    liquidity: 'maker',
    tsEventMs: T0 + 20,
  };
}

/** What another replica published for one order: SUBMITTED, ACCEPTED, then each fill and the order event it caused. */
function published(account: string, fills: VenueFill[]): Envelope[] {
  let order: OrderView = newTrackedOrder(request(account, 'c1'), '', T0, 'USDC');
  const out: Envelope[] = [orderEventEnvelope(order, { ...ctx, tsEventMs: T0, cancelRound: false })];
  const steps: [OrderEvent, VenueFill | undefined][] = [
    [{ kind: 'accepted', venueOrderId: 'v1', tsEventMs: T0 + 10 }, undefined],
    ...fills.map((f): [OrderEvent, VenueFill] => [orderEventOfVenueFill(f), f]),
  ];
  for (const [event, f] of steps) {
    const t = transitionOrder(order, event, { fill: f, ctx });
    assert.ok(t.kind === 'changed');
    order = t.order;
    out.push(...t.envelopes);
  }
  return out;
}

function target(): ExecFoldTarget & { held: VenueFill[]; addedOrders: TrackedOrder[] } {
  const orders = new OrderTable();
  const held: VenueFill[] = [];
  const addedOrders: TrackedOrder[] = [];
  return {
    orders,
    held,
    addedOrders,
    trades: (venue, account) => venue === 'paper' && account === 'main',
    added: (order) => {
      addedOrders.push(order);
    },
    apply: (order, event, f) => {
      const t = transitionOrder(order, event, { fill: f });
      if (t.kind === 'changed') order.state = t.order.state;
    },
    holdFill: (_venue, _account, f) => held.push(f),
  };
}

describe('EXEC log folding', () => {
  test("another replica's order events and fills rebuild the order", () => {
    const t = target();
    for (const e of published('main', [fill('t1', '0.004'), fill('t2', '0.006')])) foldExecEnvelope(t, e);
    const order = t.orders.get('paper', 'main', 'c1')!;
    assert.equal(order.state.status, 'filled');
    assert.equal(order.state.filled.toFixed(), '0.01');
    assert.equal(order.state.venueOrderId, 'v1');
    assert.ok(order.submittedEventId, 'the SUBMITTED event id is the causation of later events');
    assert.equal(t.addedOrders.length, 1);
    assert.deepEqual(ordersBehindTheLog(t.orders.all()), [], 'every order event is on the log');
  });

  test('a fill whose order event a crash kept off the log: the order is behind the log', () => {
    const t = target();
    const events = published('main', [fill('t1', '0.01')]);
    assert.equal(events.at(-1)?.payload?.$case, 'orderEvent');
    for (const e of events.slice(0, -1)) foldExecEnvelope(t, e); // the FILLED event never made it
    const order = t.orders.get('paper', 'main', 'c1')!;
    assert.equal(order.state.status, 'filled');
    assert.deepEqual(ordersBehindTheLog(t.orders.all()), [order]);
    assert.equal(order.logged?.status, 'accepted');
  });

  test("a rebuild keeps who asked for the order's cancel (the cancel events' correlation id)", () => {
    let order: OrderView = newTrackedOrder(request('main', 'c1'), 'placing', T0, 'USDC');
    const envelopes = [orderEventEnvelope(order, { ...ctx, tsEventMs: T0, cancelRound: false })];
    order = { ...order, cancelCorrelationId: 'canceling' };
    for (const event of [
      { kind: 'accepted', venueOrderId: 'v1', tsEventMs: T0 + 10 },
      { kind: 'cancel_requested', tsEventMs: T0 + 20 },
    ] as OrderEvent[]) {
      const t = transitionOrder(order, event, { ctx });
      assert.ok(t.kind === 'changed');
      order = t.order;
      envelopes.push(...t.envelopes);
    }
    const into = target();
    for (const e of envelopes) foldExecEnvelope(into, e);
    const rebuilt = into.orders.get('paper', 'main', 'c1');
    assert.equal(rebuilt?.correlationId, 'placing');
    assert.equal(rebuilt?.cancelCorrelationId, 'canceling');
    assert.equal(rebuilt?.state.status, 'cancel_requested');
  });

  test('other accounts are skipped; a fill of an order not known yet is held', () => {
    const t = target();
    for (const e of published('other', [fill('t1', '0.004')])) foldExecEnvelope(t, e);
    assert.equal(t.orders.size, 0);
    const fillOnly = published('main', [fill('t9', '0.004', 'c1')]).filter(
      (e) => e.payload?.$case === 'fill',
    );
    foldExecEnvelope(t, fillOnly[0]!);
    assert.deepEqual(
      t.held.map((f) => f.tradeId),
      ['t9'],
    );
  });

  test('StreamOrderEvents items are filtered by venue and account', () => {
    const [submitted] = published('main', []);
    const bytes = encodeEnvelope(submitted!);
    assert.equal(execStreamItemOf(bytes, {})?.event.$case, 'orderEvent');
    assert.equal(execStreamItemOf(bytes, { venue: 'paper', account: 'main' })?.eventId, submitted!.id);
    assert.equal(execStreamItemOf(bytes, { account: 'other' }), undefined);
    assert.equal(execStreamItemOf(new Uint8Array([1, 2, 3]), {}), undefined);
  });
});

describe('foldDroppedSubmitted: a SUBMITTED a retry stored after its placement gave up', () => {
  test('its order, no longer in the table, is folded in (SUBMITTED); nothing else is', () => {
    const t = target();
    const [submitted, accepted] = published('main', []);
    assert.equal(foldDroppedSubmitted(t, accepted!), false, 'only a SUBMITTED');
    assert.equal(t.orders.size, 0);
    assert.equal(foldDroppedSubmitted(t, submitted!), true);
    assert.equal(t.orders.get('paper', 'main', 'c1')?.state.status, 'submitted');
    assert.equal(t.orders.get('paper', 'main', 'c1')?.submittedEventId, submitted!.id);
  });

  test('an order still (or again) in the table is left as it is; another account is skipped', () => {
    const t = target();
    const [submitted, accepted] = published('main', []);
    foldExecEnvelope(t, submitted!);
    foldExecEnvelope(t, accepted!);
    assert.equal(foldDroppedSubmitted(t, submitted!), false);
    assert.equal(t.orders.get('paper', 'main', 'c1')?.state.status, 'accepted');
    assert.equal(foldDroppedSubmitted(target(), published('other', [])[0]!), false);
  });
});

describe('readExecLookback: whether the log dropped events inside the window', () => {
  /** A log holding `seqs` (stored at T0 + seq s), whose head is `heads[i]` at the i-th streamInfo. */
  function logOf(seqs: number[], heads: number[]): EventLog {
    let infos = 0;
    const messages = seqs.map(
      (seq): StoredMessage => ({
        stream: 'EXEC',
        seq,
        subject: 'exec.order.paper.main',
        id: `m${seq}`,
        data: new Uint8Array(),
        timestampMs: T0 + seq * 1_000,
        redelivered: false,
        deliveryCount: 1,
      }),
    );
    return {
      streamInfo: async () => {
        const firstSeq = heads[Math.min(infos, heads.length - 1)]!;
        infos += 1;
        return { firstSeq, lastSeq: seqs.at(-1) ?? 0, messages: seqs.length };
      },
      read: async function* (opts: { fromTimeMs?: number }) {
        for (const m of messages) if (m.timestampMs >= (opts.fromTimeMs ?? 0)) yield m;
      },
    } as unknown as EventLog;
  }
  const read = (log: EventLog, fromTimeMs: number) =>
    readExecLookback(log, 'EXEC', fromTimeMs, () => undefined);

  test('a stream that never dropped anything, or whose head is older than the window: nothing to report', async () => {
    assert.deepEqual(await read(logOf([1, 2, 3], [1]), T0), { lastSeq: 3, events: 3 });
    assert.deepEqual(await read(logOf([4, 5, 6, 7], [4]), T0 + 6_000), { lastSeq: 7, events: 2 });
  });

  test('the read began at the head of a stream that dropped older events: their time is reported', async () => {
    assert.deepEqual(await read(logOf([4, 5, 6], [4]), T0), {
      lastSeq: 6,
      events: 3,
      droppedBeforeMs: T0 + 4_000,
    });
  });

  test('the head moved past the first message read while reading: reported too', async () => {
    assert.deepEqual(await read(logOf([4, 5, 6], [2, 5]), T0 + 4_000), {
      lastSeq: 6,
      events: 3,
      droppedBeforeMs: T0 + 4_000,
    });
  });
});
