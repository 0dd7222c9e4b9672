/**
 * The market-data deployable: `node services/market-data/dist/main.js [--config f] [--set k=v]`.
 * Books, trades and funding of the configured venues (this replica's shard of them) →
 * md.* events on JetStream; MarketDataService on gRPC; /healthz /readyz /metrics on HTTP.
 */
import {
  eventLogComponent,
  grpcComponent,
  httpComponent,
  namespacing,
  runIfEntryPoint,
  runServiceMain,
  Slot,
  venuesComponent,
} from '@perpmesh/app';
import type { EventLog } from '@perpmesh/bus';
import {
  buildMarketDataService,
  MARKET_DATA_SERVICE,
  type MarketDataService,
  marketDataTuningOf,
} from '@perpmesh/market-data';
import { createMetrics, HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
import type { StaticVenueDirectory } from '@perpmesh/venues';
import { type MarketDataServiceConfigFile, marketDataConfigSchema } from './config.js';

export const MARKET_DATA_PROTO = 'perpmesh/v1/market_data.proto';

export function buildComponents(
  config: MarketDataServiceConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
): ServiceComponent[] {
  const section = config.marketData;
  const metrics = createMetrics(MARKET_DATA_SERVICE);
  const source = `${MARKET_DATA_SERVICE}/${section.instance ?? String(section.shard.index)}`;
  const log = new Slot<EventLog>('event log');
  const venues = new Slot<StaticVenueDirectory>('venues');
  const service = new Slot<MarketDataService>('market-data service');
  return [
    httpComponent({ http: section.http, health, metrics: metrics.registry, logger }),
    eventLogComponent(config, source, log),
    venuesComponent(config, venues, { callTimeoutMs: section.venueCallTimeout }),
    {
      name: 'feed',
      start: async () => {
        const s = buildMarketDataService({
          log: log.get(),
          venues: venues.get(),
          subjects: namespacing(config).subjects,
          health,
          logger,
          nowMs: Date.now,
          source,
          metrics,
          config: { venues: config.venues, shard: section.shard, tuning: marketDataTuningOf(section) },
        });
        await s.start();
        service.set(s);
      },
      stop: () => service.peek()?.stop(),
    },
    grpcComponent({
      host: section.grpcHost,
      port: section.grpcPort,
      services: () => [service.get().grpc],
      protoFiles: [MARKET_DATA_PROTO],
      config,
      health,
      logger,
    }),
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
