/**
 * The market-data feed: for each venue and instrument it keeps the order book from the
 * venue's snapshot + deltas (a sequence gap triggers a resync from a fresh snapshot, never
 * a silently wrong book), follows trades and funding, and publishes md.book / md.trade /
 * md.funding / md.status envelopes on the event log.
 *
 * - md.book carries top-N snapshots, conflated: at most one flush per
 *   `bookPublishIntervalMs` (leading edge: a change after a quiet spell goes out at once,
 *   a burst waits for the end of the interval). Readers never need sequence logic, and a
 *   slow reader cannot fall behind a fast book.
 * - Resync: deltas that arrive while the fresh snapshot is being fetched are buffered and
 *   replayed on top of it (those the snapshot already covers are skipped), so a busy book
 *   does not fall into a loop of gaps and resyncs.
 * - Ids: md.book, md.trade and md.funding are venue facts and get `factEventId`s (the same
 *   book state, trade or funding reading published twice, by a restarted or a second
 *   replica, is stored once); md.status is our own event and gets a fresh id.
 * - Readiness per venue, in four components, each with a reason a person can act on:
 *   `symbols` (markets loaded and every configured instrument listed), `market_stream`
 *   (subscribed, and the port says its market stream is up), `order_books` (every book
 *   synced) and `funding` (a funding reading for every instrument). They feed the
 *   HealthRegistry as `<venue>/<component>` and md.status on every change.
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
  type InstrumentId,
  normalizeFundingRate,
  OrderBook,
  PerpmeshError,
  toWire,
  type VenueId,
} from '@perpmesh/core';
import type { HealthRegistry, ServiceMetrics } from '@perpmesh/runtime';
import type {
  BookDelta,
  BookSnapshot,
  FundingInfo,
  MarketEvent,
  PublicTrade,
  Subscription,
  VenueMarket,
  VenuePort,
} from '@perpmesh/venues';
import { VENUE_COMPONENT } from '@perpmesh/venues';
import { type MdEventSink, MdPublisher, type PublisherStats } from './publisher.js';

export interface FeedVenue {
  port: VenuePort;
  /** Instruments this feed (shard) follows on this venue. */
  instruments: InstrumentId[];
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
  /** Conflation of md.book per instrument. Default 100 ms. */
  bookPublishIntervalMs?: number;
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
  /** Port readiness components that carry market data (their failure means the stream is down). */
  portStreamComponents?: readonly string[];
}

/** The port readiness components (paper and remote venues) that say the market stream is up. */
export const DEFAULT_PORT_STREAM_COMPONENTS: readonly string[] = [
  VENUE_COMPONENT.marketStream,
  VENUE_COMPONENT.link,
];

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

/** The readiness components of a venue, in the order they are reported. */
export const VENUE_COMPONENTS = ['symbols', 'market_stream', 'order_books', 'funding'] as const;
export type VenueComponent = (typeof VENUE_COMPONENTS)[number];

export interface FundingView {
  venue: VenueId;
  instrument: InstrumentId;
  /** Raw rate for the venue's own interval. */
  rate: Decimal;
  intervalMs: number;
  ratePerHour: Decimal;
  annualized: Decimal;
  nextFundingTimeMs: EpochMs;
  markPrice: Decimal;
  indexPrice: Decimal;
  asOfMs: EpochMs;
  /** Service clock minus `asOfMs`. */
  ageMs: number;
  stale: boolean;
}

export interface ComponentView {
  component: string;
  ready: boolean;
  reason: string;
  sinceMs: EpochMs;
}

