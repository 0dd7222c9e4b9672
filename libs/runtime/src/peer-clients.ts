/**
 * gRPC calls from one replica to another of the same service (market data's instruments,
 * per-account ownership's accounts, execution's strict-nonce keys): one client per live peer, the services' token and TLS,
 * a marker so a forwarded call travels at most one hop.
 */
import type * as grpc from '@grpc/grpc-js';
import { type ChannelCredentials, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { bearerAuthInterceptor, GrpcStatusError } from './grpc.js';
import type { Secret } from './secret.js';

/** How a replica is reached and reaches the others of its service (account, execution). */
export interface ReplicaForwarding {
  /** `host:port` the other replicas dial; without it none can forward to this one. */
  readonly address?: string | undefined;
  readonly authToken?: Secret | undefined;
  readonly channelCredentials?: ChannelCredentials | undefined;
  /** Bound of one forwarded call (the caller's deadline, when sooner, wins). */
  readonly timeoutMs?: number | undefined;
}

/** One unary method of a generated client, bound to it. */
export type PeerUnary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

/** A generated gRPC client constructor (e.g. `MarketDataServiceClient`). */
export type PeerClientConstructor<C> = new (
  address: string,
  channelCredentials: ChannelCredentials,
  options: object,
) => C;

export interface PeerClientsOptions<C> {
  readonly clientClass: PeerClientConstructor<C>;
  /** The live members' holder names now: clients of others are closed at the next call. */
  readonly liveMembers: () => readonly string[];
  /** The services' `auth.token`: replicas call each other like any client. */
  readonly authToken?: Secret | undefined;
  /** TLS toward the other replicas (`grpcChannelCredentials(tls)`); default plaintext. */
  readonly channelCredentials?: ChannelCredentials | undefined;
}

/** Metadata marking a call one replica forwarded to another (`forwardedMetadataKey`). */
export function forwardedMetadata(key: string): Metadata {
  const metadata = new Metadata();
  metadata.set(key, '1');
  return metadata;
}

export function hasForwardedMarker(metadata: Metadata | undefined, key: string): boolean {
  return (metadata?.get(key).length ?? 0) > 0;
}

/** Trailers our servers put on every domain error they answer (runtime grpc.ts `toGrpcStatus`). */
const DOMAIN_ANSWER_TRAILERS = ['perpmesh-error-code', 'perpmesh-field'];

/**
 * A forwarded call that failed. `peerAnswered`: the peer's own server answered with this
 * status (a domain error); false when the status came from the transport (no connection,
 * the connection dropped mid-call, a deadline) and the peer may be gone.
 */
export class PeerCallError extends GrpcStatusError {
  readonly peerAnswered: boolean;
  constructor(code: grpc.status, details: string, peerAnswered: boolean) {
    super(code, details);
    this.name = 'PeerCallError';
    this.peerAnswered = peerAnswered;
  }
}

/**
 * `method` called on a peer with `deadline`; a failure (`PeerCallError`) keeps the peer's own
 * code and says which replica answered (`from`, e.g. `market-data replica <holder>`).
 */
export function callPeer<Req, Res>(
  method: PeerUnary<Req, Res>,
  request: Req,
  metadata: Metadata,
  deadline: Date,
  from: string,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method(request, metadata, { deadline }, (err, res) => {
      if (!err) resolve(res);
      else {
        const answered = DOMAIN_ANSWER_TRAILERS.some((key) => (err.metadata?.get(key).length ?? 0) > 0);
        reject(new PeerCallError(err.code, `${err.details} (from ${from})`, answered));
      }
    });
  });
}

/**
 * `host:port` where the other replicas dial a gRPC server listening on `grpcHost:grpcPort`:
 * the host name when `grpcHost` is a wildcard (0.0.0.0, ::); undefined for port 0 (known only
 * once listening). In Kubernetes set the advertised address to the pod IP instead.
 */
