import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import { fill, fullyFilled, orderUpdate, T0, tick } from '../../fixtures.test-helper.js';
import type { Decision, PositionInput } from '../../model.js';
import { formulaLiquidationPrice, liquidationDistance } from './alarms.js';
import { A, arbConfig, B, market2 } from './arb-fixtures.test-helper.js';
import { fundingArbDecider } from './index.js';

const alarms = (decisions: ReadonlyArray<Decision>, reasonCode: string) =>
  decisions.filter((d) => d.reasonCode === reasonCode);

describe('alarms (pure)', () => {
  test('the liquidation formula: entry x (1 -/+ (1/leverage - maintenance))', () => {
    assert.equal(formulaLiquidationPrice('buy', dec('50000'), dec('5'), dec('0.005')).toFixed(), '40250');
    assert.equal(formulaLiquidationPrice('sell', dec('50000'), dec('5'), dec('0.005')).toFixed(), '59750');
    assert.equal(liquidationDistance('buy', dec('50000'), dec('40250')).toFixed(), '0.195');
    assert.equal(liquidationDistance('sell', dec('50000'), dec('59750')).toFixed(), '0.195');
    assert.ok(liquidationDistance('sell', dec('60000'), dec('59750')).isNeg());
  });
});

describe('funding arb: alarms, one per incident', () => {
  test('a leg left one-sided raises one alarm however many inputs follow, and one clear when it is hedged', () => {
    const decider = fundingArbDecider(
      arbConfig({ legImbalanceBudgetNotionalSeconds: '100000000', orderTimeoutMs: 600_000 }),
    );
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const orders = Object.values(given.state.world.orders);
    const short = orders.find((o) => o.venue === A)!;
    const long = orders.find((o) => o.venue === B)!;
    const t = T0 + 31_000;
    const ticks = Array.from({ length: 10 }, (_, i) => tick(t + (i + 1) * 10_000));
    const then = given.when([
      ...fullyFilled(short, t, '49999.5', '5'),
      orderUpdate(long, t, 'accepted'),
      ...ticks,
      ...fullyFilled(long, t + 110_000, '50000.5', '5'),
    ]);
    const raised = alarms(then.result.decisions, 'alarm_one_legged');
    assert.equal(raised.length, 1);
    assert.equal(raised[0]!.nowMs, t + 30_000);
    assert.equal(raised[0]!.inputs.alarm_state, 'raised');
    const cleared = alarms(then.result.decisions, 'alarm_cleared');
    assert.equal(cleared.length, 1);
    assert.equal(cleared[0]!.inputs.alarm, 'one_legged');
  });

  test('liquidation distance below the threshold: one alarm per leg, not one per tick', () => {
    // At 5x a leg is 1950 bps from the formula liquidation price: below a 2500 bps alarm.
    const decider = fundingArbDecider(arbConfig({ alarms: { minLiquidationDistanceBps: '2500' } }));
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const t = T0 + 31_000;
    const then = given.when([
      ...Object.values(given.state.world.orders).flatMap((o) =>
        fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5'),
      ),
      ...Array.from({ length: 5 }, (_, i) => tick(t + (i + 1) * 1_000)),
    ]);
    const raised = alarms(then.result.decisions, 'alarm_liquidation_distance');
    assert.deepEqual(raised.map((d) => d.inputs.venue).sort(), [A, B].sort());
    assert.equal(raised[0]!.inputs.liquidation_price_source, 'formula');
  });
});

describe('funding arb: stale-data alarm', () => {
  test('a quiet book (older than maxBookAgeMs) raises nothing; data older than alarms.staleDataAfterMs raises one alarm per leg', () => {
    const decider = fundingArbDecider(
      arbConfig({ alarms: { staleDataAfterMs: 60_000 }, orderTimeoutMs: 600_000 }),
    );
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const t = T0 + 31_000;
    const fills = Object.values(given.state.world.orders).flatMap((o) =>
      fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5'),
    );
    // No market data after the fills: 20 s on, the books are past maxBookAgeMs but the feed
    // is not broken.
    const quiet = given.when([...fills, tick(t + 20_000)]);
    assert.equal(alarms(quiet.result.decisions, 'alarm_stale_data').length, 0);
    const stale = given.when([
      ...fills,
      ...Array.from({ length: 5 }, (_, i) => tick(t + 70_000 + i * 1_000)),
    ]);
    const raised = alarms(stale.result.decisions, 'alarm_stale_data');
    assert.ok(raised.length >= 1, 'data past the bound raises the alarm');
    assert.equal(
      new Set(raised.map((d) => d.inputs.venue)).size,
      raised.length,
      'one per leg, not one per tick',
    );
  });
});

