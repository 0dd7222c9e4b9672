/** The execution engine's metrics (names and labels in README.md § Metrics). */
import type { ServiceMetrics } from '@perpmesh/runtime';

export type ExecutionMetrics = ReturnType<typeof executionMetrics>;

/**
 * The stages of a placement, in order, each timed on its own (README.md § Metrics):
 * checks before anything leaves, the idempotency claim (one state-store round trip), the
 * write-ahead SUBMITTED publish (one event-log ack), marking the claim submitted (one
 * state-store round trip), the nonce (queue wait + allocation; nonce venues only), the
 * venue call, the publish of what the venue answered, and the wait for fills the venue's
 * answer counts and we have not seen yet (only placements that wait).
 */
export const ORDER_STAGES = [
  'validation',
  'idempotency_claim',
  'write_ahead_publish',
  'claim_submitted',
  'nonce',
  'venue_call',
  'acceptance_publish',
  'announced_fills',
] as const;
export type OrderStage = (typeof ORDER_STAGES)[number];

/** Sub-millisecond buckets: the hops on loopback cost a fraction of a millisecond each. */
export const STAGE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

export function executionMetrics(metrics: ServiceMetrics) {
  return {
    placed: metrics.counter('perpmesh_orders_placed_total', 'PlaceOrder outcomes', ['venue', 'outcome']),
    placeLatency: metrics.histogram(
      'perpmesh_order_place_seconds',
      'Time from claim to the venue answer of a placed order',
      ['venue'],
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    orderStage: metrics.histogram<'stage'>(
      'perpmesh_execution_order_stage_seconds',
      'Time spent in each stage of placing an order',
      ['stage'],
      STAGE_BUCKETS,
    ),
    publishBatch: metrics.histogram(
      'perpmesh_exec_publish_batch_events',
      'Exec events per call to the event log when concurrent publishes are batched',
      [],
      [1, 2, 4, 8, 16, 32, 64, 128, 256],
    ),
    venueBatch: metrics.histogram(
      'perpmesh_exec_venue_batch_orders',
      'Orders per venue call when concurrent orders to a venue without nonces are batched',
      [],
      [1, 2, 4, 8, 16, 32, 64],
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
