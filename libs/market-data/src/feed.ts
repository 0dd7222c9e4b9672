/**
 * The market-data feed: for each venue and instrument it keeps the order book from the
 * venue's snapshot + deltas, follows trades and funding, and publishes md.book / md.trade /
 * md.funding / md.status envelopes on the event log. This class is the I/O around pure
 * pieces: it calls the venue ports, runs the timers and publishes.
 *
 * - book-sync.ts: per-book sync and recovery (gap -> resync from a fresh snapshot with
 *   the deltas meanwhile replayed on top, crossed and malformed books, stream down,
 *   staleness). The feed passes it every book event and carries out its actions.
 * - venue-readiness.ts: the venue's readiness components and the mirror of the port's
 *   own readiness (is its market stream up?).
 * - funding.ts: funding readings normalized per hour, with age and staleness.
 * - publisher.ts: the bounded publish queue to the event log.
 *
 * - md.book carries top-N snapshots, conflated per book (conflation.ts): at most one
 *   publish per book and `bookPublishIntervalMs` (or the book's override), with a leading
 *   edge (a change after a quiet spell goes out at once; changes inside the interval leave
 *   as one trailing publish of the latest state at its end). Readers never need sequence
 *   logic, and a slow reader cannot fall behind a fast book.
 * - Ids: md.book, md.trade and md.funding are venue facts and get `factEventId`s (the same
 *   book state, trade or funding reading published twice, by a restarted or a second
 *   replica, is stored once); md.status is our own event and gets a fresh id.
 * - Readiness per venue, in four components, each with a reason a person can act on:
 *   `symbols` (markets loaded and every configured instrument listed), `market_stream`
 *   (subscribed, and the port says its market stream is up), `order_books` (every book
 *   synced) and `funding` (a funding reading for every instrument). They feed the
 *   HealthRegistry as `<venue>/<component>` and md.status on every change. Every component
 *   of every port (markets, link, market stream, request budget, ...) reaches the
 *   HealthRegistry too, as `venue <venue>: <component>` (PortReadinessMirror, read with
 *   the port readiness poll), and GetVenueStatus as `portComponents`.
 */

import {
  BookUpdateKind,
  subjects as defaultSubjects,
  type EnvelopeIdGenerator,
  factEventId,
  newEnvelope,
  SIDE,
  type Subjects,
} from '@perpmesh/contracts';
import {
  type Decimal,
  type EpochMs,
  errorText,
  type InstrumentId,
  PerpmeshError,
  toWire,
  type VenueId,
} from '@perpmesh/core';
import type { HealthRegistry, ServiceMetrics } from '@perpmesh/runtime';
import {
  type BookSnapshot,
  type FundingInfo,
  type MarketEvent,
  type PortComponentView,
  PortReadinessMirror,
  type PublicTrade,
  type Subscription,
  type VenueComponentName,
  type VenueMarket,
  type VenuePort,
} from '@perpmesh/venues';
import { BookSync, type BookSyncAction } from './book-sync.js';
import { type BookPublishIntervalOverride, bookPublishIntervals, Conflator } from './conflation.js';
import {
  type FundingReading,
  type FundingView,
  fundingRateToWire,
  fundingReading,
  fundingView,
} from './funding.js';
import { type MdEventSink, MdPublisher, type PublisherStats } from './publisher.js';
import {
  type ComponentView,
  DEFAULT_PORT_STREAM_COMPONENTS,
  portStreamChange,
  portStreamDownReason,
  updateComponentViews,
  VENUE_COMPONENTS,
  venueComponentStates,
} from './venue-readiness.js';

export type { FundingView } from './funding.js';
export {
  type ComponentView,
  DEFAULT_PORT_STREAM_COMPONENTS,
  VENUE_COMPONENTS,
  type VenueComponent,
} from './venue-readiness.js';

export interface FeedVenue {
  port: VenuePort;
  /** Instruments this feed (shard) follows on this venue. */
  instruments: InstrumentId[];
  /**
   * Of `instruments`, those followed without publishing (a market-data replica warming a
   * pair before it takes it over): their books sync and answer queries, but no md.* event
   * goes out for them and they count in no readiness component. Default none.
   */
  warming?: readonly InstrumentId[];
}

export interface FeedLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface MarketDataFeedOptions {
  /** Producer id on every envelope, e.g. `market-data/0`. */
  source: string;
  log: MdEventSink;
  venues: FeedVenue[];
  /** The service clock (ms since epoch): envelope tsInit, ages, `since` of components. */
  nowMs: () => EpochMs;
  logger: FeedLogger;
  health?: HealthRegistry;
  subjects?: Subjects;
  ids?: EnvelopeIdGenerator;
  metrics?: ServiceMetrics;
  /** Levels per side in md.book events and GetOrderBook. Default 20. */
  bookDepth?: number;
  /** Conflation of md.book (and md.funding) per book: at most one publish per interval. Default 100 ms. */
  bookPublishIntervalMs?: number;
  /** Another interval for the books of one venue, or one book (e.g. those a latency strategy follows). */
  bookPublishIntervalOverrides?: readonly BookPublishIntervalOverride[];
  /** Levels asked for when resyncing a book from a fresh snapshot. Default 1000. */
  resyncDepth?: number;
  /** A book whose last update is older than this is shown as stale. Default 60 s. */
  bookStaleAfterMs?: number;
  /** A funding reading older than this is shown as stale. Default 10 min. */
  fundingStaleAfterMs?: number;
  /** How often funding is fetched (venues that do not stream it). 0 = only at start. Default 60 s. */
  fundingPollIntervalMs?: number;
  /** How often the ports' readiness is read for `market_stream`. 0 = never. Default 1 s. */
  portReadinessPollMs?: number;
  /** Delay before retrying a failed connect or resync; doubles up to 30 s. Default 1 s. */
  retryDelayMs?: number;
  /** Deltas buffered per book while a resync snapshot is fetched (oldest dropped). Default 10 000. */
  maxBufferedDeltas?: number;
  /**
   * Port readiness components that carry market data (one not ready means the stream is
   * down), matched by exact name. Default DEFAULT_PORT_STREAM_COMPONENTS.
   */
  portStreamComponents?: readonly VenueComponentName[];
  /** Venues whose URLs point at a local emulator (flagged `emulated` in venueStatus). */
  emulatedVenues?: readonly VenueId[];
}

