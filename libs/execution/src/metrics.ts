/** The execution engine's metrics (names and labels in README.md § Metrics). */
import type { ServiceMetrics } from '@perpmesh/runtime';

export type ExecutionMetrics = ReturnType<typeof executionMetrics>;

export function executionMetrics(metrics: ServiceMetrics) {
  return {
    placed: metrics.counter('perpmesh_orders_placed_total', 'PlaceOrder outcomes', ['venue', 'outcome']),
    placeLatency: metrics.histogram(
      'perpmesh_order_place_seconds',
      'Time from claim to the venue answer of a placed order',
      ['venue'],
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    publishFailures: metrics.counter(
      'perpmesh_exec_publish_failures_total',
      'Exec events the event log did not store (retried with the same id)',
    ),
    nonceResyncs: metrics.counter(
      'perpmesh_nonce_resyncs_total',
      'Stale-nonce refusals that resynced the counter',
      ['venue'],
    ),
    unknownOutcomes: metrics.counter(
      'perpmesh_order_unknown_outcomes_total',
      'Placements whose outcome was unknown (resolved by asking the venue)',
      ['venue'],
    ),
    drift: metrics.counter('perpmesh_exec_drift_total', 'Venue reports that did not fit our order state', [
      'venue',
      'kind',
    ]),
  };
}
