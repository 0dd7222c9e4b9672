import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import {
  BTC,
  balance,
  book,
  fullyFilled,
  market,
  marketsInput,
  placed,
  start,
  T0,
  tick,
} from '../../fixtures.test-helper.js';
import type { StrategyInput } from '../../model.js';
import { midMoveBps, parseScalperConfig, recordMid, scalperDecider } from './decider.js';

const LEAD = 'paper-lead';
const FOLLOW = 'paper-follow';

const decider = scalperDecider(
  parseScalperConfig({
    strategyId: 'scalp-1',
    leader: { venue: LEAD, instrument: BTC },
    follower: { venue: FOLLOW, account: 'main', instrument: BTC },
    signalWindowMs: 1_000,
    entryThresholdBps: '5',
    orderSize: '0.01',
    takeProfitBps: '10',
    stopLossBps: '10',
    maxHoldMs: 60_000,
    cooldownMs: 5_000,
    risk: {
      leverage: '5',
      maxLeverage: '10',
      maxNotionalPerInstrument: '100000',
      maxNotionalPerVenue: '100000',
      maxBalanceAgeMs: 3_600_000,
    },
  }),
);

const setup: StrategyInput[] = [
  marketsInput(T0, [market(LEAD), market(FOLLOW)]),
  balance(FOLLOW, 'main', T0, '10000'),
  book(LEAD, T0, '50000'),
  book(FOLLOW, T0, '50000'),
  start(T0),
];

const leaderJump = (mid: string, at = T0 + 1_000) => [book(LEAD, at, mid), book(FOLLOW, at, '50000')];

describe('scalper', () => {
  test('the leader moves past the threshold, the follower has not: buy the follower', () => {
    const then = spec(decider)
      .given(setup)
      .when(leaderJump('50050')) // +10 bps vs 0
      .thenDecisions([{ kind: 'enter', reasonCode: 'leader_moved_up' }]);
    const [entry] = placed(then.result.commands);
    assert.equal(entry!.venue, FOLLOW);
    assert.equal(entry!.side, 'buy');
    assert.equal(entry!.reduceOnly, false);
    assert.equal(entry!.size.toFixed(), '0.01');
    assert.equal(then.result.decisions[0]!.inputs.lag_bps, '10.0000');
  });

  test('below the threshold: no entry', () => {
    spec(decider).given(setup).when(leaderJump('50010')).thenNothingHappened();
  });

  // The venue's clock (asOfMs) 1.5 s behind ours or 5 s ahead; market data observed each book
  // when it arrived (observedAtMs = our now). Timed by asOfMs, a venue behind made every move
  // older than the window start (its own reference: no move), one ahead had no reference.
  for (const [name, skewMs] of [
    ['1.5 s behind', -1_500],
    ['5 s ahead', 5_000],
  ] as const) {
    test(`the window runs on our clock, not the venue's: a venue ${name} still signals`, () => {
      const skewed = (input: StrategyInput): StrategyInput =>
        input.kind === 'book' ? { ...input, asOfMs: input.nowMs + skewMs, observedAtMs: input.nowMs } : input;
      spec(decider)
        .given(setup.map(skewed))
        .when(leaderJump('50050').map(skewed))
        .thenDecided({ kind: 'enter', reasonCode: 'leader_moved_up' });
    });
  }

  test('leader down: sell the follower', () => {
    spec(decider)
      .given(setup)
      .when(leaderJump('49950'))
      .thenDecided({ kind: 'enter', reasonCode: 'leader_moved_down' });
  });

  function holding() {
    const given = spec(decider).given([...setup, ...leaderJump('50050')]);
    const entry = Object.values(given.state.world.orders)[0]!;
    return spec(decider).given(fullyFilled(entry, T0 + 1_100, '50000.5', '0'), given.state);
  }

  for (const [name, mid, reason] of [
    ['take-profit', '50060', 'take_profit'],
    ['stop-loss', '49940', 'stop_loss'],
  ] as const) {
    test(`${name}: a reduce-only exit sized to the position`, () => {
      const then = holding()
        .when(book(FOLLOW, T0 + 2_000, mid))
        .thenDecisions([{ kind: 'exit', reasonCode: reason }]);
      const [exit] = placed(then.result.commands);
      assert.equal(exit!.side, 'sell');
      assert.equal(exit!.reduceOnly, true);
      assert.equal(exit!.size.toFixed(), '0.01');
    });
  }

  test('max hold time exits; after the exit fills, the cooldown blocks a new entry', () => {
    const exited = holding()
      .when(tick(T0 + 1_100 + 60_000))
      .thenDecisions([{ kind: 'exit', reasonCode: 'max_hold_time' }]);
    const [exit] = placed(exited.result.commands);
    const t = T0 + 62_000;
    const closed = spec(decider)
      .given([], exited.result.state)
      .when(fullyFilled(exit!, t, '50000', '0'))
      .thenDecisions([{ kind: 'closed', reasonCode: 'max_hold_time' }]);
    spec(decider)
      .given([], closed.result.state)
      .when([
        book(LEAD, t + 1_000, '50000'),
        book(FOLLOW, t + 1_000, '50000'),
        ...leaderJump('50100', t + 2_000),
      ])
      .thenNoCommands();
  });
});

describe('scalper signal samples (recordMid, midMoveBps; the tick-order bench rebuilds the signal with them)', () => {
  const d = (x: string) => new Decimal(x);

  test('the move is from the latest sample at or before the window start to the latest sample', () => {
    const samples: Array<{ atMs: number; mid: Decimal }> = [];
    recordMid(samples, 1_000, d('100'), 0);
    recordMid(samples, 1_500, d('100.02'), 0);
    recordMid(samples, 1_900, d('100.05'), 0);
    const move = midMoveBps(samples, 2_000, 400);
    assert.equal(move?.reference.mid.toFixed(), '100.02'); // at 1_500 <= 2_000 - 400
    assert.equal(move?.bps.toFixed(4), '2.9994');
    assert.equal(midMoveBps(samples, 1_300, 400), undefined, 'no sample as old as the window start');
  });

  test('an older sample than the last is ignored; samples older than needed are dropped but one', () => {
    const samples: Array<{ atMs: number; mid: Decimal }> = [];
    recordMid(samples, 1_000, d('100'), 0);
    recordMid(samples, 900, d('99'), 0);
    assert.deepEqual(
      samples.map((s) => s.atMs),
      [1_000],
    );
    recordMid(samples, 2_000, d('101'), 0);
    recordMid(samples, 3_000, d('102'), 2_500);
    assert.deepEqual(
      samples.map((s) => s.atMs),
      [2_000, 3_000],
    );
  });
});
