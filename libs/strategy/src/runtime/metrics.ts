/** The strategy runtime's metrics: where a deciding step's time goes (README.md § Metrics). */
import type { ServiceMetrics } from '@perpmesh/runtime';

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