/** A venue's readiness as market data reports it (GetVenueStatus). */
export interface FeedVenueStatus {
  venue: VenueId;
  /** Every component of the feed and every port component that decides readiness is ready. */
  ready: boolean;
  /** The feed's own components (`symbols`, `market_stream`, `order_books`, `funding`). */
  components: ComponentView[];
  /** Every component of the venue's (public) port, as of the last port readiness poll. */
  portComponents: PortComponentView[];
  emulated: boolean;
}

export const MD_FEED_DEFAULTS = {
  bookDepth: 20,
  bookPublishIntervalMs: 100,
  resyncDepth: 1000,
  bookStaleAfterMs: 60_000,
  fundingStaleAfterMs: 10 * 60_000,
  fundingPollIntervalMs: 60_000,
  portReadinessPollMs: 1_000,
  retryDelayMs: 1_000,
  maxBufferedDeltas: 10_000,
} as const;

const MAX_RETRY_DELAY_MS = 30_000;

export interface BookView {
  venue: VenueId;
  instrument: InstrumentId;
  /** Followed ahead of taking it over (FeedVenue.warming): not published; its holder serves it. */
  warming: boolean;
  /** False while there is no trusted book (no snapshot yet, resyncing, stream down, crossed). */
  synced: boolean;
  /** Not synced, or older than `bookStaleAfterMs`: never trade on it. */
  stale: boolean;
  /** Why it is not synced or stale; '' when fine. */
  reason: string;
  seq: number;
  asOfMs: EpochMs;
  /** Our clock when the last update was received (0 / absent: not known); `ageMs` counts from it. */
  observedAtMs?: EpochMs;
  ageMs: number;
  depth: number;
  bids: { price: Decimal; size: Decimal }[];
  asks: { price: Decimal; size: Decimal }[];
}

export interface FeedStats extends PublisherStats {
  resyncs: number;
}

/** A configured instrument the venue does not list: a config error, not a transient one. */
export class InstrumentsNotListedError extends PerpmeshError {
  readonly venue: VenueId;
  readonly instruments: readonly InstrumentId[];
  constructor(venue: VenueId, instruments: readonly InstrumentId[]) {
    super(
      'FAILED_PRECONDITION',
      `${venue} does not list ${instruments.join(', ')}: remove them from venues.${venue}.instruments or fix the ids`,
    );
    this.venue = venue;
    this.instruments = instruments;
  }
}

/** One conflated md.* stream of a (venue, instrument): its book's top-N or its funding reading. */
interface Outlet {
  readonly kind: 'book' | 'funding';
  readonly venue: VenueId;
  readonly instrument: InstrumentId;
  readonly intervalMs: number;
}

/** A book's sync state and what the feed does around it (conflated publishing, the retry timer). */
interface BookState {
  readonly sync: BookSync;
  readonly outlets: { readonly book: Outlet; readonly funding: Outlet };
  retryTimer: NodeJS.Timeout | undefined;
  /** False while warming (FeedVenue.warming): followed, never published, not in readiness. */
  published: boolean;
  /**
   * The subscription (its `generation`) whose book events this book follows. A book kept
   * across `follow` stays on the older stream until the newer one's first book event for it:
   * no gap, and never two streams' deltas mixed in one book.
   */
  source: number;
}

interface VenueState {
  readonly venue: VenueId;
  readonly port: VenuePort;
  /** The instruments followed now (`follow` replaces the list). */
  instruments: InstrumentId[];
  /** Bumped by each `follow` that changes `instruments`: the newest subscription's number. */
  generation: number;
  markets: Map<InstrumentId, VenueMarket> | undefined;
  marketsReason: string;
  subscription: Subscription | undefined;
  streamReason: string;
  /** The port said its market stream is down (last poll). */
  portStreamDown: boolean;
  readonly books: Map<InstrumentId, BookState>;
  readonly funding: Map<InstrumentId, FundingReading>;
  fundingError: string;
  readonly components: Map<string, ComponentView>;
  connectAttempts: number;
  connectTimer: NodeJS.Timeout | undefined;
}

interface FeedMetrics {
  resyncs: { inc(labels: { venue: string }): void };
  published: { inc(value: number): void };
  failed: { inc(value: number): void };
  dropped: { inc(value: number): void };
  componentReady: { set(labels: { venue: string; component: string }, value: number): void };
}

type Settings = Required<
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
    | 'portStreamComponents'
  >
>;

