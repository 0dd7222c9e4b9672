/**
 * The market-data deployable: `node services/market-data/dist/main.js [--config f] [--set k=v]`.
 * Books, trades and funding of the configured venues (this replica's shard of them) →
 * md.* events on JetStream; MarketDataService on gRPC; /healthz /readyz /metrics on HTTP.
 */
import {
  eventLogComponent,
  httpComponent,
  namespacing,
  runIfEntryPoint,
  runServiceMain,
  Slot,
  venuesComponent,
} from '@perpmesh/app';
import type { EventLog } from '@perpmesh/bus';
import { MARKET_DATA_SERVICE, marketDataServiceComponents } from '@perpmesh/market-data';
import { createMetrics, HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
import type { StaticVenueDirectory } from '@perpmesh/venues';
import { type MarketDataServiceConfigFile, marketDataConfigSchema } from './config.js';

export { MARKET_DATA_PROTO } from '@perpmesh/market-data';

export function buildComponents(
  config: MarketDataServiceConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
): ServiceComponent[] {
  const section = config.marketData;
  const metrics = createMetrics(MARKET_DATA_SERVICE);
  const source = `${MARKET_DATA_SERVICE}/${section.instance ?? String(section.shard.index)}`;
  const ns = namespacing(config);
  const log = new Slot<EventLog>('event log');
  const venues = new Slot<StaticVenueDirectory>('venues');
  const marketData = marketDataServiceComponents({
    section,
    venuesConfig: config.venues,
    log: () => log.get(),
    venues: () => venues.get(),
    subjects: ns.subjects,
    streamPrefix: ns.streamPrefix,
    source,
    health,
    metrics,
    logger,
    grpc: { config },
  });
  return [
    httpComponent({ http: section.http, health, metrics: metrics.registry, logger }),
    eventLogComponent(config, source, log),
    venuesComponent(config, venues, { callTimeoutMs: section.venueCallTimeout }),
    ...marketData.components,
  ];
}

export function main(argv?: readonly string[]): Promise<number> {
  const health = new HealthRegistry();
  return runServiceMain({
    name: MARKET_DATA_SERVICE,
    schema: marketDataConfigSchema,
    ...(argv ? { argv } : {}),
    health,
    build: (config, logger) => buildComponents(config, logger, health),
  });
}

runIfEntryPoint(import.meta.url, MARKET_DATA_SERVICE, () => main());
