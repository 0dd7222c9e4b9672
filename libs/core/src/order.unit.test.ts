import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Decimal, dec } from './decimal.js';
import { ValidationError } from './errors.js';
import {
  canTransition,
  evolveOrder,
  IllegalOrderTransitionError,
  isOrderOpen,
  isOrderTerminal,
  ORDER_TRANSITIONS,
  type OrderEvent,
  type OrderFilled,
  OrderOverfillError,
  type OrderRequest,
  type OrderState,
  type OrderTrigger,
  replayOrder,
} from './order.js';
import type { OrderStatus } from './types.js';

const request: OrderRequest = {
  clientOrderId: 'c-1',
  venue: 'paper',
  account: 'main',
  instrument: 'BTC-USDC-PERP',
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  price: dec(100),
  size: dec(10),
  reduceOnly: false,
};

let ts = 1_700_000_000_000;
let tradeSeq = 0;
const submitted = (order: OrderRequest = request): OrderEvent => ({
  kind: 'submitted',
  order,
  tsEventMs: ts,
});
const accepted = (venueOrderId = 'v-1'): OrderEvent => ({ kind: 'accepted', venueOrderId, tsEventMs: ++ts });
const fill = (
  size: Decimal | string | number,
  price: string | number = 100,
  extra: Partial<OrderFilled> = {},
): OrderFilled => ({
  kind: 'fill',
  tradeId: `t-${++tradeSeq}`,
  price: dec(price),
  size: dec(size),
  fee: dec('0.01'),
  liquidity: 'maker',
  tsEventMs: ++ts,
  ...extra,
});
const simple = (kind: 'cancel_requested' | 'canceled' | 'expired'): OrderEvent => ({ kind, tsEventMs: ++ts });
const rejected = (): OrderEvent => ({ kind: 'rejected', reason: 'insufficient margin', tsEventMs: ++ts });
const cancelRejected = (): OrderEvent => ({ kind: 'cancel_rejected', reason: 'too late', tsEventMs: ++ts });

/** Events that put a size-10 order into each status (open states come from an accepted order). */
function orderIn(status: OrderStatus): OrderState {
  const paths: Record<OrderStatus, OrderEvent[]> = {
    submitted: [submitted()],
    accepted: [submitted(), accepted()],
    partially_filled: [submitted(), accepted(), fill(1)],
    cancel_requested: [submitted(), accepted(), simple('cancel_requested')],
    rejected: [submitted(), rejected()],
    filled: [submitted(), accepted(), fill(10)],
    canceled: [submitted(), accepted(), simple('canceled')],
    expired: [submitted(), accepted(), simple('expired')],
  };
  const state = replayOrder(paths[status]);
  assert.equal(state?.status, status);
  return state!;
}

/** An event that produces `trigger` on `state`. Fills: 1 for partial, the remainder for full. */
function eventFor(state: OrderState, trigger: OrderTrigger): OrderEvent {
  switch (trigger) {
    case 'accepted':
      return accepted('v-late');
    case 'rejected':
      return rejected();
    case 'cancel_rejected':
      return cancelRejected();
    case 'partially_filled':
      return fill(state.remaining.gt(1) ? 1 : 2); // 2 on a full order: a fill past the size
    case 'filled':
      return fill(state.remaining.isZero() ? 1 : state.remaining);
    default:
      return simple(trigger);
  }
}

/**
 * The lifecycle spelled out independently of ORDER_TRANSITIONS: the behaviour tests below
 * walk THIS matrix, so an edge added to or dropped from the table fails a test.
 */
const EXPECTED: Record<OrderStatus, Partial<Record<OrderTrigger, OrderStatus | 'previous'>>> = {
  submitted: {
    accepted: 'accepted',
    rejected: 'rejected',
    partially_filled: 'partially_filled',
    filled: 'filled',
    cancel_requested: 'cancel_requested',
    canceled: 'canceled',
    expired: 'expired',
  },
  accepted: {
    accepted: 'accepted',
    partially_filled: 'partially_filled',
    filled: 'filled',
    cancel_requested: 'cancel_requested',
    canceled: 'canceled',
    expired: 'expired',
  },
  partially_filled: {
    accepted: 'partially_filled',
    partially_filled: 'partially_filled',
    filled: 'filled',
    cancel_requested: 'cancel_requested',
    canceled: 'canceled',
    expired: 'expired',
  },
  cancel_requested: {
    accepted: 'cancel_requested',
    rejected: 'rejected',
    partially_filled: 'cancel_requested',
    filled: 'filled',
    cancel_requested: 'cancel_requested',
    cancel_rejected: 'previous',
    canceled: 'canceled',
    expired: 'expired',
  },
  rejected: { rejected: 'rejected' },
  filled: { accepted: 'filled' },
  canceled: { accepted: 'canceled', partially_filled: 'canceled', filled: 'filled', canceled: 'canceled' },
  expired: { accepted: 'expired', partially_filled: 'expired', filled: 'filled', expired: 'expired' },
};

