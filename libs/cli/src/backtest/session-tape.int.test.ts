/**
 * A backtest over a recorded embedded session (`--tape session:<dir>`): a few minutes of
 * md.book / md.funding events written to a session's event log the way the market-data
 * feed writes them (taken from a seeded sim market), then replayed as the market. The
 * strategy trades against the recorded liquidity; the run is the same twice; a session
 * without market data is refused naming the tape.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EmbeddedEventLog } from '@perpmesh/bus';
import { BookUpdateKind, factEventId, newEnvelope, publishEnvelope, streamSpecs } from '@perpmesh/contracts';
import { toWire, ValidationError } from '@perpmesh/core';
import { loadConfig } from '@perpmesh/runtime';
import { defaultWorldConfig, SimWorld } from '@perpmesh/sim';
import { parseStrategyInstances } from '@perpmesh/strategy/runtime';
import { paperHubOptionsFromConfig } from '@perpmesh/venues';
import { embeddedConfigSchema } from '../embedded.js';
import { backtestCommand, summaryJson, summaryLines } from './command.js';
import { runBacktest } from './engine.js';
import { loadSessionTape } from './session-tape.js';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const START_MS = Date.UTC(2026, 2, 1);
const VENUES = ['paper', 'paper-lighter', 'paper-extended'];
const INSTRUMENTS = ['BTC-USDC-PERP', 'ETH-USDC-PERP'];

/** Writes `seconds` of a seeded market's books (top 10) and funding readings, once a second, as md events. */
async function recordSession(sessionDir: string, seconds: number): Promise<void> {
  let clock = START_MS;
  const log = await EmbeddedEventLog.open({
    dataDir: join(sessionDir, 'events'),
    fsync: 'never',
    retentionIntervalMs: 0,
    nowMs: () => clock,
  });
  try {
    await log.ensureStreams(streamSpecs());
    const world = new SimWorld(defaultWorldConfig({ seed: 11, startMs: START_MS, venueIds: VENUES }));
    for (let s = 0; s <= seconds; s++) {
      clock = START_MS + s * 1_000;
      world.step(clock);
      for (const venue of VENUES) {
        for (const instrument of INSTRUMENTS) {
          const exchange = world.exchange(venue);
          const book = exchange.bookSnapshot(instrument, 10);
          const level = (l: { price: { toFixed(): string }; size: { toFixed(): string } }) => ({
            price: l.price.toFixed(),
            size: l.size.toFixed(),
          });
          await publishEnvelope(
            log,
            newEnvelope({
              id: factEventId(clock, `md.book|${venue}|${instrument}|${book.seq}`),
              source: 'market-data',
              tsEventMs: clock,
              tsInitMs: clock,
              payload: {
                $case: 'orderBook',
                value: {
                  venue,
                  instrument,
                  kind: BookUpdateKind.BOOK_UPDATE_KIND_SNAPSHOT,
                  sequence: book.seq,
                  prevSequence: 0,
                  depth: 10,
                  bids: book.bids.map(level),
                  asks: book.asks.map(level),
                  asOfMs: clock,
                },
              },
            }),
          );
          const f = exchange.funding(instrument);
          if (f === undefined) continue;
          await publishEnvelope(
            log,
            newEnvelope({
              id: factEventId(clock, `md.funding|${venue}|${instrument}|${clock}`),
              source: 'market-data',
              tsEventMs: clock,
              tsInitMs: clock,
              payload: {
                $case: 'fundingRate',
                value: {
                  venue,
                  instrument,
                  rate: toWire(f.predictedRate),
                  intervalMs: f.fundingIntervalMs,
                  ratePerHour: '0',
                  annualized: '0',
                  nextFundingTimeMs: f.nextFundingTimeMs,
                  markPrice: toWire(f.markPrice),
                  indexPrice: toWire(f.indexPrice),
                  asOfMs: clock,
                },
              },
            }),
          );
        }
      }
    }
  } finally {
    await log.close();
  }
}

function options(overrides: Record<string, unknown>) {
  const { config } = loadConfig(embeddedConfigSchema, { path: `${ROOT}config/perpmesh.yaml`, env: {} });
  const [spec] = parseStrategyInstances([{ ...config.strategy.instances[0], ...overrides }]);
  const hub = paperHubOptionsFromConfig({
    venues: config.venues,
    paper: config.paper,
    clock: { kind: 'manual' },
  });
  return {
    strategy: spec!,
    hub: { ...(hub.venues ? { venues: hub.venues } : {}), accounts: hub.accounts ?? [] },
    seed: 0,
  };
}

describe('runBacktest (session tape)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-session-tape-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('replays the recorded md events as the market: trades on them, the same twice', async () => {
    const session = join(dir, 'sessions', '20260301T000000Z');
    await recordSession(session, 180);
    const recorded = await loadSessionTape(session);
    assert.equal(recorded.startMs, START_MS);
    assert.equal(recorded.endMs, START_MS + 180_000);
    assert.equal(recorded.events.length, 181 * VENUES.length * INSTRUMENTS.length * 2);

    const trading = { entryThresholdBps: '0', persistenceMs: '2s' };
    const run = () =>
      runBacktest({ ...options(trading), durationMs: recorded.endMs - recorded.startMs, recorded });
    const first = await run();
    const second = await run();
    assert.deepEqual(summaryJson(second), summaryJson(first));
    assert.equal(first.steps, 180);
    assert.match(summaryLines(first)[0] ?? '', /session .*20260301T000000Z/);
    const s = first.summary;
    assert.equal(s.startEquity.toFixed(), '300000');
    // Both legs filled against the recorded books (the tape's liquidity), with fees charged.
    assert.ok(s.fills >= 2, `expected fills on the recorded books: ${summaryLines(first).join('\n')}`);
    assert.ok(s.fees.lt(0));
    assert.equal(
      s.funding.plus(s.priceAndBasis).plus(s.fees).plus(s.slippage).toFixed(),
      s.endEquity.minus(s.startEquity).toFixed(),
    );
  });

  test('perpmesh backtest --tape session:<dir>: the summary says which session, the chart is written', async () => {
    const session = join(dir, 'sessions', '20260301T000000Z');
    if (!existsSync(session)) await recordSession(session, 180);
    const out: string[] = [];
    const err: string[] = [];
    const sink = (into: string[]) => ({
      write: (text: string) => {
        into.push(text);
        return true;
      },
    });
    const chart = join(dir, 'session-chart.html');
    const code = await backtestCommand(
      `${ROOT}config/perpmesh.yaml`,
      { tape: `session:${session}`, json: true, chart },
      { out: sink(out), err: sink(err) } as never,
      { PERPMESH_CONFIG: '' },
    );
    assert.equal(code, 0, err.join(''));
    const report = JSON.parse(out.join('')) as {
      tape: string;
      steps: number;
      summary: Record<string, string>;
    };
    assert.match(report.tape, /^session .*20260301T000000Z$/);
    assert.equal(report.steps, 180);
    assert.equal(report.summary.startEquity, '300000');
    assert.ok(existsSync(chart));
  });

  test('a session without market data is refused, naming the tape', async () => {
    const session = join(dir, 'sessions', 'empty');
    const log = await EmbeddedEventLog.open({
      dataDir: join(session, 'events'),
      fsync: 'never',
      retentionIntervalMs: 0,
    });
    await log.ensureStreams(streamSpecs());
    await log.close();
    await assert.rejects(loadSessionTape(session), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.match(err.message, /--tape session.*no market data/);
      return true;
    });
  });
});
