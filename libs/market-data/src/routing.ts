/**
 * Queries reach the replica serving the pair (marketData.leases): any replica answers
 * MarketDataService for any configured pair.
 *
 * - GetOrderBook of a pair this replica does not hold: forwarded over gRPC to the holder of
 *   the pair's `md-instrument` lease; the holder's address is registered in the state store
 *   beside its leases (`md-address`, keyed by holder). The owner's feed stays the one source
 *   of truth, and the answer is exactly what it would answer itself (same errors too).
 * - GetFundingRates of one (venue, instrument) this replica does not hold: asked of the
 *   pair's owner only. GetFundingRates / GetVenueStatus (lists): this replica's part plus
 *   every other live member's part (asked in parallel), merged; a member that does not
 *   answer within the forward timeout is left out and logged.
 * - A forwarded call carries `perpmesh-md-forwarded`: its receiver answers from its own
 *   feed only, so a call travels at most one hop (bounded latency: one timeout).
 * - Replicas call each other like any client: the services' `auth.token`, and TLS when the
 *   `tls` section configures it for clients (`channelCredentials`, from the same section the
 *   execution and strategy clients use). One client per live member's address: a client of a
 *   member that left (lost every lease, or moved to a new address) is closed at the next call.
 */
import type { ChannelCredentials, Metadata } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import {
  type FundingRateView,
  type GetFundingRatesRequest,
  type GetFundingRatesResponse,
  type GetOrderBookRequest,
  type GetOrderBookResponse,
  type GetVenueStatusRequest,
  type GetVenueStatusResponse,
  MarketDataServiceClient,
} from '@perpmesh/contracts';
import { errorText, type InstrumentId, type VenueId } from '@perpmesh/core';
import {
  callPeer,
  forwardedMetadata,
  GrpcStatusError,
  hasForwardedMarker,
  type Logger,
  PeerClients,
  type PeerUnary,
  type Secret,
} from '@perpmesh/runtime';
import { ReplicaAddresses as SharedReplicaAddresses, type StateStore } from '@perpmesh/state';
import { BookNotSyncedError } from './errors.js';

export const MD_ADDRESS_SCOPE = 'md-address';
/** Metadata key marking a call one replica forwarded to another (never forwarded again). */
export const MD_FORWARDED_METADATA = 'perpmesh-md-forwarded';
export const DEFAULT_MD_FORWARD_TIMEOUT_MS = 2_000;

/** Where a market-data replica's gRPC server is reached (@perpmesh/state ReplicaAddresses, `md-address`). */
export class ReplicaAddresses extends SharedReplicaAddresses {
  constructor(store: StateStore) {
    super(store, MD_ADDRESS_SCOPE);
  }
}

/** The lease view the router needs (InstrumentLeases provides it). */
export interface ReplicaMembership {
  readonly holder: string;
  readonly members: readonly string[];
  currentOwner(pair: { venue: VenueId; instrument: InstrumentId }): Promise<string | undefined>;
  /** Who should serve a pair by the last round's members (its next owner during a handover). */
  expectedOwner(pair: { venue: VenueId; instrument: InstrumentId }): string | undefined;
}

export interface MarketDataRouterOptions {
  readonly membership: ReplicaMembership;
  readonly addresses: SharedReplicaAddresses;
  readonly logger: Logger;
  /** The services' `auth.token`: replicas call each other like any client. */
  readonly authToken?: Secret;
  /** TLS toward the other replicas (`grpcChannelCredentials(tls)`); default plaintext. */
  readonly channelCredentials?: ChannelCredentials;
  readonly timeoutMs?: number;
}

export function isForwardedCall(metadata: Metadata | undefined): boolean {
  return hasForwardedMarker(metadata, MD_FORWARDED_METADATA);
}

type Unary<Req, Res> = PeerUnary<Req, Res>;

export class MarketDataRouter {
  readonly #o: MarketDataRouterOptions;
  readonly #peers: PeerClients<MarketDataServiceClient>;