const STATUSES = Object.keys(EXPECTED) as OrderStatus[];
const TRIGGERS: OrderTrigger[] = [
  'accepted',
  'rejected',
  'partially_filled',
  'filled',
  'cancel_requested',
  'cancel_rejected',
  'canceled',
  'expired',
];

describe('order transition table', () => {
  test('the table is exactly the expected lifecycle', () => {
    assert.deepEqual(ORDER_TRANSITIONS, EXPECTED);
  });

  test('covers every status', () => {
    assert.deepEqual(
      [...STATUSES].sort(),
      [
        'accepted',
        'cancel_requested',
        'canceled',
        'expired',
        'filled',
        'partially_filled',
        'rejected',
        'submitted',
      ].sort(),
    );
  });

  for (const from of STATUSES) {
    for (const trigger of TRIGGERS) {
      const target = EXPECTED[from][trigger];
      // A full fill of a filled order does not exist (remaining is 0): any fill is past the size.
      if (from === 'filled' && trigger === 'filled') continue;
      if (target === undefined) {
        test(`${from} --${trigger}--> illegal`, () => {
          const state = orderIn(from);
          const event = eventFor(state, trigger);
          assert.equal(canTransition(from, trigger), false);
          assert.throws(
            () => evolveOrder(state, event),
            (error: unknown) => {
              assert.ok(error instanceof IllegalOrderTransitionError, String(error));
              assert.equal(error.code, 'ILLEGAL_ORDER_TRANSITION');
              assert.equal(error.from, from);
              assert.equal(error.event, event.kind);
              assert.equal(error.to, trigger === 'cancel_rejected' ? undefined : trigger);
              assert.equal(error.clientOrderId, 'c-1');
              assert.match(error.message, new RegExp(`from ${from}`));
              return true;
            },
          );
        });
      } else {
        test(`${from} --${trigger}--> ${target}`, () => {
          const state = orderIn(from);
          assert.equal(canTransition(from, trigger), true);
          const next = evolveOrder(state, eventFor(state, trigger));
          assert.equal(next.status, target === 'previous' ? state.statusBeforeCancel : target);
        });
      }
    }
  }

  test('a fill on a filled order is illegal, never an extra fill', () => {
    const state = orderIn('filled');
    assert.throws(() => evolveOrder(state, fill(1)), IllegalOrderTransitionError);
  });

  test('open and terminal statuses partition the statuses', () => {
    for (const status of STATUSES) assert.notEqual(isOrderOpen(status), isOrderTerminal(status), status);
    assert.equal(isOrderOpen('cancel_requested'), true);
    assert.equal(isOrderTerminal('canceled'), true);
  });
});

