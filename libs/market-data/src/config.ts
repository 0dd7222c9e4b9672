/**
 * The `marketData` config section: its fields (shared by the market-data service and the
 * embedded runner, so both read the same keys) and their translation to service settings.
 * Documented key by key in services/market-data/src/config.ts.
 */
import { durationMs, listenHostSchema, portSchema } from '@perpmesh/runtime';
import { z } from 'zod';
import { MD_FEED_DEFAULTS } from './feed.js';
import type { MarketDataLeaseSettings, MarketDataTuning } from './service.js';

export const MARKET_DATA_SERVICE = 'market-data';
export const DEFAULT_MARKET_DATA_GRPC_PORT = 50053;
export const DEFAULT_MARKET_DATA_HTTP_PORT = 9103;

export const marketDataSectionFields = {
  grpcHost: listenHostSchema,
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
  /**
   * Dynamic division of the instruments between replicas through leases in the state store
   * (Redis), instead of `shard`: a replica that dies loses its instruments to the others
   * within `ttl`. Every replica of a deployment must set the same.
   */
  leases: z
    .strictObject({
      enabled: z.boolean().default(false),
      ttl: durationMs.default(5_000),
      renewInterval: durationMs.default(1_000),
      maxReplicas: z.int().min(1).max(256).default(16),
    })
    .refine((l) => l.renewInterval < l.ttl, {
      error: 'leases.renewInterval must be shorter than leases.ttl',
      path: ['renewInterval'],
    })
    .prefault({}),
  bookDepth: z.int().min(1).max(5000).default(MD_FEED_DEFAULTS.bookDepth),
  bookPublishInterval: durationMs.default(MD_FEED_DEFAULTS.bookPublishIntervalMs),
  bookStaleAfter: durationMs.default(MD_FEED_DEFAULTS.bookStaleAfterMs),
  fundingStaleAfter: durationMs.default(MD_FEED_DEFAULTS.fundingStaleAfterMs),
  fundingPollInterval: durationMs.default(MD_FEED_DEFAULTS.fundingPollIntervalMs),
  resyncDepth: z.int().min(1).max(100_000).default(MD_FEED_DEFAULTS.resyncDepth),
  venueCallTimeout: durationMs.default(5_000),
};

const marketDataSection = z.strictObject(marketDataSectionFields);
export type MarketDataSection = z.output<typeof marketDataSection>;

/** The lease settings of a replica (undefined: static shards); `holder` unique per process. */
export function marketDataLeasesOf(
  section: MarketDataSection,
  holder: string,
): MarketDataLeaseSettings | undefined {
  const { enabled, ttl, renewInterval, maxReplicas } = section.leases;
  return enabled ? { ttlMs: ttl, renewIntervalMs: renewInterval, maxReplicas, holder } : undefined;
}

export function marketDataTuningOf(section: MarketDataSection): MarketDataTuning {
  return {
    bookDepth: section.bookDepth,
    bookPublishIntervalMs: section.bookPublishInterval,
    bookStaleAfterMs: section.bookStaleAfter,
    fundingStaleAfterMs: section.fundingStaleAfter,
    fundingPollIntervalMs: section.fundingPollInterval,
    resyncDepth: section.resyncDepth,
  };
}
