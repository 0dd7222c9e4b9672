/** AcctPublisher: on change only, mark-only moves throttled, fact ids, nothing from a standby. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventLog, OutgoingMessage } from '@perpmesh/bus';
import { decodeEnvelope, Subjects } from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { createLogger } from '@perpmesh/runtime';
import { AcctPublisher } from './acct-publisher.js';
import { accountMetrics } from './metrics.js';
import type { BalanceReading, PositionReading } from './readings.js';

const T0 = Date.UTC(2026, 0, 1);

function world(options: { failPublish?: boolean } = {}) {
  let now = T0;
  let active = true;
  const sent: OutgoingMessage[] = [];
  let attempts = 0;
  const log = {
    publish: async (msg: OutgoingMessage) => {
      attempts++;
      if (options.failPublish) throw new Error('log unavailable');
      sent.push(msg);
      return { stream: 'ACCT', seq: sent.length, duplicate: false };
    },
  } as unknown as EventLog;
  const publisher = new AcctPublisher({
    log,
    subjects: new Subjects(),
    source: 'account/test',
    nowMs: () => now,
    logger: createLogger({ service: 'account', level: 'silent' }),
    metrics: accountMetrics(undefined),
    markPublishIntervalMs: 1_000,
    isActive: () => active,
  });
  const kinds = () => sent.map((m) => decodeEnvelope(m.data).payload?.$case);
  return {
    publisher,
    sent,
    kinds,
    attempts: () => attempts,
    advance: (ms: number) => {
      now += ms;
    },
    setActive: (a: boolean) => {
      active = a;
    },
  };
}

const balance = (total: string, equity: string): BalanceReading => ({
  venue: 'paper',
  account: 'main',
  currency: 'USDC',
  total: dec(total),
  available: dec(total),
  equity: dec(equity),
  unrealizedPnl: dec(equity).minus(total),
  asOfMs: T0,
  ageMs: 0,
  stale: false,
  source: 'venue',
});

const position = (size: string, markPrice: string): PositionReading => ({
  venue: 'paper',
  account: 'main',
  instrument: 'BTC-USDC-PERP',
  side: 'long',
  size: dec(size),
  entryPrice: dec(100),
  markPrice: dec(markPrice),
  unrealizedPnl: dec(markPrice).minus(100).times(size),
  tradingPnl: dec(0),
  fees: dec(0),
  funding: dec(0),
  netRealizedPnl: dec(0),
  leverage: undefined,
  liquidationPrice: undefined,
  asOfMs: T0,
  ageMs: 0,
  stale: false,
  source: 'projection',
  venueSize: undefined,
});

describe('AcctPublisher', () => {
  test('balances: on change; a mark-only move waits for its interval, a wallet move goes at once', async () => {
    const w = world();
    w.publisher.balance(balance('1000', '1000'), false);
    w.publisher.balance(balance('1000', '1000'), false); // unchanged
    w.publisher.balance(balance('1000', '1010'), false); // mark only, within the interval
    await w.publisher.idle();
    assert.equal(w.sent.length, 1);
    assert.deepEqual(w.publisher.dirtyBalanceCurrencies('paper', 'main'), ['USDC']);
    w.publisher.balance(balance('1000', '1010'), true); // housekeeping, still within the interval
    await w.publisher.idle();
    assert.equal(w.sent.length, 1);
    w.advance(1_000);
    w.publisher.balance(balance('1000', '1010'), true);
    await w.publisher.idle();
    assert.equal(w.sent.length, 2);
    assert.deepEqual(w.publisher.dirtyBalanceCurrencies('paper', 'main'), []);
    w.publisher.balance(balance('990', '1000'), false); // a fee left the wallet: at once
    await w.publisher.idle();
    assert.deepEqual(w.kinds(), ['balance', 'balance', 'balance']);
    assert.equal(new Set(w.sent.map((m) => m.id)).size, 3, 'one fact id per distinct balance');
  });

  test('positions: a body change at once, a mark move throttled and handed back when due', async () => {
    const w = world();
    w.publisher.position('k', position('1', '100'), 'change');
    w.publisher.position('k', position('1', '101'), 'mark');
    await w.publisher.idle();
    assert.equal(w.sent.length, 1);
    assert.deepEqual(w.publisher.takeDuePositions(T0 + 999), []);
    assert.deepEqual(w.publisher.takeDuePositions(T0 + 1_000), ['k']);
    assert.deepEqual(w.publisher.takeDuePositions(T0 + 1_000), [], 'handed back once');
    w.publisher.position('k', position('2', '101'), 'change');
    await w.publisher.idle();
    assert.equal(w.sent.length, 2);
  });

  test('a standby publishes nothing; a reset forgets what was published', async () => {
    const w = world();
    w.setActive(false);
    w.publisher.balance(balance('1000', '1000'), false);
    w.publisher.drift({
      venue: 'paper',
      account: 'main',
      instrument: '',
      currency: 'USDC',
      field: 'balance.total',
      projected: dec(1),
      venueValue: dec(2),
      projectedAsOfMs: T0,
      venueAsOfMs: T0,
    });
    await w.publisher.idle();
    assert.equal(w.attempts(), 0);
    w.setActive(true);
    w.publisher.balance(balance('1000', '1000'), false);
    w.publisher.reset();
    w.publisher.balance(balance('1000', '1000'), false);
    await w.publisher.idle();
    assert.equal(w.sent.length, 2, 'republished after the reset (same fact id: the log dedupes)');
    assert.equal(w.sent[0]?.id, w.sent[1]?.id);
  });

  test('a failed publish is counted and logged, never thrown; a position is then republished', async () => {
    const w = world({ failPublish: true });
    w.publisher.position('k', position('1', '100'), 'change');
    await w.publisher.idle();
    w.publisher.position('k', position('1', '100'), 'change');
    await w.publisher.idle();
    assert.equal(w.sent.length, 0);
    assert.equal(w.attempts(), 2, 'the second was not suppressed as "already published"');
  });
});