export function advertisedGrpcAddress(
  grpcHost: string,
  grpcPort: number,
  hostName: string,
): string | undefined {
  if (grpcPort === 0) return undefined;
  const wildcard = ['0.0.0.0', '::', '[::]'].includes(grpcHost);
  const host = wildcard ? hostName : grpcHost;
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${grpcPort}`;
}

/** `advertiseAddress` of a config section: `host:port`. */
export const ADVERTISE_ADDRESS_PATTERN = /^[A-Za-z0-9.:[\]_-]{1,253}:[0-9]{1,5}$/;

export class PeerClients<C extends { close(): void }> {
  readonly #o: PeerClientsOptions<C>;
  /** By address; at most one per live member (see `client`). */
  readonly #clients = new Map<string, { holder: string; client: C }>();

  constructor(options: PeerClientsOptions<C>) {
    this.#o = options;
  }

  /**
   * The client of `holder` at `address`. Closes, first, the clients of holders that are no
   * longer live members and any older client of this holder at another address: the cache
   * never outgrows the live members.
   */
  client(holder: string, address: string): C {
    const live = new Set(this.#o.liveMembers());
    for (const [at, peer] of this.#clients) {
      if (at === address || (live.has(peer.holder) && peer.holder !== holder)) continue;
      peer.client.close();
      this.#clients.delete(at);
    }
    let peer = this.#clients.get(address);
    if (peer === undefined || peer.holder !== holder) {
      peer?.client.close();
      const { authToken } = this.#o;
      peer = {
        holder,
        client: new this.#o.clientClass(
          address,
          this.#o.channelCredentials ?? credentials.createInsecure(),
          authToken === undefined ? {} : { interceptors: [bearerAuthInterceptor(authToken)] },
        ),
      };
      this.#clients.set(address, peer);
    }
    return peer.client;
  }

  /** The addresses a client is held for (tests). */
  get addresses(): string[] {
    return [...this.#clients.keys()];
  }

  close(): void {
    for (const c of this.#clients.values()) c.client.close();
    this.#clients.clear();
  }
}

export interface PeerRouterOptions<C> extends PeerClientsOptions<C> {
  /** Where a holder is reached (its registered `host:port`), undefined when it registered none. */
  readonly addressOf: (holder: string) => Promise<string | undefined>;
  /** Metadata key of the one-hop marker a forwarded call carries (`forwardedMetadata`). */
  readonly forwardedKey: string;
  /** What a peer is called in errors, e.g. `execution replica`. */
  readonly peerName: string;
  /** Bound of one forwarded call (the caller's deadline, when sooner, wins). */
  readonly timeoutMs: number;
}

/**
 * Forwards a call to the replica holding what it names: the holder's registered address, one
 * client per live peer, the one-hop marker, the caller's deadline bounded by `timeoutMs`.
 */
export class PeerRouter<C extends { close(): void }> {
  readonly #o: PeerRouterOptions<C>;
  readonly #peers: PeerClients<C>;

  constructor(options: PeerRouterOptions<C>) {
    this.#o = options;
    this.#peers = new PeerClients(options);
  }

  /** `method` of the replica `holder` with `request`, by `callerDeadlineMs` (epoch ms, Infinity: none) at the latest. */
  async ask<Req, Res>(
    holder: string,
    method: (client: C) => PeerUnary<Req, Res>,
    request: Req,
    callerDeadlineMs: number,
  ): Promise<Res> {
    const { peerName } = this.#o;
    const address = await this.#o.addressOf(holder);
    if (address === undefined)
      throw new GrpcStatusError(status.UNAVAILABLE, `${peerName} ${holder} registered no address`);
    return callPeer(
      method(this.#peers.client(holder, address)),
      request,
      forwardedMetadata(this.#o.forwardedKey),
      new Date(Math.min(callerDeadlineMs, Date.now() + this.#o.timeoutMs)),
      `${peerName} ${holder}`,
    );
  }

  /** The addresses a client is held for (tests). */
  get addresses(): string[] {
    return this.#peers.addresses;
  }

  close(): void {
    this.#peers.close();
  }
}

/** A gRPC call's deadline (a Date, or ms with Infinity for none) as epoch ms. */
export function deadlineEpochMs(deadline: Date | number): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
