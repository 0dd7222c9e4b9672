/**
 * Issue 6's "Must show" for the funding-rate arbitrage, end to end on paper venues: the
 * strategy service in process, reaching a simulated exchange only through the execution
 * and account services' real gRPC servers, fed by market-data / execution / account events
 * on the embedded log. The exchange runs on a manual clock and each venue's funding is
 * forced through its formula (premium clamp wide open: rate = interestRate / divisor), so
 * every number below is known in advance.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { GetArbBookRequest, GetArbBookResponse } from '@perpmesh/contracts';
import { type Decimal, dec } from '@perpmesh/core';
import { eventually } from '@perpmesh/testing';
import type { PaperVenueSetup } from '@perpmesh/venues';
import { BTC, call, HOUR_MS, Stack } from './stack.test-helper.js';

const A = 'paper-lighter';
const B = 'paper-extended';

/**
 * A paper venue whose funding rate is `ratePerInterval` every `intervalHours` (positive:
 * longs pay shorts), with the given taker fee. premiumClamp 1 lets the interest term cancel
 * the premium, so rate = interestRate / divisor exactly.
 */
function fundedVenue(
  venueId: string,
  ratePerInterval: string,
  takerFeeRate: string,
  intervalHours = 1,
  extra: Record<string, unknown> = {},
): PaperVenueSetup {
  return {
    venueId,
    overrides: {
      takerFeeRate,
      makerFeeRate: '0',
      funding: {
        intervalMs: intervalHours * HOUR_MS,
        interestRate: ratePerInterval,
        premiumClamp: '1',
        divisor: '1',
        capPerInterval: '0.01',
      },
      ...extra,
    },
  };
}
const hourlyVenue = (venueId: string, ratePerHour: string, takerFeeRate: string) =>
  fundedVenue(venueId, ratePerHour, takerFeeRate);

function arbInstance(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'arb-1',
    kind: 'funding_arb',
    mode: 'live',
    instruments: [BTC],
    venues: [
      { venue: A, account: 'main' },
      { venue: B, account: 'main' },
    ],
    targetNotionalPerLeg: '6000',
    holdingHorizonMs: 8 * HOUR_MS,
    entryThresholdBps: '5', // carry counts at most maxHoldingMs (2 h) of settlements: ~6.8 bps net
    persistenceMs: 0,
    maxHoldingMs: 2 * HOUR_MS,
    reentryCooldownMs: 24 * HOUR_MS,
    legImbalanceBudgetNotionalSeconds: '60000',
    maxHedgeAttempts: 0,
    maxBookAgeMs: 10 * HOUR_MS,
    maxFundingAgeMs: 10 * HOUR_MS,
    risk: {
      leverage: '5',
      maxLeverage: '10',
      maxNotionalPerInstrument: '20000',
      maxNotionalPerVenue: '50000',
      maxBalanceAgeMs: 10 * HOUR_MS,
      availableBalanceUsage: '0.5',
    },
    ...overrides,
  };
}

const funded = (venues: string[], deposit = '100000') =>
  venues.map((venueId) => ({ venueId, accountId: 'main', deposit }));

