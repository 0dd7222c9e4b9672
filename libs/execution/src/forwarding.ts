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
 * - The owner does not answer (killed: no connection, or the connection dropped mid-call):
 *   the members are judged again at once (`recheck`: a provably dead owner's key is taken
 *   now), the call waits for the key's next owner within its deadline and goes there, with
 *   the same request (a placement is idempotent by its client order id, and the next owner
 *   settles one the dead owner had in flight through the venue). No next owner in time:
 *   "ownership is moving", saying when the dead owner's lease lapses.
 */
import { status as grpcStatus, type Metadata } from '@grpc/grpc-js';
import { ExecutionServiceClient } from '@perpmesh/contracts';
import { type AccountId, errorText, sleep, type VenueId } from '@perpmesh/core';
import {
  deadlineEpochMs,
  type GrpcCallContext,
  hasForwardedMarker,
  PeerCallError,
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
    if (route.kind === 'moving') throw await this.#moving(port);
    if (this.#router === undefined || isForwardedExecutionCall(ctx.metadata))
      throw new NonceKeyOwnedElsewhereError(port, route.holder);
    const router = this.#router;
    const forward = (holder: string) => {
      this.#onForward?.(target.venue);
      return router.ask(holder, method, request, deadlineEpochMs(ctx.deadline));
    };
    try {
      return await forward(route.holder);
    } catch (err) {
      if (!ownerDidNotAnswer(err)) throw err;
      const dead = route.holder;
      // Killed or cut off: judge the members now (a provably dead owner's key is taken at once).
      await this.#ownership.recheck().catch(() => undefined);
      const next = await this.#awaitOwner(port, ctx, dead);
      if (next.kind === 'here') return local();
      if (next.kind === 'owner' && next.holder !== dead) return forward(next.holder);
      throw await this.#moving(port, `its owner execution replica ${dead} did not answer: ${errorText(err)}`);
    }
  }

  /**
   * Nobody owns the key right now (a takeover or a hand-over), or only `gone`, an owner that
   * did not answer: the call waits for the next owner instead of failing at once, within the
   * caller's deadline and one takeover; still none: 'moving' (UNAVAILABLE, retry with the
   * same client order id).
   */
  async #awaitOwner(port: NonceKeyPort, ctx: GrpcCallContext, gone?: string): Promise<NonceKeyRoute> {
    const giveUpAt = Math.min(
      Date.now() + this.#ownership.takeoverBoundMs,
      deadlineEpochMs(ctx.deadline) - OWNER_WAIT_MARGIN_MS,
    );
    const waiting = (r: NonceKeyRoute) => r.kind === 'moving' || (r.kind === 'owner' && r.holder === gone);
    let route: NonceKeyRoute = gone === undefined ? { kind: 'moving' } : await this.#ownership.route(port);
    while (waiting(route) && Date.now() + OWNER_POLL_MS < giveUpAt) {
      await sleep(OWNER_POLL_MS);
      route = await this.#ownership.route(port);
    }
    return waiting(route) ? { kind: 'moving' } : route;
  }

  /** "Ownership is moving", with when the stored holder's lease lapses when one is stored. */
  async #moving(port: NonceKeyPort, why?: string): Promise<NonceKeyMovingError> {
    const lease = await this.#ownership.storedLease(port).catch(() => undefined);
    return new NonceKeyMovingError(port, {
      ...(why === undefined ? {} : { why }),
      ...(lease === undefined ? {} : { freesAtMs: lease.expiresAtMs }),
    });
  }

  close(): void {
    this.#router?.close();
  }
}

/**
 * True when a forwarded call failed without an answer from the owner's own server (no
 * connection, dropped mid-call): the owner may be gone. Its own answers (a domain error,
 * even UNAVAILABLE) are passed on as they are.
 */
export function ownerDidNotAnswer(err: unknown): boolean {
  return err instanceof PeerCallError && !err.peerAnswered && err.code === grpcStatus.UNAVAILABLE;
}

/** How often a call waiting for a key's owner asks again. */
const OWNER_POLL_MS = 100;
/** Left of the caller's deadline for the call itself once an owner appears. */
const OWNER_WAIT_MARGIN_MS = 1_000;