  constructor(options: MarketDataRouterOptions) {
    this.#o = options;
    this.#peers = new PeerClients({
      clientClass: MarketDataServiceClient,
      liveMembers: () => options.membership.members,
      authToken: options.authToken,
      channelCredentials: options.channelCredentials,
    });
  }

  /**
   * The book from the pair's owner; with no holder (a handover between the old owner's
   * release and the next one's take) from the replica expected to serve it, which has it
   * warm; `notHere` when no live replica holds or is expected to serve it; UNAVAILABLE when
   * this one is (the pair is coming here).
   */
  async orderBook(request: GetOrderBookRequest, notHere: Error): Promise<GetOrderBookResponse> {
    const pair = { venue: request.venue, instrument: request.instrument };
    const owner = (await this.#o.membership.currentOwner(pair)) ?? this.#o.membership.expectedOwner(pair);
    if (owner === undefined) throw notHere;
    if (owner === this.#o.membership.holder) throw takenOverHere(request);
    return this.#ask(
      owner,
      (c) => c.getOrderBook.bind(c) as Unary<GetOrderBookRequest, GetOrderBookResponse>,
      request,
    );
  }

  /**
   * The answer to a forwarded call for a book not followed here: the pair is coming to this
   * replica (taken a moment ago, its feed not following it yet: worth a retry) when this
   * replica is expected to serve it; else `notHere`.
   */
  comingHere(request: GetOrderBookRequest, notHere: Error): Error {
    const pair = { venue: request.venue, instrument: request.instrument };
    return this.#o.membership.expectedOwner(pair) === this.#o.membership.holder
      ? takenOverHere(request)
      : notHere;
  }

  /**
   * The other live members' funding rates for `request` (theirs only), merged after `local`;
   * for one (venue, instrument), only its owner's (nobody else follows it).
   */
  async fundingRates(
    request: GetFundingRatesRequest,
    local: GetFundingRatesResponse,
  ): Promise<GetFundingRatesResponse> {
    const method = (c: MarketDataServiceClient) =>
      c.getFundingRates.bind(c) as Unary<GetFundingRatesRequest, GetFundingRatesResponse>;
    let members: readonly string[] | undefined;
    if (request.venue !== '' && request.instrument !== '') {
      const owner = await this.#o.membership.currentOwner({
        venue: request.venue,
        instrument: request.instrument,
      });
      members = owner === undefined || owner === this.#o.membership.holder ? [] : [owner];
    }
    const parts = await this.#fromOthers(method, request, members);
    return {
      rates: mergeBy(
        [local, ...parts].flatMap((p) => p.rates),
        fundingKey,
      ),
    };
  }

  /** Venue statuses: ours first, then the venues only other members follow. */
  async venueStatus(
    request: GetVenueStatusRequest,
    local: GetVenueStatusResponse,
  ): Promise<GetVenueStatusResponse> {
    const parts = await this.#fromOthers(
      (c) => c.getVenueStatus.bind(c) as Unary<GetVenueStatusRequest, GetVenueStatusResponse>,
      request,
    );
    return {
      venues: mergeBy(
        [local, ...parts].flatMap((p) => p.venues),
        (v) => v.venue,
      ),
    };
  }

  close(): void {
    this.#peers.close();
  }

  /** The addresses this replica holds a client for (tests). */
  get peerAddresses(): string[] {
    return this.#peers.addresses;
  }

  /** Asks `members` (default: every other live member), leaving out and logging who fails. */
  async #fromOthers<Req, Res>(
    method: (c: MarketDataServiceClient) => Unary<Req, Res>,
    request: Req,
    members?: readonly string[],
  ): Promise<Res[]> {
    const others = (members ?? this.#o.membership.members).filter((m) => m !== this.#o.membership.holder);
    const answers = await Promise.all(
      others.map((member) =>
        this.#ask(member, method, request).catch((err: unknown) => {
          this.#o.logger.warn(
            { member, err: errorText(err) },
            'a market-data replica did not answer; its part is missing',
          );
          return undefined;
        }),
      ),
    );
    return answers.filter((a): a is Awaited<Res> => a !== undefined);
  }

  async #ask<Req, Res>(
    holder: string,
    method: (c: MarketDataServiceClient) => Unary<Req, Res>,
    request: Req,
  ): Promise<Res> {
    const address = await this.#o.addresses.addressOf(holder);
    if (address === undefined)
      throw new GrpcStatusError(status.UNAVAILABLE, `market-data replica ${holder} registered no address`);
    const timeoutMs = this.#o.timeoutMs ?? DEFAULT_MD_FORWARD_TIMEOUT_MS;
    // The owner's own answer (NOT_FOUND, UNAVAILABLE: not synced, ...), saying who gave it.
    return callPeer(
      method(this.#peers.client(holder, address)),
      request,
      forwardedMetadata(MD_FORWARDED_METADATA),
      new Date(Date.now() + timeoutMs),
      `market-data replica ${holder}`,
    );
  }
}

function fundingKey(f: FundingRateView): string {
  return `${f.rate?.venue}|${f.rate?.instrument}`;
}

/** First of each key, in order. */
function mergeBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** A book this replica has just taken and does not follow yet: UNAVAILABLE, worth a retry. */
function takenOverHere(request: GetOrderBookRequest): BookNotSyncedError {
  return new BookNotSyncedError(
    request.venue,
    request.instrument,
    'being taken over by this replica: no snapshot yet',
  );
}