export interface BookView {
  venue: VenueId;
  instrument: InstrumentId;
  /** False while there is no trusted book (no snapshot yet, resyncing, stream down, crossed). */
  synced: boolean;
  /** Not synced, or older than `bookStaleAfterMs`: never trade on it. */
  stale: boolean;
  /** Why it is not synced or stale; '' when fine. */
  reason: string;
  seq: number;
  asOfMs: EpochMs;
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

interface BookState {
  readonly instrument: InstrumentId;
  readonly book: OrderBook;
  synced: boolean;
  /** Why it is not synced, for readiness. */
  reason: string;
  resyncing: boolean;
  /** Deltas received while a resync snapshot is on its way. */
  buffer: BookDelta[];
  dirty: boolean;
  asOfMs: EpochMs;
  retryTimer: NodeJS.Timeout | undefined;
}

interface VenueState {
  readonly venue: VenueId;
  readonly port: VenuePort;
  readonly instruments: InstrumentId[];
  markets: Map<InstrumentId, VenueMarket> | undefined;
  marketsReason: string;
  subscription: Subscription | undefined;
  streamReason: string;
  /** The port said its market stream is down (last poll). */
  portStreamDown: boolean;
  readonly books: Map<InstrumentId, BookState>;
  readonly funding: Map<InstrumentId, Omit<FundingView, 'ageMs' | 'stale'>>;
  readonly fundingDirty: Set<InstrumentId>;
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
  #flushScheduled = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #lastFlushAt = Number.NEGATIVE_INFINITY;
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
    this.#subjects = options.subjects ?? defaultSubjects;
    this.#metrics = options.metrics ? createFeedMetrics(options.metrics) : undefined;
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
    for (const { port, instruments } of options.venues) {
      if (this.#venues.has(port.venue))
        throw new Error(`venue ${port.venue} given twice to the market-data feed`);
      const books = new Map<InstrumentId, BookState>();
      for (const instrument of instruments) {
        books.set(instrument, {
          instrument,
          book: new OrderBook({ name: `${port.venue} ${instrument}` }),
          synced: false,
          reason: `order book ${instrument} on ${port.venue}: no snapshot yet`,
          resyncing: false,
          buffer: [],
          dirty: false,
          asOfMs: 0,
          retryTimer: undefined,
        });
      }
      this.#venues.set(port.venue, {
        venue: port.venue,
        port,
        instruments: [...instruments],
        markets: undefined,
        marketsReason: `symbols on ${port.venue}: markets not loaded yet`,
        subscription: undefined,
        streamReason: `market stream of ${port.venue}: not subscribed yet`,
        portStreamDown: false,
        books,
        funding: new Map(),
        fundingDirty: new Set(),
        fundingError: '',
        components: new Map(),
        connectAttempts: 0,
        connectTimer: undefined,
      });
      this.#refreshStatus(port.venue, false);
    }
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
      for (const book of state.books.values()) clearTimeout(book.retryTimer);
      try {
        await state.subscription?.close();
      } catch (err) {
        this.#opts.logger.warn({ venue: state.venue, err }, 'closing market subscription failed');
      }
    }
    this.#flushNow();
    await this.#publisher.idle();
  }

  /** Publishes every pending book and funding change now and waits until the log has them. */
  async flush(): Promise<void> {
    this.#flushNow();
    await this.#publisher.idle();
  }

  /** Top-N of a book with its freshness; undefined when this feed does not follow it. */
  orderBook(
    venue: VenueId,
    instrument: InstrumentId,
    depth = this.#settings.bookDepth,
  ): BookView | undefined {
    const book = this.#venues.get(venue)?.books.get(instrument);
    if (!book) return undefined;
    const n = depth > 0 ? depth : Number.MAX_SAFE_INTEGER;
    const top = book.book.top(n);
    const ageMs = book.asOfMs > 0 ? Math.max(0, this.#opts.nowMs() - book.asOfMs) : 0;
    const tooOld = book.synced && ageMs > this.#settings.bookStaleAfterMs;
    return {
      venue,
      instrument,
      synced: book.synced,
      stale: !book.synced || tooOld,
      reason: book.synced
        ? tooOld
          ? `order book ${instrument} on ${venue}: last update ${ageMs} ms ago (stale after ${this.#settings.bookStaleAfterMs} ms)`
          : ''
        : book.reason,
      seq: top.seq,
      asOfMs: book.asOfMs,
      ageMs,
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
        const view = state.funding.get(i);
        if (!view) continue;
        const ageMs = Math.max(0, now - view.asOfMs);
        out.push({ ...view, ageMs, stale: ageMs > this.#settings.fundingStaleAfterMs });
      }
    }
    return out;
  }

  venueStatus(venue?: VenueId): { venue: VenueId; ready: boolean; components: ComponentView[] }[] {
    return [...this.#venues.entries()]
      .filter(([v]) => !venue || v === venue)
      .map(([v, state]) => {
        const components = VENUE_COMPONENTS.map((c) => state.components.get(c)).filter(
          (c): c is ComponentView => c !== undefined,
        );
        return {
          venue: v,
          ready: components.every((c) => c.ready),
          components: components.map((c) => ({ ...c })),
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
    for (const state of this.#venues.values()) {
      if (!state.subscription) continue;
      let down: string | undefined;
      try {
        const relevant = state.port
          .readiness()
          .filter((c) => this.#settings.portStreamComponents.includes(c.component));
        down = relevant.find((c) => !c.ready)?.reason;
      } catch (err) {
        down = `readiness of the venue port failed: ${errorText(err)}`;
      }
      if (down !== undefined) {
        const reason = `market stream of ${state.venue} down: ${down}`;
        if (!state.portStreamDown || state.streamReason !== reason) {
          state.portStreamDown = true;
          state.streamReason = reason;
          for (const book of state.books.values()) {
            book.synced = false;
            book.reason = `order book ${book.instrument} on ${state.venue}: ${reason}`;
          }
          this.#opts.logger.warn({ venue: state.venue, reason }, 'market stream down');
          this.#refreshStatus(state.venue);
        }
      } else if (state.portStreamDown) {
        state.portStreamDown = false;
        state.streamReason = '';
        this.#opts.logger.info({ venue: state.venue }, 'market stream back; resyncing books');
        this.#refreshStatus(state.venue);
        for (const book of state.books.values()) {
          if (!book.synced) this.#resync(state, book.instrument, 'market stream reconnected');
        }
      }
    }
  }

  // ---- connecting ------------------------------------------------------------------------------

  async #connect(state: VenueState): Promise<void> {
    if (this.#stopped) return;
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
      if (!state.subscription) {
        try {
          state.subscription = await port.watchMarket(state.instruments, (event) =>
            this.#onEvent(state, event),
          );
        } catch (err) {
          state.streamReason = `market stream of ${venue}: cannot subscribe: ${errorText(err)}`;
          throw err;
        }
        if (this.#stopped) {
          await state.subscription.close();
          return;
        }
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
      const delayMs = this.#backoff(state.connectAttempts);
      this.#opts.logger.warn({ venue, err, retryInMs: delayMs }, 'market-data connect failed; retrying');
      if (!this.#stopped) {
        state.connectTimer = setTimeout(() => {
          this.#connect(state).catch((e: unknown) =>
            this.#opts.logger.error({ venue, err: e }, 'market-data connect failed for good'),
          );
        }, delayMs);
        state.connectTimer.unref?.();
      }
    }
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
    if (instruments.length === 0 || this.#stopped) return;
    try {
      const readings = await state.port.fetchFunding(instruments);
      for (const reading of readings) this.#onFunding(state, reading);
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

  #onEvent(state: VenueState, event: MarketEvent): void {
    if (this.#stopped) return;
    try {
      switch (event.kind) {
        case 'snapshot':
          this.#applySnapshot(state, event);
          break;
        case 'delta':
          this.#applyDelta(state, event);
          break;
        case 'trade':
          this.#publishTrade(state.venue, event);
          break;
        case 'funding':
          this.#onFunding(state, event);
          break;
      }
    } catch (err) {
      // A malformed event from the venue: never let it half-apply or kill the stream.
      this.#opts.logger.error({ venue: state.venue, kind: event.kind, err }, 'bad market event');
      const instrument = (event as { instrument?: InstrumentId }).instrument;
      if (
        (event.kind === 'snapshot' || event.kind === 'delta') &&
        instrument &&
        state.books.has(instrument)
      ) {
        this.#resync(state, instrument, `bad ${event.kind}: ${errorText(err)}`);
      }
    }
  }

  #applySnapshot(state: VenueState, snapshot: BookSnapshot): void {
    const book = state.books.get(snapshot.instrument);
    if (!book) return;
    const result = book.book.applySnapshot({ seq: snapshot.seq, bids: snapshot.bids, asks: snapshot.asks });
    book.asOfMs = snapshot.tsEventMs;
    if (result.crossed) {
      book.book.invalidate();
      this.#markUnsynced(
        state,
        book,
        `order book ${snapshot.instrument} on ${state.venue}: snapshot is crossed`,
      );
      this.#scheduleResync(state, book, 'crossed snapshot');
      return;
    }
    this.#markDirty(book);
    // While the port says its stream is down no deltas follow this snapshot: keep it, do
    // not trust it; the poll resyncs once the stream is back.
    if (state.portStreamDown) return;
    if (!book.synced) {
      book.synced = true;
      book.reason = '';
      this.#refreshStatus(state.venue);
    }
  }

  #applyDelta(state: VenueState, delta: BookDelta): void {
    const book = state.books.get(delta.instrument);
    if (!book) return;
    if (book.resyncing) {
      book.buffer.push(delta);
      if (book.buffer.length > this.#settings.maxBufferedDeltas) book.buffer.shift();
      return;
    }
    let result: ReturnType<OrderBook['applyDelta']>;
    try {
      result = book.book.applyDelta(delta);
    } catch (err) {
      this.#resync(state, delta.instrument, `bad delta: ${errorText(err)}`);
      return;
    }
    switch (result.status) {
      case 'applied':
        book.asOfMs = delta.tsEventMs;
        this.#markDirty(book);
        if (result.crossed) {
          book.book.invalidate();
          this.#resync(state, delta.instrument, 'book crossed after a delta');
        }
        return;
      case 'stale':
        return;
      case 'gap':
        this.#resync(state, delta.instrument, result.error.message, delta);
        return;
      case 'unsynced':
        this.#resync(state, delta.instrument, 'delta before any snapshot', delta);
        return;
    }
  }

  #markUnsynced(state: VenueState, book: BookState, reason: string): void {
    book.synced = false;
    book.reason = reason;
    this.#refreshStatus(state.venue);
  }

  /**
   * Replaces the book from a fresh snapshot. Deltas that arrive meanwhile are buffered and
   * replayed on top of it; `pending` is the delta that revealed the gap (it may be newer
   * than the snapshot).
   */
  #resync(state: VenueState, instrument: InstrumentId, why: string, pending?: BookDelta): void {
    const book = state.books.get(instrument);
    if (!book || this.#stopped) return;
    if (book.resyncing) {
      if (pending) book.buffer.push(pending);
      return;
    }
    book.resyncing = true;
    book.buffer = pending ? [pending] : [];
    clearTimeout(book.retryTimer);
    this.#resyncs += 1;
    this.#metrics?.resyncs.inc({ venue: state.venue });
    this.#markUnsynced(state, book, `order book ${instrument} on ${state.venue}: resyncing (${why})`);
    this.#opts.logger.warn({ venue: state.venue, instrument, why }, 'order book resync');
    state.port
      .fetchOrderBook(instrument, this.#settings.resyncDepth)
      .then((snapshot) => {
        if (this.#stopped) return;
        book.resyncing = false;
        const buffered = book.buffer;
        book.buffer = [];
        // The stream may have delivered a newer snapshot meanwhile; keep the newer one.
        if (!(book.synced && book.book.seq >= snapshot.seq)) this.#applySnapshot(state, snapshot);
        if (book.book.needsResync) return;
        for (const delta of buffered) {
          this.#applyDelta(state, delta);
          if (book.resyncing) break; // a gap in the buffer started another resync; the rest is in its buffer
        }
      })
      .catch((err: unknown) => {
        if (this.#stopped) return;
        book.resyncing = false;
        book.buffer = [];
        this.#markUnsynced(
          state,
          book,
          `order book ${instrument} on ${state.venue}: resync failed: ${errorText(err)}`,
        );
        this.#opts.logger.error({ venue: state.venue, instrument, err }, 'order book resync failed');
        this.#scheduleResync(state, book, 'retry after a failed resync');
      });
  }

  #scheduleResync(state: VenueState, book: BookState, why: string): void {
    if (this.#stopped || book.retryTimer) return;
    book.retryTimer = setTimeout(() => {
      book.retryTimer = undefined;
      if (!book.synced) this.#resync(state, book.instrument, why);
    }, this.#settings.retryDelayMs);
    book.retryTimer.unref?.();
  }

  #onFunding(state: VenueState, info: FundingInfo): void {
    if (!state.books.has(info.instrument)) return;
    const normalized = normalizeFundingRate(info.rate, { intervalMs: info.intervalMs });
    const previous = state.funding.get(info.instrument);
    state.funding.set(info.instrument, {
      venue: state.venue,
      instrument: info.instrument,
      rate: info.rate,
      intervalMs: info.intervalMs,
      ratePerHour: normalized.ratePerHour,
      annualized: normalized.annualized,
      nextFundingTimeMs: info.nextFundingTimeMs,
      markPrice: info.markPrice,
      indexPrice: info.indexPrice,
      asOfMs: info.tsEventMs,
    });
    if (!previous) this.#refreshStatus(state.venue);
    state.fundingDirty.add(info.instrument);
    this.#scheduleFlush();
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

  #markDirty(book: BookState): void {
    book.dirty = true;
    this.#scheduleFlush();
  }

  /** Leading-edge conflation: flush in this tick when the last flush is an interval old, else at its end. */
  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#stopped) return;
    this.#flushScheduled = true;
    const waitMs = this.#lastFlushAt + this.#settings.bookPublishIntervalMs - performance.now();
    // A microtask still lets every event of the current burst (one venue message, one sim step) land first.
    if (waitMs <= 0) queueMicrotask(() => this.#flushNow());
    else {
      this.#flushTimer = setTimeout(() => this.#flushNow(), waitMs);
      this.#flushTimer.unref?.();
    }
  }

  #flushNow(): void {
    clearTimeout(this.#flushTimer);
    this.#flushScheduled = false;
    this.#lastFlushAt = performance.now();
    const depth = this.#settings.bookDepth;
    for (const [venue, state] of this.#venues) {
      for (const [instrument, book] of state.books) {
        if (!book.dirty || !book.synced) continue;
        book.dirty = false;
        const top = book.book.top(depth);
        this.#publish(book.asOfMs, `md.book|${venue}|${instrument}|${top.seq}|${depth}`, {
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
            asOfMs: book.asOfMs,
          },
        });
      }
      for (const instrument of state.fundingDirty) {
        const f = state.funding.get(instrument);
        if (!f) continue;
        this.#publish(
          f.asOfMs,
          `md.funding|${venue}|${instrument}|${f.asOfMs}|${toWire(f.rate)}|${f.nextFundingTimeMs}|${toWire(f.markPrice)}`,
          {
            $case: 'fundingRate',
            value: {
              venue,
              instrument,
              rate: toWire(f.rate),
              intervalMs: f.intervalMs,
              ratePerHour: toWire(f.ratePerHour),
              annualized: toWire(f.annualized),
              nextFundingTimeMs: f.nextFundingTimeMs,
              markPrice: toWire(f.markPrice),
              indexPrice: toWire(f.indexPrice),
              asOfMs: f.asOfMs,
            },
          },
        );
      }
      state.fundingDirty.clear();
    }
  }

  /** Recomputes the venue's readiness components; publishes md.status and updates health on change. */
  #refreshStatus(venue: VenueId, publish = true): void {
    const state = this.#venues.get(venue);
    if (!state) return;
    const now = this.#opts.nowMs();
    const unsynced = [...state.books.values()].filter((b) => !b.synced).map((b) => b.reason);
    const noFunding = state.instruments.filter((i) => !state.funding.has(i));
    const streamUp = state.subscription !== undefined && !state.portStreamDown;
    const next: Record<VenueComponent, [boolean, string]> = {
      symbols: [state.markets !== undefined, state.markets ? '' : state.marketsReason],
      market_stream: [
        streamUp,
        streamUp ? '' : state.streamReason || `market stream of ${venue}: not subscribed yet`,
      ],
      order_books: [unsynced.length === 0, unsynced.join('; ')],
      funding: [
        noFunding.length === 0,
        noFunding.length === 0
          ? ''
          : `funding on ${venue} not known yet for ${noFunding.join(', ')}${state.fundingError ? ` (last fetch failed: ${state.fundingError})` : ''}`,
      ],
    };
    let changed = false;
    for (const component of VENUE_COMPONENTS) {
      const [ready, reason] = next[component];
      const prev = state.components.get(component);
      if (prev && prev.ready === ready && prev.reason === reason) continue;
      changed = true;
      state.components.set(component, {
        component,
        ready,
        reason,
        sinceMs: prev && prev.ready === ready ? prev.sinceMs : now,
      });
      this.#metrics?.componentReady.set({ venue, component }, ready ? 1 : 0);
      const name = `${venue}/${component}`;
      if (ready) this.#opts.health?.ready(name);
      else this.#opts.health?.notReady(name, reason);
    }
    if (changed && publish) {
      const components = VENUE_COMPONENTS.map((c) => state.components.get(c)!);
      this.#publish(now, undefined, {
        $case: 'venueStatus',
        value: {
          venue,
          ready: components.every((c) => c.ready),
          components: components.map((c) => ({ ...c })),
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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