describe('order lifecycle edges', () => {
  test('the first event must be submitted, and only once', () => {
    assert.throws(
      () => evolveOrder(undefined, accepted()),
      (e: unknown) => e instanceof IllegalOrderTransitionError && e.from === 'none' && e.event === 'accepted',
    );
    assert.throws(
      () => evolveOrder(orderIn('accepted'), submitted()),
      (e: unknown) =>
        e instanceof IllegalOrderTransitionError && e.from === 'accepted' && e.event === 'submitted',
    );
  });

  test('a new order starts submitted with zero fills and the given time', () => {
    const state = evolveOrder(undefined, { kind: 'submitted', order: request, tsEventMs: 42 });
    assert.equal(state.status, 'submitted');
    assert.equal(state.filled.toFixed(), '0');
    assert.equal(state.remaining.toFixed(), '10');
    assert.equal(state.avgFillPrice, undefined);
    assert.equal(state.venueOrderId, undefined);
    assert.equal(state.createdAtMs, 42);
    assert.equal(state.updatedAtMs, 42);
  });

  test('a fill before the ack: fills count, the fill carries the venue id, the late ack keeps the status', () => {
    let state = orderIn('submitted');
    state = evolveOrder(state, fill(4, 100, { venueOrderId: 'v-9' }));
    assert.equal(state.status, 'partially_filled');
    assert.equal(state.venueOrderId, 'v-9');
    state = evolveOrder(state, accepted('v-9'));
    assert.equal(state.status, 'partially_filled');
    state = evolveOrder(state, fill(6));
    assert.equal(state.status, 'filled');
    assert.equal(evolveOrder(state, accepted('v-9')).status, 'filled');
  });

  test('cancel_rejected returns to the open status before the request', () => {
    const fromAccepted = replayOrder([submitted(), accepted(), simple('cancel_requested'), cancelRejected()]);
    assert.equal(fromAccepted?.status, 'accepted');
    assert.equal(fromAccepted?.reason, 'too late');
    const fromPartial = replayOrder([
      submitted(),
      accepted(),
      fill(3),
      simple('cancel_requested'),
      cancelRejected(),
    ]);
    assert.equal(fromPartial?.status, 'partially_filled');
  });

  test('a fill after a cancel request keeps the cancel pending; a refusal then returns to partially_filled', () => {
    let state = replayOrder([submitted(), accepted(), simple('cancel_requested')])!;
    state = evolveOrder(state, fill(2));
    assert.equal(state.status, 'cancel_requested');
    assert.equal(state.filled.toFixed(), '2');
    assert.equal(evolveOrder(state, cancelRejected()).status, 'partially_filled');
    assert.equal(evolveOrder(state, simple('canceled')).status, 'canceled');
    assert.equal(evolveOrder(state, fill(8)).status, 'filled');
  });

  test('cancelling an in-flight order: a late ack, then a refused cancel, leaves it accepted', () => {
    const state = replayOrder([submitted(), simple('cancel_requested'), accepted('v-2'), cancelRejected()])!;
    assert.equal(state.status, 'accepted');
    assert.equal(state.venueOrderId, 'v-2');
    const retried = replayOrder([
      submitted(),
      simple('cancel_requested'),
      simple('cancel_requested'),
      cancelRejected(),
    ]);
    assert.equal(retried?.status, 'submitted');
  });

  test('canceled with a partial fill keeps what traded', () => {
    const state = replayOrder([submitted(), accepted(), fill(3, 101), simple('canceled')])!;
    assert.equal(state.status, 'canceled');
    assert.equal(state.filled.toFixed(), '3');
    assert.equal(state.remaining.toFixed(), '7');
    assert.equal(state.avgFillPrice?.toFixed(), '101');
  });

  test('a late fill after the cancel is counted; one that completes the order makes it filled', () => {
    let state = replayOrder([submitted(), accepted(), simple('canceled')])!;
    state = evolveOrder(state, fill(4));
    assert.equal(state.status, 'canceled');
    assert.equal(state.filled.toFixed(), '4');
    state = evolveOrder(state, fill(6));
    assert.equal(state.status, 'filled');
  });

  test('updatedAtMs never moves back on out-of-order events', () => {
    const state = replayOrder([
      { kind: 'submitted', order: request, tsEventMs: 100 },
      { kind: 'accepted', venueOrderId: 'v', tsEventMs: 300 },
      { kind: 'cancel_requested', tsEventMs: 200 },
    ])!;
    assert.equal(state.createdAtMs, 100);
    assert.equal(state.updatedAtMs, 300);
  });
});

