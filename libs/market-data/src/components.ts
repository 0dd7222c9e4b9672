/**
 * The market-data service as lifecycle components: the one wiring that
 * services/market-data and the embedded `perpmesh start` both run.
 */

import { hostname } from 'node:os';
import {
  commonServiceDeps,
  composeService,
  type ServiceComponentsOptions,
  type ServiceComposition,
  type VenueAccess,
} from '@perpmesh/app';
import { grpcChannelCredentials, type ServiceMetrics } from '@perpmesh/runtime';
import type { VenuesSection } from '@perpmesh/venues';
import {
  MARKET_DATA_SERVICE,
  type MarketDataSection,
  marketDataLeasesOf,
  marketDataTuningOf,
} from './config.js';
import { handoverStopBoundMs } from './handover.js';
import { buildMarketDataService, type MarketDataService } from './service.js';

export const MARKET_DATA_PROTO = 'perpmesh/v1/market_data.proto';
/** Market data reads books, trades and funding: public data, no trading keys. */
export const MARKET_DATA_VENUE_ACCESS: VenueAccess = 'public';

export interface MarketDataComponentsOptions
  extends ServiceComponentsOptions<MarketDataSection, 'venues'>,
    Partial<Pick<ServiceComponentsOptions<MarketDataSection, 'state'>, 'state'>> {
  /** `venues`: the instruments followed (this shard takes its part). */
  readonly venuesConfig: VenuesSection;
  readonly metrics: ServiceMetrics;
  /** Venues whose URLs point at a local emulator (the embedded process's `emulators`). */
  readonly emulatedVenues?: readonly string[];
}

export function marketDataServiceComponents(
  options: MarketDataComponentsOptions,
): ServiceComposition<MarketDataService> {
  const { section } = options;
  // One holder per process: replicas may share a config file (and an instance name).
  // Forwarded calls between replicas: the same token and TLS as every other client here.
  const leases = marketDataLeasesOf(section, `${options.source}:${hostname()}:${process.pid}`, {
    authToken: options.grpc.config.auth.token,
    channelCredentials: grpcChannelCredentials(options.grpc.config.tls),
  });
  return composeService({
    name: MARKET_DATA_SERVICE,
    venueAccess: MARKET_DATA_VENUE_ACCESS,
    protoFile: MARKET_DATA_PROTO,
    context: options,
    section,
    // With leases, a clean stop hands the pairs over while this replica still answers queries:
    // at most the handover timeout and a lease round (and slack for the store calls).
    ...(leases
      ? {
          drains: {
            stopTimeoutMs: handoverStopBoundMs(leases) + 5_000,
          },
        }
      : {}),
    build: () =>
      buildMarketDataService({
        ...commonServiceDeps(options),
        venues: options.venues(),
        metrics: options.metrics,
        ...(leases && options.state ? { state: options.state() } : {}),
        config: {
          venues: options.venuesConfig,
          shard: section.shard,
          ...(leases ? { leases } : {}),
          tuning: marketDataTuningOf(section),
          ...(options.emulatedVenues ? { emulatedVenues: options.emulatedVenues } : {}),
        },
      }),
  });
}
