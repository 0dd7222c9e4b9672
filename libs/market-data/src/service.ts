/**
 * The market-data service, built from ports so it runs the same embedded (EmbeddedEventLog,
 * paper venues in process) and distributed (NATS, PaperVenueClient to the paper-venue service):
 * a MarketDataFeed over the instruments THIS shard owns (shard.ts), the MarketDataService
 * gRPC implementation, and the queries behind it. No sockets, env or adapters in here:
 * services/market-data/src/main.ts does the wiring.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { EnvelopeIdGenerator, Subjects } from '@perpmesh/contracts';
import { type InstrumentId, ValidationError, type VenueId } from '@perpmesh/core';
import type { HealthRegistry, Logger, Secret, ServiceMetrics } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { emulatedVenueIds, type VenueDirectory } from '@perpmesh/venues';
import { type BookPublishIntervalOverride, bookPublishIntervals } from './conflation.js';
import type { MarketDataFeedOptions } from './feed.js';
import { type BookView, type FeedVenueStatus, type FundingView, MarketDataFeed } from './feed.js';
import {
  getFundingRates,
  getOrderBook,
  getVenueStatus,
  type MarketDataQueries,
  marketDataGrpcService,
} from './grpc.js';
import { type FeedPlan, handoverStopBoundMs, handoverTimeoutOf, PairHandover } from './handover.js';
import { InstrumentLeases, type InstrumentPair, type LeaseRound, type PairMove, pairKey } from './leases.js';
import type { MdEventSink } from './publisher.js';
import { MarketDataRouter, ReplicaAddresses } from './routing.js';
import { instrumentsForShard, type ShardSpec, SINGLE_SHARD, validateShard } from './shard.js';

/** Feed tunables a deployment may set (see MarketDataFeedOptions for each). */
export type MarketDataTuning = Partial<
  Pick<
    MarketDataFeedOptions,
    | 'bookDepth'
    | 'bookPublishIntervalMs'
    | 'bookPublishIntervalOverrides'
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
  /**
   * Divide the instruments dynamically through leases in the state store (leases.ts)
   * instead of by `shard`; needs `deps.state`.
   */
  leases?: MarketDataLeaseSettings;
  tuning?: MarketDataTuning;
  /** Venues whose URLs point at a local emulator (shown `emulated`). Default: those `venues` flags. */
  emulatedVenues?: readonly VenueId[];
}

export interface MarketDataLeaseSettings {
  /** A replica that stops renewing loses its instruments after this long. */
  ttlMs: number;
  /** How often leases are renewed and the division recomputed (well below ttlMs). */
  renewIntervalMs: number;
  /** Member slots: at most this many replicas share the instruments. */
  maxReplicas: number;
  /** Unique per process (no '|'). */
  holder: string;
  /**
   * Where the other replicas reach this one's gRPC server (`host:port`), registered in the
   * state store: with it, queries for pairs another replica serves are forwarded there.
   * Unset: this replica answers NOT_FOUND naming the owner, and nobody forwards to it.
   */
  address?: string;
  /** The services' `auth.token`, sent on forwarded calls. */
  authToken?: Secret;
  /** TLS of forwarded calls (the `tls` section's client side); default plaintext. */
  channelCredentials?: ChannelCredentials;
  /** Bound of one forwarded call. Default DEFAULT_MD_FORWARD_TIMEOUT_MS. */
  forwardTimeoutMs?: number;
  /**
   * A pair moving between live replicas (one joins, or stops cleanly) is handed over: the
   * holder keeps it until the next owner's book is synced, at most this long (handover.ts).
   * 0: released at once. Default DEFAULT_MD_HANDOVER_TIMEOUT_MS.
   */
  handoverTimeoutMs?: number;
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
  /** Only with `config.leases`: where the leases live. Market data keeps no other state. */
  state?: StateStore;
}

