/**
 * Prometheus metrics: one Registry per service, labelled `service`, with Node's default
 * process metrics (CPU, memory, event-loop lag, GC) plus whatever the service adds.
 * Metric names are `perpmesh_<what>_<unit>` (e.g. `perpmesh_orders_placed_total`).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface ServiceMetrics {
  readonly service: string;
  readonly registry: Registry;
  counter<L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  gauge<L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  histogram<L extends string = string>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    buckets?: readonly number[],
  ): Histogram<L>;
}

export interface CreateMetricsOptions {
  /** Node process metrics (default true). Turn off for a second registry in one process. */
  defaultMetrics?: boolean;
}

const NON_COUNTER_TOTALS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

export function createMetrics(service: string, options: CreateMetricsOptions = {}): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'perpmesh_' });
    // Gauges named `_total` fail `promtool check metrics` (only counters end in _total); the
    // same counts stay, by type, in perpmesh_nodejs_active_{handles,requests,resources}.
    for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(`perpmesh_${name}`);
  }
  return {
    service,
    registry,
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, registers: [registry] }),
    gauge: (name, help, labelNames = []) => new Gauge({ name, help, labelNames, registers: [registry] }),
    histogram: (name, help, labelNames = [], buckets) =>
      new Histogram({
        name,
        help,
        labelNames,
        registers: [registry],
        ...(buckets ? { buckets: [...buckets] } : {}),
      }),
  };
}
