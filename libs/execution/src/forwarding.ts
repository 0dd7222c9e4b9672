/**
 * Execution replicas behind one Service with strict-nonce keys (nonce-ownership.ts): a
 * PlaceOrder / CancelOrder / CancelAllOrders for a key another live replica owns is forwarded
 * to the holder of its `exec-nonce-owner` lease, the way per-account ownership forwards
 * account reads (@perpmesh/runtime PeerRouter, @perpmesh/state ReplicaAddresses).
 *
 * - Each replica registers its gRPC address under its holder name (`exec-address`).
 * - A forwarded call carries `perpmesh-exec-forwarded`: its receiver answers from itself only
 *   (`NonceKeyOwnedElsewhereError`, UNAVAILABLE, when the key moved meanwhile), so a call
 *   travels one hop.
 * - The forwarded call keeps the caller's deadline (bounded by `forwardTimeout`), carries the
 *   services' `auth.token` and uses TLS when the `tls` section configures it for clients.
 * - Nobody owns the key: `NonceKeyMovingError` (UNAVAILABLE "ownership is moving"); the
 *   client retries, with the same client order id (idempotent).
 */
import type { Metadata } from '@grpc/grpc-js';
import { ExecutionServiceClient } from '@perpmesh/contracts';
import { type AccountId, sleep, type VenueId } from '@perpmesh/core';
import {
  deadlineEpochMs,
  type GrpcCallContext,
  hasForwardedMarker,
  PeerRouter,
  type PeerUnary,
  type ReplicaForwarding,
} from '@perpmesh/runtime';
import type { ReplicaAddresses } from '@perpmesh/state';
import {
  NonceKeyMovingError,
  NonceKeyOwnedElsewhereError,
  type NonceKeyOwnership,
  type NonceKeyPort,
  type NonceKeyRoute,
} from './nonce-ownership.js';

export const EXEC_ADDRESS_SCOPE = 'exec-address';
/** Metadata key marking a call one execution replica forwarded to another (never forwarded again). */
export const EXEC_FORWARDED_METADATA = 'perpmesh-exec-forwarded';
/** A forwarded placement waits for the venue's answer: longer than the default venue call timeout. */
export const DEFAULT_EXEC_FORWARD_TIMEOUT_MS = 15_000;

/** How this replica is reached and reaches the others. */
export type ExecutionForwarding = ReplicaForwarding;

export function isForwardedExecutionCall(metadata: Metadata | undefined): boolean {
  return hasForwardedMarker(metadata, EXEC_FORWARDED_METADATA);
}

/** Runs a signed call here, or at the key's owner. */
export interface SignedCallRouter {
  /**
   * `local()` when this replica signs with the key of (venue, account) (or the venue needs no
   * single sender); else the owner's answer to `method(request)`.
   */
  call<Req, Res>(
    target: { venue: VenueId; account: AccountId },
    ctx: GrpcCallContext,
    local: () => Promise<Res>,
    method: (c: ExecutionServiceClient) => PeerUnary<Req, Res>,
    request: Req,
  ): Promise<Res>;
  close(): void;
}

export class ExecutionRouter implements SignedCallRouter {
  readonly #ownership: NonceKeyOwnership;
  readonly #router: PeerRouter<ExecutionServiceClient> | undefined;
  readonly #onForward: ((venue: VenueId) => void) | undefined;

  /** `onForward`: told of each call forwarded to the key's owner (a metric). */
  constructor(
    ownership: NonceKeyOwnership,
    forwarding: ExecutionForwarding | undefined,
    addresses: ReplicaAddresses | undefined,
    onForward?: (venue: VenueId) => void,
  ) {
    this.#ownership = ownership;
    this.#onForward = onForward;
    this.#router =
      forwarding === undefined || addresses === undefined
        ? undefined
        : new PeerRouter({
            clientClass: ExecutionServiceClient,
            liveMembers: () => ownership.members,
            authToken: forwarding.authToken,
            channelCredentials: forwarding.channelCredentials,
            addressOf: (holder) => addresses.addressOf(holder),
            forwardedKey: EXEC_FORWARDED_METADATA,
            peerName: 'execution replica',
            timeoutMs: forwarding.timeoutMs ?? DEFAULT_EXEC_FORWARD_TIMEOUT_MS,
          });
  }

  async call<Req, Res>(
    target: { venue: VenueId; account: AccountId },
    ctx: GrpcCallContext,
    local: () => Promise<Res>,
    method: (c: ExecutionServiceClient) => PeerUnary<Req, Res>,
    request: Req,
  ): Promise<Res> {
    const port = this.#ownership.portOf(target.venue, target.account);
    // Unknown venue or account: the local call names the field.
    if (port === undefined) return local();
    let route = await this.#ownership.route(port);
    if (route.kind === 'moving') route = await this.#awaitOwner(port, ctx);
    if (route.kind === 'here') return local();
    if (route.kind === 'moving') throw new NonceKeyMovingError(port);
    if (this.#router === undefined || isForwardedExecutionCall(ctx.metadata))
      throw new NonceKeyOwnedElsewhereError(port, route.holder);
    this.#onForward?.(target.venue);
    return this.#router.ask(route.holder, method, request, deadlineEpochMs(ctx.deadline));
  }

  /**
   * Nobody owns the key right now (a takeover or a hand-over): the call waits for an owner
   * instead of failing at once, within the caller's deadline and one takeover; still nobody:
   * 'moving' (UNAVAILABLE, retry with the same client order id).
   */
  async #awaitOwner(port: NonceKeyPort, ctx: GrpcCallContext): Promise<NonceKeyRoute> {
    const giveUpAt = Math.min(
      Date.now() + this.#ownership.takeoverBoundMs,
      deadlineEpochMs(ctx.deadline) - OWNER_WAIT_MARGIN_MS,
    );
    let route: NonceKeyRoute = { kind: 'moving' };
    while (route.kind === 'moving' && Date.now() + OWNER_POLL_MS < giveUpAt) {
      await sleep(OWNER_POLL_MS);
      route = await this.#ownership.route(port);
    }
    return route;
  }

  close(): void {
    this.#router?.close();
  }
}

/** How often a call waiting for a key's owner asks again. */
const OWNER_POLL_MS = 100;
/** Left of the caller's deadline for the call itself once an owner appears. */
const OWNER_WAIT_MARGIN_MS = 1_000;
