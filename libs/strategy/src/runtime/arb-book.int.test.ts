/**
 * Issue 17's "Must show", on the strategy service end to end (paper venues on a manual
 * clock, the execution and account services' real gRPC servers, StrategyService over gRPC):
 * - a paper session with two instruments on the three paper venues: arbs ranked and
 *   allocated within the caps; GetArbBook carries each arb's PnL split (funding, basis,
 *   fees, slippage vs the decision mid, net) and break-even time, and each leg's funding
 *   history (settled next to predicted);
 * - a drawdown breaker trips on a losing arb, entries stop, and the operator's resume
 *   through StrategyService.SetTradingState re-arms it.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import {
  type GetArbBookRequest,
  type GetArbBookResponse,
  type SetTradingStateRequest,
  type SetTradingStateResponse,
  TradingState,
} from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { eventually } from '@perpmesh/testing';
import type { PaperVenueSetup } from '@perpmesh/venues';
import { BTC, call, HOUR_MS, Stack } from './stack.test-helper.js';

const ETH = 'ETH-USDC-PERP';
const A = 'paper-lighter';
const B = 'paper-extended';
const C = 'paper';

/** A venue whose funding is `rate` per hour exactly (see funding-arb.int.test.ts), with a taker fee. */
function hourlyVenue(venueId: string, rate: string, takerFeeRate: string): PaperVenueSetup {
  return {
    venueId,
    overrides: {
      takerFeeRate,
      makerFeeRate: '0',
      funding: {
        intervalMs: HOUR_MS,
        interestRate: rate,
        premiumClamp: '1',
        divisor: '1',
        capPerInterval: '0.01',
      },
    },
  };
}

