/**
 * The market-data service, built from ports so it runs the same embedded (EmbeddedEventLog,
 * paper venues in process) and distributed (NATS, PaperVenueClient to the paper-venue service):
 * a MarketDataFeed over the instruments THIS shard owns (shard.ts), the MarketDataService
 * gRPC implementation, and the queries behind it. No sockets, env or adapters in here:
 * services/market-data/src/main.ts does the wiring.
 */
import type { EnvelopeIdGenerator, Subjects } from '@perpmesh/contracts';
import { type InstrumentId, ValidationError, type VenueId } from '@perpmesh/core';
import type { HealthRegistry, Logger, ServiceMetrics } from '@perpmesh/runtime';
import { emulatedVenueIds, type VenueDirectory } from '@perpmesh/venues';
import type { MarketDataFeedOptions } from './feed.js';
import { type BookView, type FeedVenueStatus, type FundingView, MarketDataFeed } from './feed.js';
import {
  getFundingRates,
  getOrderBook,
  getVenueStatus,
  type MarketDataQueries,
  marketDataGrpcService,
} from './grpc.js';
import type { MdEventSink } from './publisher.js';
import { instrumentsForShard, type ShardSpec, SINGLE_SHARD, validateShard } from './shard.js';

/** Feed tunables a deployment may set (see MarketDataFeedOptions for each). */
export type MarketDataTuning = Partial<
  Pick<
    MarketDataFeedOptions,
    | 'bookDepth'
    | 'bookPublishIntervalMs'
    | 'resyncDepth'
    | 'bookStaleAfterMs'
    | 'fundingStaleAfterMs'
    | 'fundingPollIntervalMs'
    | 'portReadinessPollMs'
    | 'retryDelayMs'
    | 'maxBufferedDeltas'
  >
>;

export interface MarketDataServiceConfig {
  /** Instruments followed per venue: the shared `venues` config section (every shard sees all). */
  venues: Readonly<Record<VenueId, { readonly instruments: readonly InstrumentId[] }>>;
  /** Which part of the instruments this replica follows. Default: one shard, everything. */
  shard?: ShardSpec;
  tuning?: MarketDataTuning;
  /** Venues whose URLs point at a local emulator (shown `emulated`). Default: those `venues` flags. */
  emulatedVenues?: readonly VenueId[];
}

export interface MarketDataServiceDeps {
  /** The event log (EventLog from libs/bus); md.* events go here. */
  log: MdEventSink;
  /** Ports per venue; market data uses `marketPort(venue)`. */
  venues: VenueDirectory;
  subjects: Subjects;
  health: HealthRegistry;
  logger: Logger;
  nowMs: () => number;
  /** Producer id on every envelope, `market-data/<instance>`. */
  source: string;
  metrics?: ServiceMetrics;
  ids?: EnvelopeIdGenerator;
  config: MarketDataServiceConfig;
  /** Accepted for the common service shape; market data keeps no state outside memory and the log. */
  state?: unknown;
}

export interface MarketDataService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Publishes pending md.book / md.funding now and waits for the log's acks (tests, shutdown). */
  flush(): Promise<void>;
  grpc: ReturnType<typeof marketDataGrpcService>;
  /** The instruments this shard follows, per venue. */
  readonly assignment: ReadonlyMap<VenueId, readonly InstrumentId[]>;
  readonly feed: MarketDataFeed;
  orderBook(venue: VenueId, instrument: InstrumentId, depth?: number): BookView | undefined;
  fundingRates(venue?: VenueId, instrument?: InstrumentId): FundingView[];
  venueStatus(venue?: VenueId): FeedVenueStatus[];
  queries: MarketDataQueries;
}

export function buildMarketDataService(deps: MarketDataServiceDeps): MarketDataService {
  const shard = validateShard(deps.config.shard ?? SINGLE_SHARD);
  const configured = new Map<VenueId, InstrumentId[]>();
  for (const [venue, section] of Object.entries(deps.config.venues)) {
    if (!deps.venues.has(venue)) {
      throw new ValidationError(
        `venues.${venue}`,
        `has no venue port (ports for: ${deps.venues.venues().join(', ') || 'none'})`,
      );
    }
    if (section.instruments.length === 0) {
      throw new ValidationError(`venues.${venue}.instruments`, 'must list at least one instrument');
    }
    configured.set(venue, [...new Set(section.instruments)]);
  }
  const assignment = instrumentsForShard(Object.fromEntries(configured), shard);
  const logger = deps.logger.child({ component: 'market-data' });
  const owned = [...assignment.values()].reduce((n, list) => n + list.length, 0);
  const total = [...configured.values()].reduce((n, list) => n + list.length, 0);
  logger.info(
    { shard, instruments: Object.fromEntries(assignment), owned, total },
    'market-data shard assignment',
  );
  if (owned === 0 && total > 0) {
    logger.warn({ shard }, 'this market-data shard owns no instrument; lower shard.count or add instruments');
  }

  const feed = new MarketDataFeed({
    ...deps.config.tuning,
    source: deps.source,
    log: deps.log,
    venues: [...assignment.entries()].map(([venue, instruments]) => ({
      port: deps.venues.marketPort(venue),
      instruments,
    })),
    nowMs: deps.nowMs,
    logger,
    health: deps.health,
    subjects: deps.subjects,
    emulatedVenues: deps.config.emulatedVenues ?? emulatedVenueIds(deps.config.venues),
    ...(deps.ids ? { ids: deps.ids } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const queries: MarketDataQueries = { feed, configured, shard };

  return {
    start: () => feed.start(),
    stop: () => feed.stop(),
    flush: () => feed.flush(),
    grpc: marketDataGrpcService(queries, logger),
    assignment,
    feed,
    queries,
    orderBook: (venue, instrument, depth) => feed.orderBook(venue, instrument, depth),
    fundingRates: (venue, instrument) => feed.fundingRates(venue, instrument),
    venueStatus: (venue) => feed.venueStatus(venue),
  };
}

export { getFundingRates, getOrderBook, getVenueStatus };