export class MarketDataFeed {
  readonly #opts: MarketDataFeedOptions;
  readonly #settings: Settings;
  readonly #venues = new Map<VenueId, VenueState>();
  readonly #subjects: Subjects;
  readonly #publisher: MdPublisher;
  readonly #metrics: FeedMetrics | undefined;
  readonly #intervalMsOf: (venue: VenueId, instrument: InstrumentId) => number;
  /** `follow` calls, one after the other. */
  #following: Promise<void> = Promise.resolve();
  /** Every component of every port, into health as `venue <venue>: <component>`. */
  readonly #portReadiness: PortReadinessMirror;
  /** Which md.book / md.funding publishes are due (per book, leading edge). */
  readonly #conflator = new Conflator<Outlet>((outlet) => outlet.intervalMs);
  /** A flush of what is due now is queued as a microtask. */
  #flushQueued = false;
  /** The timer of the earliest trailing publish, and when it is due. */
  #flushTimer: NodeJS.Timeout | undefined;
  #flushTimerDueAtMs = Number.POSITIVE_INFINITY;
  #pollTimers: NodeJS.Timeout[] = [];
  #resyncs = 0;
  #started = false;
  #stopped = false;

  constructor(options: MarketDataFeedOptions) {
    this.#opts = options;
    this.#settings = {
      bookDepth: options.bookDepth ?? MD_FEED_DEFAULTS.bookDepth,
      bookPublishIntervalMs: options.bookPublishIntervalMs ?? MD_FEED_DEFAULTS.bookPublishIntervalMs,
      resyncDepth: options.resyncDepth ?? MD_FEED_DEFAULTS.resyncDepth,
      bookStaleAfterMs: options.bookStaleAfterMs ?? MD_FEED_DEFAULTS.bookStaleAfterMs,
      fundingStaleAfterMs: options.fundingStaleAfterMs ?? MD_FEED_DEFAULTS.fundingStaleAfterMs,
      fundingPollIntervalMs: options.fundingPollIntervalMs ?? MD_FEED_DEFAULTS.fundingPollIntervalMs,
      portReadinessPollMs: options.portReadinessPollMs ?? MD_FEED_DEFAULTS.portReadinessPollMs,
      retryDelayMs: options.retryDelayMs ?? MD_FEED_DEFAULTS.retryDelayMs,
      maxBufferedDeltas: options.maxBufferedDeltas ?? MD_FEED_DEFAULTS.maxBufferedDeltas,
      portStreamComponents: options.portStreamComponents ?? DEFAULT_PORT_STREAM_COMPONENTS,
    };
    validateSettings(this.#settings);
    this.#intervalMsOf = bookPublishIntervals(
      this.#settings.bookPublishIntervalMs,
      options.bookPublishIntervalOverrides ?? [],
    );
    this.#subjects = options.subjects ?? defaultSubjects;
    this.#metrics = options.metrics ? createFeedMetrics(options.metrics) : undefined;
    this.#portReadiness = new PortReadinessMirror({
      ...(options.health ? { health: options.health } : {}),
      ports: () => [...this.#venues.values()].map((s) => s.port),
      nowMs: options.nowMs,
    });
    this.#publisher = new MdPublisher({
      log: options.log,
      subjects: this.#subjects,
      logger: options.logger,
      onPublished: (n) => this.#metrics?.published.inc(n),
      onFailed: (n) => this.#metrics?.failed.inc(n),
      onDropped: (n) => this.#metrics?.dropped.inc(n),
      onHealth: (ok, reason) => {
        if (ok) options.health?.ready('md/event_log');
        else options.health?.notReady('md/event_log', reason);
      },
    });
    for (const { port, instruments, warming } of options.venues) {
      if (this.#venues.has(port.venue))
        throw new Error(`venue ${port.venue} given twice to the market-data feed`);
      this.#addVenue(port, instruments, warming);
    }
  }

  /** A venue's state, its books following subscription 0; registered, not connected. */
  #addVenue(
    port: VenuePort,
    instruments: readonly InstrumentId[],
    warming: readonly InstrumentId[] = [],
  ): VenueState {
    const state: VenueState = {
      venue: port.venue,
      port,
      instruments: [...new Set(instruments)],
      generation: 0,
      markets: undefined,
      marketsReason: `symbols on ${port.venue}: markets not loaded yet`,
      subscription: undefined,
      streamReason: `market stream of ${port.venue}: not subscribed yet`,
      portStreamDown: false,
      books: new Map(),
      funding: new Map(),
      fundingError: '',
      components: new Map(),
      connectAttempts: 0,
      connectTimer: undefined,
    };
    const quiet = new Set(warming);
    for (const instrument of state.instruments) {
      state.books.set(instrument, this.#newBook(port.venue, instrument, 0, !quiet.has(instrument)));
    }
    this.#venues.set(port.venue, state);
    this.#refreshStatus(port.venue, false);
    return state;
  }

  #newBook(venue: VenueId, instrument: InstrumentId, source: number, published: boolean): BookState {
    const outlet = { venue, instrument, intervalMs: this.#intervalMsOf(venue, instrument) };
    return {
      sync: new BookSync({
        venue,
        instrument,
        maxBufferedDeltas: this.#settings.maxBufferedDeltas,
        staleAfterMs: this.#settings.bookStaleAfterMs,
        nowMs: this.#opts.nowMs,
      }),
      outlets: { book: { kind: 'book', ...outlet }, funding: { kind: 'funding', ...outlet } },
      retryTimer: undefined,
      published,
      source,
    };
  }

  /** Publisher counters and resyncs since start. */
  stats(): FeedStats {
    return { ...this.#publisher.stats(), resyncs: this.#resyncs };
  }

  get publishFailures(): number {
    return this.#publisher.stats().failed;
  }

  venues(): VenueId[] {
    return [...this.#venues.keys()];
  }

  instruments(venue: VenueId): InstrumentId[] {
    return [...(this.#venues.get(venue)?.instruments ?? [])];
  }

  /**
   * Connects every venue: loads markets, subscribes, fetches missing funding. A venue that
   * cannot be reached is retried in the background (its components say why); a configured
   * instrument the venue does not list fails the start (InstrumentsNotListedError).
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error('market-data feed already started');
    this.#started = true;
    await Promise.all([...this.#venues.values()].map((state) => this.#connect(state)));
    this.#portReadiness.refresh();
    const { fundingPollIntervalMs, portReadinessPollMs } = this.#settings;
    if (fundingPollIntervalMs > 0) this.#every(fundingPollIntervalMs, () => this.#pollFunding());
    if (portReadinessPollMs > 0) this.#every(portReadinessPollMs, () => this.pollPortReadiness());
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#pollTimers) clearInterval(timer);
    clearTimeout(this.#flushTimer);
    for (const state of this.#venues.values()) {
      clearTimeout(state.connectTimer);
      for (const book of state.books.values()) {
        clearTimeout(book.retryTimer);
        book.retryTimer = undefined;
      }
      await this.#closeQuietly(state, state.subscription);
    }
    this.#flushAll();
    await this.#publisher.idle();
  }

  /** Publishes every pending book and funding change now and waits until the log has them. */
  async flush(): Promise<void> {
    this.#flushAll();
    await this.#publisher.idle();
  }

  /**
   * Moves the feed to another set of followed instruments (market-data leases moving pairs
   * between replicas) without a gap for the books it keeps: a venue whose list changed
   * subscribes to the new list first, a kept book goes on serving and following the old
   * stream until the new stream's first book event for it, then the old subscription is
   * closed. Added books sync from the new stream; removed books and venues are dropped at
   * once (their readiness components with them). Calls run one after the other; an
   * instrument a venue's loaded markets do not list is refused (InstrumentsNotListedError)
   * before anything changes.
   */
  follow(venues: readonly FeedVenue[]): Promise<void> {
    const run = this.#following.then(() => this.#follow(venues));
    this.#following = run.catch(() => undefined);
    return run;
  }

  async #follow(venues: readonly FeedVenue[]): Promise<void> {
    if (this.#stopped) return;
    const wanted = new Map<VenueId, FeedVenue>();
    for (const v of venues) {
      if (wanted.has(v.port.venue))
        throw new Error(`venue ${v.port.venue} given twice to the market-data feed`);
      wanted.set(v.port.venue, v);
      const markets = this.#venues.get(v.port.venue)?.markets;
      const missing = markets ? v.instruments.filter((i) => !markets.has(i)) : [];
      if (missing.length > 0) throw new InstrumentsNotListedError(v.port.venue, missing);
    }
    const work: Promise<void>[] = [];
    for (const state of [...this.#venues.values()]) {
      if (!wanted.has(state.venue)) work.push(this.#dropVenue(state));
    }
    for (const { port, instruments, warming } of wanted.values()) {
      const state = this.#venues.get(port.venue);
      if (state) work.push(this.#retarget(state, instruments, warming ?? []));
      else {
        const added = this.#addVenue(port, instruments, warming);
        if (this.#started) work.push(this.#connect(added));
      }
    }
    await Promise.all(work);
    this.#portReadiness.refresh();
  }

  /** A venue no longer followed: its timers, stream and readiness components go. */
  async #dropVenue(state: VenueState): Promise<void> {
    this.#venues.delete(state.venue);
    clearTimeout(state.connectTimer);
    for (const book of state.books.values()) clearTimeout(book.retryTimer);
    for (const component of VENUE_COMPONENTS) this.#opts.health?.unregister(`${state.venue}/${component}`);
    const subscription = state.subscription;
    state.subscription = undefined;
    await this.#closeQuietly(state, subscription);
  }

  /** A followed venue's new instrument list: make before break (see `follow`). */
  async #retarget(
    state: VenueState,
    instruments: readonly InstrumentId[],
    warming: readonly InstrumentId[],
  ): Promise<void> {
    const next = [...new Set(instruments)];
    const quiet = new Set(warming);
    // A kept book starts or stops publishing in place (no new subscription for that): one
    // that starts publishes its current state at once.
    let flipped = false;
    for (const [instrument, book] of state.books) {
      const published = !quiet.has(instrument);
      if (book.published === published) continue;
      book.published = published;
      flipped = true;
      if (published) {
        this.#changed(book.outlets.book);
        this.#changed(book.outlets.funding);
      }
    }
    if (next.length === state.instruments.length && next.every((i, k) => i === state.instruments[k])) {
      if (flipped) this.#refreshStatus(state.venue);
      return;
    }
    const keep = new Set(next);
    for (const [instrument, book] of state.books) {
      if (keep.has(instrument)) continue;
      clearTimeout(book.retryTimer);
      state.books.delete(instrument);
      state.funding.delete(instrument);
    }
    state.generation += 1;
    const generation = state.generation;
    const added = next.filter((i) => !state.books.has(i));
    for (const instrument of added) {
      state.books.set(instrument, this.#newBook(state.venue, instrument, generation, !quiet.has(instrument)));
    }
    state.instruments = next;
    this.#refreshStatus(state.venue);
    const previous = state.subscription;
    // Not subscribed: the connect under way (or its retry) subscribes to the new list.
    if (!previous || !this.#started) return;
    try {
      const subscription = await this.#subscribe(state, generation);
      if (this.#gone(state)) await subscription.close();
      else state.subscription = subscription;
    } catch (err) {
      state.subscription = undefined;
      state.streamReason = `market stream of ${state.venue}: cannot subscribe: ${errorText(err)}`;
      this.#refreshStatus(state.venue);
      this.#retryConnect(state, err);
    }
    await this.#closeQuietly(state, previous);
    await this.#fetchFunding(state, added);
  }

  /** Top-N of a book with its freshness; undefined when this feed does not follow it. */
  orderBook(
    venue: VenueId,
    instrument: InstrumentId,
    depth = this.#settings.bookDepth,
  ): BookView | undefined {
    const book = this.#venues.get(venue)?.books.get(instrument);
    if (!book) return undefined;
    const sync = book.sync;
    const top = sync.top(depth > 0 ? depth : Number.MAX_SAFE_INTEGER);
    return {
      venue,
      instrument,
      warming: !book.published,
      ...sync.freshness(this.#opts.nowMs()),
      seq: top.seq,
      depth: Math.max(depth, 0),
      bids: top.bids,
      asks: top.asks,
    };
  }

  /** The latest funding readings, optionally of one venue and/or instrument. */
  fundingRates(venue?: VenueId, instrument?: InstrumentId): FundingView[] {
    const now = this.#opts.nowMs();
    const out: FundingView[] = [];
    for (const [v, state] of this.#venues) {
      if (venue && v !== venue) continue;
      for (const i of state.instruments) {
        if (instrument && i !== instrument) continue;
        const reading = state.funding.get(i);
        if (reading) out.push(fundingView(reading, now, this.#settings.fundingStaleAfterMs));
      }
    }
    return out;
  }

  venueStatus(venue?: VenueId): FeedVenueStatus[] {
    const emulated = new Set(this.#opts.emulatedVenues ?? []);
    const portComponents = this.#portReadiness.views();
    return [...this.#venues.entries()]
      .filter(([v]) => !venue || v === venue)
      .map(([v, state]) => {
        const components = VENUE_COMPONENTS.map((c) => state.components.get(c)).filter(
          (c): c is ComponentView => c !== undefined,
        );
        const ofPort = portComponents.filter((c) => c.venue === v);
        return {
          venue: v,
          ready: components.every((c) => c.ready) && ofPort.every((c) => c.ready || c.informational),
          components: components.map((c) => ({ ...c })),
          portComponents: ofPort,
          emulated: emulated.has(v),
        };
      });
  }

  /**
   * Reads each port's readiness: when a component carrying market data is down, the
   * venue's books are not trusted until the stream is back and they are resynced.
   * Called every `portReadinessPollMs`; tests call it directly.
   */
  pollPortReadiness(): void {
    if (this.#stopped) return;
    this.#portReadiness.refresh();
    for (const state of this.#venues.values()) {
      if (!state.subscription) continue;
      const change = portStreamChange(
        state.venue,
        { down: state.portStreamDown, reason: state.streamReason },
        portStreamDownReason(() => state.port.readiness(), this.#settings.portStreamComponents),
      );
      if (change?.change === 'down') {
        state.portStreamDown = true;
        state.streamReason = change.reason;
        for (const book of state.books.values())
          this.#carryOut(state, book, book.sync.streamDown(change.reason));
        this.#opts.logger.warn({ venue: state.venue, reason: change.reason }, 'market stream down');
        this.#refreshStatus(state.venue);
      } else if (change?.change === 'up') {
        state.portStreamDown = false;
        state.streamReason = '';
        this.#opts.logger.info({ venue: state.venue }, 'market stream back; resyncing books');
        this.#refreshStatus(state.venue);
        for (const book of state.books.values()) this.#handle(state, book, book.sync.streamUp());
      }
    }
  }

  // ---- connecting ------------------------------------------------------------------------------

  async #connect(state: VenueState): Promise<void> {
    if (this.#gone(state)) return;
    state.connectAttempts += 1;
    const { venue, port } = state;
    try {
      if (!state.markets) {
        let markets: VenueMarket[];
        try {
          markets = await port.loadMarkets();
        } catch (err) {
          state.marketsReason = `symbols on ${venue}: cannot load markets: ${errorText(err)}`;
          throw err;
        }
        if (this.#gone(state)) return;
        const byInstrument = new Map(markets.map((m) => [m.instrument, m]));
        const missing = state.instruments.filter((i) => !byInstrument.has(i));
        if (missing.length > 0) {
          const error = new InstrumentsNotListedError(venue, missing);
          state.marketsReason = `symbols on ${venue}: ${error.message}`;
          this.#refreshStatus(venue);
          throw error;
        }
        state.markets = byInstrument;
        state.marketsReason = '';
        this.#refreshStatus(venue);
      }
      while (!state.subscription) {
        const generation = state.generation;
        let subscription: Subscription;
        try {
          subscription = await this.#subscribe(state, generation);
        } catch (err) {
          state.streamReason = `market stream of ${venue}: cannot subscribe: ${errorText(err)}`;
          throw err;
        }
        if (this.#gone(state)) {
          await subscription.close();
          return;
        }
        // `follow` changed the list while this subscribed: subscribe to the new one.
        if (generation !== state.generation) {
          await this.#closeQuietly(state, subscription);
          continue;
        }
        state.subscription = subscription;
        state.streamReason = '';
        this.#refreshStatus(venue);
      }
      state.connectAttempts = 0;
      // A stream that starts with deltas (no snapshot) resyncs on its first delta ('unsynced').
      await this.#fetchFunding(
        state,
        state.instruments.filter((i) => !state.funding.has(i)),
      );
    } catch (err) {
      if (err instanceof InstrumentsNotListedError) throw err;
      this.#refreshStatus(venue);
      this.#retryConnect(state, err);
    }
  }

  /** The connect failed: it is tried again after the backoff (the components say why meanwhile). */
  #retryConnect(state: VenueState, err: unknown): void {
    const { venue } = state;
    const delayMs = this.#backoff(state.connectAttempts);
    this.#opts.logger.warn({ venue, err, retryInMs: delayMs }, 'market-data connect failed; retrying');
    if (this.#gone(state)) return;
    clearTimeout(state.connectTimer);
    state.connectTimer = setTimeout(() => {
      this.#connect(state).catch((e: unknown) =>
        this.#opts.logger.error({ venue, err: e }, 'market-data connect failed for good'),
      );
    }, delayMs);
    state.connectTimer.unref?.();
  }

  /** The venue's market stream over its current instruments; its events carry `generation`. */
  #subscribe(state: VenueState, generation: number): Promise<Subscription> {
    return state.port.watchMarket([...state.instruments], (event) => this.#onEvent(state, event, generation));
  }

  async #closeQuietly(state: VenueState, subscription: Subscription | undefined): Promise<void> {
    try {
      await subscription?.close();
    } catch (err) {
      this.#opts.logger.warn({ venue: state.venue, err }, 'closing market subscription failed');
    }
  }

  /** Stopped, or the venue is no longer followed (`follow`): its late callbacks do nothing. */
  #gone(state: VenueState): boolean {
    return this.#stopped || this.#venues.get(state.venue) !== state;
  }

  #backoff(attempt: number): number {
    return Math.min(MAX_RETRY_DELAY_MS, this.#settings.retryDelayMs * 2 ** Math.max(0, attempt - 1));
  }

  #every(intervalMs: number, fn: () => void | Promise<void>): void {
    const timer = setInterval(() => {
      Promise.resolve()
        .then(fn)
        .catch((err: unknown) => this.#opts.logger.error({ err }, 'market-data periodic task failed'));
    }, intervalMs);
    timer.unref?.();
    this.#pollTimers.push(timer);
  }

  async #pollFunding(): Promise<void> {
    await Promise.all(
      [...this.#venues.values()].filter((s) => s.markets).map((s) => this.#fetchFunding(s, s.instruments)),
    );
  }

  async #fetchFunding(state: VenueState, instruments: InstrumentId[]): Promise<void> {
    if (instruments.length === 0 || this.#gone(state)) return;
    try {
      // A polled reading is known true from when it was asked for (an answer that arrives late is that old).
      const requestedAtMs = this.#opts.nowMs();
      const readings = await state.port.fetchFunding(instruments);
      for (const reading of readings) this.#onFunding(state, reading, requestedAtMs);
      if (state.fundingError) {
        state.fundingError = '';
        this.#refreshStatus(state.venue);
      }
    } catch (err) {
      state.fundingError = errorText(err);
      this.#opts.logger.warn({ venue: state.venue, err }, 'fetching funding failed');
      this.#refreshStatus(state.venue);
    }
  }

  // ---- events ------------------------------------------------------------------------------------

  #onEvent(state: VenueState, event: MarketEvent, generation: number): void {
    if (this.#gone(state)) return;
    const book = state.books.get(event.instrument);
    // Not followed (any more), or from a stream older than the one this book follows now.
    if (!book || generation < book.source) return;
    try {
      switch (event.kind) {
        case 'snapshot':
          book.source = generation;
          this.#handle(state, book, book.sync.snapshot(event));
          break;
        case 'delta':
          book.source = generation;
          this.#handle(state, book, book.sync.delta(event));
          break;
        case 'trade':
          if (book.published) this.#publishTrade(state.venue, event);
          break;
        case 'funding':
          this.#onFunding(state, event, this.#opts.nowMs());
          break;
      }
    } catch (err) {
      // Never let one event kill the stream (a malformed book event is BookSync's to handle).
      this.#opts.logger.error({ venue: state.venue, kind: event.kind, err }, 'bad market event');
    }
  }

  /** Carries out a book's actions, then refreshes the venue's readiness if the book's changed. */
  #handle(state: VenueState, book: BookState, actions: readonly BookSyncAction[]): void {
    if (this.#carryOut(state, book, actions)) this.#refreshStatus(state.venue);
  }

  /** Carries out a book's actions; true when its readiness changed (the caller refreshes). */
  #carryOut(state: VenueState, book: BookState, actions: readonly BookSyncAction[]): boolean {
    if (this.#gone(state) || state.books.get(book.sync.instrument) !== book) return false;
    let statusChanged = false;
    for (const action of actions) {
      switch (action.do) {
        case 'publish':
          if (book.published) this.#changed(book.outlets.book);
          break;
        case 'resync':
          this.#fetchResyncSnapshot(state, book, action.why);
          break;
        case 'retry_later':
          this.#retryLater(state, book, action.why);
          break;
        case 'ready':
        case 'not_ready':
          statusChanged = true;
          break;
      }
    }
    return statusChanged;
  }

  #fetchResyncSnapshot(state: VenueState, book: BookState, why: string): void {
    const { instrument } = book.sync;
    clearTimeout(book.retryTimer);
    book.retryTimer = undefined;
    this.#resyncs += 1;
    this.#metrics?.resyncs.inc({ venue: state.venue });
    this.#opts.logger.warn({ venue: state.venue, instrument, why }, 'order book resync');
    let fetching: Promise<BookSnapshot>;
    try {
      fetching = state.port.fetchOrderBook(instrument, this.#settings.resyncDepth);
    } catch (err) {
      fetching = Promise.reject(err); // a port that throws instead of rejecting
    }
    fetching
      .then(
        (snapshot) => this.#handle(state, book, book.sync.resyncSnapshot(snapshot)),
        (err: unknown) => {
          if (this.#gone(state)) return;
          this.#opts.logger.error({ venue: state.venue, instrument, err }, 'order book resync failed');
          this.#handle(state, book, book.sync.resyncFailed(errorText(err)));
        },
      )
      .catch((err: unknown) =>
        this.#opts.logger.error({ venue: state.venue, instrument, err }, 'applying a resync snapshot failed'),
      );
  }

  #retryLater(state: VenueState, book: BookState, why: string): void {
    if (this.#gone(state) || book.retryTimer) return;
    book.retryTimer = setTimeout(() => {
      book.retryTimer = undefined;
      this.#handle(state, book, book.sync.retryDue(why));
    }, this.#settings.retryDelayMs);
    book.retryTimer.unref?.();
  }

  /** `observedAtMs`: our clock when the reading was known true (a poll's request, a push's arrival). */
  #onFunding(state: VenueState, info: FundingInfo, observedAtMs: EpochMs): void {
    if (!state.books.has(info.instrument)) return;
    const previous = state.funding.get(info.instrument);
    state.funding.set(info.instrument, fundingReading(state.venue, info, observedAtMs));
    if (!previous) this.#refreshStatus(state.venue);
    const book = state.books.get(info.instrument);
    if (book?.published) this.#changed(book.outlets.funding);
  }

  // ---- publishing ----------------------------------------------------------------------------------

  #publishTrade(venue: VenueId, trade: PublicTrade): void {
    this.#publish(trade.tsEventMs, `md.trade|${venue}|${trade.instrument}|${trade.tradeId}`, {
      $case: 'publicTrade',
      value: {
        venue,
        instrument: trade.instrument,
        tradeId: trade.tradeId,
        price: toWire(trade.price),
        size: toWire(trade.size),
        aggressorSide: SIDE.toProto(trade.takerSide),
        tradedAtMs: trade.tsEventMs,
      },
    });
  }

  /** An outlet changed: its publish goes out when the conflator says it is due. */
  #changed(outlet: Outlet): void {
    if (this.#stopped) return;
    const dueAtMs = this.#conflator.changed(outlet, performance.now());
    if (dueAtMs !== undefined) this.#flushAt(dueAtMs);
  }

  /** Due now: a microtask (every event of the current burst, one venue message, lands first); later: one timer for the earliest. */
  #flushAt(dueAtMs: number): void {
    const waitMs = dueAtMs - performance.now();
    if (waitMs <= 0) {
      if (this.#flushQueued) return;
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.#flushDue();
      });
      return;
    }
    if (this.#flushTimer !== undefined && this.#flushTimerDueAtMs <= dueAtMs) return;
    clearTimeout(this.#flushTimer);
    this.#flushTimerDueAtMs = dueAtMs;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flushTimerDueAtMs = Number.POSITIVE_INFINITY;
      this.#flushDue();
    }, Math.ceil(waitMs));
    this.#flushTimer.unref?.();
  }

  #flushDue(): void {
    if (this.#stopped) return; // stop() publishes everything pending itself
    this.#publishOutlets(this.#conflator.takeDue(performance.now()));
    const next = this.#conflator.nextDueAtMs();
    if (next !== undefined) this.#flushAt(next);
  }

  #flushAll(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#flushTimerDueAtMs = Number.POSITIVE_INFINITY;
    this.#publishOutlets(this.#conflator.takeAll(performance.now()));
  }

  /** Publishes each outlet's state as it is now: the latest book (only a trusted one), the latest funding. */
  #publishOutlets(outlets: readonly Outlet[]): void {
    for (const outlet of outlets) {
      const state = this.#venues.get(outlet.venue);
      if (!state) continue;
      const book = state.books.get(outlet.instrument);
      if (!book?.published) continue; // dropped or warming since it changed
      if (outlet.kind === 'book') {
        // An untrusted book is not published; its next snapshot (resync) publishes it again.
        if (book.sync.synced) this.#publishBook(outlet.venue, outlet.instrument, book.sync);
      } else {
        const reading = state.funding.get(outlet.instrument);
        if (reading) this.#publishFunding(outlet.venue, outlet.instrument, reading);
      }
    }
  }

  #publishBook(venue: VenueId, instrument: InstrumentId, sync: BookSync): void {
    const depth = this.#settings.bookDepth;
    const top = sync.top(depth);
    const asOfMs = sync.asOfMs;
    this.#publish(asOfMs, `md.book|${venue}|${instrument}|${top.seq}|${depth}`, {
      $case: 'orderBook',
      value: {
        venue,
        instrument,
        kind: BookUpdateKind.BOOK_UPDATE_KIND_SNAPSHOT,
        sequence: top.seq,
        prevSequence: 0,
        depth,
        bids: top.bids.map((l) => ({ price: toWire(l.price), size: toWire(l.size) })),
        asks: top.asks.map((l) => ({ price: toWire(l.price), size: toWire(l.size) })),
        asOfMs,
        ...(sync.observedAtMs > 0 ? { observedAtMs: sync.observedAtMs } : {}),
      },
    });
  }

  #publishFunding(venue: VenueId, instrument: InstrumentId, f: FundingReading): void {
    this.#publish(
      f.asOfMs,
      `md.funding|${venue}|${instrument}|${f.asOfMs}|${toWire(f.rate)}|${f.nextFundingTimeMs}|${toWire(f.markPrice)}`,
      { $case: 'fundingRate', value: fundingRateToWire({ ...f, venue, instrument }) },
    );
  }

  /** Recomputes the venue's readiness components; publishes md.status and updates health on change. */
  #refreshStatus(venue: VenueId, publish = true): void {
    const state = this.#venues.get(venue);
    if (!state) return;
    const now = this.#opts.nowMs();
    // Warming books count in no component: the replica does not serve them (yet).
    const books = [...state.books.values()].filter((b) => b.published).map((b) => b.sync);
    const next = venueComponentStates({
      venue,
      marketsLoaded: state.markets !== undefined,
      marketsReason: state.marketsReason,
      subscribed: state.subscription !== undefined,
      portStreamDown: state.portStreamDown,
      streamReason: state.streamReason,
      unsyncedBookReasons: books.filter((b) => !b.synced).map((b) => b.reason),
      fundingMissing: state.instruments.filter((i) => state.books.get(i)?.published && !state.funding.has(i)),
      fundingError: state.fundingError,
    });
    const changedViews = updateComponentViews(state.components, next, now);
    for (const { component, ready, reason } of changedViews) {
      this.#metrics?.componentReady.set({ venue, component }, ready ? 1 : 0);
      const name = `${venue}/${component}`;
      if (ready) this.#opts.health?.ready(name);
      else this.#opts.health?.notReady(name, reason);
    }
    const changed = changedViews.length > 0;
    if (changed && publish) {
      const components = VENUE_COMPONENTS.map((c) => state.components.get(c)!);
      this.#publish(now, undefined, {
        $case: 'venueStatus',
        value: {
          venue,
          ready: components.every((c) => c.ready),
          components: components.map((c) => ({ ...c })),
          // md.status carries the feed's components; the port's are in GetVenueStatus.
          portComponents: [],
          emulated: (this.#opts.emulatedVenues ?? []).includes(venue),
        },
      });
    }
  }

  /** `factKey` set: a venue fact, id derived from it; unset: our own event, fresh id. */
  #publish(
    tsEventMs: EpochMs,
    factKey: string | undefined,
    payload: Parameters<typeof newEnvelope>[0]['payload'],
  ): void {
    const tsInitMs = this.#opts.nowMs();
    let envelope: ReturnType<typeof newEnvelope>;
    try {
      // A venue that gives no time (0) is stamped with ours: every envelope needs both times.
      const tsEvent = tsEventMs > 0 ? tsEventMs : tsInitMs;
      envelope = newEnvelope(
        {
          source: this.#opts.source,
          tsEventMs: tsEvent,
          tsInitMs,
          payload,
          ...(factKey ? { id: factEventId(tsEvent, factKey) } : {}),
        },
        ...(this.#opts.ids ? [this.#opts.ids] : []),
      );
    } catch (err) {
      this.#opts.logger.error({ err, payload: payload.$case }, 'cannot build md envelope');
      this.#metrics?.failed.inc(1);
      return;
    }
    this.#publisher.enqueue(envelope);
  }
}

