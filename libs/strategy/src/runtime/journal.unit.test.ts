import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutgoingMessage } from '@perpmesh/bus';
import { Subjects } from '@perpmesh/contracts';
import { Decimal } from '@perpmesh/core';
import type { Logger } from '@perpmesh/runtime';
import type { StrategyInput } from '../model.js';
import {
  decodeJournalValue,
  encodeJournalValue,
  type JournalInputEntry,
  type JournalSnapshotEntry,
  parseJournalMessage,
  StrategyInputJournal,
} from './journal.js';

const quiet = { warn: () => {}, info: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;

test('encode/decode: decimals exact (no rounding, no exponent), undefined dropped', () => {
  const input: StrategyInput = {
    kind: 'funding',
    nowMs: 1_765_000_000_123,
    venue: 'paper',
    instrument: 'BTC-USDC-PERP',
    rate: new Decimal('0.000012345678901234567890123'),
    intervalMs: 3_600_000,
    nextFundingTimeMs: 1_765_000_360_000,
    markPrice: new Decimal('100000.10'),
    indexPrice: undefined,
    asOfMs: 1_765_000_000_000,
  };
  const wire = JSON.parse(JSON.stringify(encodeJournalValue(input)));
  assert.deepEqual(wire.rate, { $d: '0.000012345678901234567890123' });
  assert.equal('indexPrice' in wire, false);
  const back = decodeJournalValue(wire) as typeof input;
  assert.ok(back.rate instanceof Decimal && back.rate.eq(input.rate));
  assert.equal(back.rate.toFixed(), input.rate.toFixed());
  assert.equal((back.markPrice as Decimal).toFixed(), '100000.1');
  assert.equal(back.nowMs, input.nowMs);
});

test('the journal batches entries in order into one message per flush, with snapshots when due', async () => {
  const published: OutgoingMessage[] = [];
  const journal = new StrategyInputJournal({
    log: {
      publish: async (m) => {
        published.push(m);
        return { stream: 'JOURNAL', seq: published.length, duplicate: false };
      },
    },
    subjects: new Subjects(),
    strategyId: 'arb-1',
    config: { kind: 'funding_arb', threshold: new Decimal('1.5') },
    dryRun: false,
    balanceStaleAfterMs: 15_000,
    logger: quiet,
    flushIntervalMs: 60_000,
    snapshotEvery: 2,
  });
  const state = {
    format: 'perpmesh.strategy.state',
    version: 1,
    strategyKind: 'k',
    strategyId: 'arb-1',
    state: {},
  } as const;
  journal.snapshot(state, { EXEC: 3 });
  assert.equal(journal.input({ kind: 'tick', nowMs: 10 }, undefined, [], []), false);
  assert.equal(journal.input({ kind: 'tick', nowMs: 11 }, { stream: 'MD', seq: 42 }, [], []), true);
  await journal.flush();
  assert.equal(published.length, 1);
  assert.equal(published[0]?.subject, 'journal.arb-1');
  const entries = parseJournalMessage(published[0]!.data, 'test');
  assert.deepEqual(
    entries.map((e) => [e.t, e.n]),
    [
      ['snapshot', 0],
      ['input', 0],
      ['input', 1],
    ],
  );
  const snap = entries[0] as JournalSnapshotEntry;
  assert.deepEqual(snap.config, { kind: 'funding_arb', threshold: { $d: '1.5' } });
  assert.deepEqual(snap.applied, { EXEC: 3 });
  const [, fromTimer, fromLog] = entries as JournalInputEntry[];
  assert.deepEqual(fromTimer?.in, { kind: 'tick', nowMs: 10 });
  assert.deepEqual(fromLog?.from, { s: 'MD', q: 42 });
  assert.equal(fromLog?.in, undefined, 'an input from the log is recorded by reference');
  assert.deepEqual(journal.stats().entries, 3);
  await journal.flush();
  assert.equal(published.length, 1, 'nothing buffered: nothing published');
});

test('a failed publish is counted and logged, never thrown', async () => {
  const journal = new StrategyInputJournal({
    log: {
      publish: async () => {
        throw new Error('log down');
      },
    },
    subjects: new Subjects(),
    strategyId: 's',
    config: {},
    dryRun: true,
    balanceStaleAfterMs: 1,
    logger: quiet,
  });
  journal.input({ kind: 'tick', nowMs: 1 }, undefined, [], []);
  await journal.flush();
  assert.equal(journal.stats().dropped, 1);
});