describe('funding arb: account-drift alarm', () => {
  /** acct.position as the account service publishes it: as of its latest projected fill. */
  const accountPosition = (
    o: { venue: string; account: string; instrument: string },
    size: string,
    asOfMs: number,
    nowMs: number,
  ): PositionInput => ({ kind: 'position', nowMs, ...o, size: dec(size), asOfMs });

  /** The arb has sent both legs' orders (none filled yet); `t` is when their fills come. */
  const arbLegsSent = () => {
    const given = spec(fundingArbDecider(arbConfig())).given([
      ...market2('0.001', 8, '-0.0001', 1),
      tick(T0 + 30_000),
    ]);
    const orders = Object.values(given.state.world.orders);
    const short = orders.find((o) => o.venue === A)!;
    const long = orders.find((o) => o.venue === B)!;
    return { given, short, long, t: T0 + 31_000, size: long.size.toFixed() };
  };

  test('entry: the account position as of a fill arriving before that exec.fill raises no drift; a real difference does', () => {
    const { given, short, long, t, size } = arbLegsSent();
    // As in the emulated run: ACCT and EXEC are separate streams; the long leg's acct.position
    // (as of the fill's venue time) is processed before its exec.fill of that same time.
    const entry = [
      ...fullyFilled(short, t, '49999.5', '5'),
      accountPosition(short, `-${size}`, t, t + 40),
      accountPosition(long, size, t + 10, t + 60),
      fill(long, t + 10, '50000.5', long.size, '5'),
      orderUpdate(long, t + 70, 'filled', long.size, { avgFillPrice: '50000.5' }),
      tick(t + 1_000),
    ];
    const then = given.when(entry);
    assert.ok(
      then.result.decisions.some((d) => d.reasonCode === 'legs_filled'),
      'the arb is open',
    );
    assert.deepEqual(alarms(then.result.decisions, 'alarm_account_drift'), []);
    // The account then reports a size the arb does not hold: that is drift.
    const drifted = given.when([...entry, accountPosition(long, '0.5', t + 2_000, t + 2_000)]);
    const raised = alarms(drifted.result.decisions, 'alarm_account_drift');
    assert.equal(raised.length, 1);
    assert.equal(raised[0]!.inputs.venue_size, '0.5');
  });

  test("a fill stamped after an account position that already holds it (different clocks) is no drift: only the account's own report is compared", () => {
    const { given, short, long, t, size } = arbLegsSent();
    // The account dates the long position by the venue's trade time (t + 5); execution stamps
    // the fill with the event time (t + 10): the fill looks newer than a snapshot holding it.
    const entry = [
      ...fullyFilled(short, t, '49999.5', '5'),
      accountPosition(short, `-${size}`, t, t + 40),
      accountPosition(long, size, t + 5, t + 60),
      fill(long, t + 10, '50000.5', long.size, '5'),
      orderUpdate(long, t + 70, 'filled', long.size, { avgFillPrice: '50000.5' }),
      tick(t + 1_000),
    ];
    const then = given.when(entry);
    assert.ok(
      then.result.decisions.some((d) => d.reasonCode === 'legs_filled'),
      'the arb is open',
    );
    assert.deepEqual(alarms(then.result.decisions, 'alarm_account_drift'), []);
    // The account's next report settles it: the same size, still no drift.
    const settled = given.when([
      ...entry,
      accountPosition(long, size, t + 2_000, t + 2_000),
      tick(t + 2_500),
    ]);
    assert.deepEqual(alarms(settled.result.decisions, 'alarm_account_drift'), []);
  });

  test('an account report between two fills of one millisecond, processed before both, is no drift', () => {
    const { given, short, long, t, size } = arbLegsSent();
    const first = dec('0.001');
    // As in the emulated run: the long order takes two book levels in one millisecond; the
    // account publishes after applying the first fill, and its ACCT stream is processed
    // before the two exec.fill events of that millisecond.
    const entry = [
      ...fullyFilled(short, t, '49999.5', '5'),
      accountPosition(short, `-${size}`, t, t + 40),
      accountPosition(long, first.toFixed(), t + 10, t + 50),
      fill(long, t + 10, '50000.5', first, '0.1'),
      fill(long, t + 10, '50000.5', long.size.minus(first), '4.9'),
      orderUpdate(long, t + 70, 'filled', long.size, { avgFillPrice: '50000.5' }),
      tick(t + 1_000),
    ];
    const then = given.when(entry);
    assert.ok(
      then.result.decisions.some((d) => d.reasonCode === 'legs_filled'),
      'the arb is open',
    );
    assert.deepEqual(alarms(then.result.decisions, 'alarm_account_drift'), []);
    // A report of that same millisecond is no more certain; one of a later time is compared.
    const later = given.when([
      ...entry,
      accountPosition(long, first.toFixed(), t + 10, t + 1_500),
      tick(t + 1_600),
      accountPosition(long, '0.5', t + 2_000, t + 2_000),
      tick(t + 2_500),
    ]);
    const raised = alarms(later.result.decisions, 'alarm_account_drift');
    assert.equal(raised.length, 1);
    assert.equal(raised[0]!.inputs.venue_size, '0.5');
  });

  test('an order reported filled before its exec.fill and before any account report is no drift (its fills are in flight)', () => {
    const { given, short, long, t, size } = arbLegsSent();
    // The venue answers the long order as filled (exec.order); its trade (exec.fill) and the
    // account's acct.position follow later: the world's position does not hold it yet.
    const reported = [
      ...fullyFilled(short, t, '49999.5', '5'),
      accountPosition(short, `-${size}`, t, t + 40),
      orderUpdate(long, t + 50, 'filled', long.size, { avgFillPrice: '50000.5' }),
      tick(t + 1_000),
    ];
    const then = given.when(reported);
    assert.ok(
      then.result.decisions.some((d) => d.reasonCode === 'legs_filled'),
      'the arb is open',
    );
    assert.deepEqual(alarms(then.result.decisions, 'alarm_account_drift'), []);
    // Once its fills are in, the account's report is compared again: a size it does not hold is drift.
    const drifted = given.when([
      ...reported,
      fill(long, t + 10, '50000.5', long.size, '5'),
      accountPosition(long, '0.5', t + 2_000, t + 2_000),
      tick(t + 2_500),
    ]);
    assert.equal(alarms(drifted.result.decisions, 'alarm_account_drift').length, 1);
  });
});
