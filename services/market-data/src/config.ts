/**
 * The one config parser of the market-data service.
 *
 * Shared sections: `venues.<id>.instruments` (what is followed; every shard reads the same
 * list and takes its part), `venues.<id>.accounts` (the first account of a paper venue is
 * the one market data is read through), `paper.address` (the paper-venue service).
 * Its own section, `marketData`:
 *   grpcHost (0.0.0.0), grpcPort (50053)   MarketDataService, health, reflection
 *   http.host (0.0.0.0), http.port (9103)  /healthz /readyz /metrics
 *   instance                               envelope source `market-data/<instance>` (default: shard index)
 *   shard: { index: 0, count: 1 }          this replica follows the (venue, instrument) pairs
 *                                          whose stable hash mod count is index (libs/market-data shard.ts)
 *   bookDepth (20)                         levels per side in md.book and GetOrderBook
 *   bookPublishInterval (100ms)            md.book conflation per instrument
 *   bookStaleAfter (60s), fundingStaleAfter (10m)   when GetOrderBook / GetFundingRates say `stale`
 *   fundingPollInterval (60s)              funding fetched for venues that do not stream it (0 = off)
 *   resyncDepth (1000)                     levels fetched to resync a book after a gap
 *   venueCallTimeout (5s)                  deadline of each call to the paper-venue service
 */
import { durationMs, portSchema, serviceConfigSchema } from '@perpmesh/runtime';
import { venueConfigShape } from '@perpmesh/venues';
import { z } from 'zod';

export const MARKET_DATA_SERVICE = 'market-data';
export const DEFAULT_MARKET_DATA_GRPC_PORT = 50053;
export const DEFAULT_MARKET_DATA_HTTP_PORT = 9103;

export const marketDataConfigSchema = serviceConfigSchema(
  'marketData',
  {
    grpcHost: z.string().min(1).default('0.0.0.0'),
    grpcPort: portSchema.default(DEFAULT_MARKET_DATA_GRPC_PORT),
    instance: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_" or "-"' })
      .optional(),
    shard: z
      .strictObject({
        index: z.int().min(0).default(0),
        count: z.int().min(1).max(10_000).default(1),
      })
      .refine((s) => s.index < s.count, {
        error: 'shard.index must be less than shard.count',
        path: ['index'],
      })
      .prefault({}),
    bookDepth: z.int().min(1).max(5000).default(20),
    bookPublishInterval: durationMs.default(100),
    bookStaleAfter: durationMs.default(60_000),
    fundingStaleAfter: durationMs.default(600_000),
    fundingPollInterval: durationMs.default(60_000),
    resyncDepth: z.int().min(1).max(100_000).default(1000),
    venueCallTimeout: durationMs.default(5_000),
  },
  { defaultHttpPort: DEFAULT_MARKET_DATA_HTTP_PORT },
).extend(venueConfigShape);

export type MarketDataServiceConfigFile = z.output<typeof marketDataConfigSchema>;
