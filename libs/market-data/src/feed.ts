/**
 * The market-data feed: for each venue and instrument it keeps the order book from the
 * venue's snapshot + deltas (a sequence gap triggers a resync from a fresh snapshot, never
 * a silently wrong book), follows trades and funding, and publishes md.book / md.trade /
 * md.funding / md.status envelopes on the event log.
 *
 * md.book carries top-N snapshots, conflated to at most one per `bookPublishIntervalMs`
 * per instrument: readers never need sequence logic, and a slow reader cannot fall behind
 * a fast book. Trades are published one by one; funding when it changes.
 */

import {
  BookUpdateKind,
  subjects as defaultSubjects,
  type EnvelopeIdGenerator,
  type EnvelopeSink,
  newEnvelope,
  publishEnvelope,
  SIDE,
  type Subjects,
} from '@perpmesh/contracts';
import {
  type Decimal,
  type EpochMs,
  type InstrumentId,
  normalizeFundingRate,
  OrderBook,
  toWire,
  type VenueId,
} from '@perpmesh/core';
import type { HealthRegistry } from '@perpmesh/runtime';
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
  log: EnvelopeSink;
  venues: FeedVenue[];
  nowMs: () => EpochMs;
  logger: FeedLogger;
  health?: HealthRegistry;
  subjects?: Subjects;
  ids?: EnvelopeIdGenerator;
  /** Levels per side in md.book events and GetOrderBook. Default 20. */
  bookDepth?: number;
  /** Conflation of md.book per instrument. Default 100 ms. */
  bookPublishIntervalMs?: number;
}

export interface FundingView {
  venue: VenueId;
  instrument: InstrumentId;
  rate: Decimal;
  intervalMs: number;
  ratePerHour: Decimal;
  annualized: Decimal;
  nextFundingTimeMs: EpochMs;
  markPrice: Decimal;
  indexPrice: Decimal;
  asOfMs: EpochMs;
}

export interface ComponentView {
  component: string;
  ready: boolean;
  reason: string;
  sinceMs: EpochMs;
}

interface BookState {
  readonly book: OrderBook;
  synced: boolean;
  /** Why it is not synced, for readiness. */
  reason: string;
  resyncing: boolean;
  dirty: boolean;
  asOfMs: EpochMs;
}

interface VenueState {
  readonly port: VenuePort;
  readonly instruments: InstrumentId[];
  markets: Map<InstrumentId, VenueMarket> | undefined;
  marketsReason: string;
  readonly books: Map<InstrumentId, BookState>;
  readonly funding: Map<InstrumentId, FundingView>;
  readonly fundingDirty: Set<InstrumentId>;
  subscription: Subscription | undefined;
  components: Map<string, ComponentView>;
}

export class MarketDataFeed {
  readonly #opts: Required<Pick<MarketDataFeedOptions, 'bookDepth' | 'bookPublishIntervalMs'>> &
    MarketDataFeedOptions;
  readonly #venues = new Map<VenueId, VenueState>();
  readonly #subjects: Subjects;
  #flushTimer: NodeJS.Timeout | undefined;
  /** Publishes go out in order, one chain per feed; failures are logged and counted. */
  #publishChain: Promise<void> = Promise.resolve();
  #publishFailures = 0;
  #stopped = false;

