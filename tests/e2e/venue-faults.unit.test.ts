import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BOOK_GAP_EVERY,
  dropsBookDelta,
  EMULATOR_FAULT_REQUESTS,
  emulatorFaultAction,
  shiftVenueTimes,
  streamDrop,
  unaryAction,
} from './venue-faults.js';

const on = (kind: Parameters<typeof streamDrop>[1][number]['kind'], venue = 'paper') => ({ kind, venue });

describe('venue faults of the proxy', () => {
  test('no fault, or a fault on another venue: every call is forwarded', () => {
    assert.deepEqual(unaryAction('CreateOrder', 'paper', []), { do: 'forward' });
    assert.deepEqual(unaryAction('CreateOrder', 'paper', [on('rate_limit', 'paper-lighter')]), {
      do: 'forward',
    });
  });

  test('a rate limit or a 5xx answers every unary call in the venue place, the rate limit first', () => {
    for (const method of ['CreateOrder', 'FetchOrder', 'FetchBalances', 'GetReadiness']) {
      assert.equal(unaryAction(method, 'paper', [on('rate_limit')]).do, 'rate_limit', method);
      assert.equal(unaryAction(method, 'paper', [on('unavailable')]).do, 'unavailable', method);
    }
    const both = [on('accepted_timeout'), on('unavailable'), on('rate_limit')];
    assert.equal(unaryAction('CreateOrder', 'paper', both).do, 'rate_limit');
  });

  test('a lost answer hits only writes: the venue acted, reads still answer', () => {
    for (const method of ['CreateOrder', 'CancelOrder', 'CancelAllOrders'])
      assert.equal(unaryAction(method, 'paper', [on('accepted_timeout')]).do, 'drop_answer', method);
    for (const method of ['FetchOrder', 'FetchFills', 'FetchOpenOrders'])
      assert.equal(unaryAction(method, 'paper', [on('accepted_timeout')]).do, 'forward', method);
  });

  test('a stream drop is found per venue', () => {
    assert.deepEqual(streamDrop('paper', [on('stream_drop')]), on('stream_drop'));
    assert.equal(streamDrop('paper-lighter', [on('stream_drop')]), undefined);
    assert.equal(streamDrop('paper', [on('book_gap')]), undefined);
  });

  test('a book gap drops every third delta of its venue, nothing else', () => {
    const delta = { $case: 'delta' };
    const gap = [on('book_gap')];
    const dropped = [1, 2, 3, 4, 5, 6].filter((n) => dropsBookDelta(delta, 'paper', gap, n));
    assert.deepEqual(dropped, [BOOK_GAP_EVERY, BOOK_GAP_EVERY * 2]);
    assert.equal(dropsBookDelta({ $case: 'snapshot' }, 'paper', gap, BOOK_GAP_EVERY), false);
    assert.equal(dropsBookDelta({ $case: 'trade' }, 'paper', gap, BOOK_GAP_EVERY), false);
    assert.equal(dropsBookDelta(delta, 'paper-lighter', gap, BOOK_GAP_EVERY), false);
    assert.equal(dropsBookDelta(delta, 'paper', [], BOOK_GAP_EVERY), false);
  });

  test('clock skew shifts the venue times of an answer, nested, and leaves unset times and durations', () => {
    const answer = {
      fills: [{ tsEventMs: 1_000_000, size: '1' }],
      funding: { tsEventMs: 2_000_000, nextFundingTimeMs: 3_000_000, intervalMs: 8 },
      unset: { tsEventMs: 0 },
    };
    shiftVenueTimes(answer, 1500, 'answer');
    assert.equal(answer.fills[0]?.tsEventMs, 1_001_500);
    assert.equal(answer.funding.tsEventMs, 2_001_500);
    assert.equal(answer.funding.nextFundingTimeMs, 3_001_500);
    assert.equal(answer.funding.intervalMs, 8);
    assert.equal(answer.unset.tsEventMs, 0);
  });

  test('clock skew shifts a request "since" back into the venue clock, and zero skew is a no-op', () => {
    assert.deepEqual(shiftVenueTimes({ venue: 'paper', sinceMs: 10_000 }, 1500, 'request'), {
      venue: 'paper',
      sinceMs: 8_500,
    });
    assert.deepEqual(shiftVenueTimes({ sinceMs: 10_000 }, -1500, 'request'), { sinceMs: 11_500 });
    // "since the beginning" stays the beginning.
    assert.deepEqual(shiftVenueTimes({ sinceMs: 0 }, 1500, 'request'), { sinceMs: 0 });
    assert.deepEqual(shiftVenueTimes({ tsEventMs: 5 }, 0, 'answer'), { tsEventMs: 5 });
  });
});

describe('venue faults on an emulator', () => {
  const routes = { orders: { method: 'POST', path: '/fapi/v1/order' }, bookSymbol: 'BTCUSDT' };

  test('rate limits and 5xx answer a few requests; a lost answer hits the next order write', () => {
    assert.deepEqual(emulatorFaultAction('rate_limit', routes), {
      do: 'http',
      rule: { kind: 'rate-limit', count: EMULATOR_FAULT_REQUESTS },
    });
    assert.deepEqual(emulatorFaultAction('unavailable', routes), {
      do: 'http',
      rule: { kind: 'server-error', count: EMULATOR_FAULT_REQUESTS },
    });
    assert.deepEqual(emulatorFaultAction('accepted_timeout', routes), {
      do: 'http',
      rule: { kind: 'timeout-after-accept', method: 'POST', path: '/fapi/v1/order', count: 1 },
    });
  });

  test('a stream drop drops the websockets; a book gap skips a delta, or is not shown on snapshot books', () => {
    assert.deepEqual(emulatorFaultAction('stream_drop', routes), { do: 'drop_websockets' });
    assert.deepEqual(emulatorFaultAction('book_gap', routes), { do: 'skip_book_delta', symbol: 'BTCUSDT' });
    assert.equal(emulatorFaultAction('book_gap', { orders: routes.orders }), undefined);
  });
});
