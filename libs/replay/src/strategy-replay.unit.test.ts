/**
 * The journal round trip with the real funding arb: a stepper records its inputs and
 * decisions into a journal (in memory), `replayStrategy` feeds them back through a new
 * stepper: identical decisions; a changed parameter shows where decisions differ; a
 * recorded decision that the code would not make is reported as the first non-determinism;
 * a replay can start at a later snapshot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryProjectionStore } from '@perpmesh/bus';
import { Subjects } from '@perpmesh/contracts';
import { Decimal } from '@perpmesh/core';
import type { Logger } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { makeStrategyDecider, parseStrategyConfig, type StrategyInput } from '@perpmesh/strategy';
import { DryRunRecorder, StrategyInputJournal, StrategyStepper } from '@perpmesh/strategy/runtime';
import { MemoryReader } from './memory-reader.test-helper.js';
import { replayStrategy } from './strategy.js';

const T0 = 1_765_000_000_000;
const BTC = 'BTC-USDC-PERP';
const VENUES = ['paper-lighter', 'paper-extended'] as const;
const quiet = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;
const d = (x: string) => new Decimal(x);

const config = parseStrategyConfig(
  {
    kind: 'funding_arb',
    strategyId: 'arb-1',
    instruments: [BTC],
    venues: VENUES.map((venue) => ({ venue, account: 'main' })),
    targetNotionalPerLeg: '5000',
    holdingHorizonMs: '48h',
    entryThresholdBps: '1',
    persistenceMs: '2s',
    exitSpreadBpsPerHour: '-0.5',
    maxHoldingMs: '48h',
    reentryCooldownMs: '1m',
    legImbalanceBudgetNotionalSeconds: '50000',
    orderType: 'limit_ioc',
    maxSlippageBps: '20',
    risk: {
      leverage: '3',
      maxLeverage: '5',
      maxNotionalPerInstrument: '20000',
      maxNotionalPerVenue: '50000',
      orderRateCapacity: 10,
      orderRatePerSecond: 2,
      availableBalanceUsage: '0.5',
    },
  },
  'config',
);

function inputs(): StrategyInput[] {
  const out: StrategyInput[] = [
    {
      kind: 'markets',
      nowMs: T0,
      markets: VENUES.map((venue) => ({
        venue,
        instrument: BTC,
        tickSize: d('0.1'),
        lotSize: d('0.001'),
        minSize: d('0.001'),
        minNotional: d('10'),
        makerFeeRate: d('0'),
        takerFeeRate: d(venue === 'paper-lighter' ? '0' : '0.00025'),
        maxLeverage: d('20'),
      })),
    },
  ];
  for (const venue of VENUES) {
    out.push({
      kind: 'balance',
      nowMs: T0,
      venue,
      account: 'main',
      total: d('100000'),
      available: d('100000'),
      equity: d('100000'),
      asOfMs: T0,
      stale: false,
    });
  }
  out.push({ kind: 'start', nowMs: T0 + 1, openOrders: [], positions: [] });
  for (let s = 0; s < 5; s++) {
    const now = T0 + 1_000 * (s + 1);
    for (const venue of VENUES) {
      out.push({
        kind: 'funding',
        nowMs: now,
        venue,
        instrument: BTC,
        rate: d(venue === 'paper-lighter' ? '0.00005' : '-0.00005'),
        intervalMs: 3_600_000,
        nextFundingTimeMs: T0 + 3_600_000,
        markPrice: d('60000'),
        asOfMs: now,
      });
      const bids = [0, 1, 2].map((i) => ({ price: d(String(59_999.5 - i)), size: d('1') }));
      const asks = [0, 1, 2].map((i) => ({ price: d(String(60_000.5 + i)), size: d('1') }));
      out.push({ kind: 'book', nowMs: now, venue, instrument: BTC, bids, asks, asOfMs: now });
    }
    out.push({ kind: 'tick', nowMs: now + 500 });
  }
  return out;
}

/** Runs the stepper live over the inputs, its journal going into the reader's JOURNAL. */
async function record(reader: MemoryReader, snapshotEvery = 1000): Promise<void> {
  const subjects = new Subjects();
  let now = T0;
  const journal = new StrategyInputJournal({
    log: {
      publish: async (m) => ({
        stream: 'JOURNAL',
        seq: reader.addRaw('JOURNAL', m.subject, m.id, m.data, now),
        duplicate: false,
      }),
    },
    subjects,
    strategyId: 'arb-1',
    config,
    dryRun: true,
    balanceStaleAfterMs: 15_000,
    logger: quiet,
    snapshotEvery,
  });
  const stepper = new StrategyStepper({
    strategyId: 'arb-1',
    decider: makeStrategyDecider(config),
    store: new InMemoryProjectionStore() as unknown as StateStore,
    publish: async () => undefined,
    gateway: new DryRunRecorder({ nowMs: () => now }),
    logger: quiet,
    nowMs: () => now,
    source: 'test',
    journal,
  });
  stepper.begin({});
  for (const input of inputs()) {
    now = input.nowMs;
    await stepper.step(input);
    await stepper.release();
  }
  await journal.flush();
}

