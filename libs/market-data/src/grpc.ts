/**
 * `perpmesh.v1.MarketDataService` over the feed: the one place feed views become wire
 * messages. Bad arguments are ValidationErrors naming the field (INVALID_ARGUMENT); a book
 * that is not synced is BookNotSyncedError (UNAVAILABLE with the reason), never a book
 * that might be wrong; an instrument of another shard is NOT_FOUND naming the shard. With
 * leases, a pair another replica serves is answered by that replica (routing.ts).
 */
import {
  BookUpdateKind,
  type FundingRateView,
  type GetFundingRatesRequest,
  type GetFundingRatesResponse,
  type GetOrderBookRequest,
  type GetOrderBookResponse,
  type GetVenueStatusRequest,
  type GetVenueStatusResponse,
  type MarketDataServiceServer,
  MarketDataServiceService,
} from '@perpmesh/contracts';
import { type InstrumentId, toWire, ValidationError, type VenueId } from '@perpmesh/core';
import { grpcHandlers, type Logger } from '@perpmesh/runtime';
import { BookNotSyncedError, MD_ERROR_GRPC_CODES, NotServedHereError, NotThisShardError } from './errors.js';
import type { BookView, FundingView, MarketDataFeed } from './feed.js';
import { fundingRateToWire } from './funding.js';
import { isForwardedCall, type MarketDataRouter } from './routing.js';
import { type ShardSpec, shardOf } from './shard.js';

/** Most levels per side a caller may ask for. */
export const MAX_BOOK_DEPTH = 5000;

export interface MarketDataQueries {
  feed: MarketDataFeed;
  /** Every configured instrument per venue (all shards), to tell "unknown" from "another shard". */
  configured: ReadonlyMap<VenueId, readonly InstrumentId[]>;
  shard: ShardSpec;
  /** With leases (no fixed shard): the replica expected to serve a pair, for the NOT_FOUND answer. */
  servedBy?: (venue: VenueId, instrument: InstrumentId) => string | undefined;
  /** With leases: asks the other replicas for what this one does not serve (routing.ts). */
  router?: MarketDataRouter;
}

/** The book of one instrument as GetOrderBook answers it; throws when it must not be shown. */
export function getOrderBook(q: MarketDataQueries, request: GetOrderBookRequest): GetOrderBookResponse {
  const venue = requireText(request.venue, 'venue');
  const instrument = requireText(request.instrument, 'instrument');
  const depth = request.depth ?? 0;
  if (!Number.isSafeInteger(depth) || depth < 0 || depth > MAX_BOOK_DEPTH) {
    throw new ValidationError(
      'depth',
      `must be a whole number in [0, ${MAX_BOOK_DEPTH}] (0 = all held), got ${depth}`,
    );
  }
  checkKnown(q, venue, instrument);
  const view = q.feed.orderBook(venue, instrument, depth);
  // Not followed here, or warming here and not synced yet: the pair's holder answers (routing).
  if ((!view || (view.warming && !view.synced)) && q.servedBy)
    throw new NotServedHereError(venue, instrument, q.servedBy(venue, instrument));
  if (!view)
    throw new NotThisShardError(venue, instrument, shardOf(venue, instrument, q.shard.count), q.shard);
  if (!view.synced) throw new BookNotSyncedError(venue, instrument, view.reason);
  return { book: bookToWire(view), stale: view.stale, ageMs: view.ageMs };
}

export function getFundingRates(
  q: MarketDataQueries,
  request: GetFundingRatesRequest,
): GetFundingRatesResponse {
  const venue = request.venue || undefined;
  const instrument = request.instrument || undefined;
  if (venue !== undefined) checkKnown(q, venue, instrument);
  return { rates: q.feed.fundingRates(venue, instrument).map(fundingViewToWire) };
}

export function getVenueStatus(q: MarketDataQueries, request: GetVenueStatusRequest): GetVenueStatusResponse {
  const venue = request.venue || undefined;
  if (venue !== undefined) checkKnown(q, venue, undefined);
  return { venues: q.feed.venueStatus(venue) };
}

/** The grpc-js implementation, every error through runtime's one mapping plus ours. */
export function marketDataGrpcService(
  q: MarketDataQueries,
  logger?: Logger,
): { definition: typeof MarketDataServiceService; implementation: MarketDataServiceServer } {
  const h = grpcHandlers({ ...(logger ? { logger } : {}), codeMap: MD_ERROR_GRPC_CODES });
  return {
    definition: MarketDataServiceService,
    implementation: {
      getOrderBook: h.unary(async (request: GetOrderBookRequest, ctx) => {
        try {
          return getOrderBook(q, request);
        } catch (err) {
          // Leases: the pair's owner answers (routing.ts); a forwarded call is never forwarded again.
          if (!(err instanceof NotServedHereError) || !q.router) throw err;
          if (!isForwardedCall(ctx.metadata)) return q.router.orderBook(request, err);
          throw q.router.comingHere(request, err);
        }
      }),
      getFundingRates: h.unary(async (request: GetFundingRatesRequest, ctx) => {
        const local = getFundingRates(q, request);
        // One pair we hold: nobody else has it.
        const whole = request.instrument !== '' && local.rates.length > 0;
        return q.router && !whole && !isForwardedCall(ctx.metadata)
          ? q.router.fundingRates(request, local)
          : local;
      }),
      getVenueStatus: h.unary(async (request: GetVenueStatusRequest, ctx) => {
        const local = getVenueStatus(q, request);
        return q.router && !isForwardedCall(ctx.metadata) ? q.router.venueStatus(request, local) : local;
      }),
    },
  };
}

export function bookToWire(view: BookView): NonNullable<GetOrderBookResponse['book']> {
  return {
    venue: view.venue,
    instrument: view.instrument,
    kind: BookUpdateKind.BOOK_UPDATE_KIND_SNAPSHOT,
    sequence: view.seq,
    prevSequence: 0,
    depth: view.depth,
    bids: view.bids.map((l) => ({ price: toWire(l.price), size: toWire(l.size) })),
    asks: view.asks.map((l) => ({ price: toWire(l.price), size: toWire(l.size) })),
    asOfMs: view.asOfMs,
    ...(view.observedAtMs ? { observedAtMs: view.observedAtMs } : {}),
  };
}

export function fundingViewToWire(f: FundingView): FundingRateView {
  return {
    rate: fundingRateToWire(f),
    stale: f.stale,
    ageMs: f.ageMs,
  };
}

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(field, 'is required');
  return value;
}

function checkKnown(q: MarketDataQueries, venue: VenueId, instrument: InstrumentId | undefined): void {
  const instruments = q.configured.get(venue);
  if (!instruments) {
    throw new ValidationError(
      'venue',
      `unknown venue ${JSON.stringify(venue)} (configured: ${[...q.configured.keys()].join(', ') || 'none'})`,
    );
  }
  if (instrument !== undefined && !instruments.includes(instrument)) {
    throw new ValidationError(
      'instrument',
      `${JSON.stringify(instrument)} is not followed on ${venue} (configured: ${instruments.join(', ')})`,
    );
  }
}
