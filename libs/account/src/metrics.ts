/** The account service's metrics, named in one place. */
import type { ServiceMetrics } from '@perpmesh/runtime';

function noopMetrics() {
  const noop = { inc: () => {}, set: () => {} };
  return {
    published: noop,
    publishFailures: noop,
    rejected: noop,
    applied: noop,
    fetchFailures: noop,
    driftEvents: noop,
    driftActive: noop,
    balanceAge: noop,
    clockOffset: noop,
  };
}

/** The account service's metrics; noops without a registry (tests). */
export function accountMetrics(m: ServiceMetrics | undefined) {
  if (m === undefined) return noopMetrics();
  return {
    published: m.counter('perpmesh_account_events_published_total', 'acct.* events published', ['type']),
    publishFailures: m.counter(
      'perpmesh_account_publish_failures_total',
      'acct.* events that could not be published',
      ['type'],
    ),
    rejected: m.counter(
      'perpmesh_account_events_rejected_total',
      'Log events the projections could not use (malformed), skipped',
      ['projection'],
    ),
    applied: m.counter('perpmesh_account_events_applied_total', 'Log events applied to a projection', [
      'projection',
    ]),
    fetchFailures: m.counter('perpmesh_account_venue_fetch_failures_total', 'Failed venue reads', [
      'venue',
      'account',
      'what',
    ]),
    driftEvents: m.counter('perpmesh_account_drift_events_total', 'acct.drift events published', [
      'venue',
      'account',
      'field',
    ]),
    driftActive: m.gauge(
      'perpmesh_account_drift_active',
      'Values where projection and venue currently disagree (reported or within grace)',
      ['venue', 'account'],
    ),
    balanceAge: m.gauge('perpmesh_account_balance_age_seconds', 'Age of the newest venue balance reading', [
      'venue',
      'account',
      'currency',
    ]),
    clockOffset: m.gauge(
      'perpmesh_venue_clock_offset_seconds',
      "The venue's clock minus ours, as the adapter last measured it (where it measures it)",
      ['venue', 'account'],
    ),
  };
}

export type AccountMetrics = ReturnType<typeof accountMetrics>;