const base = { subjects: new Subjects(), streamPrefix: '', strategyId: 'arb-1' };

test('same journal in, same decisions out', async () => {
  const reader = new MemoryReader();
  await record(reader);
  const report = await replayStrategy({ ...base, reader });
  assert.equal(report.runs, 1);
  assert.equal(report.inputs, inputs().length);
  assert.ok(report.steps.length >= 2, `deciding steps: ${report.steps.length}`);
  assert.ok(
    report.steps.some((s) => s.recorded.decisions.some((x) => x.kind === 'enter')),
    'the arb entered',
  );
  assert.equal(report.divergent, 0);
  assert.deepEqual(report.problems, []);
  assert.equal(report.firstDivergence, undefined);
});

test('--set: every step that would decide differently, and which inputs changed', async () => {
  const reader = new MemoryReader();
  await record(reader);
  const report = await replayStrategy({ ...base, reader, overrides: { entryThresholdBps: '100000' } });
  assert.ok(report.divergent > 0);
  assert.ok(
    report.steps.some(
      (s) =>
        s.recorded.decisions[0]?.inputs.entry_threshold_bps === '1' &&
        s.replayed.decisions[0]?.inputs.entry_threshold_bps === '100000',
    ),
    'the changed input is in the report',
  );
  assert.ok(
    !report.steps.some((s) => s.replayed.decisions.some((x) => x.kind === 'enter')),
    'with a huge threshold it never enters',
  );
});

test('a recorded decision the code does not make is the first non-determinism', async () => {
  const reader = new MemoryReader();
  const tampering = new MemoryReader();
  await record(reader);
  let done = false;
  for await (const msg of reader.read({ stream: 'JOURNAL' })) {
    const lines = new TextDecoder().decode(msg.data).trim().split('\n');
    const edited = lines.map((line) => {
      const entry = JSON.parse(line);
      if (!done && entry.decisions?.length) {
        entry.decisions[0].reasonCode = 'tampered';
        done = true;
      }
      return JSON.stringify(entry);
    });
    tampering.addRaw('JOURNAL', msg.subject, msg.id, new TextEncoder().encode(`${edited.join('\n')}\n`), 0);
  }
  const report = await replayStrategy({ ...base, reader: tampering });
  assert.equal(report.firstDivergence?.recorded.decisions[0]?.reasonCode, 'tampered');
  assert.equal(report.steps.at(-1), report.firstDivergence, 'it stops there');
  assert.equal(report.firstDivergence?.same, false);
});

test('a replay can start at a later snapshot', async () => {
  const reader = new MemoryReader();
  await record(reader, 10);
  const all = await replayStrategy({ ...base, reader });
  const later = await replayStrategy({ ...base, reader, fromInput: 15 });
  assert.equal(later.divergent, 0);
  assert.equal(later.inputs, all.inputs - 10, 'from the snapshot before input 10');
});
