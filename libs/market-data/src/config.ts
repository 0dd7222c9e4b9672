/**
 * The `marketData` config section: its fields (shared by the market-data service and the
 * embedded runner, so both read the same keys) and their translation to service settings.
 * Documented key by key in services/market-data/src/config.ts.
 */
import { hostname } from 'node:os';
import type { ChannelCredentials } from '@grpc/grpc-js';
import {
  ADVERTISE_ADDRESS_PATTERN,
  advertisedGrpcAddress,
  durationMs,
  listenHostSchema,
  portSchema,
  type Secret,
} from '@perpmesh/runtime';
import { z } from 'zod';
import { MD_FEED_DEFAULTS } from './feed.js';
import { DEFAULT_MD_HANDOVER_TIMEOUT_MS } from './handover.js';
import { DEFAULT_MD_FORWARD_TIMEOUT_MS } from './routing.js';
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
      /**
       * `host:port` where the other replicas reach this one's gRPC server (queries for its
       * pairs are forwarded there). Default grpcHost:grpcPort, the host name when grpcHost
       * is a wildcard (0.0.0.0, ::); in Kubernetes set it to the pod IP.
       */
      advertiseAddress: z
        .string()
        .regex(ADVERTISE_ADDRESS_PATTERN, { error: 'expected host:port' })
        .optional(),
      /** Bound of one query forwarded to another replica. */
      forwardTimeout: durationMs.default(DEFAULT_MD_FORWARD_TIMEOUT_MS),
      /**
       * A pair moving between live replicas (one joins, or stops cleanly) stays with its
       * holder until the next owner's book is synced, at most this long; `0ms` releases it
       * at once (the next owner then serves it from its first snapshot).
       */
      handoverTimeout: durationMs.default(DEFAULT_MD_HANDOVER_TIMEOUT_MS),
    })
    .refine((l) => l.renewInterval < l.ttl, {
      error: 'leases.renewInterval must be shorter than leases.ttl',
      path: ['renewInterval'],
    })
    .prefault({}),
  bookDepth: z.int().min(1).max(5000).default(MD_FEED_DEFAULTS.bookDepth),
  bookPublishInterval: durationMs.default(MD_FEED_DEFAULTS.bookPublishIntervalMs),
  /**
   * Another md.book interval for every book of a venue, or for one book (`instrument` set;
   * the more specific wins), e.g. `0ms` for the books a latency strategy follows.
   */
  bookPublishIntervalOverrides: z
    .array(
      z.strictObject({
        venue: z.string().min(1),
        instrument: z.string().min(1).optional(),
        interval: durationMs,
      }),
    )
    .default([]),
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
  options: {
    authToken?: Secret | undefined;
    channelCredentials?: ChannelCredentials;
    hostName?: string;
  } = {},
): MarketDataLeaseSettings | undefined {
  const { enabled, ttl, renewInterval, maxReplicas, forwardTimeout, handoverTimeout } = section.leases;
  if (!enabled) return undefined;
  const address =
    section.leases.advertiseAddress ?? advertisedAddress(section, options.hostName ?? hostname());
  return {
    ttlMs: ttl,
    renewIntervalMs: renewInterval,
    maxReplicas,
    holder,
    forwardTimeoutMs: forwardTimeout,
    handoverTimeoutMs: handoverTimeout,
    ...(address ? { address } : {}),
    ...(options.authToken ? { authToken: options.authToken } : {}),
    ...(options.channelCredentials ? { channelCredentials: options.channelCredentials } : {}),
  };
}

function advertisedAddress(section: MarketDataSection, hostName: string): string | undefined {
  return advertisedGrpcAddress(section.grpcHost, section.grpcPort, hostName);
}

export function marketDataTuningOf(section: MarketDataSection): MarketDataTuning {
  return {
    bookDepth: section.bookDepth,
    bookPublishIntervalMs: section.bookPublishInterval,
    bookPublishIntervalOverrides: section.bookPublishIntervalOverrides.map((o) => ({
      venue: o.venue,
      ...(o.instrument !== undefined ? { instrument: o.instrument } : {}),
      intervalMs: o.interval,
    })),
    bookStaleAfterMs: section.bookStaleAfter,
    fundingStaleAfterMs: section.fundingStaleAfter,
    fundingPollIntervalMs: section.fundingPollInterval,
    resyncDepth: section.resyncDepth,
  };
}