export interface MarketDataService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * With leases: hands this replica's pairs over to the others (leave, then the rounds go on
   * until they hold them all, bounded by the handover timeout), while the gRPC server still
   * answers; `stop` does it too when not done. Without leases: nothing to do.
   */
  drain(): Promise<void>;
  /** Publishes pending md.book / md.funding now and waits for the log's acks (tests, shutdown). */
  flush(): Promise<void>;
  grpc: ReturnType<typeof marketDataGrpcService>;
  /** The instruments this replica follows now, per venue (with leases: changes over time). */
  readonly assignment: ReadonlyMap<VenueId, readonly InstrumentId[]>;
  /** The feed over `assignment` (with leases: it follows each new assignment). */
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
  validateIntervalOverrides(deps.config.tuning?.bookPublishIntervalOverrides ?? [], configured);
  const logger = deps.logger.child({ component: 'market-data' });
  const makeFeed = (assignment: ReadonlyMap<VenueId, readonly InstrumentId[]>) =>
    new MarketDataFeed({
      ...deps.config.tuning,
      source: deps.source,
      log: deps.log,
      venues: [...assignment.entries()].map(([venue, instruments]) => ({
        port: deps.venues.marketPort(venue),
        instruments: [...instruments],
      })),
      nowMs: deps.nowMs,
      logger,
      health: deps.health,
      subjects: deps.subjects,
      emulatedVenues: deps.config.emulatedVenues ?? emulatedVenueIds(deps.config.venues),
      ...(deps.ids ? { ids: deps.ids } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    });
  if (deps.config.leases)
    return leasedMarketDataService(deps, configured, deps.config.leases, makeFeed, logger);

  const assignment = instrumentsForShard(Object.fromEntries(configured), shard);
  const owned = [...assignment.values()].reduce((n, list) => n + list.length, 0);
  const total = [...configured.values()].reduce((n, list) => n + list.length, 0);
  logger.info(
    { shard, instruments: Object.fromEntries(assignment), owned, total },
    'market-data shard assignment',
  );
  if (owned === 0 && total > 0) {
    logger.warn({ shard }, 'this market-data shard owns no instrument; lower shard.count or add instruments');
  }
  const feed = makeFeed(assignment);
  const queries: MarketDataQueries = { feed, configured, shard };
  return {
    start: () => feed.start(),
    stop: () => feed.stop(),
    drain: async () => undefined, // static shards: nothing moves
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

/** An override for a venue or book nobody follows is a typo: refused, naming the field. */
function validateIntervalOverrides(
  overrides: readonly BookPublishIntervalOverride[],
  configured: ReadonlyMap<VenueId, readonly InstrumentId[]>,
): void {
  bookPublishIntervals(0, overrides, 'marketData.bookPublishIntervalOverrides'); // given twice
  overrides.forEach(({ venue, instrument }, i) => {
    const field = `marketData.bookPublishIntervalOverrides[${i}]`;
    const instruments = configured.get(venue);
    if (!instruments) {
      throw new ValidationError(
        `${field}.venue`,
        `${venue} is not a configured venue (configured: ${[...configured.keys()].join(', ') || 'none'})`,
      );
    }
    if (instrument !== undefined && !instruments.includes(instrument)) {
      throw new ValidationError(
        `${field}.instrument`,
        `${instrument} is not in venues.${venue}.instruments (${instruments.join(', ')})`,
      );
    }
  });
}

/** The readiness component of the lease division: what this replica serves and what moved to it. */
export const MD_LEASES_COMPONENT = 'md/leases';

/**
 * Market data divided by leases: a round every `renewIntervalMs`; when what it serves
 * changes, the feed follows (MarketDataFeed.follow): a pair kept across the change is
 * served throughout; a pair handed over by a live replica (handover.ts) is warmed here
 * before it is taken, a pair taken from a dead one is served from its first snapshot.
 */
function leasedMarketDataService(
  deps: MarketDataServiceDeps,
  configured: ReadonlyMap<VenueId, readonly InstrumentId[]>,
  settings: MarketDataLeaseSettings,
  makeFeed: (assignment: ReadonlyMap<VenueId, readonly InstrumentId[]>) => MarketDataFeed,
  logger: Logger,
): MarketDataService {
  if (!deps.state)
    throw new ValidationError('marketData.leases', 'needs the state store (distributed mode: Redis)');
  if (!(settings.renewIntervalMs < settings.ttlMs)) {
    throw new ValidationError(
      'marketData.leases.renewInterval',
      `must be shorter than leases.ttl (${settings.ttlMs} ms), got ${settings.renewIntervalMs} ms`,
    );
  }
  const pairs: InstrumentPair[] = [...configured].flatMap(([venue, list]) =>
    list.map((instrument) => ({ venue, instrument })),
  );
  const handoverTimeoutMs = handoverTimeoutOf(settings);
  const handover = new PairHandover({
    store: deps.state,
    holder: settings.holder,
    ttlMs: settings.ttlMs,
    timeoutMs: handoverTimeoutMs,
    nowMs: deps.nowMs,
  });
  const leases = new InstrumentLeases({
    store: deps.state,
    holder: settings.holder,
    pairs,
    ttlMs: settings.ttlMs,
    maxReplicas: settings.maxReplicas,
    nowMs: deps.nowMs,
    holdForHandover: (pair, to) => handover.holdForHandover(pair, to),
  });
  let assignment: Map<VenueId, InstrumentId[]> = new Map();
  // One feed for the replica's life: `follow` moves it to each new assignment, keeping the
  // books of the pairs it keeps (no gap for them).
  const feed = makeFeed(assignment);
  const addresses = new ReplicaAddresses(deps.state);
  const router = new MarketDataRouter({
    membership: leases,
    addresses,
    logger,
    ...(settings.authToken ? { authToken: settings.authToken } : {}),
    ...(settings.channelCredentials ? { channelCredentials: settings.channelCredentials } : {}),
    ...(settings.forwardTimeoutMs ? { timeoutMs: settings.forwardTimeoutMs } : {}),
  });
  const queries: MarketDataQueries = {
    feed,
    configured,
    shard: SINGLE_SHARD,
    servedBy: (venue, instrument) => leases.expectedOwner({ venue, instrument }),
    router,
  };
  const movedIn: PairMove[] = [];
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  let stopped = false;
  deps.health.register(MD_LEASES_COMPONENT, `${MD_LEASES_COMPONENT}: no lease round yet`);

  /** Per venue, in the configured order (the same set gives the same lists: no resubscribe). */
  const byVenue = (list: readonly InstrumentPair[]) => {
    const wanted = new Set(list.map(pairKey));
    const out = new Map<VenueId, InstrumentId[]>();
    for (const [venue, instruments] of configured) {
      const mine = instruments.filter((instrument) => wanted.has(pairKey({ venue, instrument })));
      if (mine.length > 0) out.set(venue, mine);
    }
    return out;
  };
  const followPlan = async (plan: FeedPlan) => {
    const published = byVenue(plan.published);
    const followed = byVenue([...plan.published, ...plan.warming]);
    const warming = byVenue(plan.warming);
    await feed.follow(
      [...followed].map(([venue, instruments]) => ({
        port: deps.venues.marketPort(venue),
        instruments,
        warming: warming.get(venue) ?? [],
      })),
    );
    assignment = published;
  };
  const planKey = (plan: FeedPlan) =>
    `${[...plan.published].map(pairKey).sort().join()}|${[...plan.warming].map(pairKey).sort().join()}`;
  // Following a new plan (subscribe, then close the old stream) can take longer than a lease
  // TTL: it runs beside the rounds, which keep renewing, and always moves to the latest.
  let followed = planKey({ published: [], warming: [] });
  let wanted: FeedPlan | undefined;
  let replacing: Promise<void> | undefined;
  const followAssignment = (plan: FeedPlan) => {
    wanted = plan;
    replacing ??= (async () => {
      while (wanted !== undefined && !stopped) {
        const next = wanted;
        wanted = undefined;
        await followPlan(next).catch((err: unknown) =>
          logger.error({ err }, 'following the new market-data assignment failed'),
        );
      }
    })().finally(() => {
      replacing = undefined;
    });
  };
  const label = (p: InstrumentPair) => `${p.venue}/${p.instrument}`;
  /** Called after each round (a clean stop waits for its handover through it). */
  let afterRound: ((r: LeaseRound) => void) | undefined;
  const runRound = async () => {
    const r = await leases.tick();
    movedIn.push(...r.moved);
    if (r.moved.length > 0)
      logger.warn({ moved: r.moved }, 'took over instruments of another market-data replica');
    const plan = await handover.afterRound(
      r,
      (p) => feed.orderBook(p.venue, p.instrument)?.synced === true,
      (p) => leases.currentOwner(p),
    );
    if (r.changed) {
      logger.info(
        { holder: leases.holder, members: r.members, owned: r.owned.map(label) },
        'market-data lease assignment',
      );
    }
    const key = planKey(plan);
    if (key !== followed) {
      followed = key;
      followAssignment(plan);
    }
    deps.health.ready(MD_LEASES_COMPONENT, {
      holder: leases.holder,
      members: r.members,
      serving: r.owned.map(label),
      handingOver: r.handingOver.map(label),
      warming: plan.warming.map(label),
      movedIn: movedIn.slice(-50).map((m) => ({ instrument: label(m), from: m.from, atMs: m.atMs })),
    });
    afterRound?.(r);
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      round = runRound()
        .catch((err: unknown) => {
          logger.error({ err }, 'market-data lease round failed; retrying');
          deps.health.notReady(
            MD_LEASES_COMPONENT,
            `${MD_LEASES_COMPONENT}: lease round failed: ${String(err)}`,
          );
        })
        .finally(schedule);
    }, settings.renewIntervalMs);
  };
  /**
   * A clean stop hands its pairs over first: the member slot goes, the rounds go on until the
   * others hold every pair (each taken once its next owner is ready), bounded by the handover
   * timeout and a round.
   */
  let handedOver: Promise<void> | undefined;
  const handOverAll = () => {
    handedOver ??= handOver().catch((err: unknown) =>
      logger.warn({ err }, 'handing the market-data pairs over failed; releasing them'),
    );
    return handedOver;
  };
  const handOver = async () => {
    if (timer === undefined || handoverTimeoutMs <= 0) return;
    if (!leases.members.some((m) => m !== leases.holder)) return; // nobody to hand to
    await leases.leave();
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(resolve, handoverStopBoundMs(settings));
      afterRound = (r) => {
        if (r.owned.length > 0 || handover.lingering) return;
        clearTimeout(deadline);
        resolve();
      };
    });
    afterRound = undefined;
  };

  return {
    start: async () => {
      // Before the first lease: whoever sees us own a pair can reach us.
      if (settings.address) await addresses.register(settings.holder, settings.address);
      await feed.start();
      await runRound();
      await replacing;
      schedule();
    },
    drain: handOverAll,
    stop: async () => {
      await handOverAll();
      stopped = true;
      clearTimeout(timer);
      await round;
      await replacing;
      await feed.stop();
      await leases.releaseAll();
      await handover.releaseAll();
      router.close();
      if (settings.address) await addresses.unregister(settings.holder, settings.address);
    },
    flush: () => feed.flush(),
    grpc: marketDataGrpcService(queries, logger),
    get assignment() {
      return assignment;
    },
    get feed() {
      return feed;
    },
    queries,
    orderBook: (venue, instrument, depth) => feed.orderBook(venue, instrument, depth),
    fundingRates: (venue, instrument) => feed.fundingRates(venue, instrument),
    venueStatus: (venue) => feed.venueStatus(venue),
  };
}

export { getFundingRates, getOrderBook, getVenueStatus };
