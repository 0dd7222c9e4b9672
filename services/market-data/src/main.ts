/**
 * The market-data deployable: `node services/market-data/dist/main.js [--config f] [--set k=v]`.
 * Books, trades and funding of the configured venues (this replica's shard of them) →
 * md.* events on JetStream; MarketDataService on gRPC; /healthz /readyz /metrics on HTTP.
 */
import { deployableComponents, runIfEntryPoint, runServiceMain } from '@perpmesh/app';
import {
  MARKET_DATA_SERVICE,
  MARKET_DATA_VENUE_ACCESS,
  marketDataServiceComponents,
} from '@perpmesh/market-data';
import { createMetrics, HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
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
  return deployableComponents(config, {
    source,
    logger,
    health,
    http: section.http,
    metrics: metrics.registry,
    stateStore: section.leases.enabled,
    venues: { access: MARKET_DATA_VENUE_ACCESS, callTimeoutMs: section.venueCallTimeout },
    service: (deps) =>
      marketDataServiceComponents({
        ...deps,
        section,
        venuesConfig: config.venues,
        source,
        health,
        metrics,
        logger,
        grpc: { config },
      }),
  });
}

export function main(argv?: readonly string[]): Promise<number> {
  return runServiceMain({
    name: MARKET_DATA_SERVICE,
    schema: marketDataConfigSchema,
    argv,
    build: buildComponents,
  });
}

runIfEntryPoint(import.meta.url, MARKET_DATA_SERVICE, () => main());
