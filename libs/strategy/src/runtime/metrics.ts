/** The strategy runtime's metrics: where a deciding step's time goes (README.md § Metrics). */
import { type Decimal, ZERO } from '@perpmesh/core';
import type { ServiceMetrics } from '@perpmesh/runtime';
import type { StrategyDecisionRecord, StrategyInput } from '../model.js';
import { fundingArbStrategy } from '../strategies/funding-arb/definition.js';
import type { Arb, FundingArbState } from '../strategies/funding-arb/index.js';

/**
 * The stages of a step that decides something, each timed on its own: the decider run
 * (input -> decision), the compare-and-set save plus the journal flush (decision ->
 * persisted), and each order command handed to the execution service until it answers
 * (persisted -> order sent).
 */
export const STRATEGY_STAGES = ['decision', 'persisted', 'order_sent'] as const;
export type StrategyStage = (typeof STRATEGY_STAGES)[number];

/** Told how long a stage took, in seconds. */
export type StrategyStageObserver = (stage: StrategyStage, seconds: number) => void;

export function strategyStageObserver(metrics: ServiceMetrics): StrategyStageObserver {
  const histogram = metrics.histogram<'stage'>(
    'perpmesh_strategy_stage_seconds',
    'Time spent in each stage of a strategy step that decides something',
    ['stage'],
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  return (stage, seconds) => histogram.observe({ stage }, seconds);
}

/** What the strategy metrics read of each running instance at scrape time. */
export interface StrategyMetricsSubject {
  readonly id: string;
  readonly spec: { readonly config: { readonly kind: string } };
  readonly strategyState: unknown;
}

/** Told of each decision and each input of an instance (the counters). */
export interface StrategyActivityObserver {
  decision(strategyId: string, record: Pick<StrategyDecisionRecord, 'kind' | 'reasonCode'>): void;
  input(strategyId: string, input: StrategyInput): void;
}

/** Rejected order ids already counted (an order event may be delivered again after a restart). */
const REJECTS_REMEMBERED = 10_000;

/**
 * The strategy service's business metrics (README.md § Metrics): decisions by kind and reason
 * and order rejects (counters, fed by the runners), and, read from each funding arb's book
 * when scraped, open arbs, expected carry, funding received, fees and one-legged
 * notional-seconds (over the active and the retained closed arbs; quote currency).
 */
export function strategyActivityMetrics(
  metrics: ServiceMetrics,
  instances: () => Iterable<StrategyMetricsSubject>,
): StrategyActivityObserver {
  const decisions = metrics.counter<'strategy' | 'kind' | 'reason'>(
    'perpmesh_strategy_decisions_total',
    'Strategy decisions by kind and reason code',
    ['strategy', 'kind', 'reason'],
  );
  const rejects = metrics.counter<'strategy' | 'venue'>(
    'perpmesh_strategy_order_rejects_total',
    "The strategy's orders the execution service or the venue rejected",
    ['strategy', 'venue'],
  );
  const gauges: Array<{ name: string; help: string; read: (t: ArbTotals) => number }> = [
    { name: 'perpmesh_strategy_open_arbs', help: 'Funding arbs not closed', read: (t) => t.open },
    {
      name: 'perpmesh_strategy_expected_carry',
      help: 'Net carry the open arbs expected over their horizon at entry (quote currency)',
      read: (t) => t.expectedCarry,
    },
    {
      name: 'perpmesh_strategy_funding_received',
      help: 'Funding received by the arbs, negative when paid (quote currency)',
      read: (t) => t.funding,
    },
    {
      name: 'perpmesh_strategy_fees_paid',
      help: 'Trading fees paid by the arbs (quote currency)',
      read: (t) => t.fees,
    },
    {
      name: 'perpmesh_strategy_one_legged_notional_seconds',
      help: 'Unhedged notional x seconds the arbs spent one-legged',
      read: (t) => t.oneLeggedNotionalSeconds,
    },
  ];
  for (const g of gauges) {
    const gauge = metrics.gauge<'strategy'>(g.name, g.help, ['strategy']);
    // Read when scraped: the arb book is the truth, nothing to keep in step.
    Object.assign(gauge, {
      collect() {
        gauge.reset();
        for (const instance of instances()) {
          const totals = arbTotals(instance);
          if (totals) gauge.set({ strategy: instance.id }, g.read(totals));
        }
      },
    });
  }
  const counted = new Set<string>();
  return {
    decision: (strategyId, record) =>
      decisions.inc({ strategy: strategyId, kind: record.kind, reason: record.reasonCode || 'none' }),
    input: (strategyId, input) => {
      if (input.kind !== 'order' || input.status !== 'rejected') return;
      const key = `${strategyId}|${input.venue}|${input.clientOrderId}`;
      if (counted.has(key)) return;
      if (counted.size >= REJECTS_REMEMBERED) counted.clear();
      counted.add(key);
      rejects.inc({ strategy: strategyId, venue: input.venue });
    },
  };
}

interface ArbTotals {
  open: number;
  expectedCarry: number;
  funding: number;
  fees: number;
  oneLeggedNotionalSeconds: number;
}

function arbTotals(instance: StrategyMetricsSubject): ArbTotals | undefined {
  if (instance.spec.config.kind !== fundingArbStrategy.kind) return undefined;
  const book = instance.strategyState as FundingArbState | undefined;
  if (!book?.arbs) return undefined;
  const active = Object.values(book.arbs);
  const all = [...active, ...(book.closed ?? [])];
  const sum = (arbs: readonly Arb[], of: (a: Arb) => Decimal) =>
    Number(arbs.reduce((s, a) => s.plus(of(a)), ZERO).toFixed());
  return {
    open: active.length,
    expectedCarry: sum(active, (a) => a.expectedNetCarry),
    funding: sum(all, (a) => a.short.position.funding.plus(a.long.position.funding)),
    fees: sum(all, (a) => a.short.position.fees.plus(a.long.position.fees)),
    oneLeggedNotionalSeconds: sum(all, (a) => a.imbalanceUsedNotionalSeconds),
  };
}