describe('fill accounting', () => {
  test('cumulative size, average price, fees and remaining', () => {
    const state = replayOrder([
      submitted(),
      accepted(),
      fill(2, 100, { fee: dec('0.2') }),
      fill(3, 105, { fee: dec('-0.05') }),
    ])!;
    assert.equal(state.filled.toFixed(), '5');
    assert.equal(state.remaining.toFixed(), '5');
    assert.equal(state.filledNotional.toFixed(), '515');
    assert.equal(state.avgFillPrice?.toFixed(), '103');
    assert.equal(state.fees.toFixed(), '0.15');
    assert.equal(state.status, 'partially_filled');
  });

  test('a duplicate fill (same tradeId) is ignored, even after the order is done', () => {
    const first = fill(4);
    const once = replayOrder([submitted(), accepted(), first])!;
    assert.equal(evolveOrder(once, { ...first, tsEventMs: ++ts }), once);
    const done = evolveOrder(once, fill(6));
    assert.equal(evolveOrder(done, first), done);
  });

  test('an overfill is rejected with a named error and does not change the order', () => {
    const state = replayOrder([submitted(), accepted(), fill(7)])!;
    assert.throws(
      () => evolveOrder(state, fill(4, 100, { tradeId: 't-over' })),
      (e: unknown) =>
        e instanceof OrderOverfillError &&
        e.code === 'ORDER_OVERFILL' &&
        e.tradeId === 't-over' &&
        e.cumulativeFilled.toFixed() === '11' &&
        e.size.toFixed() === '10',
    );
    assert.equal(state.filled.toFixed(), '7');
  });

  test('bad fill data is a validation error naming the field', () => {
    const state = orderIn('accepted');
    for (const [extra, field] of [
      [{ price: dec(0) }, 'fill.price'],
      [{ size: dec(-1) }, 'fill.size'],
      [{ tradeId: '' }, 'fill.tradeId'],
      [{ fee: dec(Number.NaN) }, 'fill.fee'],
      [{ tsEventMs: -1 }, 'event.tsEventMs'],
    ] as const) {
      assert.throws(
        () => evolveOrder(state, fill(1, 100, extra as Partial<OrderFilled>)),
        (e: unknown) => e instanceof ValidationError && e.field === field,
        field,
      );
    }
  });

  test('property: any fill sequence with re-deliveries keeps filled = sum of distinct fills <= size', () => {
    const fillArb = fc.record({
      size: fc.integer({ min: 1, max: 4 }),
      price: fc.integer({ min: 90, max: 110 }),
    });
    fc.assert(
      fc.property(
        fc.array(fillArb, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (fills, replays) => {
          const events = fills.map((f, i) =>
            fill(f.size, f.price, { tradeId: `p-${i}`, fee: dec(f.size).mul('0.001') }),
          );
          const delivered = [
            ...events,
            ...replays.filter(() => events.length > 0).map((r) => events[r % events.length]!),
          ];
          let state = replayOrder([submitted(), accepted()])!;
          let counted = dec(0);
          let notional = dec(0);
          for (const event of delivered) {
            const seen = state.tradeIds.has(event.tradeId);
            try {
              state = evolveOrder(state, event);
              if (!seen) {
                counted = counted.plus(event.size);
                notional = notional.plus(event.size.mul(event.price));
              }
            } catch (error) {
              assert.ok(error instanceof OrderOverfillError || error instanceof IllegalOrderTransitionError);
              assert.ok(counted.plus(event.size).gt(request.size));
            }
          }
          assert.ok(state.filled.eq(counted));
          assert.ok(state.filled.lte(state.size));
          assert.ok(state.remaining.eq(state.size.minus(state.filled)));
          if (counted.gt(0)) assert.ok(state.avgFillPrice?.eq(notional.div(counted)));
          assert.equal(
            state.status,
            counted.eq(10) ? 'filled' : counted.gt(0) ? 'partially_filled' : 'accepted',
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('order request validation', () => {
  const cases: [Partial<Record<keyof OrderRequest, unknown>>, string][] = [
    [{ clientOrderId: 'bad id' }, 'order.clientOrderId'],
    [{ venue: 'OKX' }, 'order.venue'],
    [{ account: 'a.b' }, 'order.account'],
    [{ instrument: 'BTCUSDT' }, 'order.instrument'],
    [{ side: 'long' }, 'order.side'],
    [{ type: 'stop' }, 'order.type'],
    [{ timeInForce: 'day' }, 'order.timeInForce'],
    [{ size: dec(0) }, 'order.size'],
    [{ price: undefined }, 'order.price'],
    [{ price: dec(-1) }, 'order.price'],
    [{ type: 'market', timeInForce: 'post_only', price: undefined }, 'order.timeInForce'],
    [{ reduceOnly: 'yes' }, 'order.reduceOnly'],
  ];
  for (const [patch, field] of cases) {
    test(`rejects ${JSON.stringify(patch)} naming ${field}`, () => {
      const bad = { ...request, ...patch } as OrderRequest;
      assert.throws(
        () => evolveOrder(undefined, submitted(bad)),
        (e: unknown) => e instanceof ValidationError && e.field === field,
      );
    });
  }

  test('a market order may omit the price', () => {
    const state = evolveOrder(
      undefined,
      submitted({ ...request, type: 'market', timeInForce: 'ioc', price: undefined }),
    );
    assert.equal(state.price, undefined);
  });
});