function arbInstance(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'arb-1',
    kind: 'funding_arb',
    mode: 'live',
    instruments: [BTC, ETH],
    venues: [
      { venue: A, account: 'main' },
      { venue: B, account: 'main' },
      { venue: C, account: 'main' },
    ],
    targetNotionalPerLeg: '6000',
    holdingHorizonMs: 8 * HOUR_MS,
    entryThresholdBps: '5',
    persistenceMs: 0,
    maxHoldingMs: 8 * HOUR_MS,
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

const funded = (venues: string[]) =>
  venues.map((venueId) => ({ venueId, accountId: 'main', deposit: '100000' }));

async function arbBook(stack: Stack): Promise<GetArbBookResponse> {
  const client = stack.strategyClient();
  try {
    return await call<GetArbBookRequest, GetArbBookResponse>(client.getArbBook.bind(client), {
      strategyId: 'arb-1',
    });
  } finally {
    client.close();
  }
}

describe('the arb book an operator reads (strategy service end to end)', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  test('two instruments on three paper venues: ranked, allocated within the total cap; GetArbBook carries the PnL split, break-even and funding predicted vs settled', async () => {
    stack = await Stack.open({
      // A pays shorts 5 bp/h, B pays longs 5 bp/h; the 8 h preset venue sits in between.
      venues: [hourlyVenue(A, '0.0005', '0.0002'), hourlyVenue(B, '-0.0005', '0.0002'), { venueId: C }],
      accounts: funded([A, B, C]),
      instruments: [BTC, ETH],
      // The total cap holds one full arb and part of a second.
      instances: [arbInstance({ maxTotalNotional: '9000' })],
    });
    await stack.startStrategy();
    await stack.step(10_000);
    const enters = await eventually('both instruments entered', async () => {
      const found = (await stack!.decisions('arb-1')).filter((d) => d.kind === 'enter');
      return found.length >= 2 ? found : undefined;
    });
    // Ranked by net carry: the first gets its target, the second what the total cap leaves.
    const [first, second] = enters;
    assert.equal(first!.inputs.rank, '1');
    assert.deepEqual(new Set(enters.map((e) => e.inputs.instrument)), new Set([BTC, ETH]));
    for (const e of enters) {
      assert.equal(e.inputs.short_venue, A);
      assert.equal(e.inputs.long_venue, B);
    }
    const notional = (e: (typeof enters)[number]) => dec(e.inputs.size!).mul(dec(e.inputs[`${A}.mid`]!));
    const total = notional(first!).plus(notional(second!));
    assert.ok(total.lte(9000), `per-leg notional of both arbs ${total} within the 9000 cap`);
    assert.ok(notional(second!).lt(notional(first!)), 'the second arb gets what the cap leaves');
    await stack.step(1_000);

    // One hourly settlement on both legs of both arbs.
    await stack.step(HOUR_MS);
    const book = await eventually('both arbs open with a settlement booked', async () => {
      const b = await arbBook(stack!);
      return b.active.length === 2 &&
        b.active.every((a) => a.phase === 'open' && (a.shortLeg?.settlements ?? 0) >= 1)
        ? b
        : undefined;
    });
    for (const arb of book.active) {
      const a = arb.attribution!;
      const n = (t: string) => dec(t);
      // Funding received on both legs; fees of two entry fills; net = funding + basis - fees.
      assert.ok(n(a.funding).gt(0), `${arb.arbId} funding ${a.funding}`);
      assert.ok(n(a.fees).gt(0), `${arb.arbId} fees ${a.fees}`);
      assert.equal(n(a.net).toFixed(), n(a.funding).plus(n(a.basisPnl)).minus(n(a.fees)).toFixed());
      assert.notEqual(a.slippage, '', 'slippage against the decision mid is reported');
      // Marked at the book mids; at 10 bp/h of spread the arb earns, so it breaks even in finite time.
      assert.notEqual(arb.shortLeg!.mark, '');
      assert.ok(n(arb.carryPerHour).gt(0), `${arb.arbId} carry per hour ${arb.carryPerHour}`);
      assert.notEqual(arb.breakEvenHours, '', `${arb.arbId} breaks even`);
      assert.ok(n(arb.breakEvenHours).gte(0));
      // Funding history: each settled payment next to what the reading before it predicted.
      for (const leg of [arb.shortLeg!, arb.longLeg!]) {
        assert.ok(leg.fundingHistory.length >= 1, `${arb.arbId} ${leg.venue} history`);
        const h = leg.fundingHistory[0]!;
        assert.ok(n(h.settled).gt(0), 'both legs receive');
        assert.notEqual(h.predicted, '', 'a prediction from the last reading');
        assert.equal(
          n(leg.fundingReceived).toFixed(),
          leg.fundingHistory.reduce((s, x) => s.plus(x.settled), dec(0)).toFixed(),
        );
      }
    }
    // The totals are the sum of the arbs; the book's break-even is the pool's.
    const sum = (f: 'funding' | 'fees' | 'net') =>
      book.active.reduce((s, a) => s.plus(dec(a.attribution![f])), dec(0)).toFixed();
    assert.equal(dec(book.totals!.funding).toFixed(), sum('funding'));
    assert.equal(dec(book.totals!.fees).toFixed(), sum('fees'));
    assert.equal(dec(book.totals!.net).toFixed(), sum('net'));
    assert.notEqual(book.breakEvenHours, '');
    assert.equal(book.breaker!.tripped, false);
  });

  test('a drawdown breaker trips on a losing arb: entries stop until the operator resumes through StrategyService', async () => {
    stack = await Stack.open({
      venues: [hourlyVenue(A, '0.0005', '0.0002'), hourlyVenue(B, '-0.0005', '0.0002')],
      accounts: funded([A, B]),
      instances: [
        arbInstance({
          instruments: [BTC],
          venues: [
            { venue: A, account: 'main' },
            { venue: B, account: 'main' },
          ],
          // The carry clears the costs, but an exit threshold above the spread (10 bp/h)
          // closes it as soon as it is open: at the loss of its fees and spread.
          exitSpreadBpsPerHour: '100',
          reentryCooldownMs: 0,
          circuitBreaker: { maxDrawdown: '0.01' },
        }),
      ],
    });
    await stack.startStrategy();
    await stack.step(10_000);
    await eventually('the first entry', async () =>
      (await stack!.decisions('arb-1')).find((d) => d.kind === 'enter'),
    );
    await stack.step(1_000);
    await stack.step(1_000);
    const tripped = await eventually('the breaker trips', async () =>
      (await stack!.decisions('arb-1')).find((d) => d.reasonCode === 'circuit_breaker_tripped'),
    );
    assert.equal(tripped.inputs.breaker_reason, 'drawdown_breaker');
    const closed = (await stack.decisions('arb-1')).find((d) => d.kind === 'closed')!;
    assert.ok(dec(closed.inputs.net_pnl!).lt(0), `the arb lost: ${closed.inputs.net_pnl}`);

    // The gap is still there, but no new entry: the skip says the breaker holds them.
    await stack.step(10_000);
    await stack.step(10_000);
    const after = await stack.decisions('arb-1');
    assert.equal(after.filter((d) => d.kind === 'enter').length, 1, 'no entry while tripped');
    assert.ok(after.some((d) => d.kind === 'skip' && d.reasonCode === 'circuit_breaker_tripped'));
    const paused = await arbBook(stack);
    assert.equal(paused.breaker!.tripped, true);
    assert.equal(paused.breaker!.reasonCode, 'drawdown_breaker');
    assert.ok(dec(paused.breaker!.drawdown).gt(0));
    assert.ok(dec(paused.closed[0]!.attribution!.net).lt(0));
    assert.equal(paused.closed[0]!.breakEvenHours, '', 'a closed arb has no break-even');

    // The operator resumes over gRPC: the breaker re-arms, and the next step enters again.
    const client = stack.strategyClient();
    try {
      await call<SetTradingStateRequest, SetTradingStateResponse>(client.setTradingState.bind(client), {
        strategyId: 'arb-1',
        state: TradingState.TRADING_STATE_ACTIVE,
        reason: 'operator resume after review',
      });
    } finally {
      client.close();
    }
    await eventually('the breaker reset decision', async () =>
      (await stack!.decisions('arb-1')).find((d) => d.reasonCode === 'circuit_breaker_reset'),
    );
    assert.equal((await arbBook(stack)).breaker!.tripped, false);
    await stack.step(10_000);
    await eventually('an entry after the resume', async () => {
      const n = (await stack!.decisions('arb-1')).filter((d) => d.kind === 'enter').length;
      return n >= 2 ? n : undefined;
    });
  });
});