function validateSettings(s: Settings): void {
  const positive = ['bookDepth', 'resyncDepth', 'maxBufferedDeltas', 'retryDelayMs'] as const;
  for (const key of positive) {
    if (!Number.isSafeInteger(s[key]) || s[key] < 1) {
      throw new PerpmeshError(
        'INVALID_ARGUMENT',
        `${key}: must be a whole number >= 1, got ${String(s[key])}`,
      );
    }
  }
  const nonNegative = [
    'bookPublishIntervalMs',
    'bookStaleAfterMs',
    'fundingStaleAfterMs',
    'fundingPollIntervalMs',
    'portReadinessPollMs',
  ] as const;
  for (const key of nonNegative) {
    if (!Number.isSafeInteger(s[key]) || s[key] < 0) {
      throw new PerpmeshError(
        'INVALID_ARGUMENT',
        `${key}: must be a whole number >= 0, got ${String(s[key])}`,
      );
    }
  }
}

function createFeedMetrics(metrics: ServiceMetrics): FeedMetrics {
  return {
    resyncs: metrics.counter('perpmesh_md_book_resyncs_total', 'Order book resyncs from a fresh snapshot', [
      'venue',
    ]),
    published: metrics.counter(
      'perpmesh_md_events_published_total',
      'md.* events acknowledged by the event log',
    ),
    failed: metrics.counter('perpmesh_md_publish_failures_total', 'md.* events that could not be published'),
    dropped: metrics.counter(
      'perpmesh_md_events_dropped_total',
      'md.* events dropped because the publish queue was full',
    ),
    componentReady: metrics.gauge('perpmesh_md_component_ready', 'Readiness of a venue component (1 ready)', [
      'venue',
      'component',
    ]),
  };
}