  constructor(options: MarketDataFeedOptions) {
    this.#opts = { bookDepth: 20, bookPublishIntervalMs: 100, ...options };
    this.#subjects = options.subjects ?? defaultSubjects;
    for (const { port, instruments } of options.venues) {
      const books = new Map<InstrumentId, BookState>();
      for (const instrument of instruments) {
        books.set(instrument, {
          book: new OrderBook(),
          synced: false,
          reason: `order book ${instrument}: no snapshot yet`,
          resyncing: false,
          dirty: false,
          asOfMs: 0,
        });
      }
      this.#venues.set(port.venue, {
        port,
        instruments,
        markets: undefined,
        marketsReason: 'symbols: markets not loaded yet',
        books,
        funding: new Map(),
        fundingDirty: new Set(),
        subscription: undefined,
        components: new Map(),
      });
      this.#refreshStatus(port.venue, false);
    }
  }

  get publishFailures(): number {
    return this.#publishFailures;
  }

  async start(): Promise<void> {
    for (const [venue, state] of this.#venues) {
      const markets = await state.port.loadMarkets();
      const byInstrument = new Map(markets.map((m) => [m.instrument, m]));
      const missing = state.instruments.filter((i) => !byInstrument.has(i));
      if (missing.length > 0) {
        state.marketsReason = `symbols: ${venue} does not list ${missing.join(', ')}`;
        this.#refreshStatus(venue);
        throw new Error(`${venue}: configured instruments not listed by the venue: ${missing.join(', ')}`);
      }
      state.markets = byInstrument;
      this.#refreshStatus(venue);
      state.subscription = await state.port.watchMarket(state.instruments, (event) =>
        this.#onEvent(venue, event),
      );
    }
    this.#flushTimer = setInterval(() => this.#flush(), this.#opts.bookPublishIntervalMs);
    this.#flushTimer.unref?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#flushTimer) clearInterval(this.#flushTimer);
    for (const state of this.#venues.values()) await state.subscription?.close();
    this.#flush();
    await this.#publishChain;
  }

  /** Top-N of a book, and whether it is synced (an unsynced book is never shown as current). */
  orderBook(
    venue: VenueId,
    instrument: InstrumentId,
    depth = this.#opts.bookDepth,
  ):
    | {
        synced: boolean;
        reason: string;
        seq: number;
        asOfMs: EpochMs;
        bids: { price: Decimal; size: Decimal }[];
        asks: { price: Decimal; size: Decimal }[];
      }
    | undefined {
    const book = this.#venues.get(venue)?.books.get(instrument);
    if (!book) return undefined;
    const top = book.book.top(depth);
    return {
      synced: book.synced,
      reason: book.reason,
      seq: top.seq,
      asOfMs: book.asOfMs,
      bids: top.bids,
      asks: top.asks,
    };
  }

  fundingRates(venue?: VenueId, instrument?: InstrumentId): FundingView[] {
    const out: FundingView[] = [];
    for (const [v, state] of this.#venues) {
      if (venue && v !== venue) continue;
      for (const [i, view] of state.funding) if (!instrument || i === instrument) out.push(view);
    }
    return out;
  }

  venueStatus(venue?: VenueId): { venue: VenueId; ready: boolean; components: ComponentView[] }[] {
    return [...this.#venues.entries()]
      .filter(([v]) => !venue || v === venue)
      .map(([v, state]) => {
        const components = [...state.components.values()];
        return { venue: v, ready: components.every((c) => c.ready), components };
      });
  }

  #onEvent(venue: VenueId, event: MarketEvent): void {
    if (this.#stopped) return;
    const state = this.#venues.get(venue);
    if (!state) return;
    switch (event.kind) {
      case 'snapshot':
        this.#applySnapshot(venue, state, event);
        break;
      case 'delta':
        this.#applyDelta(venue, state, event);
        break;
      case 'trade':
        this.#publishTrade(venue, event);
        break;
      case 'funding':
        this.#onFunding(venue, state, event);
        break;
    }
  }

  #applySnapshot(venue: VenueId, state: VenueState, snapshot: BookSnapshot): void {
    const book = state.books.get(snapshot.instrument);
    if (!book) return;
    const result = book.book.applySnapshot({ seq: snapshot.seq, bids: snapshot.bids, asks: snapshot.asks });
    book.asOfMs = snapshot.tsEventMs;
    book.dirty = true;
    if (result.crossed) {
      this.#markUnsynced(
        venue,
        state,
        snapshot.instrument,
        `order book ${snapshot.instrument}: snapshot is crossed`,
      );
      return;
    }
    if (!book.synced) {
      book.synced = true;
      book.reason = '';
      this.#refreshStatus(venue);
    }
  }

  #applyDelta(venue: VenueId, state: VenueState, delta: BookDelta): void {
    const book = state.books.get(delta.instrument);
    if (!book || book.resyncing) return;
    const result = book.book.applyDelta(delta);
    switch (result.status) {
      case 'applied':
        book.asOfMs = delta.tsEventMs;
        book.dirty = true;
        if (result.crossed) this.#resync(venue, state, delta.instrument, 'book crossed after a delta');
        return;
      case 'stale':
        return;
      case 'gap':
        this.#resync(venue, state, delta.instrument, result.error.message);
        return;
      case 'unsynced':
        if (!book.resyncing) this.#resync(venue, state, delta.instrument, 'delta before any snapshot');
        return;
    }
  }

  #markUnsynced(venue: VenueId, state: VenueState, instrument: InstrumentId, reason: string): void {
    const book = state.books.get(instrument);
    if (!book) return;
    book.synced = false;
    book.reason = reason;
    this.#refreshStatus(venue);
  }

  /** Replaces the book from a fresh snapshot; deltas that arrive meanwhile are dropped (the snapshot covers them). */
  #resync(venue: VenueId, state: VenueState, instrument: InstrumentId, why: string): void {
    const book = state.books.get(instrument);
    if (!book || book.resyncing || this.#stopped) return;
    book.resyncing = true;
    this.#markUnsynced(venue, state, instrument, `order book ${instrument}: resyncing (${why})`);
    this.#opts.logger.warn({ venue, instrument, why }, 'order book resync');
    state.port
      .fetchOrderBook(instrument, Math.max(this.#opts.bookDepth, 100))
      .then((snapshot) => {
        book.resyncing = false;
        this.#applySnapshot(venue, state, snapshot);
      })
      .catch((err: unknown) => {
        book.resyncing = false;
        this.#markUnsynced(
          venue,
          state,
          instrument,
          `order book ${instrument}: resync failed: ${String(err)}`,
        );
        this.#opts.logger.error({ venue, instrument, err }, 'order book resync failed');
      });
  }

  #onFunding(venue: VenueId, state: VenueState, info: FundingInfo): void {
    const normalized = normalizeFundingRate(info.rate, { intervalMs: info.intervalMs });
    const previous = state.funding.get(info.instrument);
    state.funding.set(info.instrument, {
      venue,
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
    if (!previous) this.#refreshStatus(venue);
    state.fundingDirty.add(info.instrument);
  }

  #publishTrade(venue: VenueId, trade: PublicTrade): void {
    this.#publish(trade.tsEventMs, {
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

  #flush(): void {
    for (const [venue, state] of this.#venues) {
      for (const [instrument, book] of state.books) {
        if (!book.dirty || !book.synced) continue;
        book.dirty = false;
        const top = book.book.top(this.#opts.bookDepth);
        this.#publish(book.asOfMs, {
          $case: 'orderBook',
          value: {
            venue,
            instrument,
            kind: BookUpdateKind.BOOK_UPDATE_KIND_SNAPSHOT,
            sequence: top.seq,
            prevSequence: 0,
            depth: this.#opts.bookDepth,
            bids: top.bids.map((l) => ({ price: toWire(l.price), size: toWire(l.size) })),
            asks: top.asks.map((l) => ({ price: toWire(l.price), size: toWire(l.size) })),
            asOfMs: book.asOfMs,
          },
        });
      }
      for (const instrument of state.fundingDirty) {
        const f = state.funding.get(instrument);
        if (!f) continue;
        this.#publish(f.asOfMs, {
          $case: 'fundingRate',
          value: {
            venue,
            instrument,
            rate: toWire(f.rate),
            intervalMs: f.intervalMs,
            ratePerHour: toWire(f.ratePerHour),
            nextFundingTimeMs: f.nextFundingTimeMs,
            markPrice: toWire(f.markPrice),
            indexPrice: toWire(f.indexPrice),
            asOfMs: f.asOfMs,
          },
        });
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
    const next: Array<[string, boolean, string]> = [
      ['symbols', state.markets !== undefined, state.markets ? '' : state.marketsReason],
      ['order_books', unsynced.length === 0, unsynced.join('; ')],
      [
        'funding',
        noFunding.length === 0,
        noFunding.length ? `funding not known yet for ${noFunding.join(', ')}` : '',
      ],
    ];
    let changed = false;
    for (const [component, ready, reason] of next) {
      const prev = state.components.get(component);
      if (prev && prev.ready === ready && prev.reason === reason) continue;
      changed = true;
      state.components.set(component, {
        component,
        ready,
        reason,
        sinceMs: prev && prev.ready === ready ? prev.sinceMs : now,
      });
      const name = `${venue}/${component}`;
      if (ready) this.#opts.health?.ready(name);
      else this.#opts.health?.notReady(name, `${venue} ${reason}`);
    }
    if (changed && publish) {
      const components = [...state.components.values()];
      this.#publish(now, {
        $case: 'venueStatus',
        value: {
          venue,
          ready: components.every((c) => c.ready),
          components: components.map((c) => ({ ...c })),
        },
      });
    }
  }

  #publish(tsEventMs: EpochMs, payload: Parameters<typeof newEnvelope>[0]['payload']): void {
    const envelope = newEnvelope(
      { source: this.#opts.source, tsEventMs, tsInitMs: this.#opts.nowMs(), payload },
      ...(this.#opts.ids ? [this.#opts.ids] : []),
    );
    this.#publishChain = this.#publishChain.then(() =>
      publishEnvelope(this.#opts.log, envelope, this.#subjects).then(
        () => undefined,
        (err: unknown) => {
          this.#publishFailures += 1;
          this.#opts.logger.error({ err, subject: envelope.type }, 'md publish failed');
        },
      ),
    );
  }
}
