/** The funding-arb decider tests' shared setup: two venues, a config, a market around 50000. */
import assert from 'node:assert/strict';
import {
  BTC,
  balance,
  book,
  funding,
  HOUR_MS,
  market,
  marketsInput,
  type placed,
  start,
  T0,
} from '../../fixtures.test-helper.js';
import type { StrategyInput } from '../../model.js';
import { parseFundingArbConfig } from './index.js';

export const A = 'paper-a';
export const B = 'paper-b';

export function arbConfig(overrides: Record<string, unknown> = {}) {
  return parseFundingArbConfig({
    strategyId: 'arb-1',
    instruments: [BTC],
    venues: [
      { venue: A, account: 'main' },
      { venue: B, account: 'main' },
    ],
    targetNotionalPerLeg: '10000',
    holdingHorizonMs: 24 * HOUR_MS,
    entryThresholdBps: '10',
    persistenceMs: 30_000,
    maxHoldingMs: 7 * 24 * HOUR_MS,
    legImbalanceBudgetNotionalSeconds: '200000',
    maxBookAgeMs: 600_000,
    maxFundingAgeMs: 3_600_000,
    risk: {
      leverage: '5',
      maxLeverage: '10',
      maxNotionalPerInstrument: '50000',
      maxNotionalPerVenue: '100000',
      maxBalanceAgeMs: 48 * HOUR_MS,
      orderRateCapacity: 20,
    },
    ...overrides,
  });
}

/** Two venues around 50000; A settles every 8 h, B every hour. */
export function market2(
  rateA: string,
  hoursA: number,
  rateB: string,
  hoursB: number,
  opts: { fees?: string; availableA?: string; availableB?: string; nowMs?: number } = {},
): StrategyInput[] {
  const t = opts.nowMs ?? T0;
  const fee = opts.fees ?? '0.0005';
  return [
    marketsInput(t, [market(A, { takerFeeRate: fee }), market(B, { takerFeeRate: fee })]),
    balance(A, 'main', t, opts.availableA ?? '5000', '20000'),
    balance(B, 'main', t, opts.availableB ?? '5000', '20000'),
    book(A, t, '50000'),
    book(B, t, '50000'),
    funding(A, t, rateA, hoursA),
    funding(B, t, rateB, hoursB),
    start(t),
  ];
}

export function byVenue(orders: ReturnType<typeof placed>, venue: string) {
  const order = orders.find((o) => o.venue === venue);
  assert.ok(order, `no order on ${venue}`);
  return order;
}