describe('funding-rate arbitrage on paper venues (strategy service end to end)', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  test('a funding gap: enters both legs, collects funding on both, exits; GetArbBook shows carry net of fees', async () => {
    stack = await Stack.open({
      venues: [hourlyVenue(A, '0.0005', '0.0002'), hourlyVenue(B, '-0.0005', '0.0002')],
      accounts: funded([A, B]),
      instances: [arbInstance()],
    });
    await stack.startStrategy();
    // The market maker requotes every 10 s: the books change, market data publishes them.
    await stack.step(10_000);
    const runner = stack.strategy!.runner('arb-1');

    // Entry: short where funding pays shorts (A), long where it pays longs (B), one decision.
    const enter = await eventually('the enter decision', async () =>
      (await stack!.decisions('arb-1')).find((d) => d.kind === 'enter'),
    );
    assert.equal(enter.inputs.short_venue, A);
    assert.equal(enter.inputs.long_venue, B);
    assert.equal(enter.orderIntents.length, 2);
    assert.deepEqual(enter.orderIntents.map((o) => o.venue).sort(), [A, B].sort());
    await stack.step(1_000);
    const size = dec(enter.inputs.size!);
    assert.ok(size.gt(0));
    assert.equal(stack.position(A).toFixed(), size.neg().toFixed(), 'short leg on A');
    assert.equal(stack.position(B).toFixed(), size.toFixed(), 'long leg on B');
    await eventually('the arb is open', () =>
      (runner.strategyState as { arbs: Record<string, { phase: string }> }).arbs[BTC]?.phase === 'open'
        ? true
        : undefined,
    );

    // Two hourly settlements while held: both legs receive funding (acct.funding -> strategy).
    await stack.step(HOUR_MS);
    await stack.step(HOUR_MS);
    const acctFunding = (await stack.envelopes('ACCT')).filter((e) => e.payload?.$case === 'fundingPayment');
    assert.ok(acctFunding.length >= 4, `funding payments on the log: ${acctFunding.length}`);

    // Held 2 h = maxHoldingMs: exit both legs reduce-only, then closed.
    const exit = await eventually('the exit decision', async () =>
      (await stack!.decisions('arb-1')).find((d) => d.kind === 'exit'),
    );
    assert.equal(exit.reasonCode, 'max_holding_time');
    assert.ok(exit.orderIntents.length === 2 && exit.orderIntents.every((o) => o.reduceOnly));
    await stack.step(1_000);
    const closed = await eventually('the closed decision', async () =>
      (await stack!.decisions('arb-1')).find((d) => d.kind === 'closed'),
    );
    assert.equal(closed.reasonCode, 'max_holding_time');
    assert.equal(stack.position(A).toFixed(), '0');
    assert.equal(stack.position(B).toFixed(), '0');
    // The account's acct.position and our exec.fill of one fill count once: no drift alarm.
    const drift = (await stack.decisions('arb-1')).filter((d) => d.reasonCode === 'alarm_account_drift');
    assert.deepEqual(
      drift.map((d) => d.reason),
      [],
      'no account_drift alarm while entering, holding or exiting',
    );

    // The book over gRPC: funding on both legs, fees of four fills, carry = funding - fees > 0.
    const client = stack.strategyClient();
    try {
      const book = await call<GetArbBookRequest, GetArbBookResponse>(client.getArbBook.bind(client), {
        strategyId: 'arb-1',
      });
      assert.equal(book.dryRun, false);
      assert.equal(book.active.length, 0);
      assert.equal(book.closed.length, 1);
      const arb = book.closed[0]!;
      assert.equal(arb.phase, 'closed');
      assert.equal(arb.closeReason, 'max_holding_time');
      const shortFunding = dec(arb.shortLeg!.fundingReceived);
      const longFunding = dec(arb.longLeg!.fundingReceived);
      // Two settlements x 0.0005 x notional each: about 6 per leg at 60k x 0.1.
      assert.ok(shortFunding.gt(0), `short leg received funding: ${shortFunding}`);
      assert.ok(longFunding.gt(0), `long leg received funding: ${longFunding}`);
      const fees = dec(arb.fees);
      assert.ok(fees.gt(0), 'entry and exit fees are counted');
      assert.equal(dec(arb.fundingReceived).toFixed(), shortFunding.plus(longFunding).toFixed());
      assert.equal(dec(arb.carryNetOfFees).toFixed(), shortFunding.plus(longFunding).minus(fees).toFixed());
      assert.ok(dec(arb.carryNetOfFees).gt(0), `carry net of fees ${arb.carryNetOfFees}`);
      // The funding the book counts is what the venue paid the accounts.
      const paid = (venue: string) =>
        acctFundingSum(
          acctFunding.filter((e) => e.payload?.$case === 'fundingPayment'),
          venue,
        );
      assert.equal(shortFunding.toFixed(), paid(A).toFixed());
      assert.equal(longFunding.toFixed(), paid(B).toFixed());
    } finally {
      client.close();
    }
  });

  test('a funding gap smaller than fees + slippage: no entry, and a skip decision with the numbers', async () => {
    stack = await Stack.open({
      // 0.4 bp/h of spread: 1.9 over 8 h against 12 of taker fees on 6,000 per leg.
      venues: [hourlyVenue(A, '0.00002', '0.0005'), hourlyVenue(B, '-0.00002', '0.0005')],
      accounts: funded([A, B]),
      instances: [arbInstance()],
    });
    await stack.startStrategy();
    await stack.step(10_000);
    await stack.step(10_000);
    const all = await stack.decisions('arb-1');
    assert.equal(all.filter((d) => d.kind === 'enter').length, 0, 'no entry');
    const skip = all.find((d) => d.kind === 'skip' && d.reasonCode === 'net_carry_below_threshold');
    assert.ok(skip, `a skip saying why: ${JSON.stringify(all.map((d) => d.reasonCode))}`);
    const n = (k: string) => dec(skip.inputs[k]!);
    assert.equal(skip.inputs.short_venue, A);
    assert.equal(skip.inputs.long_venue, B);
    assert.equal(n('spread_per_hour').toFixed(), '0.00004');
    assert.ok(n('gross_carry').gt(0));
    const costs = n('entry_fees').plus(n('exit_fees')).plus(n('entry_slippage')).plus(n('exit_slippage'));
    assert.ok(n('gross_carry').lt(costs), 'the gap is smaller than fees + slippage');
    assert.equal(n('net_carry').toFixed(), n('gross_carry').minus(costs).toFixed());
    // Entry AND exit fees of both legs: 4 x notional x 0.0005.
    assert.ok(n('entry_fees').plus(n('exit_fees')).gt(n('notional').mul('0.0019')));
    assert.match(
      skip.reason,
      /net carry -?[\d.]+ \(-?[\d.]+ bps\) = gross [\d.]+ - fees [\d.]+ - slippage [\d.]+; threshold 5 bps/,
    );
    // Nothing reached a venue.
    assert.equal(stack.spy(A).created.length + stack.spy(B).created.length, 0);
    assert.equal(stack.position(A).toFixed(), '0');
    assert.equal(stack.position(B).toFixed(), '0');
  });

  test('1 h and 8 h funding: compared per hour (the raw rates would pick the wrong sides)', async () => {
    const EIGHT = 'paper';
    const ONE = 'paper-lighter';
    stack = await Stack.open({
      venues: [
        // Raw 0.0016 per 8 h = 0.0002 per hour.
        fundedVenue(EIGHT, '0.0016', '0.0002', 8),
        // Raw 0.0005 per 1 h: smaller raw, larger per hour.
        fundedVenue(ONE, '0.0005', '0.0002', 1),
      ],
      accounts: funded([EIGHT, ONE]),
      instances: [
        arbInstance({
          venues: [
            { venue: EIGHT, account: 'main' },
            { venue: ONE, account: 'main' },
          ],
          holdingHorizonMs: 24 * HOUR_MS,
          maxHoldingMs: 24 * HOUR_MS,
        }),
      ],
    });
    await stack.startStrategy();
    await stack.step(10_000);
    const enter = await eventually('the enter decision', async () =>
      (await stack!.decisions('arb-1')).find((d) => d.kind === 'enter'),
    );
    const i = enter.inputs;
    assert.equal(i[`${EIGHT}.rate`], '0.0016');
    assert.equal(i[`${EIGHT}.interval_ms`], String(8 * HOUR_MS));
    assert.equal(i[`${EIGHT}.rate_per_hour`], '0.0002');
    assert.equal(i[`${ONE}.rate`], '0.0005');
    assert.equal(i[`${ONE}.interval_ms`], String(HOUR_MS));
    assert.equal(i[`${ONE}.rate_per_hour`], '0.0005');
    assert.ok(dec(i[`${EIGHT}.rate`]!).gt(i[`${ONE}.rate`]!), 'raw rates would short the 8 h venue');
    assert.equal(i.short_venue, ONE, 'per hour, the 1 h venue pays shorts more');
    assert.equal(i.long_venue, EIGHT);
    assert.equal(i.spread_per_hour, '0.0003');
    await stack.step(1_000);
    assert.ok(stack.position(ONE).lt(0), 'short on the 1 h venue');
    assert.ok(stack.position(EIGHT).gt(0), 'long on the 8 h venue');
    assert.equal(stack.position(ONE).neg().toFixed(), stack.position(EIGHT).toFixed());
  });

  test('one leg rejected (insufficient margin on the venue): the other leg is unwound within the budget, no orphan, every step a decision', async () => {
    stack = await Stack.open({
      venues: [
        hourlyVenue(A, '0.0005', '0.0002'),
        // The venue margins at 1x (its default leverage) while the strategy assumes 5x: the
        // long leg's 6,000 needs 6,000 of margin and the account has 3,000.
        fundedVenue(B, '-0.0005', '0.0002', 1, { defaultLeverage: 1 }),
      ],
      accounts: [
        { venueId: A, accountId: 'main', deposit: '100000' },
        { venueId: B, accountId: 'main', deposit: '3000' },
      ],
      instances: [arbInstance()],
    });
    await stack.startStrategy();
    await stack.step(10_000);
    await stack.step(1_000);
    const closed = await eventually('the arb closed', async () =>
      (await stack!.decisions('arb-1')).find((d) => d.kind === 'closed'),
    );
    assert.equal(closed.reasonCode, 'entry_failed');
    const all = await stack.decisions('arb-1');
    const kinds = all
      .filter((d) => d.kind !== 'skip' && d.kind !== 'signal')
      .map((d) => `${d.kind}:${d.reasonCode}`);
    assert.deepEqual(kinds, [
      'enter:net_carry_above_threshold',
      'unwind:leg_rejected',
      'closed:entry_failed',
    ]);
    const enter = all.find((d) => d.kind === 'enter')!;
    const unwind = all.find((d) => d.kind === 'unwind')!;
    // The unwind says what happened to the other leg and stays inside the budget.
    assert.equal(unwind.inputs.leading_venue, A);
    assert.equal(unwind.inputs.lagging_last_status, 'rejected');
    assert.match(unwind.inputs.lagging_last_reason ?? '', /margin|balance/i);
    assert.ok(
      dec(unwind.inputs.imbalance_used_notional_seconds!).lt(
        unwind.inputs.imbalance_budget_notional_seconds!,
      ),
    );
    assert.ok(
      dec(closed.inputs.imbalance_used_notional_seconds!).lte(
        closed.inputs.imbalance_budget_notional_seconds!,
      ),
      `imbalance ${closed.inputs.imbalance_used_notional_seconds} within budget`,
    );
    assert.equal(unwind.orderIntents.length, 1);
    assert.equal(unwind.orderIntents[0]!.reduceOnly, true);
    assert.equal(unwind.orderIntents[0]!.venue, A);
    assert.equal(unwind.orderIntents[0]!.size, enter.inputs.size);
    // The venues: the short leg was opened and closed again; nothing is left anywhere.
    const createdA = stack.spy(A).created;
    assert.equal(createdA.length, 2, 'entry and unwind on A');
    assert.deepEqual(
      createdA.map((o) => [o.side, o.reduceOnly]),
      [
        ['sell', false],
        ['buy', true],
      ],
    );
    assert.equal(stack.spy(B).created.length, 1, 'the rejected leg was sent once, never retried');
    assert.equal(stack.position(A).toFixed(), '0', 'no orphan position on A');
    assert.equal(stack.position(B).toFixed(), '0');
    // Every step is an event on strat.arb-1.*: each decision is on the log, in order.
    const strat = await stack.envelopes('STRAT');
    assert.equal(strat.length, all.length);
  });

  test('restart mid-arb: the new instance resumes from the persisted book; no duplicate legs', async () => {
    stack = await Stack.open({
      venues: [hourlyVenue(A, '0.0005', '0.0002'), hourlyVenue(B, '-0.0005', '0.0002')],
      accounts: funded([A, B]),
      instances: [arbInstance({ maxHoldingMs: 24 * HOUR_MS })],
    });
    await stack.startStrategy();
    await stack.step(10_000);
    await stack.step(1_000);
    const first = stack.strategy!.runner('arb-1');
    const book = first.strategyState as { arbs: Record<string, { arbId: string; phase: string }> };
    assert.equal(book.arbs[BTC]?.phase, 'open');
    const arbId = book.arbs[BTC]!.arbId;
    const before = {
      a: stack.position(A).toFixed(),
      b: stack.position(B).toFixed(),
      createdA: stack.spy(A).created.length,
      createdB: stack.spy(B).created.length,
      decisions: (await stack.decisions('arb-1')).length,
    };
    assert.notEqual(before.a, '0');

    await stack.stopStrategy();
    // A settlement while no strategy runs: the payments wait on the log for the next instance.
    await stack.step(HOUR_MS);
    await stack.startStrategy();
    await stack.step(10_000);
    await stack.step(10_000);

    const second = stack.strategy!.runner('arb-1');
    assert.notEqual(second, first);
    const resumed = second.strategyState as {
      arbs: Record<
        string,
        {
          arbId: string;
          phase: string;
          short: { position: { funding: Decimal } };
          long: { position: { funding: Decimal } };
        }
      >;
      arbSeq: number;
    };
    assert.equal(resumed.arbs[BTC]?.arbId, arbId, 'the same arb, from the saved book');
    assert.equal(resumed.arbs[BTC]?.phase, 'open');
    assert.equal(resumed.arbSeq, 1, 'no second arb');
    assert.ok(resumed.arbs[BTC]!.short.position.funding.gt(0), 'funding paid while down is in the book');
    assert.ok(resumed.arbs[BTC]!.long.position.funding.gt(0));
    const after = await stack.decisions('arb-1');
    const since = after.slice(before.decisions);
    assert.deepEqual(
      since
        .filter((d) => ['enter', 'hedge', 'unwind', 'exit', 'adopt'].includes(d.kind))
        .map((d) => d.reasonCode),
      [],
      'no new legs, no adoption of a mismatch',
    );
    assert.equal(stack.spy(A).created.length, before.createdA, 'no order sent to A after the restart');
    assert.equal(stack.spy(B).created.length, before.createdB);
    assert.equal(stack.position(A).toFixed(), before.a);
    assert.equal(stack.position(B).toFixed(), before.b);
  });
});

function acctFundingSum(envelopes: ReadonlyArray<import('@perpmesh/contracts').Envelope>, venue: string) {
  let sum = dec(0);
  for (const e of envelopes) {
    if (e.payload?.$case !== 'fundingPayment') continue;
    const p = e.payload.value as { venue: string; amount: string };
    if (p.venue === venue) sum = sum.plus(p.amount);
  }
  return sum;
}
